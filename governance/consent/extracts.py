"""Extracts of the masked reviews, each bound to one purpose and validated row by row.

- analytics (`review_collection`): no direct identifier. The customer is a keyed pseudonym
  (HMAC-SHA256 under `REVIEW_GOV_PSEUDONYM_KEY`, the function erasure and access requests use to
  find the customer's lines). It is stable across runs, so distinct customers can be counted year
  over year. Other columns: masked text, rating, month, source and language.
  Public platform reviews enter under the purpose's `public_platform_basis`, with no pseudonym.
- publication (`review_publication`): reviews of customers with an active consent, the author
  shown as first name and initial, third parties masked in the text.
- recontact (`recontact`): one row per customer with a review rated 2 or less and an active
  consent, with the name, email and phone the sales team calls back with.
- ambassadors (`ambassador_program`): one row per customer with a review rated 5 whose text is
  not negative (`governance.consent.tone`) and an active consent, with name and email.

Recontact and ambassador lists only take reviews from internal sources linked to a customer:
a review pulled from a public platform carries no consent of ours. A review of an internal source
that is linked to no customer (anonymised by retention, for example) is a gap in every extract,
analytics included, and is never admitted as if it came from a public platform. Contact details are decrypted
for those two extracts only, in memory, and written nowhere else.

Each build selects rows, then re-derives every row's consent from the ledger independently of the
selection, validates the whole with Great Expectations and writes the Parquet file only on success.
On a failure the previous file is quarantined (`governance.consent.extract_files`), so that no
consumer keeps reading an extract that may name customers who have withdrawn since.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select

from governance.config import read_key
from governance.consent.extract_files import quarantine_previous, write_parquet
from governance.consent.ledger import (
    COVERAGE_OF_STATUS,
    ConsentSnapshot,
    ConsentStatus,
    Coverage,
    consent_snapshot,
)
from governance.consent.purposes import EXTRACTS, Purpose, PurposeCatalog, current_purposes
from governance.consent.tone import is_negative
from governance.consent.validation import CoverageResult, ExtractRules, validate_extract
from governance.retention.extracts import customer_pseudonym
from governance.store import Store
from governance.store.schema import consent_checks, consent_events, customers, masked_reviews, reviews

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

RECONTACT_MAX_RATING = 2
AMBASSADOR_RATING = 5
WITHDRAWN_ID_SAMPLE = 50
PER_CUSTOMER_EXTRACTS = ("recontact", "ambassadors")

COLUMNS: dict[str, tuple[str, ...]] = {
    "analytics": ("customer_pseudonym", "month", "source", "language", "rating", "masked_text"),
    "publication": ("review_id", "source", "author", "rating", "review_date", "language", "masked_text"),
    "recontact": ("customer_id", "first_name", "last_name", "email", "phone", "review_id", "review_date",
                  "rating", "masked_text", "low_rated_reviews"),
    "ambassadors": ("customer_id", "first_name", "last_name", "email", "review_id", "review_date",
                    "rating", "masked_text"),
}


class ConsentViolationError(RuntimeError):
    """An extract failed its validation: nothing was written, and the previous file was quarantined."""

    def __init__(self, message: str, result: ExtractResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class ExtractResult:
    """The outcome of one extract build: its file, its validation, and the consent of its audience."""

    extract: str
    purpose: str
    path: Path | None
    rows: int
    coverage: CoverageResult
    eligible_by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    withdrawals_applied: dict[str, Any] = field(default_factory=dict)
    quarantined_previous: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "extract": self.extract,
            "purpose": self.purpose,
            "path": str(self.path) if self.path else None,
            "quarantined_previous": str(self.quarantined_previous) if self.quarantined_previous else None,
            "rows": self.rows,
            "coverage": self.coverage.as_dict(),
            "eligible_by_source": self.eligible_by_source,
            "withdrawals_applied": self.withdrawals_applied,
        }


def author_display_name(first_name: str | None, last_name: str | None) -> str:
    """Return `Marie D.` style: first name and the initial of the last name."""
    first = (first_name or "").strip()
    initial = (last_name or "").strip()[:1]
    if first and initial:
        return f"{first} {initial.upper()}."
    return first or "Client"


# -- selection -------------------------------------------------------------------------------


def load_candidates(conn: Connection) -> pd.DataFrame:
    """Return every masked review not deleted at its source, with its customer if it has one."""
    import pandas as pd

    query = (
        select(
            reviews.c.review_id,
            reviews.c.source,
            reviews.c.customer_id,
            customers.c.subject_id,
            reviews.c.rating,
            reviews.c.review_date,
            masked_reviews.c.language,
            masked_reviews.c.masked_text,
        )
        .join(masked_reviews, masked_reviews.c.review_id == reviews.c.review_id)
        .outerjoin(customers, customers.c.customer_id == reviews.c.customer_id)
        .where(reviews.c.deleted_at.is_(None))
        .order_by(reviews.c.review_id)
    )
    rows = [dict(row) for row in conn.execute(query).mappings()]
    columns = ["review_id", "source", "customer_id", "subject_id", "rating", "review_date", "language", "masked_text"]
    return pd.DataFrame.from_records(rows, columns=columns)


def _linked_customer(customer_id: object) -> str | None:
    """Return the review's customer id, or None for a review linked to no customer."""
    return customer_id if isinstance(customer_id, str) else None


