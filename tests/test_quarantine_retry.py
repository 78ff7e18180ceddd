"""Quarantine list and retry on both backends: rows whose cause is fixed are loaded once, the rest stay."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from governance import stages
from governance.cli import app
from governance.crypto import decrypt_value
from governance.quarantine import CONFLICT_REASON, quarantine_summary, retry_quarantine
from governance.register.journal import verify_chain
from governance.runtime import RunContext
from governance.sources import trustpilot_csv
from governance.sources.parsing import parse_date
from governance.store import Store
from governance.store.schema import consent_events, quarantine, register_journal, reviews, subject_keys

CUSTOMER_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "postal_address",
                    "created_at", "last_contact_at", "channel"]
CONSENT_COLUMNS = ["consent_id", "customer_id", "purpose", "granted_at", "withdrawn_at", "source",
                   "policy_version", "privacy_policy_url"]
KNOWN = {"customer_id": "C000001", "first_name": "Marie", "last_name": "Dupont", "email": "marie.dupont@example.org",
         "phone": "+33 6 12 34 56 78", "postal_address": "2, rue des Lilas, 75011 Paris",
         "created_at": "2024-01-05T00:00:00Z", "last_contact_at": "2026-01-05T00:00:00Z", "channel": "web"}
LATER = {**KNOWN, "customer_id": "C000002", "first_name": "Louis", "last_name": "Martin",
         "email": "louis.martin@example.org", "phone": "+33 6 98 76 54 32"}

SOURCES_YAML = """
sources:
  - {name: crm_customers, type: crm_customers_csv, path: customers.csv}
  - {name: crm_consents, type: crm_consents_csv, path: consents.csv}
  - {name: survey, type: survey_jsonl, path: survey.jsonl}
  - {name: trustpilot_csv, type: trustpilot_csv, path: trustpilot.csv}
"""


@pytest.fixture
def inputs(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An input folder with a sources file of its own, and one customer loaded from the CRM export."""
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    monkeypatch.setenv("REVIEW_GOV_SOURCES_FILE", str(folder / "sources.yaml"))
    monkeypatch.setenv("REVIEW_GOV_INPUT_DIR", str(folder))
    _write_customers(folder, [KNOWN])
    _write_consents(folder, [])
    _write_survey(folder, [])
    _pull("crm_customers")
    return folder


