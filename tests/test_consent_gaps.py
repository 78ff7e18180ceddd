"""Reviews of our own sources that lost their customer link are consent gaps, never allowed.

Retention anonymises old reviews: their customer link is set to NULL and their consent events may
be gone. Such a survey review must not enter the analytics extract as if it were a public platform
review. These tests run on a slice of the bundled sample data, on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select

from governance.consent import extracts as extracts_module
from governance.consent.extracts import ConsentViolationError, add_check_columns, build_extract, load_candidates
from governance.consent.ledger import consent_snapshot
from governance.consent.purposes import current_purposes
from governance.retention.erasure import anonymise_reviews
from governance.store import Store
from governance.store.schema import masked_reviews, reviews
from tests.bundled import load_bundled

AS_OF = datetime.now(UTC)


@pytest.fixture
def anonymised_review(store: Store) -> str:
    """Load 200 customers with masked reviews; anonymise one survey review of an active consent."""
    load_bundled(store, customers_limit=200)
    purpose = current_purposes().for_extract("analytics")
    with store.engine.begin() as conn:
        review_ids = list(conn.execute(select(reviews.c.review_id)).scalars())
        conn.execute(
            insert(masked_reviews),
            [
                {"review_id": review_id, "masked_text": "Livraison rapide, recettes variées.",
                 "entity_counts": "{}", "language": "fr", "content_hash": "x", "masked_at": AS_OF}
                for review_id in review_ids
            ],
        )
        active = consent_snapshot(conn, purpose, AS_OF).active_customers()
        review_id = conn.execute(
            select(reviews.c.review_id)
            .where(reviews.c.source == "survey", reviews.c.customer_id.in_(sorted(active)))
            .order_by(reviews.c.review_id)
            .limit(1)
        ).scalar_one()
        anonymise_reviews(store, conn, [review_id])
    return review_id


def test_unlinked_review_left_out(store: Store, settings_env: Path, anonymised_review: str) -> None:
    result = build_extract(store, "analytics", data_dir=settings_env, as_of=AS_OF, run_id="test-gap")

    assert result.coverage.success, result.coverage.failed_expectations
    frame = pd.read_parquet(result.path)
    survey = frame[frame["source"] == "survey"]
    assert len(survey) > 0
    assert survey["customer_pseudonym"].notna().all()
    assert "public_platform" not in result.eligible_by_source["survey"]
    assert result.eligible_by_source["survey"]["none"] >= 1
    assert result.eligible_by_source["trustpilot_csv"] == {"public_platform": len(frame) - len(survey)}


def test_unlinked_review_counts_as_gap(store: Store, anonymised_review: str) -> None:
    catalog = current_purposes()
    with store.engine.connect() as conn:
        candidates = load_candidates(conn)
        snapshot = consent_snapshot(conn, catalog.for_extract("analytics"), AS_OF)
    row = candidates[candidates["review_id"] == anonymised_review].copy()
    row["internal"] = True
    row["customer_pseudonym"] = None
    row["month"] = "2024-01"

    checked = add_check_columns("analytics", row, snapshot, catalog, identifier_scan=None)

    assert list(checked["check_consent_status"]) == ["none"]
    assert list(checked["check_coverage"]) == ["gap"]


def test_forced_unlinked_review_fails(
    store: Store, settings_env: Path, anonymised_review: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A selection that lets the unlinked review through fails validation and writes nothing."""
    real_select = extracts_module.select_rows

    def select_with_unlinked(extract, frame, snapshot, catalog):  # type: ignore[no-untyped-def]
        selected, counts = real_select(extract, frame, snapshot, catalog)
        unlinked = frame[frame["review_id"] == anonymised_review].copy()
        unlinked["internal"] = True
        return pd.concat([selected, unlinked]), counts

    monkeypatch.setattr(extracts_module, "select_rows", select_with_unlinked)
    with pytest.raises(ConsentViolationError, match="0 violations and 1 gaps"):
        build_extract(store, "analytics", data_dir=settings_env, as_of=AS_OF, run_id="test-forced-gap")
    assert not (settings_env / "extracts" / "analytics.parquet").exists()
