"""Execution of data subject requests: access export, erasure and consent withdrawal.

Each request runs in one database transaction that ends with a verification: erasure and
withdrawal check that nothing they had to remove is left, and roll back if something is.
Then the execution is journalled with categories and counts, never values.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from governance.config import Settings
from governance.consent.ledger import ConsentStatus
from governance.crypto import KeyShreddedError
from governance.dsr.access import build_access_export, write_export
from governance.dsr.requests import (
    PENDING,
    RequestError,
    RequestStatus,
    RequestType,
    SubjectRequest,
    get_request,
    set_status,
)
from governance.register.journal import JournalEntry, append_entry
from governance.retention.erasure import delete_reviews, erase_customers, quarantine_mentions
from governance.retention.extracts import SubjectMatcher, find_subject_lines, remove_subject_lines
from governance.retention.policies import RetentionConfig, WithdrawalErasure
from governance.runtime import RunContext
from governance.store import Store
from governance.store.schema import (
    consent_events,
    customers,
    data_subject_requests,
    quarantine,
    reviews,
    subject_keys,
)

log = logging.getLogger(__name__)

JOURNAL_ACTIVITY = "data_subject_request"
JOURNAL_PURPOSE = "data_subject_rights"
WITHDRAWAL_SOURCE = "data_subject_request"


class VerificationError(RuntimeError):
    """Data that a request had to remove is still there; the request's changes were rolled back."""


def _count(conn: Connection, table: Any, *conditions: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar() or 0)


def _lines_left(extracts_dir: Path, matcher: SubjectMatcher, patterns: list[str] | None = None) -> int:
    return sum(len(lines) for lines in find_subject_lines(extracts_dir, matcher, patterns).values())


def _request_summary(request: SubjectRequest) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "request_type": request.request_type.value,
        "purpose": request.purpose,
        "language": request.language,
        "received_at": request.received_at,
        "due_at": request.due_at,
    }


# Access


def execute_access(
    store: Store, request: SubjectRequest, settings: Settings, config: RetentionConfig
) -> tuple[dict[str, int], dict[str, Any], str]:
    """Write the access export; return its counts, an empty verification and the file path."""
    assert request.customer_id is not None
    export, counts = build_access_export(
        store,
        request=_request_summary(request),
        customer_id=request.customer_id,
        subject_hash=request.subject_hash,
        extracts_dir=settings.extracts_dir,
        config=config,
    )
    path = write_export(export, settings.reports_dir / "dsr" / f"access-{request.request_id}.json")
    with store.engine.begin() as conn:
        set_status(
            conn, request.request_id, RequestStatus.COMPLETED,
            completed_at=datetime.now(UTC), output_path=str(path), result=json.dumps({"exported": counts}), error=None,
        )
    return counts, {}, str(path)


# Erasure


def verify_erasure(
    store: Store, conn: Connection, customer_id: str, review_ids: list[str], subject_id: str | None,
    extracts_dir: Path, needles: list[str], sample: tuple[bytes, str] | None, quarantine_keys: list[str],
) -> dict[str, int]:
    """Count what still names the customer; every count must be zero.

    `quarantine_keys` lists the subject ids of the erased quarantine rows' own data keys.
    """
    checks = {
        "customers": _count(conn, customers, customers.c.customer_id == customer_id),
        "reviews": _count(conn, reviews, reviews.c.customer_id == customer_id),
        "consent_events": _count(conn, consent_events, consent_events.c.customer_id == customer_id),
        "quarantine": _count(conn, quarantine, quarantine.c.customer_id == customer_id)
        + len(quarantine_mentions(store, conn, needles)),
        "extract_lines": _lines_left(extracts_dir, SubjectMatcher({customer_id}, set(review_ids))),
        "live_data_keys": 0,
        "ciphertext_readable": 0,
    }
    if subject_id is not None:
        checks["live_data_keys"] = _count(
            conn, subject_keys, subject_keys.c.subject_id == subject_id, subject_keys.c.wrapped_key.is_not(None)
        )
    if quarantine_keys:
        checks["live_data_keys"] += _count(
            conn, subject_keys, subject_keys.c.subject_id.in_(quarantine_keys), subject_keys.c.wrapped_key.is_not(None)
        )
    if sample is not None and subject_id is not None:
        store.forget_cached_keys()
        try:
            store.decrypt(conn, subject_id, sample[0], sample[1])
            checks["ciphertext_readable"] = 1
        except (KeyShreddedError, KeyError):
            pass
    return checks


