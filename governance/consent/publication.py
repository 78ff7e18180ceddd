"""The publication extract: masked reviews whose author consented to their publication.

Only reviews of known customers can carry our consent; reviews pulled from a public platform have
no consent record of ours and never enter this extract. The author is shown as first name and
initial, and the text is the masked text, so third parties named in it stay hidden.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from governance.consent.ledger import ConsentStatus, consent_states, status_of
from governance.consent.validation import CoverageResult, validate_consent_coverage
from governance.store import Store
from governance.store.schema import consent_checks, customers, masked_reviews, reviews

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

PURPOSE = "review_publication"
EXTRACT = "publication"


class ConsentViolationError(RuntimeError):
    """An extract failed its consent-coverage validation; nothing was written."""


@dataclass
class ExtractResult:
    """Where an extract went and how its validation ended."""

    path: Path | None
    rows: int
    coverage: CoverageResult
    candidates_by_status: dict[str, int]


def author_display_name(first_name: str | None, last_name: str | None) -> str:
    """Return `Marie D.` style: first name and the initial of the last name."""
    first = (first_name or "").strip()
    initial = (last_name or "").strip()[:1]
    if first and initial:
        return f"{first} {initial.upper()}."
    return first or "Client"


def _candidates(store: Store, as_of: datetime) -> tuple[pd.DataFrame, dict[str, int]]:
    """Select masked reviews of known customers, with consent status and display name."""
    import pandas as pd

    records = []
    with store.engine.connect() as conn:
        states = consent_states(conn, PURPOSE, as_of)
        query = (
            select(
                reviews.c.review_id,
                reviews.c.source,
                reviews.c.customer_id,
                reviews.c.rating,
                reviews.c.review_date,
                masked_reviews.c.language,
                masked_reviews.c.masked_text,
                customers.c.subject_id,
                customers.c.first_name_enc,
                customers.c.last_name_enc,
            )
            .join(masked_reviews, masked_reviews.c.review_id == reviews.c.review_id)
            .join(customers, customers.c.customer_id == reviews.c.customer_id)
            .where(reviews.c.deleted_at.is_(None))
            .order_by(reviews.c.review_id)
        )
        for row in conn.execute(query):
            records.append(
                {
                    "review_id": row.review_id,
                    "source": row.source,
                    "customer_id": row.customer_id,
                    "consent_status": status_of(states, row.customer_id).value,
                    "rating": row.rating,
                    "review_date": row.review_date.date().isoformat(),
                    "language": row.language,
                    "masked_text": row.masked_text,
                    "_subject_id": row.subject_id,
                    "_first": row.first_name_enc,
                    "_last": row.last_name_enc,
                }
            )
        frame = pd.DataFrame.from_records(
            records,
            columns=["review_id", "source", "customer_id", "consent_status", "rating", "review_date",
                     "language", "masked_text", "_subject_id", "_first", "_last"],
        )
        by_status = frame["consent_status"].value_counts().to_dict() if len(frame) else {}
        selected = frame[frame["consent_status"] == ConsentStatus.ACTIVE.value].copy()
        selected["author"] = [
            author_display_name(
                store.decrypt(conn, subject, first, f"customers:{customer}:first_name"),
                store.decrypt(conn, subject, last, f"customers:{customer}:last_name"),
            )
            for subject, first, last, customer in zip(
                selected["_subject_id"], selected["_first"], selected["_last"], selected["customer_id"], strict=True
            )
        ]
    return selected.drop(columns=["_subject_id", "_first", "_last"]), {str(k): int(v) for k, v in by_status.items()}


def _revalidate(store: Store, frame: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Re-derive each row's consent from the ledger, independently of the selection step."""
    with store.engine.connect() as conn:
        states = consent_states(conn, PURPOSE, as_of)
    checked = frame[["review_id", "source", "customer_id"]].copy()
    checked["consent_status"] = [status_of(states, customer).value for customer in checked["customer_id"]]
    return checked


def build_publication_extract(
    store: Store, out_dir: Path, *, as_of: datetime, run_id: str | None, fail_on_violation: bool = True
) -> ExtractResult:
    """Build, validate and write the publication extract as Parquet; write nothing on a violation."""
    frame, candidates_by_status = _candidates(store, as_of)
    coverage = validate_consent_coverage(_revalidate(store, frame, as_of), purpose=PURPOSE, extract=EXTRACT)
    with store.engine.begin() as conn:
        conn.execute(
            insert(consent_checks).values(
                run_id=run_id,
                purpose=PURPOSE,
                extract=EXTRACT,
                checked=coverage.checked,
                compliant=coverage.compliant,
                violations=coverage.violations,
                gaps=coverage.gaps,
                coverage_pct=coverage.coverage_pct,
                success=int(coverage.success),
                details=json.dumps(
                    {"by_source": coverage.by_source, "candidates_by_status": candidates_by_status,
                     "sample_violation_ids": coverage.sample_violation_ids,
                     "sample_gap_ids": coverage.sample_gap_ids},
                    sort_keys=True,
                ),
                created_at=datetime.now(UTC),
            )
        )
    if not coverage.success:
        message = (
            f"The {EXTRACT} extract failed its consent validation: {coverage.violations} withdrawn and "
            f"{coverage.gaps} missing consents for {PURPOSE} out of {coverage.checked} rows "
            f"(sample review ids: {coverage.sample_violation_ids[:5] + coverage.sample_gap_ids[:5]}). "
            "Nothing was written."
        )
        if fail_on_violation:
            raise ConsentViolationError(message)
        log.warning(message)
        return ExtractResult(None, 0, coverage, candidates_by_status)

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{EXTRACT}.parquet"
    temporary = path.with_suffix(".parquet.tmp")
    frame.drop(columns=["customer_id", "consent_status"]).to_parquet(temporary, index=False)
    temporary.replace(path)
    log.info("Wrote the %s extract: %d rows", EXTRACT, len(frame))
    return ExtractResult(path, len(frame), coverage, candidates_by_status)
