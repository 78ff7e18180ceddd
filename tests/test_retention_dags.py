"""The retention and data subject request DAG files parse in Airflow, with the expected tasks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parent.parent / "dags"

PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
found = {}
for name in sys.argv[1:]:
    bag = DagBag(dag_folder=name)
    found[name] = {"errors": {k: str(v) for k, v in bag.import_errors.items()},
                   "dags": {dag_id: sorted(dag.task_ids) for dag_id, dag in bag.dags.items()}}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "PYTHONPATH": str(DAGS),
    }
    files = [str(DAGS / "review_retention.py"), str(DAGS / "review_dsr.py")]
    output = subprocess.run(
        [sys.executable, "-c", PARSE, *files], env=env, capture_output=True, text=True, check=True, timeout=300
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_retention_dag_tasks(parsed: dict) -> None:
    result = parsed[str(DAGS / "review_retention.py")]
    assert result["errors"] == {}
    assert result["dags"] == {"review_retention": ["apply", "plan", "verify"]}


def test_dsr_dag_tasks(parsed: dict) -> None:
    result = parsed[str(DAGS / "review_dsr.py")]
    assert result["errors"] == {}
    assert result["dags"] == {"review_dsr": ["execute", "pending_requests"]}


def test_retention_dag_on_bundled_data(airflow_db: Path, store, settings_env: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from airflow.dag_processing.dagbag import DagBag
    from sqlalchemy import text

    from governance.register.activities import load_register
    from governance.register.export import Period, build_export
    from tests.bundled import load_bundled

    logical_date = datetime(2026, 6, 1, tzinfo=UTC)
    cutoff = {"cutoff": datetime(2023, 6, 1)}
    expired_query = text("SELECT COUNT(*) FROM customers WHERE last_contact_at < :cutoff")
    load_bundled(store)
    with store.engine.connect() as conn:
        expired = conn.execute(expired_query, cutoff).scalar()
    assert expired > 0

    run = DagBag(dag_folder=str(DAGS / "review_retention.py")).get_dag("review_retention").test(logical_date=logical_date)

    assert str(run.state) == "success"
    with store.engine.connect() as conn:
        assert conn.execute(expired_query, cutoff).scalar() == 0
    register = build_export(store.engine, load_register(), Period(), "fr")
    retention = next(row for row in register["summary"] if row["activity"] == "retention")
    assert retention["deletions"]["customers"] == expired


def test_dsr_dag_executes_requests(airflow_db: Path, store, settings_env: Path) -> None:  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    from governance.dsr.requests import RequestStatus, RequestType, list_requests, submit_request
    from tests.bundled import crm_rows, load_bundled

    load_bundled(store, customers_limit=30)
    first, second = (row["customer_id"] for row in crm_rows()[:2])
    submit_request(store, RequestType.ACCESS, first)
    submit_request(store, RequestType.ERASURE, second)

    run = DagBag(dag_folder=str(DAGS / "review_dsr.py")).get_dag("review_dsr").test()

    assert str(run.state) == "success"
    requests = {request.request_type: request for request in list_requests(store)}
    assert {request.status for request in requests.values()} == {RequestStatus.COMPLETED}
    assert Path(requests[RequestType.ACCESS].output_path or "").is_file()
    assert requests[RequestType.ERASURE].customer_id is None
