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
