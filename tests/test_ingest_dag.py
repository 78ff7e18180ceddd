"""The ingest DAG file: it parses, maps one task per source with customers first, and reruns safely."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from governance.sources.fake_platform import DEMO_SECRETS, FakePlatformServer

from tests.conftest import PROJECT

PLATFORM_TYPES = {
    "google": "google_business_profile",
    "trustpilot": "trustpilot_api",
    "yelp": "yelp_fusion",
    "tripadvisor": "tripadvisor",
}
EDITED = {"google": "g-001", "trustpilot": "tp-0003", "yelp": "yelp-aaa2", "tripadvisor": "900002"}
DELETED = {"google": "g-002", "trustpilot": "tp-0005", "yelp": "yelp-aaa3", "tripadvisor": "900004"}
CUSTOMERS_CSV = (
    "customer_id,first_name,last_name,email,phone,postal_address,created_at,last_contact_at,channel\n"
    "C000001,Tristan,Fernandes,tristan.fernandes@sfr.fr,,,2025-01-02,2026-01-02,web\n"
)


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


def _run_ingest_dag() -> str:
    from airflow.dag_processing.dagbag import DagBag

    run = DagBag(dag_folder=str(PROJECT / "dags")).get_dag("review_ingest").test()
    return str(run.state)


def _store_rows() -> dict[str, Any]:
    """Return every stored review by source and external id, the quarantine ids and the watermarks."""
    from governance.runtime import open_store
    from governance.store.schema import quarantine, reviews, source_watermarks

    store = open_store()
    with store.engine.connect() as conn:
        review_rows = conn.execute(select(reviews)).mappings().all()
        rows = {
            "reviews": {f"{row['source']}/{row['external_id']}": dict(row) for row in review_rows},
            "quarantine": sorted(conn.execute(select(quarantine.c.quarantine_id)).scalars()),
            "watermarks": dict(conn.execute(select(source_watermarks.c.source, source_watermarks.c.cursor)).all()),
        }
    store.engine.dispose()
    return rows


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_ingest_dag_rerun_then_edit(
    airflow_db: Path, settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "inputs"
    (inputs / "internal").mkdir(parents=True)
    (inputs / "internal" / "crm_customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    monkeypatch.setenv("REVIEW_GOV_INPUT_DIR", str(inputs))

    with FakePlatformServer() as server:
        # The platform credentials come from Airflow connections only, never from the variables
        # that the library reads outside Airflow.
        sources = [{"name": "crm_customers", "type": "crm_customers_csv", "path": "internal/crm_customers.csv"}]
        for platform, type_name in PLATFORM_TYPES.items():
            name = f"{platform}_dag"
            sources.append({"name": name, "type": type_name, **server.source_options(platform)})
            connection = json.dumps({"conn_type": "http", "password": DEMO_SECRETS[platform]})
            monkeypatch.setenv(f"AIRFLOW_CONN_REVIEW_GOV_{name.upper()}", connection)
            monkeypatch.delenv(f"REVIEW_GOV_SOURCE_{name.upper()}_SECRET", raising=False)
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
        monkeypatch.setenv("REVIEW_GOV_SOURCES_FILE", str(sources_file))

        assert _run_ingest_dag() == "success"
        first = _store_rows()
        assert _run_ingest_dag() == "success"
        second = _store_rows()

        server.set_state("later")
        assert _run_ingest_dag() == "success"
        later = _store_rows()

    # Five Google reviews, four Trustpilot, three Yelp and six TripAdvisor pass validation.
    assert len(first["reviews"]) == 18
    assert set(first["watermarks"]) == {"google_dag", "trustpilot_dag"}
    assert second == first

    assert set(later["reviews"]) == set(first["reviews"])
    for platform in PLATFORM_TYPES:
        edited = f"{platform}_dag/{EDITED[platform]}"
        deleted = f"{platform}_dag/{DELETED[platform]}"
        assert later["reviews"][edited]["content_hash"] != first["reviews"][edited]["content_hash"], platform
        assert later["reviews"][edited]["deleted_at"] is None, platform
        assert later["reviews"][deleted]["deleted_at"] is not None, platform
    unchanged = set(first["reviews"]) - {f"{platform}_dag/{EDITED[platform]}" for platform in PLATFORM_TYPES}
    for key in unchanged:
        assert later["reviews"][key]["content_hash"] == first["reviews"][key]["content_hash"], key
