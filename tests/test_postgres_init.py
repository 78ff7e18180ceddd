"""Run the compose stack's PostgreSQL init script against the local server.

The postgres image runs docker/postgres-init/*.sql with psql as the superuser when it initialises
an empty volume. These tests run the same file the same way, with names unique to the test, and
drop what they created.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
INIT_SCRIPT = ROOT / "docker" / "postgres-init" / "10-governance-database.sql"
ADMIN_URL = os.environ.get(
    "REVIEW_GOV_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
START_HINT = (
    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
    "or point REVIEW_GOV_TEST_PG_ADMIN_URL at a superuser connection"
)


def require_postgres() -> None:
    """Skip, or fail under CI, when psql or the PostgreSQL server is missing."""
    problem = None
    if shutil.which("psql") is None:
        problem = "psql is not on PATH"
    else:
        try:
            psycopg.connect(ADMIN_URL, connect_timeout=3).close()
        except psycopg.OperationalError as error:
            problem = f"PostgreSQL at {ADMIN_URL} is not reachable ({error}); {START_HINT}"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def run_init_script(settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the init script as the postgres image does, with only `settings` of GOVERNANCE_DB_*."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("GOVERNANCE_DB_")
    }
    environment.update(settings)
    return subprocess.run(
        ["psql", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-d", ADMIN_URL, "-f", str(INIT_SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def unique_name() -> Iterator[str]:
    """Yield a role and database name, and drop both after the test if they exist."""
    require_postgres()
    name = f"gov_init_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_init_creates_owned_database(unique_name: str) -> None:
    result = run_init_script(
        {
            "GOVERNANCE_DB_NAME": unique_name,
            "GOVERNANCE_DB_USER": unique_name,
            "GOVERNANCE_DB_PASSWORD": "pass'word with quote",
        }
    )

    assert result.returncode == 0, result.stderr
    with psycopg.connect(ADMIN_URL) as connection:
        owner = connection.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (unique_name,)
        ).fetchone()
        can_login = connection.execute(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (unique_name,)
        ).fetchone()
        public_can_connect = connection.execute(
            "SELECT has_database_privilege('public', %s, 'CONNECT')", (unique_name,)
        ).fetchone()
    assert owner == (unique_name,)
    assert can_login == (True,)
    assert public_can_connect == (False,)


def test_init_role_creates_tables(unique_name: str) -> None:
    result = run_init_script(
        {
            "GOVERNANCE_DB_NAME": unique_name,
            "GOVERNANCE_DB_USER": unique_name,
            "GOVERNANCE_DB_PASSWORD": "secret",
        }
    )
    assert result.returncode == 0, result.stderr

    role_conninfo = make_conninfo(ADMIN_URL, user=unique_name, dbname=unique_name)
    with psycopg.connect(role_conninfo) as connection:
        connection.execute("CREATE TABLE probe (id integer PRIMARY KEY)")
        user = connection.execute("SELECT current_user").fetchone()
    assert user == (unique_name,)


def test_init_without_password_fails(unique_name: str) -> None:
    result = run_init_script({"GOVERNANCE_DB_NAME": unique_name, "GOVERNANCE_DB_USER": unique_name})

    assert result.returncode != 0
    assert "GOVERNANCE_DB_PASSWORD is not set" in result.stderr
    with psycopg.connect(ADMIN_URL) as connection:
        created = connection.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (unique_name,)
        ).fetchone()
    assert created == (0,)