def execute_erasure(
    store: Store, request: SubjectRequest, settings: Settings, config: RetentionConfig
) -> tuple[dict[str, int], dict[str, int], None]:
    """Erase the customer everywhere in foreign-key order, verify, then forget the customer id."""
    customer_id = request.customer_id
    assert customer_id is not None
    with store.engine.begin() as conn:
        row = conn.execute(select(customers).where(customers.c.customer_id == customer_id)).mappings().first()
        needles = [customer_id]
        sample = None
        subject_id = None
        if row is not None:
            subject_id = row["subject_id"]
            for column in ("email", "phone"):
                value = store.decrypt(conn, subject_id, row[f"{column}_enc"], f"customers:{customer_id}:{column}")
                needles.append(value or "")
            sample = (row["email_enc"], f"customers:{customer_id}:email") if row["email_enc"] is not None else None
        review_ids = list(conn.execute(select(reviews.c.review_id).where(reviews.c.customer_id == customer_id)).scalars())
        mentions = quarantine_mentions(store, conn, needles)
        quarantine_keys = list(
            conn.execute(select(quarantine.c.subject_id).where(quarantine.c.quarantine_id.in_(mentions))).scalars()
        )
        counts = erase_customers(
            store, conn, [customer_id], keep_reviews=False, extracts_dir=settings.extracts_dir,
            extra_quarantine_ids=mentions,
        )
        verification = verify_erasure(
            store, conn, customer_id, review_ids, subject_id, settings.extracts_dir, needles, sample, quarantine_keys
        )
        if any(verification.values()):
            raise VerificationError(
                f"Erasure of request {request.request_id} left data behind, per category: "
                f"{ {key: value for key, value in verification.items() if value} }. Nothing was committed."
            )
        conn.execute(
            update(data_subject_requests)
            .where(data_subject_requests.c.subject_hash == request.subject_hash)
            .values(customer_id=None)
        )
        set_status(
            conn, request.request_id, RequestStatus.COMPLETED, completed_at=datetime.now(UTC),
            result=json.dumps({"erased": dict(counts), "verification": verification}, sort_keys=True), error=None,
        )
    return dict(sorted(counts.items())), verification, None


# Withdrawal


def _latest_events(conn: Connection, customer_id: str) -> dict[str, Any]:
    """Return the latest consent event per purpose for the customer."""
    latest: dict[str, Any] = {}
    query = (
        select(consent_events)
        .where(consent_events.c.customer_id == customer_id)
        .order_by(consent_events.c.occurred_at, consent_events.c.event_id)
    )
    for row in conn.execute(query).mappings():
        latest[row["purpose"]] = row
    return latest


def _append_withdrawal(conn: Connection, grant: Any, request: SubjectRequest) -> None:
    """Append a withdrawal event for the grant; the ledger is never updated in place."""
    event_id = f"{grant['consent_id']}:withdrawal"
    existing_event = conn.execute(
        select(consent_events.c.event_id).where(consent_events.c.event_id == event_id)
    ).first()
    if existing_event is not None:
        event_id = f"{event_id}:{request.request_id}"
    conn.execute(
        insert(consent_events).values(
            event_id=event_id,
            consent_id=grant["consent_id"],
            customer_id=grant["customer_id"],
            purpose=grant["purpose"],
            event_type="withdrawal",
            occurred_at=max(request.received_at, grant["occurred_at"]),
            source=WITHDRAWAL_SOURCE,
            policy_version=grant["policy_version"],
            proof_ref=f"dsr:{request.request_id}",
            loaded_at=datetime.now(UTC),
        )
    )


def execute_withdrawal(
    store: Store, request: SubjectRequest, settings: Settings, config: RetentionConfig
) -> tuple[dict[str, int], dict[str, int], None]:
    """End the consent for one purpose (or all) and erase the data that had no other basis."""
    customer_id = request.customer_id
    assert customer_id is not None
    counts: Counter[str] = Counter()
    with store.engine.begin() as conn:
        latest = _latest_events(conn, customer_id)
        purposes = [request.purpose] if request.purpose else sorted(latest)
        erased_review_ids: list[str] = []
        extract_patterns: list[str] = []
        for purpose in purposes:
            event = latest.get(purpose)
            if event is not None and event["event_type"] == "grant":
                _append_withdrawal(conn, event, request)
                counts["consents_withdrawn"] += 1
            rule = config.consent_purposes.get(purpose)
            if rule is None:
                continue
            if WithdrawalErasure.CUSTOMER_REVIEWS in rule.erase_on_withdrawal:
                ids = conn.execute(select(reviews.c.review_id).where(reviews.c.customer_id == customer_id)).scalars()
                erased_review_ids.extend(ids)
            if WithdrawalErasure.EXTRACT_LINES in rule.erase_on_withdrawal:
                extract_patterns.extend(rule.extracts or ["*.parquet"])

        # Lines of the purpose's extracts name the customer by id, or by review id when the id
        # was dropped (the publication extract), so the matcher takes both.
        customer_review_ids = set(
            conn.execute(select(reviews.c.review_id).where(reviews.c.customer_id == customer_id)).scalars()
        )
        purpose_matcher = SubjectMatcher({customer_id}, customer_review_ids)
        if erased_review_ids:
            removed = remove_subject_lines(settings.extracts_dir, SubjectMatcher(set(), set(erased_review_ids)))
            counts["extract_lines"] += sum(removed.values())
            counts.update(delete_reviews(store, conn, erased_review_ids))
        if extract_patterns:
            removed = remove_subject_lines(settings.extracts_dir, purpose_matcher, extract_patterns)
            counts["extract_lines"] += sum(removed.values())

        after = _latest_events(conn, customer_id)
        verification = {
            "active_consents": sum(
                1 for purpose in purposes if purpose in after and after[purpose]["event_type"] == "grant"
            ),
            "reviews": _count(conn, reviews, reviews.c.review_id.in_(erased_review_ids)) if erased_review_ids else 0,
            "extract_lines": _lines_left(settings.extracts_dir, SubjectMatcher(set(), set(erased_review_ids)))
            + (_lines_left(settings.extracts_dir, purpose_matcher, extract_patterns) if extract_patterns else 0),
        }
        if any(verification.values()):
            raise VerificationError(
                f"Withdrawal of request {request.request_id} left data behind, per category: "
                f"{ {key: value for key, value in verification.items() if value} }. Nothing was committed."
            )
        state = {purpose: (ConsentStatus.WITHDRAWN.value if purpose in after else ConsentStatus.NONE.value) for purpose in purposes}
        set_status(
            conn, request.request_id, RequestStatus.COMPLETED, completed_at=datetime.now(UTC),
            result=json.dumps({"erased": dict(counts), "verification": verification, "consent_state": state}, sort_keys=True),
            error=None,
        )
    return dict(sorted(counts.items())), verification, None