def _consent_status_column(frame: pd.DataFrame, snapshot: ConsentSnapshot, catalog: PurposeCatalog) -> list[str]:
    statuses = []
    for source, customer_id in zip(frame["source"], frame["customer_id"], strict=True):
        customer = _linked_customer(customer_id) if catalog.is_internal(source) else None
        statuses.append(snapshot.state_of(customer).status.value)
    return statuses


def _withdrawn_column(frame: pd.DataFrame, snapshot: ConsentSnapshot) -> list[bool]:
    """Flag the reviews, of any source, whose linked customer's latest event for the purpose is a withdrawal."""
    return [
        snapshot.state_of(_linked_customer(customer_id)).status is ConsentStatus.WITHDRAWN
        for customer_id in frame["customer_id"]
    ]


def _purpose_filter(extract: str, frame: pd.DataFrame) -> pd.Series:
    """Rows that pass the extract's own rule, before consent: rating and tone."""
    if extract == "recontact":
        return frame["rating"].notna() & (frame["rating"] <= RECONTACT_MAX_RATING)
    if extract == "ambassadors":
        five = frame["rating"].notna() & (frame["rating"] >= AMBASSADOR_RATING)
        return five & ~frame["masked_text"].map(is_negative)
    return frame["review_id"].notna()


def select_rows(
    extract: str, frame: pd.DataFrame, snapshot: ConsentSnapshot, catalog: PurposeCatalog
) -> tuple[pd.DataFrame, dict[str, dict[str, int]]]:
    """Keep the rows the extract may use; count the rows its rule selects, by source and consent status.

    The counts cover every row that passes the extract's rating and tone rule, kept or not, so
    they show how much of the purpose's audience consent covers.
    """
    import pandas as pd

    purpose = snapshot.purpose
    frame = frame.copy()
    # An internal review linked to no customer stays internal, so its consent status is `none`, a gap.
    frame["internal"] = [catalog.is_internal(source) for source in frame["source"]]
    frame["consent_status"] = _consent_status_column(frame, snapshot, catalog)
    # A platform review linked to a customer (by email) who withdrew this purpose stays out too.
    frame["withdrawn"] = _withdrawn_column(frame, snapshot)
    eligible = frame[_purpose_filter(extract, frame)]

    admits_platform = extract == "analytics" and purpose.public_platform_basis is not None
    active = eligible["consent_status"] == ConsentStatus.ACTIVE.value
    keep = (eligible["internal"] & active) | (~eligible["internal"] & ~eligible["withdrawn"] & admits_platform)
    if extract != "analytics":
        keep &= eligible["internal"]

    counted = eligible
    if extract in PER_CUSTOMER_EXTRACTS:
        # These lists have one row per customer, so their audience is counted in customers too.
        linked = eligible["customer_id"].map(_linked_customer).notna()
        customers_once = eligible[eligible["internal"] & linked].drop_duplicates("customer_id")
        counted = pd.concat([customers_once, eligible[~(eligible["internal"] & linked)]])
    platform_status = counted["withdrawn"].map({True: ConsentStatus.WITHDRAWN.value, False: "public_platform"})
    status = counted["consent_status"].where(counted["internal"], platform_status)
    eligible_by_source: dict[str, dict[str, int]] = {}
    for (source, state), count in counted.groupby([counted["source"], status]).size().items():
        eligible_by_source.setdefault(str(source), {})[str(state)] = int(count)
    return eligible[keep].copy(), eligible_by_source


