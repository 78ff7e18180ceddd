"""Shared fixtures: keys, a store on SQLite or PostgreSQL, and the bundled sample data.

PostgreSQL tests use the server on 127.0.0.1:5432 (trust authentication, database `test`), each
test in a schema of its own. Outside CI they skip when the server is unreachable; in CI (CI=true)
an unreachable server is a failure.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT / "examples"
POSTGRES_URL = os.environ.get("REVIEW_GOV_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

# Airflow reads its configuration when first imported, so the test metadata database and the DAG
# folder are set here, before any test module imports Airflow.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="review-gov-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PROJECT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"


@contextmanager
def process_umask(mask: int) -> Iterator[None]:
    """Set the process umask for a block, then restore the previous one.

    Opening a store tightens the umask for the rest of the process, so a test of file modes sets
    the usual 022 first: only the code under test can then make a file owner-only.
    """
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Fresh random secrets in the environment, as an operator would export them."""
    values = {name: _new_key() for name in ("MASTER_KEY", "PSEUDONYM_KEY", "ENCRYPTION_KEY")}
    for name, value in values.items():
        monkeypatch.setenv(f"REVIEW_GOV_{name}", value)
    return values


def _postgres_available() -> str | None:
    """Return None when PostgreSQL answers, else the reason it does not."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as error:  # noqa: BLE001 - any failure means the server cannot be used
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_available()
    if reason is not None:
        message = (
            f"PostgreSQL at {POSTGRES_URL} is unreachable ({reason}). Start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
            "or set REVIEW_GOV_TEST_POSTGRES_URL."
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL


def _postgres_schema_url(server_url: str) -> Iterator[str]:
    """Create a schema for one test, yield a URL whose search_path points at it, then drop it."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{server_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _backend_url(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'governance.db'}"
        return
    yield from _postgres_schema_url(request.getfixturevalue("postgres_server"))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store URL on each backend: a fresh SQLite file, or a fresh PostgreSQL schema."""
    yield from _backend_url(request, tmp_path)


@pytest.fixture(scope="module", params=BACKENDS)
def ingested_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A store per backend holding the whole bundled sample, shared by a module's read-only tests."""
    from governance.ingest import ingest_exports
    from governance.store import Store

    for url in _backend_url(request, tmp_path_factory.mktemp("ingested")):
        store = Store.open(url, os.urandom(32))
        results = {counts.source: counts for counts in ingest_exports(store, EXAMPLES)}
        yield store, results
        store.engine.dispose()


@pytest.fixture
def settings_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, store_url: str, keys: dict[str, str]
) -> Path:
    """Point the governance settings at a fresh store and data folder; return the data folder."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("REVIEW_GOV_DATA_DIR", str(data_dir))
    monkeypatch.setenv("REVIEW_GOV_STORE_URL", store_url)
    monkeypatch.setenv("REVIEW_GOV_INPUT_DIR", str(EXAMPLES))
    return data_dir


@pytest.fixture
def store(settings_env: Path):  # type: ignore[no-untyped-def]
    """An open, empty store on the parametrised backend."""
    from governance.runtime import open_store

    opened = open_store()
    yield opened
    opened.engine.dispose()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate a throw-away SQLite Airflow metadata database; return AIRFLOW_HOME."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    if str(PROJECT / "dags") not in sys.path:
        # Airflow puts the DAG folder on sys.path in its own processes; in-process tests need the same.
        sys.path.insert(0, str(PROJECT / "dags"))
    return _AIRFLOW_HOME


@pytest.fixture(scope="session")
def pii_engine():  # type: ignore[no-untyped-def]
    """One loaded detection engine per test session, with the real spaCy model."""
    from governance.pii import PiiConfig, PiiEngine

    from tests.pii.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY

    engine = PiiEngine(PiiConfig(pseudonym_key=PSEUDONYM_KEY, encryption_key=ENCRYPTION_KEY))
    engine.load()
    return engine


@pytest.fixture(scope="session")
def pii_engine_two_processes():  # type: ignore[no-untyped-def]
    """An engine like `pii_engine` that shares each batch with one worker process.

    Its batches are sliced every 16 texts, so that a small test batch crosses slice boundaries,
    and texts are analysed in chunks of 1,000 characters (longer than any dev-set text).
    """
    from governance.pii import PiiConfig, PiiEngine

    from tests.pii.conftest import ENCRYPTION_KEY, PSEUDONYM_KEY

    config = PiiConfig(
        pseudonym_key=PSEUDONYM_KEY,
        encryption_key=ENCRYPTION_KEY,
        n_process=2,
        batch_size=16,
        max_chunk_chars=1_000,
    )
    with PiiEngine(config).load() as engine:
        yield engine
