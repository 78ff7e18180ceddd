"""The ingest DAG file: it parses, and maps one task per source with customers first."""

from __future__ import annotations

import pytest

from tests.conftest import PROJECT


def test_ingest_dag_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # Airflow puts the DAG folder on sys.path so that DAG files import their shared helpers.
    monkeypatch.syspath_prepend(str(PROJECT / "dags"))
    from airflow.dag_processing.dagbag import DagBag

    dagbag = DagBag(dag_folder=str(PROJECT / "dags" / "review_ingest.py"))
    assert dagbag.import_errors == {}
    dag = dagbag.dags["review_ingest"]
    assert set(dag.task_ids) == {
        "plan_sources", "customer_sources", "other_sources", "ingest_customers", "ingest_sources", "reviews_loaded",
    }
    assert "ingest_customers" in dag.get_task("ingest_sources").upstream_task_ids
    assert dag.get_task("ingest_sources").trigger_rule == "none_failed"
    assert [outlet.uri for outlet in dag.get_task("reviews_loaded").outlets] == ["review-governance://store/reviews"]