# -- shaping ---------------------------------------------------------------------------------


def _latest_per_customer(frame: pd.DataFrame) -> pd.DataFrame:
    ordered = frame.sort_values(["customer_id", "review_date", "review_id"], ascending=[True, False, True])
    latest = ordered.drop_duplicates("customer_id", keep="first").copy()
    latest["low_rated_reviews"] = latest["customer_id"].map(frame.groupby("customer_id").size()).astype(int)
    return latest


def _decrypt_contacts(store: Store, frame: pd.DataFrame, fields: tuple[str, ...]) -> pd.DataFrame:
    """Add the customers' decrypted contact fields; used by the recontact and ambassador lists only."""
    frame = frame.copy()
    values: dict[str, list[str | None]] = {name: [] for name in fields}
    with store.engine.connect() as conn:
        sealed = {
            row.customer_id: row
            for row in conn.execute(
                select(customers).where(customers.c.customer_id.in_(list(frame["customer_id"].unique())))
            )
        }
        for customer_id in frame["customer_id"]:
            row = sealed[customer_id]
            for name in fields:
                context = f"customers:{customer_id}:{name}"
                values[name].append(store.decrypt(conn, row.subject_id, getattr(row, f"{name}_enc"), context))
    for name in fields:
        frame[name] = values[name]
    return frame


def shape_rows(extract: str, store: Store, selected: pd.DataFrame) -> pd.DataFrame:
    """Turn selected reviews into the extract's rows, with `review_id`, `source`, `customer_id` kept."""
    if extract == "analytics":
        key = read_key("PSEUDONYM_KEY")
        shaped = selected.copy()
        shaped["customer_pseudonym"] = [
            customer_pseudonym(customer, key) if internal and _linked_customer(customer) else None
            for customer, internal in zip(shaped["customer_id"], shaped["internal"], strict=True)
        ]
        shaped["month"] = [moment.strftime("%Y-%m") for moment in shaped["review_date"]]
        return shaped
    if extract == "publication":
        shaped = _decrypt_contacts(store, selected, ("first_name", "last_name"))
        shaped["author"] = [
            author_display_name(first, last)
            for first, last in zip(shaped["first_name"], shaped["last_name"], strict=True)
        ]
        shaped["review_date"] = [moment.date().isoformat() for moment in shaped["review_date"]]
        return shaped
    latest = _latest_per_customer(selected)
    fields = ("first_name", "last_name", "email", "phone") if extract == "recontact" else (
        "first_name", "last_name", "email")
    shaped = _decrypt_contacts(store, latest, fields)
    shaped["review_date"] = [moment.date().isoformat() for moment in shaped["review_date"]]
    return shaped


# -- checks ----------------------------------------------------------------------------------


def add_check_columns(
    extract: str,
    shaped: pd.DataFrame,
    snapshot: ConsentSnapshot,
    catalog: PurposeCatalog,
    identifier_scan: Callable[[str | None], str] | None,
) -> pd.DataFrame:
    """Return the extract's columns plus `check_*` columns derived again from the ledger."""
    purpose = snapshot.purpose
    admits_platform = extract == "analytics" and purpose.public_platform_basis is not None
    checked = shaped[list(COLUMNS[extract])].copy()
    checked["check_review_id"] = shaped["review_id"].to_numpy()
    checked["check_source"] = shaped["source"].to_numpy()
    checked["check_customer_id"] = shaped["customer_id"].to_numpy()
    statuses, coverage, consent_sources = [], [], []
    for source, customer_id in zip(shaped["source"], shaped["customer_id"], strict=True):
        internal = catalog.is_internal(source)
        if not internal and admits_platform:
            statuses.append("public_platform")
            coverage.append(Coverage.COMPLIANT.value)
            consent_sources.append(f"public_platform:{purpose.public_platform_basis}")
            continue
        state = snapshot.state_of(_linked_customer(customer_id) if internal else None)
        statuses.append(state.status.value)
        coverage.append(COVERAGE_OF_STATUS[state.status].value)
        consent_sources.append(state.source)
    checked["check_consent_status"] = statuses
    checked["check_coverage"] = coverage
    checked["check_consent_source"] = consent_sources
    if identifier_scan is not None:
        checked["check_identifier"] = shaped["masked_text"].map(identifier_scan)
    if extract == "ambassadors":
        checked["check_tone"] = ["negative" if is_negative(text) else "not_negative" for text in shaped["masked_text"]]
    return checked


