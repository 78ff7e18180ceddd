"""The DAG files: they parse cleanly and cheaply, and the pipeline runs with dag.test()."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLES = PROJECT / "examples"
DAG_IDS = ["review_ingest", "review_masking", "review_consent", "review_retention", "register"]
HEAVY_MODULES = ["spacy", "presidio_analyzer", "presidio_anonymizer", "pandas", "great_expectations"]

PARSE_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
sys.path.insert(0, sys.argv[1])
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    "dag_ids": sorted(bag.dag_ids),
    "heavy": sorted(name for name in sys.argv[2:] if name in sys.modules),
}))
"""


def test_dag_files_parse_without_heavy_imports(airflow_db: Path) -> None:
    output = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, str(PROJECT / "dags"), *HEAVY_MODULES],
        check=True, capture_output=True, text=True,
    ).stdout
    parsed = json.loads(output.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert set(DAG_IDS) <= set(parsed["dag_ids"])
    assert parsed["heavy"] == []


def _slice_inputs(target: Path, trustpilot_rows: int, survey_lines: int) -> None:
    """Copy a slice of the real exports, keeping every malformed survey line of the sample."""
    (target / "internal").mkdir(parents=True)
    (target / "reviews").mkdir()
    for name in ("crm_customers.csv", "consents.csv"):
        shutil.copy(EXAMPLES / "internal" / name, target / "internal" / name)
    shutil.copy(EXAMPLES / "reviews" / "amazon_fr_sample.tsv", target / "reviews" / "amazon_fr_sample.tsv")
    lines = (EXAMPLES / "internal" / "survey_responses.jsonl").read_text(encoding="utf-8").splitlines()
    malformed = {18, 43, 109, 231, 401, 3001}  # unknown customer, 5/5, 31/02, empty, 9, duplicate
    kept = [line for number, line in enumerate(lines, 1) if number <= survey_lines or number in malformed]
    (target / "internal" / "survey_responses.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    shutil.copy(EXAMPLES / "reviews" / "amazon_fr_sample.tsv", target / "reviews" / "amazon_fr_sample.tsv")
    trustpilot = (EXAMPLES / "reviews" / "trustpilot_fr_export.csv").read_text(encoding="utf-8").splitlines()
    (target / "reviews" / "trustpilot_fr_export.csv").write_text(
        "\n".join(trustpilot[: trustpilot_rows + 1]) + "\n", encoding="utf-8"
    )


def _run(dag_id: str) -> str:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    run = bag.get_dag(dag_id).test()
    return str(run.state)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_pipeline_end_to_end(
    airflow_db: Path, settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = tmp_path / "inputs"
    _slice_inputs(inputs, trustpilot_rows=150, survey_lines=150)
    monkeypatch.setenv("REVIEW_GOV_INPUT_DIR", str(inputs))
    monkeypatch.setenv("REVIEW_GOV_PARTITION_SIZE", "100")

    states = {dag_id: _run(dag_id) for dag_id in DAG_IDS}
    assert states == {dag_id: "success" for dag_id in DAG_IDS}

    from governance.register.journal import verify_chain
    from governance.runtime import open_store
    from governance.store.schema import masked_reviews, quarantine, register_journal, reviews

    store = open_store()
    with store.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(reviews)).scalar()
        masked = conn.execute(select(func.count()).select_from(masked_reviews)).scalar()
        reasons = sorted(conn.execute(select(quarantine.c.reason)).scalars())
        activities = sorted(set(conn.execute(select(register_journal.c.activity)).scalars()))
    assert stored == masked
    assert stored > 150
    kinds = [reason.split("'")[0].strip().split(":")[0] for reason in reasons]
    future = _future_dated_consents(EXAMPLES / "internal" / "consents.csv")
    assert kinds.count("consent dated in the future") == future
    assert [kind for kind in kinds if kind != "consent dated in the future"] == [
        "empty review text",
        "impossible date",
        "rating out of range 1 to 5",
        "unknown customer id",
        "unknown purpose",
        "withdrawal is dated before its grant",
        "withdrawal is dated before its grant",
        "withdrawal is dated before its grant",
    ]
    assert activities == [
        "ambassador_program", "recontact", "register", "retention", "review_collection", "review_masking",
        "review_publication",
    ]
    assert verify_chain(store.engine).ok
    for extract in ("analytics", "publication", "recontact", "ambassadors"):
        assert (settings_env / "extracts" / f"{extract}.parquet").exists()
    _check_export_against_store(store, settings_env)


def _check_export_against_store(store, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Every task that ran has an outcome entry under its report's activity; counts match the files."""
    import pandas as pd
    from airflow.dag_processing.dagbag import DagBag

    from governance.consent.purposes import current_purposes
    from governance.register.activities import load_register
    from governance.register.export import Period, build_export
    from governance.store.schema import masked_reviews

    data = build_export(store.engine, load_register(), Period(), "fr")
    journal = data["journal"]
    outcomes = {(entry["dag_id"], entry["task_id"]): entry for entry in journal if entry["try_number"] is not None}
    reports = {(entry["dag_id"], entry["task_id"]): entry for entry in journal if entry["try_number"] is None}
    bag = DagBag(dag_folder=str(PROJECT / "dags"))
    for dag_id in DAG_IDS:
        for task_id in bag.get_dag(dag_id).task_ids:
            assert outcomes[(dag_id, task_id)]["status"] == "success", (dag_id, task_id)
    for key, report in reports.items():
        assert outcomes[key]["activity"] == report["activity"], key
    assert data["undeclared_activities"] == []
    # The register DAG verified the chain, then exported the month in the three formats, in French.
    exports = sorted(path.name for path in (data_dir / "reports").glob("register-*-fr*"))
    assert [name.rsplit(".", 1)[-1] if "." in name else "csv" for name in exports] == ["csv", "html", "json"]

    summary = {row["activity"]: row for row in data["summary"]}
    deleted = summary["retention"]["deletions"]
    with store.engine.connect() as conn:
        masked_now = conn.execute(select(func.count()).select_from(masked_reviews)).scalar()
    assert summary["review_masking"]["records_written"] - deleted.get("masked_reviews", 0) == masked_now
    extract_rows = {
        extract: len(pd.read_parquet(data_dir / "extracts" / f"{extract}.parquet"))
        for extract in ("analytics", "publication", "recontact", "ambassadors")
    }
    written = {
        extract: reports[("review_consent", f"{extract}_extract")]["records_out"] for extract in extract_rows
    }
    for extract in extract_rows:
        purpose = current_purposes().for_extract(extract).name
        assert reports[("review_consent", f"{extract}_extract")]["activity"] == purpose
    # Retention runs after the extracts and removes the lines of the customers it erases.
    assert sum(written.values()) - deleted.get("extract_lines", 0) == sum(extract_rows.values())


def _future_dated_consents(path: Path) -> int:
    """Count consent rows dated more than a day after now, which the reader quarantines."""
    import csv
    from datetime import UTC, datetime, timedelta

    limit = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return sum(
        1 for row in rows
        if max(row["granted_at"], row["withdrawn_at"]) > limit
        and not (row["withdrawn_at"] and row["withdrawn_at"] < row["granted_at"])
        and row["purpose"] != "marketing_sms"
    )


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_master_key_from_airflow_connection(
    airflow_db: Path, settings_env: Path, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REVIEW_GOV_MASTER_KEY")
    connection = json.dumps({"conn_type": "generic", "password": keys["MASTER_KEY"]})
    monkeypatch.setenv("AIRFLOW_CONN_REVIEW_GOV_MASTER_KEY", connection)

    assert _run("review_retention") == "success"

    import os

    from governance.register.journal import verify_chain
    from governance.store import Store

    # The task exported the key into its own environment; the test process must not have it.
    monkeypatch.delenv("REVIEW_GOV_MASTER_KEY", raising=False)
    store = Store.open(os.environ["REVIEW_GOV_STORE_URL"], base64.b64decode(keys["MASTER_KEY"]))
    assert verify_chain(store.engine).entries >= 1
