"""Enforcement of the retention policies: plan, apply in bounded batches, verify.

For each policy, one query selects the items past their retention period as of a date (the run's
logical date). The plan counts them and finds the oldest. Apply takes them a batch at a time, each
batch in one transaction, so a crash leaves every item either done or untouched and a re-run
finishes the job. Verify runs the same query again, which must find nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, select

from governance.dsr.requests import RequestStatus
from governance.retention.erasure import (
    anonymise_reviews,
    delete_quarantine_rows,
    delete_reviews,
    erase_customers,
    remove_access_exports,
    remove_extract_lines,
)
from governance.retention.extracts import iter_extract_files
from governance.retention.policies import (
    DataCategory,
    RetentionAction,
    RetentionConfig,
    RetentionPolicy,
    StartEvent,
)
from governance.store import Store
from governance.store.schema import consent_events, customers, data_subject_requests, quarantine, reviews, subject_keys

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
# Cutoff of a policy whose purpose has ended and whose period after that end has run out: every
# item of the category is due.
EVERYTHING_DUE = datetime(9999, 1, 1, tzinfo=UTC)

# Policies run in this order: customers first, because anonymising a customer also anonymises
# their reviews and deletes their access exports, and masked reviews (deleted whole) before raw
# texts (anonymised).
CATEGORY_ORDER = [
    DataCategory.CUSTOMER_IDENTITY,
    DataCategory.CONSENT_PROOF,
    DataCategory.QUARANTINE,
    DataCategory.MASKED_REVIEW,
    DataCategory.RAW_REVIEW_TEXT,
    DataCategory.EXTRACTS,
    DataCategory.ACCESS_EXPORTS,
    DataCategory.SUBJECT_REQUESTS,
]
# Statuses of finished requests. A pending request is never deleted, so that it is still executed.
FINISHED_REQUESTS = (RequestStatus.COMPLETED.value, RequestStatus.REJECTED.value)


def policy_cutoff(policy: RetentionPolicy, config: RetentionConfig, as_of: datetime) -> datetime | None:
    """Return the date before which an item's start event puts it past retention, or None if nothing is due.

    For `purpose_end`, nothing is due while the purpose runs or its period after the end lasts;
    afterwards every item is due.
    """
    if policy.start_event is StartEvent.PURPOSE_END:
        ended = config.purpose_end(policy.purpose or "")
        if ended is None or policy.period.after(ended) > as_of:
            return None
        return EVERYTHING_DUE
    return policy.period.before(as_of)


def ordered(policies: list[RetentionPolicy]) -> list[RetentionPolicy]:
    return sorted(policies, key=lambda policy: CATEGORY_ORDER.index(policy.category))


# Due items per category: a query returning (item key, start date), or a list of extract files.


def _due_customers(policy: RetentionPolicy, cutoff: datetime) -> Select[Any]:
    start = customers.c.last_contact_at if policy.start_event is StartEvent.LAST_CONTACT else customers.c.created_at
    query = select(customers.c.customer_id.label("key"), start.label("start")).where(start < cutoff)
    if policy.action is RetentionAction.CRYPTO_SHRED:
        query = query.join(subject_keys, subject_keys.c.subject_id == customers.c.subject_id).where(
            subject_keys.c.wrapped_key.is_not(None)
        )
    return query


def _due_reviews(policy: RetentionPolicy, cutoff: datetime) -> Select[Any]:
    query = select(reviews.c.review_id.label("key"), reviews.c.review_date.label("start")).where(
        reviews.c.review_date < cutoff
    )
    if policy.category is DataCategory.RAW_REVIEW_TEXT and policy.action is RetentionAction.ANONYMISE:
        query = query.where(reviews.c.text_enc.is_not(None))
    return query


def _due_consents(cutoff: datetime) -> Select[Any]:
    return (
        select(consent_events.c.consent_id.label("key"), func.min(consent_events.c.occurred_at).label("start"))
        .where(and_(consent_events.c.event_type == "withdrawal", consent_events.c.occurred_at < cutoff))
        .group_by(consent_events.c.consent_id)
    )


def _due_quarantine(cutoff: datetime) -> Select[Any]:
    return select(quarantine.c.quarantine_id.label("key"), quarantine.c.created_at.label("start")).where(
        quarantine.c.created_at < cutoff
    )


def _due_access_exports(cutoff: datetime) -> Select[Any]:
    """Return the requests whose access export file was written before the cutoff."""
    return select(
        data_subject_requests.c.request_id.label("key"), data_subject_requests.c.completed_at.label("start")
    ).where(data_subject_requests.c.output_path.is_not(None), data_subject_requests.c.completed_at < cutoff)


def _due_subject_requests(cutoff: datetime) -> Select[Any]:
    return select(
        data_subject_requests.c.request_id.label("key"), data_subject_requests.c.received_at.label("start")
    ).where(data_subject_requests.c.received_at < cutoff, data_subject_requests.c.status.in_(FINISHED_REQUESTS))


def due_query(policy: RetentionPolicy, cutoff: datetime) -> Select[Any]:
    """Return the query of items past retention for a database category."""
    if policy.category is DataCategory.CUSTOMER_IDENTITY:
        return _due_customers(policy, cutoff)
    if policy.category in (DataCategory.RAW_REVIEW_TEXT, DataCategory.MASKED_REVIEW):
        return _due_reviews(policy, cutoff)
    if policy.category is DataCategory.CONSENT_PROOF:
        return _due_consents(cutoff)
    if policy.category is DataCategory.QUARANTINE:
        return _due_quarantine(cutoff)
    if policy.category is DataCategory.ACCESS_EXPORTS:
        return _due_access_exports(cutoff)
    if policy.category is DataCategory.SUBJECT_REQUESTS:
        return _due_subject_requests(cutoff)
    raise ValueError(f"Category {policy.category.value} is not stored in the database.")


def due_extract_files(policy: RetentionPolicy, cutoff: datetime, extracts_dir: Path) -> list[tuple[Path, datetime]]:
    """Return the extract files written before the cutoff, with their modification time."""
    due = []
    for path in iter_extract_files(extracts_dir, policy.extracts):
        written = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        if written < cutoff:
            due.append((path, written))
    return due


@dataclass
class PolicyPlan:
    """Dry-run result of one policy: the number of items due and the start date of the oldest."""

    policy: RetentionPolicy
    cutoff: datetime | None
    due: int
    oldest: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.name,
            "category": self.policy.category.value,
            "action": self.policy.action.value,
            "period": self.policy.period.iso(),
            "start_event": self.policy.start_event.value,
            "cutoff": None if self.cutoff is None else self.cutoff.isoformat(),
            "due": self.due,
            "oldest": None if self.oldest is None else self.oldest.isoformat(),
        }


def _count_due(conn: Connection, policy: RetentionPolicy, cutoff: datetime) -> tuple[int, datetime | None]:
    due = due_query(policy, cutoff).subquery()
    row = conn.execute(select(func.count(), func.min(due.c.start)).select_from(due)).one()
    oldest = row[1]
    if isinstance(oldest, str):  # SQLite returns MIN() over an aggregate as text
        oldest = datetime.fromisoformat(oldest)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return int(row[0] or 0), oldest


def plan_policy(
    store: Store, policy: RetentionPolicy, config: RetentionConfig, as_of: datetime, extracts_dir: Path
) -> PolicyPlan:
    """Count the items of one policy past retention as of `as_of`, changing nothing."""
    cutoff = policy_cutoff(policy, config, as_of)
    if cutoff is None:
        return PolicyPlan(policy, None, 0, None)
    if policy.category is DataCategory.EXTRACTS:
        files = due_extract_files(policy, cutoff, extracts_dir)
        return PolicyPlan(policy, cutoff, len(files), min((written for _, written in files), default=None))
    with store.engine.connect() as conn:
        due, oldest = _count_due(conn, policy, cutoff)
    return PolicyPlan(policy, cutoff, due, oldest)


def plan_retention(store: Store, config: RetentionConfig, as_of: datetime, extracts_dir: Path) -> list[PolicyPlan]:
    """Plan every policy: the dry-run report of what `apply_retention` would do."""
    return [plan_policy(store, policy, config, as_of, extracts_dir) for policy in ordered(config.policies)]


def _apply_batch(
    store: Store, conn: Connection, policy: RetentionPolicy, keys: list[str], extracts_dir: Path
) -> Counter[str]:
    """Apply a policy's action to one batch of due items inside the caller's transaction."""
    category, action = policy.category, policy.action
    if category is DataCategory.CUSTOMER_IDENTITY:
        if action is RetentionAction.CRYPTO_SHRED:
            subjects = list(conn.execute(select(customers.c.subject_id).where(customers.c.customer_id.in_(keys))).scalars())
            # An access export is a plain copy of the fields the destroyed key protected.
            exports = remove_access_exports(conn, data_subject_requests.c.customer_id.in_(keys))
            return Counter({"data_keys_shredded": store.shred(conn, subjects), "access_exports": exports})
        return erase_customers(
            store, conn, keys, keep_reviews=action is RetentionAction.ANONYMISE, extracts_dir=extracts_dir
        )
    if category in (DataCategory.RAW_REVIEW_TEXT, DataCategory.MASKED_REVIEW):
        counts = remove_extract_lines(extracts_dir, (), keys)
        if action is RetentionAction.ANONYMISE:
            counts.update(anonymise_reviews(store, conn, keys))
        else:
            counts.update(delete_reviews(store, conn, keys))
        return counts
    if category is DataCategory.CONSENT_PROOF:
        deleted = conn.execute(delete(consent_events).where(consent_events.c.consent_id.in_(keys))).rowcount or 0
        return Counter({"consent_events": deleted})
    if category is DataCategory.QUARANTINE:
        return delete_quarantine_rows(store, conn, quarantine.c.quarantine_id.in_(keys))
    if category is DataCategory.ACCESS_EXPORTS:
        return Counter({"access_exports": remove_access_exports(conn, data_subject_requests.c.request_id.in_(keys))})
    if category is DataCategory.SUBJECT_REQUESTS:
        exports = remove_access_exports(conn, data_subject_requests.c.request_id.in_(keys))
        deleted = conn.execute(
            delete(data_subject_requests).where(data_subject_requests.c.request_id.in_(keys))
        ).rowcount or 0
        return Counter({"subject_requests": deleted, "access_exports": exports})
    raise ValueError(f"Category {category.value} is not stored in the database.")


@dataclass
class RetentionCounts:
    """Counts of the rows apply changed so far, per policy and in total, never values."""

    by_policy: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, policy: str, counts: Counter[str]) -> None:
        self.by_policy.setdefault(policy, Counter()).update(counts)

    def totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for counts in self.by_policy.values():
            total.update(counts)
        return dict(sorted(total.items()))

    def as_dict(self) -> dict[str, Any]:
        totals = self.totals()
        items = totals.pop("items", 0)
        return {
            "items": items,
            "deleted": totals,
            "policies": {name: dict(sorted(counts.items())) for name, counts in sorted(self.by_policy.items())},
        }


def apply_policy(
    store: Store,
    policy: RetentionPolicy,
    config: RetentionConfig,
    as_of: datetime,
    extracts_dir: Path,
    counts: RetentionCounts,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> None:
    """Apply one policy in batches of at most `batch_size` items, one transaction per batch."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    cutoff = policy_cutoff(policy, config, as_of)
    counts.add(policy.name, Counter())
    if cutoff is None:
        return
    if policy.category is DataCategory.EXTRACTS:
        for path, _written in due_extract_files(policy, cutoff, extracts_dir):
            path.unlink(missing_ok=True)
            counts.add(policy.name, Counter({"extract_files": 1}))
        return
    while True:
        with store.engine.begin() as conn:
            keys = list(conn.execute(select(due_query(policy, cutoff).subquery().c.key).limit(batch_size)).scalars())
            if not keys:
                break
            batch_counts = _apply_batch(store, conn, policy, keys, extracts_dir)
            batch_counts["items"] += len(keys)
        counts.add(policy.name, batch_counts)
        log.info("Retention policy %s: %s applied to a batch of %d items", policy.name, policy.action.value, len(keys))


def apply_retention(
    store: Store,
    config: RetentionConfig,
    as_of: datetime,
    extracts_dir: Path,
    counts: RetentionCounts | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RetentionCounts:
    """Apply every policy in dependency order; `counts` receives progress even if a batch fails."""
    counts = counts if counts is not None else RetentionCounts()
    for policy in ordered(config.policies):
        apply_policy(store, policy, config, as_of, extracts_dir, counts, batch_size=batch_size)
    return counts


def verify_retention(store: Store, config: RetentionConfig, as_of: datetime, extracts_dir: Path) -> dict[str, int]:
    """Count, per policy, the items still past retention; every count must be zero after apply."""
    return {plan.policy.name: plan.due for plan in plan_retention(store, config, as_of, extracts_dir)}