def extract_rules(extract: str, purpose: Purpose, catalog: PurposeCatalog, snapshot: ConsentSnapshot) -> ExtractRules:
    withdrawn = frozenset(
        customer for customer, state in snapshot.states.items() if state.status is ConsentStatus.WITHDRAWN
    )
    internal_only = extract in ("publication", "recontact", "ambassadors")
    return ExtractRules(
        extract=extract,
        purpose=purpose.name,
        columns=COLUMNS[extract],
        withdrawn_customers=withdrawn,
        platform_basis=purpose.public_platform_basis.value
        if extract == "analytics" and purpose.public_platform_basis is not None
        else None,
        allowed_sources=catalog.internal_sources if internal_only else None,
        max_rating=RECONTACT_MAX_RATING if extract == "recontact" else None,
        min_rating=AMBASSADOR_RATING if extract == "ambassadors" else None,
        unique_customer=extract in PER_CUSTOMER_EXTRACTS,
        scan_identifiers=extract == "analytics",
        check_tone=extract == "ambassadors",
    )


def withdrawals_since_last_check(conn: Connection, extract: str, purpose: str, snapshot: ConsentSnapshot) -> dict[str, Any]:
    """Count the customers withdrawn from `purpose` whose withdrawal was loaded after the extract's last run.

    The result goes into the append-only journal, which an erasure cannot edit, so it lists the
    withdrawn consents by consent id and never names a customer.
    """
    last_run = conn.execute(
        select(consent_checks.c.created_at)
        .where(consent_checks.c.extract == extract, consent_checks.c.success == 1)
        .order_by(consent_checks.c.check_id.desc())
        .limit(1)
    ).scalar()
    query = select(consent_events.c.customer_id, consent_events.c.consent_id).where(
        consent_events.c.purpose == purpose, consent_events.c.event_type == "withdrawal"
    )
    if last_run is not None:
        query = query.where(consent_events.c.loaded_at > last_run)
    withdrawn = [
        (customer, consent_id)
        for customer, consent_id in set(conn.execute(query).all())
        if snapshot.state_of(customer).status is ConsentStatus.WITHDRAWN
    ]
    return {
        "since": last_run.isoformat() if last_run else None,
        "customers": len({customer for customer, _consent_id in withdrawn}),
        "consent_ids": sorted(consent_id for _customer, consent_id in withdrawn)[:WITHDRAWN_ID_SAMPLE],
    }


# -- build -----------------------------------------------------------------------------------


