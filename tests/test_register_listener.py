"""The Airflow listener journals every governed task, run for real with `dag.test()`.

Each DAG run happens in a child process with the session's migrated Airflow metadata database, a
DAG folder that contains only the probe DAG, and the project's `plugins/` folder. The governance
store is the parametrised one, so the listener is checked on both backends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from governance.register.activities import PACKAGED_CONFIG, load_register, parse_register
from governance.register.journal import read_entries, verify_chain
from governance.register.outcomes import TaskOutcome, record_outcome
from governance.store import Store

PROJECT = Path(__file__).resolve().parent.parent
PERSONAL_VALUE = "jeanne.martin@example.org"

PROBE_DAG = textwrap.dedent(
    f'''
    """A DAG whose tasks forget to report, report, and fail."""
    import pendulum
    from airflow.sdk import dag, task


    @dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def listener_probe():
        @task
        def silent() -> None:
            """Process nothing and report nothing."""

        @task
        def reporting() -> None:
            """Report counts the way every stage does."""
            from datetime import UTC, datetime

            from airflow.sdk import get_current_context

            from governance.runtime import RunContext, open_store

            ti = get_current_context()["ti"]
            ctx = RunContext(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, map_index=ti.map_index)
            ctx.journal(open_store(), activity="review_collection", purpose="review_collection",
                        started_at=datetime.now(UTC), records_in=3, records_out=2, details={{}})

        @task(retries=0)
        def broken() -> None:
            """Fail with a message that quotes a personal value."""
            raise ValueError("invalid email {PERSONAL_VALUE}")

        silent()
        reporting()
        broken()


    listener_probe()
    '''
)

RUN_DAG = textwrap.dedent(
    """
    import sys
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1])
    assert not bag.import_errors, bag.import_errors
    run = bag.get_dag("listener_probe").test()
    print("state", run.state)
    """
)


def _airflow_env(home: Path, dags: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT), env.get("PYTHONPATH")])),
    })
    return env


@pytest.fixture(scope="session")
def airflow_home(airflow_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The migrated test AIRFLOW_HOME, and a DAG folder that holds only the probe DAG."""
    dags = tmp_path_factory.mktemp("dags")
    (dags / "listener_probe.py").write_text(PROBE_DAG, encoding="utf-8")
    return airflow_db, dags


@pytest.fixture
def probe_register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A register configuration in which the probe DAG belongs to the review collection activity."""
    raw = yaml.safe_load(PACKAGED_CONFIG.read_text(encoding="utf-8"))
    collection = next(item for item in raw["activities"] if item["reference"] == "review_collection")
    collection["dags"] = [*collection["dags"], "listener_probe"]
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("REVIEW_GOV_REGISTER_CONFIG", str(path))
    return path


def test_listener_journals_every_task(
    store: Store, airflow_home: tuple[Path, Path], probe_register: Path, tmp_path: Path
) -> None:
    home, dags = airflow_home
    script = tmp_path / "run_probe.py"
    script.write_text(RUN_DAG, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(script), str(dags)],
        env=_airflow_env(home, dags), capture_output=True, text=True, timeout=600,
    )
    assert "state failed" in result.stdout, result.stdout[-2000:] + result.stderr[-3000:]

    entries = read_entries(store.engine)
    outcomes = {entry["task_id"]: entry for entry in entries if entry["try_number"] is not None}
    reports = [entry for entry in entries if entry["try_number"] is None]
    assert set(outcomes) == {"silent", "reporting", "broken"}
    assert outcomes["silent"]["status"] == "success"
    assert outcomes["silent"]["activity"] == "review_collection"
    assert outcomes["silent"]["details"] == {"reported": False, "report_seq": None}
    assert outcomes["reporting"]["details"]["reported"] is True
    assert outcomes["broken"]["status"] == "failed"
    assert outcomes["broken"]["error_type"] == "ValueError"
    assert [entry["task_id"] for entry in reports] == ["reporting"]
    assert reports[0]["records_in"] == 3
    assert verify_chain(store.engine).ok
    with store.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM register_journal"))
    assert PERSONAL_VALUE not in dump


def _outcome(state: str, try_number: int, dag_id: str = "review_ingest", tags: frozenset[str] = frozenset()) -> TaskOutcome:
    now = datetime.now(UTC)
    return TaskOutcome(
        dag_id=dag_id, run_id="scheduled__2026-03-01", task_id="load_exports", map_index=-1,
        try_number=try_number, state=state, started_at=now, ended_at=now, dag_tags=tags,
        error_type="ValueError" if state == "failed" else None,
    )


def test_outcome_rerun_is_idempotent(store: Store) -> None:
    register = load_register()
    first = record_outcome(store.engine, register, _outcome("success", 1))
    again = record_outcome(store.engine, register, _outcome("success", 1))
    rerun = record_outcome(store.engine, register, _outcome("success", 2))
    assert first == again == rerun
    assert verify_chain(store.engine).entries == 1


def test_outcome_failure_per_try(store: Store) -> None:
    register = load_register()
    record_outcome(store.engine, register, _outcome("failed", 1))
    record_outcome(store.engine, register, _outcome("failed", 1))
    record_outcome(store.engine, register, _outcome("failed", 2))
    record_outcome(store.engine, register, _outcome("success", 3))
    statuses = [(entry["try_number"], entry["status"]) for entry in read_entries(store.engine)]
    assert statuses == [(1, "failed"), (2, "failed"), (3, "success")]


def test_outcome_of_ungoverned_dag_skipped(store: Store) -> None:
    assert record_outcome(store.engine, load_register(), _outcome("success", 1, dag_id="other")) is None
    assert verify_chain(store.engine).entries == 0


def test_outcome_of_tagged_undeclared_dag(store: Store) -> None:
    register = parse_register(yaml.safe_load(PACKAGED_CONFIG.read_text(encoding="utf-8")))
    record_outcome(store.engine, register, _outcome("success", 1, dag_id="new_dag", tags=frozenset({"review-governance"})))
    [entry] = read_entries(store.engine)
    assert entry["activity"] == "undeclared"


@pytest.mark.parametrize("extract", ["analytics", "publication", "recontact", "ambassadors"])
def test_consent_task_outcome_follows_purpose(store: Store, extract: str) -> None:
    """Each extract task's outcome is journaled under the activity its own report names: its purpose."""
    from dataclasses import replace

    from governance.consent.purposes import current_purposes

    outcome = replace(
        _outcome("success", 1, dag_id="review_consent", tags=frozenset({"review-governance"})),
        task_id=f"{extract}_extract",
    )
    record_outcome(store.engine, load_register(), outcome)
    [entry] = read_entries(store.engine)
    purpose = current_purposes().for_extract(extract).name
    assert entry["activity"] == purpose
    assert entry["purpose"] == purpose


def test_outcome_of_undeclared_task(store: Store) -> None:
    """A new task in a DAG whose other tasks are declared one by one is flagged, not misattributed."""
    from dataclasses import replace

    outcome = replace(
        _outcome("success", 1, dag_id="review_consent", tags=frozenset({"review-governance"})),
        task_id="newsletter_extract",
    )
    record_outcome(store.engine, load_register(), outcome)
    [entry] = read_entries(store.engine)
    assert entry["activity"] == "undeclared"