EXECUTORS = {
    RequestType.ACCESS: execute_access,
    RequestType.ERASURE: execute_erasure,
    RequestType.WITHDRAWAL: execute_withdrawal,
}


def _journal(store: Store, ctx: RunContext, request: SubjectRequest, started_at: datetime, status: str,
             details: dict[str, Any]) -> None:
    entry = JournalEntry(
        activity=JOURNAL_ACTIVITY,
        purpose=JOURNAL_PURPOSE,
        status=status,
        dag_id=ctx.dag_id,
        run_id=ctx.run_id,
        task_id=ctx.task_id,
        started_at=started_at,
        ended_at=datetime.now(UTC),
        records_in=1,
        records_out=sum(value for value in details.get("counts", {}).values()),
        deletions={} if request.request_type is RequestType.ACCESS else details.get("counts", {}),
        details={
            "request_id": request.request_id,
            "request_type": request.request_type.value,
            "purpose": request.purpose,
            "received_at": request.received_at.isoformat(),
            "due_at": request.due_at.isoformat(),
            **details,
        },
    )
    key = f"dsr/{request.request_id}/{status}" if status == "success" else None
    append_entry(store.engine, entry, idempotency_key=key)


def execute_request(
    store: Store, request_id: str, settings: Settings, config: RetentionConfig, ctx: RunContext | None = None
) -> dict[str, Any]:
    """Execute one pending request and journal it; a completed or rejected request is left as it is."""
    ctx = ctx or RunContext()
    request = get_request(store, request_id)
    if request.status.value not in PENDING:
        return {"request_id": request_id, "status": request.status.value, "skipped": True}
    started_at = datetime.now(UTC)
    if request.customer_id is None:
        # An earlier erasure request or the retention job erased the customer before this one ran.
        with store.engine.begin() as conn:
            set_status(conn, request_id, RequestStatus.REJECTED, completed_at=started_at,
                       error="The customer was erased by an earlier request or by retention; no data is left to act on.")
        _journal(store, ctx, request, started_at, "rejected", {"reason": "customer already erased"})
        return {"request_id": request_id, "status": RequestStatus.REJECTED.value}

    with store.engine.begin() as conn:
        set_status(conn, request_id, RequestStatus.IN_PROGRESS, started_at=started_at)
    try:
        counts, verification, output = EXECUTORS[request.request_type](store, request, settings, config)
    except Exception as error:
        with store.engine.begin() as conn:
            set_status(conn, request_id, RequestStatus.IN_PROGRESS, error=f"{type(error).__name__}: {error}"[:2000])
        _journal(store, ctx, request, started_at, "failed", {"error": type(error).__name__})
        log.error("Request %s (%s) failed: %s", request_id, request.request_type.value, type(error).__name__)
        raise
    finished = datetime.now(UTC)
    details = {"counts": counts, "verification": verification, "on_time": finished <= request.due_at}
    _journal(store, ctx, request, started_at, "success", details)
    log.info("Request %s (%s) completed: %s", request_id, request.request_type.value, counts)
    return {"request_id": request_id, "request_type": request.request_type.value, "status": "completed",
            "counts": counts, "output_path": output}


def execute_pending(store: Store, settings: Settings, config: RetentionConfig, ctx: RunContext | None = None) -> list[dict[str, Any]]:
    """Execute every pending request, oldest due date first; stop at the first failure."""
    from governance.dsr.requests import list_requests

    return [execute_request(store, request.request_id, settings, config, ctx) for request in list_requests(store, pending_only=True)]


__all__ = ["RequestError", "VerificationError", "execute_pending", "execute_request"]
