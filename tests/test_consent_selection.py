"""Consent selection cases on a slice of the bundled sample data, on both backends.

- Retention anonymises old reviews: their customer link is set to NULL and their consent events
  may be gone. Such a survey review is a gap and must not enter the analytics extract as if it
  were a public platform review.
- A platform review linked (by email) to a customer who withdrew stays out of analytics.
- The journal, the consent checks, the register exports and the Great Expectations stores hold no
  CRM value, also after a failed validation.

The masked text of every review is one fixed sentence: these tests are about consent, not masking.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from governance import stages
from governance.consent import extracts as extracts_module
from governance.consent.extracts import ConsentViolationError, add_check_columns, build_extract, load_candidates
from governance.consent.ledger import ConsentStatus, consent_snapshot
from governance.consent.purposes import current_purposes
from governance.register.activities import PACKAGED_CONFIG, load_register
from governance.register.export import ExportFormat, Period, export_register
from governance.retention.erasure import anonymise_reviews
from governance.runtime import RunContext
from governance.store import Store
from governance.store.schema import consent_checks, masked_reviews, register_journal, reviews
from tests.bundled import crm_leaks, crm_values, load_bundled
from tests.consent_patches import select_ignoring_consent

AS_OF = datetime.now(UTC)


@pytest.fixture
def sample(store: Store) -> Store:
    """Load 200 customers of the bundled data, their consents and reviews, each with a masked text."""
    load_bundled(store, customers_limit=200)
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
    return store


@pytest.fixture
def anonymised_review(sample: Store) -> str:
    """Anonymise one survey review of a customer with an active `review_collection` consent."""
    store = sample
    purpose = current_purposes().for_extract("analytics")
    with store.engine.begin() as conn:
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


def test_platform_review_of_withdrawn_left_out(store: Store, sample: Store, settings_env: Path) -> None:
    catalog = current_purposes()
    with store.engine.begin() as conn:
        snapshot = consent_snapshot(conn, catalog.for_extract("analytics"), AS_OF)
        withdrawn = sorted(
            customer for customer, state in snapshot.states.items() if state.status is ConsentStatus.WITHDRAWN
        )
        platform_review = conn.execute(
            select(reviews.c.review_id).where(reviews.c.source == "trustpilot_csv").order_by(reviews.c.review_id).limit(1)
        ).scalar_one()
        # What the platform connectors do when a review's email matches a customer's.
        conn.execute(update(reviews).where(reviews.c.review_id == platform_review).values(customer_id=withdrawn[0]))
        platform_reviews = conn.execute(
            select(reviews.c.review_id).where(reviews.c.source == "trustpilot_csv")
        ).scalars().all()

    result = build_extract(store, "analytics", data_dir=settings_env, as_of=AS_OF, run_id="test-platform")

    assert result.coverage.success, result.coverage.failed_expectations
    frame = pd.read_parquet(result.path)
    assert (frame["source"] == "trustpilot_csv").sum() == len(platform_reviews) - 1
    assert result.eligible_by_source["trustpilot_csv"] == {
        "public_platform": len(platform_reviews) - 1,
        "withdrawn": 1,
    }


def _text_files(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8-sig")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.suffix in (".json", ".html", ".csv")
    }


def test_consent_outputs_hold_no_crm_value(
    store: Store, sample: Store, settings_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build the four extracts through their stage, one failing, then scan what they leave behind."""
    with store.engine.connect() as conn:
        purpose = current_purposes().for_extract("recontact")
        withdrawn = [
            customer for customer, state in consent_snapshot(conn, purpose, AS_OF).states.items()
            if state.status is ConsentStatus.WITHDRAWN
        ]
    assert withdrawn
    for extract in ("analytics", "publication", "ambassadors"):
        stages.build_consent_extract(
            RunContext(dag_id="review_consent", run_id="run-1", task_id=f"{extract}_extract"), extract
        )
    # Every survey review enters recontact, so withdrawn and repeated customers fail its validation.
    select_ignoring_consent(monkeypatch)
    monkeypatch.setattr(extracts_module, "_latest_per_customer", lambda frame: frame.assign(low_rated_reviews=1))
    with pytest.raises(ConsentViolationError):
        stages.build_consent_extract(
            RunContext(dag_id="review_consent", run_id="run-1", task_id="recontact_extract"), "recontact"
        )

    register = load_register()
    texts = _text_files(settings_env / "gx")
    for language, export_format, name in (("fr", ExportFormat.HTML, "r.html"), ("en", ExportFormat.JSON, "r.json")):
        _, paths = export_register(store.engine, register, Period(), language, export_format, settings_env / name)
        texts |= {path.name: path.read_text(encoding="utf-8") for path in paths}
    with store.engine.connect() as conn:
        texts["register_journal"] = "\n".join(str(tuple(row)) for row in conn.execute(select(register_journal)))
        texts["consent_checks"] = "\n".join(str(tuple(row)) for row in conn.execute(select(consent_checks)))

    # Last names alone are not scanned: the Great Expectations files hold many ordinary words.
    ordinary_words = set(re.findall(r"\w+", PACKAGED_CONFIG.read_text(encoding="utf-8")))
    values = crm_values()
    for name, text in texts.items():
        leaks = crm_leaks(text, values, ordinary_words)
        assert leaks["exact"] == [], name
        assert leaks["full_name"] == [], name

    [recontact_result] = [text for name, text in texts.items() if name.endswith("consent_extracts-recontact.json")]
    # The failed withdrawal and once-per-customer checks stored their flags, not customer ids.
    assert '"withdrawn"' in recontact_result
    assert '"repeat"' in recontact_result
    assert '"consent_ids"' in texts["register_journal"]
