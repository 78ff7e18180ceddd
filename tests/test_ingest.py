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
    # Consents dated after the load are quarantined too; how many depends on today's date.
    future = results["crm_consents"].reasons.get("consent dated in the future", 0)
    assert _count(store, quarantine) == 8 + future


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
    store, results = ingested_store
    with store.engine.connect() as conn:
        payloads = conn.execute(select(quarantine.c.payload_enc)).scalars().all()
    assert len(payloads) == 8 + results["crm_consents"].reasons.get("consent dated in the future", 0)
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


def test_erased_customer_not_reingested(store: Store) -> None:
    from governance.retention.erasure import erase_customers

    ingest_exports(store, EXAMPLES)
    with store.engine.begin() as conn:
        customer_id = conn.execute(
            select(reviews.c.customer_id).where(reviews.c.customer_id.is_not(None)).limit(1)
        ).scalar_one()
        erase_customers(store, conn, [customer_id], keep_reviews=False, extracts_dir=None)

    again = {counts.source: counts for counts in ingest_exports(store, EXAMPLES)}

    assert again["crm_customers"].suppressed == 1
    assert again["crm_customers"].inserted == 0
    assert again["survey"].suppressed >= 1
    assert again["crm_consents"].suppressed >= 1
    with store.engine.connect() as conn:
        for table in (customers, reviews, consent_events, quarantine):
            left = conn.execute(
                select(func.count()).select_from(table).where(table.c.customer_id == customer_id)
            ).scalar()
            assert left == 0, table.name