def _write_customers(folder: Path, rows: list[dict[str, str]]) -> None:
    with (folder / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CUSTOMER_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _write_consents(folder: Path, rows: list[dict[str, str]]) -> None:
    with (folder / "consents.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CONSENT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _write_survey(folder: Path, rows: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    (folder / "survey.jsonl").write_text(lines, encoding="utf-8")


def _response(response_id: str, customer_id: str, **changes: Any) -> dict[str, Any]:
    return {"response_id": response_id, "customer_id": customer_id, "submitted_at": "2026-02-01T00:00:00Z",
            "rating": 4, "comment": "Recettes faciles, livraison à l'heure.", "language": "fr",
            "channel": "kiosk", **changes}


def _consent(consent_id: str, customer_id: str, **changes: str) -> dict[str, str]:
    return {"consent_id": consent_id, "customer_id": customer_id, "purpose": "review_publication",
            "granted_at": "2025-06-01T00:00:00Z", "withdrawn_at": "", "source": "web_form",
            "policy_version": "2024-02", "privacy_policy_url": "https://www.example.fr/confidentialite", **changes}


def _pull(*names: str) -> None:
    for name in names:
        stages.ingest_source(RunContext(task_id=f"pull_{name}"), name)


def _retry(source: str | None = None) -> dict[str, dict[str, Any]]:
    details = stages.retry_quarantine(RunContext(task_id="quarantine_retry"), source)
    return {item["source"]: item for item in details["sources"]}


def _quarantined(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(quarantine.c.source, quarantine.c.source_ref, quarantine.c.reason, quarantine.c.reader)
            .order_by(quarantine.c.source, quarantine.c.source_ref)
        ).mappings()
        return [dict(row) for row in rows]


def _count(store: Store, table: Any, *conditions: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar() or 0)


def _own_quarantine_keys(store: Store) -> int:
    return _count(store, subject_keys, subject_keys.c.subject_id.startswith("quarantine:"))


def test_retry_loads_rows_once_fixed(store: Store, inputs: Path) -> None:
    _write_consents(inputs, [_consent("K1", "C000002", source="web_form, relance")])
    _write_survey(inputs, [
        _response("S1", "C000002"),
        _response("S2", "C000001", submitted_at="31/02/2026"),
        _response("S3", "C000002", rating=9),
    ])
    _pull("crm_consents", "survey")
    assert [row["reason"] for row in _quarantined(store)] == [
        "unknown customer id '…'", "unknown customer id '…'", "impossible date '…' (day is out of range for month)",
        "unknown customer id '…'",
    ]
    assert _own_quarantine_keys(store) == 3

    # The customer reaches the CRM; the consent and survey exports are not sent again.
    _write_customers(inputs, [KNOWN, LATER])
    _pull("crm_customers")
    first = _retry()

    assert first["crm_consents"]["loaded"] == 1
    assert first["survey"]["retried"] == 3
    assert first["survey"]["loaded"] == 1
    assert first["survey"]["still_failing"] == 2
    assert first["survey"]["inserted"] == 1
    with store.engine.connect() as conn:
        event_sources = conn.execute(select(consent_events.c.source).where(consent_events.c.consent_id == "K1")).scalars().all()
    assert event_sources == ["web_form, relance"]
    assert _count(store, reviews, reviews.c.source == "survey", reviews.c.external_id == "S1") == 1
    left = _quarantined(store)
    assert [(row["source_ref"], row["reason"]) for row in left] == [
        ("survey.jsonl:line 2", "impossible date '…' (day is out of range for month)"),
        ("survey.jsonl:line 3", "rating out of range 1 to 5: 9"),
    ]
    assert _own_quarantine_keys(store) == 1

    second = _retry()

    assert second["survey"]["retried"] == 2
    assert second["survey"]["loaded"] == 0
    assert "crm_consents" not in second
    assert _count(store, consent_events, consent_events.c.consent_id == "K1") == 1
    assert _count(store, reviews, reviews.c.source == "survey") == 1
    assert len(_quarantined(store)) == 2


def test_retry_journals_counts(store: Store, inputs: Path) -> None:
    _write_survey(inputs, [_response("S1", "C000002")])
    _pull("survey")
    _write_customers(inputs, [KNOWN, LATER])
    _pull("crm_customers")

    _retry()

    with store.engine.connect() as conn:
        entry = conn.execute(
            select(register_journal).order_by(register_journal.c.seq.desc()).limit(1)
        ).mappings().one()
    details = json.loads(entry["details"])
    assert entry["activity"] == "review_collection"
    assert entry["task_id"] == "quarantine_retry"
    assert entry["records_in"] == 1
    assert entry["records_out"] == 1
    assert details["step"] == "quarantine_retry"
    assert details["sources"][0]["source"] == "survey"
    assert "C000002" not in entry["details"]
    assert "louis" not in entry["details"].lower()
    assert verify_chain(store.engine).ok


def test_retry_rereads_csv_fields(
    store: Store, inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "Bon rapport qualité/prix ; livraison rapide, \"vraiment\" fraîche."
    with (inputs / "trustpilot.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(trustpilot_csv.COLUMNS)
        writer.writerow(["Nina; B.", "Très bien", text, "4,5", " 1er mai 2024"])

    def numeric_dates_only(value: str):  # type: ignore[no-untyped-def]
        if "/" not in value and "-" not in value:
            raise ValueError("unreadable date")
        return parse_date(value)

    # An older parser that does not read French month names; the retry runs with the current one.
    with monkeypatch.context() as patch:
        patch.setattr(trustpilot_csv, "parse_date", numeric_dates_only)
        _pull("trustpilot_csv")
    assert [row["reader"] for row in _quarantined(store)] == ["trustpilot_csv"]
    assert _own_quarantine_keys(store) == 1

    results = _retry("trustpilot_csv")

    assert results["trustpilot_csv"]["loaded"] == 1
    assert _quarantined(store) == []
    with store.engine.connect() as conn:
        row = conn.execute(select(reviews).where(reviews.c.source == "trustpilot_csv")).mappings().one()
        stored_text = store.decrypt(conn, row["subject_id"], row["text_enc"], f"reviews:{row['review_id']}:text")
        author = store.decrypt(conn, row["subject_id"], row["author_enc"], f"reviews:{row['review_id']}:author")
    assert stored_text == text
    assert author == "Nina; B."
    assert _own_quarantine_keys(store) == 0

    # The row's own key was deleted, not destroyed: the same row rejected again gets a new one.
    with monkeypatch.context() as patch:
        patch.setattr(trustpilot_csv, "parse_date", numeric_dates_only)
        _pull("trustpilot_csv")
    assert len(_quarantined(store)) == 1
    assert _own_quarantine_keys(store) == 1


def test_retry_skips_superseded_version(
    store: Store, inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVIEW_GOV_MAX_TEXT_CHARS", "60")
    long_text = "Les recettes sont bonnes mais la livraison arrive souvent en retard le soir."
    _write_survey(inputs, [_response("S1", "C000001", comment=long_text), _response("S2", "C000001", comment=long_text)])
    _pull("survey")
    assert [row["reader"] for row in _quarantined(store)] == ["review_record", "review_record"]
    # S1 is edited shorter at the source and loaded by a later pull: its quarantined version is old.
    _write_survey(inputs, [_response("S1", "C000001", comment="Bonnes recettes.")])
    _pull("survey")

    monkeypatch.setenv("REVIEW_GOV_MAX_TEXT_CHARS", "1000")
    results = _retry()

    assert results["survey"]["superseded"] == 1
    assert results["survey"]["loaded"] == 1
    assert _quarantined(store) == []
    with store.engine.connect() as conn:
        stored = {
            row.external_id: store.decrypt(conn, row.subject_id, row.text_enc, f"reviews:{row.review_id}:text")
            for row in conn.execute(select(reviews).where(reviews.c.source == "survey"))
        }
    assert stored == {"S1": "Bonnes recettes.", "S2": long_text}


def test_retry_keeps_conflicting_rows(store: Store, inputs: Path) -> None:
    _write_survey(inputs, [_response("S1", "C000002", rating=5), _response("S1", "C000002", rating=2)])
    _pull("survey")
    _write_customers(inputs, [KNOWN, LATER])
    _pull("crm_customers")

    results = _retry()

    assert results["survey"]["loaded"] == 1
    assert results["survey"]["still_failing"] == 1
    assert [row["reason"] for row in _quarantined(store)] == [CONFLICT_REASON]
    with store.engine.connect() as conn:
        ratings = conn.execute(select(reviews.c.rating).where(reviews.c.external_id == "S1")).scalars().all()
    assert ratings == [5.0]


def test_retry_leaves_unretryable_rows(store: Store, inputs: Path) -> None:
    _write_consents(inputs, [_consent("K1", "C000001"), _consent("K1", "C000001", purpose="recontact")])
    _write_survey(inputs, [_response("S1", "C000001", rating=5), _response("S1", "C000001", rating=2)])
    _pull("crm_consents", "survey")
    before = _quarantined(store)
    assert [row["reader"] for row in before] == [None, None]

    results = _retry()

    assert results["crm_consents"]["not_retryable"] == 1
    assert results["crm_consents"]["retried"] == 0
    assert results["survey"]["not_retryable"] == 1
    assert _quarantined(store) == before


def test_retry_source_option(store: Store, inputs: Path) -> None:
    _write_consents(inputs, [_consent("K1", "C000002")])
    _write_survey(inputs, [_response("S1", "C000002")])
    _pull("crm_consents", "survey")
    _write_customers(inputs, [KNOWN, LATER])
    _pull("crm_customers")

    result = CliRunner().invoke(app, ["quarantine", "retry", "--source", "survey"])

    assert result.exit_code == 0, result.output
    assert "survey: retried 1, loaded 1" in result.output
    assert [row["source"] for row in _quarantined(store)] == ["crm_consents"]
    assert _count(store, consent_events) == 0


def test_quarantine_list_prints_no_value(store: Store, inputs: Path) -> None:
    _write_consents(inputs, [_consent("K1", "C000002"), _consent("K2", "C000001", purpose="newsletter")])
    _write_survey(inputs, [_response("S1", "C000002", comment="Merci Louis Martin, louis.martin@example.org")])
    _pull("crm_consents", "survey")

    table = CliRunner().invoke(app, ["quarantine", "list"], env={"COLUMNS": "200"})
    as_json = CliRunner().invoke(app, ["quarantine", "list", "--json"])

    assert table.exit_code == 0, table.output
    assert as_json.exit_code == 0, as_json.output
    for output in (table.output, as_json.output):
        for value in ("C000002", "C000001", "Louis", "example.org", "newsletter", "K1"):
            assert value not in output
    assert json.loads(as_json.output) == [
        {"source": "crm_consents", "reason": "unknown customer id", "rows": 1, "retryable": 1},
        {"source": "crm_consents", "reason": "unknown purpose", "rows": 1, "retryable": 1},
        {"source": "survey", "reason": "unknown customer id", "rows": 1, "retryable": 1},
    ]
    assert "unknown purpose" in table.output
    assert [group.rows for group in quarantine_summary(store)] == [1, 1, 1]


def test_retry_row_kept_encrypted(store: Store, inputs: Path) -> None:
    _write_consents(inputs, [_consent("K1", "C000002", source="web_form, relance")])
    _pull("crm_consents")

    with store.engine.connect() as conn:
        row = conn.execute(select(quarantine)).mappings().one()
        sealed_key = store.data_key(conn, row["subject_id"], create=False)

    assert row["reader"] == "crm_consents_csv"
    assert b"relance" not in row["row_enc"]
    decrypted = json.loads(decrypt_value(sealed_key, row["row_enc"], f"quarantine:{row['quarantine_id']}:row"))
    assert decrypted["source"] == "web_form, relance"
    assert decrypted["customer_id"] == "C000002"


def test_retry_function_filters_source(store: Store, inputs: Path) -> None:
    _write_survey(inputs, [_response("S1", "C000002")])
    _pull("survey")

    assert retry_quarantine(store, source="crm_consents") == []
    assert [item.source for item in retry_quarantine(store, source="survey")] == ["survey"]
