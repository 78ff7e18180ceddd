"""Loading the bundled exports into the store: counts, idempotency, quarantine, encryption."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select, text

from governance.ingest import LoadCounts, ingest_exports
from governance.store import Store
from governance.store.schema import consent_events, customers, quarantine, reviews

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IngestedStore = tuple[Store, dict[str, LoadCounts]]


def _count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_ingest_sample_counts(ingested_store: IngestedStore) -> None:
    store, results = ingested_store
    assert results["crm_customers"].inserted == 2000
    assert results["survey"].read == 3001
    assert results["survey"].inserted == 2996
    assert results["survey"].quarantined == 4
    assert results["trustpilot_csv"].inserted == 10_914
    assert _count(store, reviews) == 2996 + 10_914
    assert _count(store, quarantine) == 8


def test_duplicate_response_collapses(ingested_store: IngestedStore) -> None:
    store, results = ingested_store
    assert results["survey"].unchanged == 1
    with store.engine.connect() as conn:
        copies = conn.execute(
            select(func.count()).select_from(reviews).where(reviews.c.source == "survey", reviews.c.external_id == "S000006")
        ).scalar()
    assert copies == 1


def test_ingest_rerun_changes_nothing(ingested_store: IngestedStore) -> None:
    store, _results = ingested_store
    tables = (customers, reviews, consent_events, quarantine)
    before = [_count(store, table) for table in tables]
    again = ingest_exports(store, EXAMPLES)
    assert [_count(store, table) for table in tables] == before
    assert all(counts.inserted == 0 and counts.updated == 0 for counts in again)


def test_quarantine_payload_encrypted(ingested_store: IngestedStore) -> None:
    store, _results = ingested_store
    with store.engine.connect() as conn:
        payloads = conn.execute(select(quarantine.c.payload_enc)).scalars().all()
    assert len(payloads) == 8
    assert all(b"customer_id" not in payload for payload in payloads)


def test_contact_fields_unreadable_with_sql(ingested_store: IngestedStore) -> None:
    store, _results = ingested_store
    with (EXAMPLES / "internal" / "crm_customers.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    with store.engine.connect() as conn:
        dump = " ".join(
            str(value)
            for table in ("customers", "reviews", "quarantine")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
            for value in row
        )
    for column in ("email", "phone", "last_name"):
        assert first[column] not in dump, column