def build_extract(
    store: Store,
    extract: str,
    *,
    data_dir: Path,
    as_of: datetime,
    run_id: str,
    language: str = "fr",
    fail_on_violation: bool = True,
    catalog: PurposeCatalog | None = None,
) -> ExtractResult:
    """Select, validate and write one extract as Parquet.

    When validation fails, nothing is written and the previous file is moved to quarantine. With
    `fail_on_violation` ConsentViolationError is then raised, else a warning is logged.
    """
    if extract not in EXTRACTS:
        raise ValueError(f"Unknown extract {extract!r}: use one of {', '.join(EXTRACTS)}.")
    catalog = catalog or current_purposes()
    purpose = catalog.for_extract(extract)

    with store.engine.connect() as conn:
        candidates = load_candidates(conn)
        snapshot = consent_snapshot(conn, purpose, as_of)
    selected, eligible_by_source = select_rows(extract, candidates, snapshot, catalog)
    shaped = shape_rows(extract, store, selected)

    # Re-derive consent from the ledger, so a withdrawal loaded since the selection still fails.
    with store.engine.connect() as conn:
        recheck = consent_snapshot(conn, purpose, as_of)
        withdrawals = withdrawals_since_last_check(conn, extract, purpose.name, recheck)
    identifier_scan = None
    if extract == "analytics":
        from governance.consent.identifiers import load_identifier_index

        identifier_scan = load_identifier_index(store).find
    checked = add_check_columns(extract, shaped, recheck, catalog, identifier_scan)
    coverage = validate_extract(
        checked,
        extract_rules(extract, purpose, catalog, recheck),
        data_dir=data_dir,
        run_name=run_id,
        language=language,
    )
    result = ExtractResult(extract, purpose.name, None, 0, coverage, eligible_by_source, withdrawals)
    extracts_dir = data_dir / "extracts"
    # NOTE: only a failed validation quarantines the previous file. A build that raises before
    # its validation (store down, missing key) leaves it in place.
    if not coverage.success:
        reason = _quarantine_reason(result, run_id)
        result.quarantined_previous = quarantine_previous(extracts_dir, extract, reason)
    _record_check(store, result, run_id)

    if not coverage.success:
        previous = (
            f"the previous extract was moved to {result.quarantined_previous}"
            if result.quarantined_previous
            else "no previous extract was published"
        )
        message = (
            f"The {extract} extract failed its validation ({'; '.join(coverage.failed_expectations)}): "
            f"{coverage.violations} violations and {coverage.gaps} gaps for {purpose.name} out of "
            f"{coverage.checked} rows (sample review ids: "
            f"{coverage.sample_violation_ids[:5] + coverage.sample_gap_ids[:5]}). Nothing was written, and "
            f"{previous}. See the Data Docs at {coverage.data_docs}."
        )
        if fail_on_violation:
            raise ConsentViolationError(message, result)
        log.warning(message)
        return result

    result.path = write_parquet(checked[list(COLUMNS[extract])], extracts_dir, extract)
    result.rows = len(checked)
    log.info("Wrote the %s extract: %d rows for purpose %s", extract, result.rows, purpose.name)
    return result


def _quarantine_reason(result: ExtractResult, run_id: str) -> dict[str, Any]:
    """Return why the previous extract is quarantined: counts and names, no customer or review id."""
    coverage = result.coverage
    return {
        "reason": {
            "fr": "la nouvelle extraction a échoué à sa validation : l'extraction précédente peut "
                  "contenir des clients qui ont retiré leur consentement depuis",
            "en": "the new build failed its validation, so the previous extract may name customers "
                  "who have withdrawn their consent since",
        },
        "purpose": result.purpose,
        "run_id": run_id,
        "failed_expectations": coverage.failed_expectations,
        "checked": coverage.checked,
        "violations": coverage.violations,
        "gaps": coverage.gaps,
        "data_docs": coverage.data_docs,
    }


def _record_check(store: Store, result: ExtractResult, run_id: str) -> None:
    coverage = result.coverage
    details = {
        "quarantined_previous": str(result.quarantined_previous) if result.quarantined_previous else None,
        "by_source": coverage.by_source,
        "by_consent_source": coverage.by_consent_source,
        "eligible_by_source": result.eligible_by_source,
        "withdrawals_applied": result.withdrawals_applied,
        "failed_expectations": coverage.failed_expectations,
        "sample_violation_ids": coverage.sample_violation_ids,
        "sample_gap_ids": coverage.sample_gap_ids,
        "data_docs": coverage.data_docs,
    }
    with store.engine.begin() as conn:
        conn.execute(
            insert(consent_checks).values(
                run_id=run_id,
                purpose=result.purpose,
                extract=result.extract,
                checked=coverage.checked,
                compliant=coverage.compliant,
                violations=coverage.violations,
                gaps=coverage.gaps,
                coverage_pct=coverage.coverage_pct,
                success=int(coverage.success),
                details=json.dumps(details, sort_keys=True),
                created_at=datetime.now(UTC),
            )
        )
