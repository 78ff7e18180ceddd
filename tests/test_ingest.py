"""Loading the bundled exports into the store: counts, idempotency, quarantine, encryption."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import func, select, text, update

from governance.ingest import LoadCounts, customer_subject, erased_customer_subject, ingest_exports
from governance.store import Store
from governance.store.schema import consent_events, customers, quarantine, reviews, subject_keys

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


def _erase_first_linked_customer(store: Store) -> str:
    """Ingest the bundled exports, erase the first customer with a review, and return the id."""
    from governance.retention.erasure import erase_customers

    ingest_exports(store, EXAMPLES)
    with store.engine.begin() as conn:
        customer_id = conn.execute(
            select(reviews.c.customer_id).where(reviews.c.customer_id.is_not(None)).limit(1)
        ).scalar_one()
        erase_customers(store, conn, [customer_id], keep_reviews=False, extracts_dir=None)
    return customer_id


def test_erased_customer_not_reingested(store: Store) -> None:
    customer_id = _erase_first_linked_customer(store)

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
        key_names = list(conn.execute(select(subject_keys.c.subject_id)).scalars())
    assert not [name for name in key_names if customer_id in name]
    assert erased_customer_subject(customer_id) in key_names


def test_older_erasure_row_still_honoured(store: Store) -> None:
    """A store erased before the hashed key rows keeps `customer:<id>` rows, and ingest still skips them."""
    customer_id = _erase_first_linked_customer(store)
    with store.engine.begin() as conn:
        conn.execute(
            update(subject_keys)
            .where(subject_keys.c.subject_id == erased_customer_subject(customer_id))
            .values(subject_id=customer_subject(customer_id))
        )

    again = {counts.source: counts for counts in ingest_exports(store, EXAMPLES)}

    assert again["crm_customers"].suppressed == 1
    assert again["crm_customers"].inserted == 0
    assert again["survey"].suppressed >= 1


def test_deleted_review_not_reingested(store: Store) -> None:
    from governance.retention.erasure import delete_reviews

    ingest_exports(store, EXAMPLES)
    with store.engine.begin() as conn:
        review_ids = list(
            conn.execute(
                select(reviews.c.review_id).where(reviews.c.source == "survey").order_by(reviews.c.review_id).limit(3)
            ).scalars()
        )
        delete_reviews(store, conn, review_ids)

    again = {counts.source: counts for counts in ingest_exports(store, EXAMPLES)}

    assert again["survey"].suppressed == 3
    assert again["survey"].inserted == 0
    with store.engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(reviews).where(reviews.c.review_id.in_(review_ids)))
        assert left.scalar() == 0


def test_quarantine_reason_keeps_no_value(store: Store, tmp_path: Path) -> None:
    from governance.ingest import load_reviews
    from governance.sources import survey_jsonl

    path = tmp_path / "survey.jsonl"
    shifted = {"response_id": "S1", "customer_id": "C1", "submitted_at": "someone@example.org",
               "rating": 4, "comment": "Bien", "language": "fr", "channel": "kiosk"}
    path.write_text(json.dumps(shifted) + "\n" + '{"response_id": "S2", "customer_id": "C1"\xe9\n', encoding="utf-8")
    counts = load_reviews(store, survey_jsonl.read(path, {"C1"}), "survey")
    assert counts.quarantined == 2
    with store.engine.connect() as conn:
        reasons = conn.execute(select(quarantine.c.reason)).scalars().all()
    assert all("example.org" not in reason for reason in reasons)
    assert any(reason.startswith("unreadable date '…'") for reason in reasons)


def test_overlong_review_quarantined(store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from governance.ingest import load_reviews
    from governance.sources.records import ReviewRecord

    monkeypatch.setenv("REVIEW_GOV_MAX_TEXT_CHARS", "50")
    date = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        ReviewRecord(source="test", external_id="short", review_date=date, text="Très bien."),
        ReviewRecord(source="test", external_id="long", review_date=date, text="Trop long. " * 10),
    ]
    counts = load_reviews(store, items, "test")
    assert counts.inserted == 1
    assert counts.quarantined == 1
    with store.engine.connect() as conn:
        (reason,) = conn.execute(select(quarantine.c.reason)).scalars().all()
    assert "longer than the limit of 50" in reason


def test_adjacent_duplicate_stored_once(store: Store) -> None:
    from datetime import UTC, datetime

    from governance.ingest import load_reviews
    from governance.sources.records import ReviewRecord

    review = ReviewRecord(
        source="survey", external_id="S1", review_date=datetime(2026, 1, 1, tzinfo=UTC), text="Très bien.",
    )
    counts = load_reviews(store, [review, review], "survey")

    assert counts.read == 2
    assert counts.inserted == 1
    assert counts.updated == 0
    assert counts.unchanged == 1
    assert _count(store, reviews) == 1
