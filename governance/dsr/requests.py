"""The register of data subject requests: filing, due dates and status.

The GDPR (Art. 12(3)) gives the controller one month from receipt to act on a request, so each
request is due one calendar month after it was received. A request stores the customer id only
until the customer is erased. The keyed hash of the id stays, so the record of what was done
remains without identifying the customer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance.config import read_key
from governance.retention.extracts import customer_pseudonym
from governance.retention.policies import RetentionPeriod, load_retention_policies
from governance.sources.records import PURPOSES
from governance.store import Store
from governance.store.schema import customers, data_subject_requests

RESPONSE_PERIOD = RetentionPeriod(months=1)
LANGUAGES = ("fr", "en")


class RequestType(StrEnum):
    """The kind of request a data subject files."""

    ACCESS = "access"
    ERASURE = "erasure"
    WITHDRAWAL = "withdrawal"


class RequestStatus(StrEnum):
    """The state of a request. Received and in_progress requests are pending."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REJECTED = "rejected"


PENDING = (RequestStatus.RECEIVED.value, RequestStatus.IN_PROGRESS.value)


class RequestError(ValueError):
    """A request cannot be filed or executed as given."""


@dataclass(frozen=True)
class SubjectRequest:
    """One data subject request as stored."""

    request_id: str
    request_type: RequestType
    customer_id: str | None
    subject_hash: str
    purpose: str | None
    language: str
    received_at: datetime
    due_at: datetime
    status: RequestStatus
    completed_at: datetime | None = None
    output_path: str | None = None
    result: str | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> SubjectRequest:
        return cls(
            request_id=row.request_id,
            request_type=RequestType(row.request_type),
            customer_id=row.customer_id,
            subject_hash=row.subject_hash,
            purpose=row.purpose,
            language=row.language,
            received_at=row.received_at,
            due_at=row.due_at,
            status=RequestStatus(row.status),
            completed_at=row.completed_at,
            output_path=row.output_path,
            result=row.result,
            error=row.error,
        )

    def is_overdue(self, now: datetime) -> bool:
        return self.status.value in PENDING and now > self.due_at


def subject_hash(customer_id: str) -> str:
    """Return the keyed hash that identifies a customer's requests once the id is erased."""
    return customer_pseudonym(customer_id, read_key("PSEUDONYM_KEY"))


def known_purposes() -> set[str]:
    return set(PURPOSES) | set(load_retention_policies().consent_purposes)


def submit_request(
    store: Store,
    request_type: RequestType,
    customer_id: str,
    *,
    purpose: str | None = None,
    language: str = "fr",
    received_at: datetime | None = None,
) -> SubjectRequest:
    """Validate and store a new request; raise RequestError naming the invalid value."""
    now = datetime.now(UTC)
    received_at = received_at or now
    if received_at.tzinfo is None:
        raise RequestError("The reception date must carry a time zone.")
    if received_at > now:
        raise RequestError(f"The reception date {received_at.date().isoformat()} is in the future: give the day the request arrived.")
    if language not in LANGUAGES:
        raise RequestError(f"Unknown language {language!r}: use one of {', '.join(LANGUAGES)}.")
    if purpose is not None and request_type is not RequestType.WITHDRAWAL:
        raise RequestError(f"A purpose applies to withdrawal requests only, not to {request_type.value} requests.")
    if purpose is not None and purpose not in known_purposes():
        raise RequestError(f"Unknown purpose {purpose!r}: use one of {sorted(known_purposes())}.")

    hashed = subject_hash(customer_id)
    with store.engine.begin() as conn:
        exists = conn.execute(select(customers.c.customer_id).where(customers.c.customer_id == customer_id)).first()
        if exists is None:
            raise RequestError(
                f"Customer {customer_id} is not in the store: check the id in the CRM. "
                "A customer erased earlier is no longer known, so there is nothing left to act on."
            )
        duplicate = conn.execute(
            select(data_subject_requests.c.request_id).where(
                data_subject_requests.c.subject_hash == hashed,
                data_subject_requests.c.request_type == request_type.value,
                data_subject_requests.c.status.in_(PENDING),
                (data_subject_requests.c.purpose == purpose) if purpose else data_subject_requests.c.purpose.is_(None),
            )
        ).scalar()
        if duplicate is not None:
            raise RequestError(
                f"Request {duplicate} of the same type for this customer is still pending: "
                "it will be executed by the next run."
            )
        request_id = str(uuid.uuid4())
        conn.execute(
            insert(data_subject_requests).values(
                request_id=request_id,
                request_type=request_type.value,
                customer_id=customer_id,
                subject_hash=hashed,
                purpose=purpose,
                language=language,
                received_at=received_at,
                due_at=RESPONSE_PERIOD.after(received_at),
                status=RequestStatus.RECEIVED.value,
            )
        )
    return get_request(store, request_id)


def get_request(store: Store, request_id: str) -> SubjectRequest:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(data_subject_requests).where(data_subject_requests.c.request_id == request_id)
        ).first()
    if row is None:
        raise RequestError(f"Request {request_id} not found: list requests with `review-gov dsr list`.")
    return SubjectRequest.from_row(row)


def list_requests(store: Store, *, pending_only: bool = False) -> list[SubjectRequest]:
    """Return requests, oldest due date first."""
    query = select(data_subject_requests).order_by(data_subject_requests.c.due_at, data_subject_requests.c.request_id)
    if pending_only:
        query = query.where(data_subject_requests.c.status.in_(PENDING))
    with store.engine.connect() as conn:
        return [SubjectRequest.from_row(row) for row in conn.execute(query)]


def set_status(conn: Connection, request_id: str, status: RequestStatus, **values: Any) -> None:
    conn.execute(
        update(data_subject_requests)
        .where(data_subject_requests.c.request_id == request_id)
        .values(status=status.value, **values)
    )
