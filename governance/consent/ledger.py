"""The current state of each customer's consent, derived from the append-only event ledger.

The ledger holds grant and withdrawal events and is never updated in place. The state of a
customer's consent for a purpose at a given time is the latest event at or before that time: a
grant makes it active until the purpose's validity period runs out (then it is expired), and a
withdrawal ends it. A later grant starts a new consent.

A customer with events for other purposes but none for this one has no consent for it: using their
data for it is a violation. A customer with no consent event at all, or a review that is not linked
to a customer of ours, is a gap in the consent data. A gap is never counted as allowed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Connection, insert, select

from governance.consent.purposes import Purpose
from governance.store import Store
from governance.store.schema import consent_events, customers


class ConsentStatus(StrEnum):
    """The state of one customer's consent for one purpose."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    ABSENT = "absent"
    NO_DATA = "none"
    NONE = "none"  # the name older callers use for NO_DATA


class Coverage(StrEnum):
    """How one record of an extract stands against its purpose."""

    COMPLIANT = "compliant"
    VIOLATION = "violation"
    GAP = "gap"


COVERAGE_OF_STATUS = {
    ConsentStatus.ACTIVE: Coverage.COMPLIANT,
    ConsentStatus.WITHDRAWN: Coverage.VIOLATION,
    ConsentStatus.EXPIRED: Coverage.VIOLATION,
    ConsentStatus.ABSENT: Coverage.VIOLATION,
    ConsentStatus.NO_DATA: Coverage.GAP,
}


@dataclass(frozen=True)
class ConsentState:
    """A customer's consent for one purpose at one time, with the channel it was given or withdrawn on."""

    status: ConsentStatus
    changed_at: datetime | None = None
    expires_at: datetime | None = None
    source: str | None = None
    policy_version: str | None = None


NO_DATA = ConsentState(ConsentStatus.NO_DATA)
ABSENT = ConsentState(ConsentStatus.ABSENT)


@dataclass
class ConsentSnapshot:
    """The consent of every customer for one purpose, as of one time."""

    purpose: Purpose
    as_of: datetime
    states: dict[str, ConsentState]
    customers_with_data: set[str]

    def state_of(self, customer_id: str | None) -> ConsentState:
        """Return a customer's state; NO_DATA for a review with no customer or no consent event at all."""
        if customer_id is None or customer_id not in self.customers_with_data:
            return NO_DATA
        return self.states.get(customer_id, ABSENT)

    def active_customers(self) -> set[str]:
        return {customer for customer, state in self.states.items() if state.status is ConsentStatus.ACTIVE}


def consent_snapshot(conn: Connection, purpose: Purpose, as_of: datetime) -> ConsentSnapshot:
    """Derive the state at `as_of` of every customer's consent for `purpose` from the ledger."""
    events = conn.execute(
        select(
            consent_events.c.customer_id,
            consent_events.c.event_type,
            consent_events.c.occurred_at,
            consent_events.c.source,
            consent_events.c.policy_version,
        )
        .where(consent_events.c.purpose == purpose.name, consent_events.c.occurred_at <= as_of)
        .order_by(consent_events.c.customer_id, consent_events.c.occurred_at, consent_events.c.event_id)
    )
    states: dict[str, ConsentState] = {}
    for customer_id, event_type, occurred_at, source, policy_version in events:
        if event_type == "withdrawal":
            states[customer_id] = ConsentState(ConsentStatus.WITHDRAWN, occurred_at, None, source, policy_version)
            continue
        expires_at = purpose.expires_at(occurred_at)
        expired = expires_at is not None and expires_at <= as_of
        status = ConsentStatus.EXPIRED if expired else ConsentStatus.ACTIVE
        states[customer_id] = ConsentState(status, occurred_at, expires_at, source, policy_version)

    with_data = set(
        conn.execute(
            select(consent_events.c.customer_id).where(consent_events.c.occurred_at <= as_of).distinct()
        ).scalars()
    )
    return ConsentSnapshot(purpose, as_of, states, with_data)


def consent_states(conn: Connection, purpose: Purpose | str, as_of: datetime) -> dict[str, ConsentStatus]:
    """Return the status at `as_of` of every customer with at least one event for `purpose`.

    A purpose given by name is looked up in the configured purposes, for its validity period.
    """
    if isinstance(purpose, str):
        from governance.consent.purposes import current_purposes

        purpose = current_purposes().purposes[purpose]
    snapshot = consent_snapshot(conn, purpose, as_of)
    return {customer: state.status for customer, state in snapshot.states.items()}


class WithdrawalError(ValueError):
    """A withdrawal that cannot be recorded: unknown customer or no consent to withdraw."""


def record_withdrawal(
    store: Store,
    customer_id: str,
    purpose: Purpose,
    *,
    occurred_at: datetime | None = None,
    source: str,
    proof_ref: str | None = None,
    policy_version: str | None = None,
) -> str:
    """Append a withdrawal event for the customer's active consent and return its event id.

    Raises WithdrawalError when the customer is unknown or has no active consent for the purpose,
    so a typo in a customer id is not silently recorded.
    """
    occurred_at = occurred_at or datetime.now(UTC)
    with store.engine.begin() as conn:
        known = conn.execute(select(customers.c.customer_id).where(customers.c.customer_id == customer_id)).first()
        if known is None:
            raise WithdrawalError(f"Unknown customer id {customer_id!r}: check the id in the CRM export.")
        state = consent_snapshot(conn, purpose, occurred_at).state_of(customer_id)
        if state.status is not ConsentStatus.ACTIVE:
            raise WithdrawalError(
                f"Customer {customer_id!r} has no active {purpose.name} consent to withdraw "
                f"(status at {occurred_at.isoformat()}: {state.status.value})."
            )
        consent_id = conn.execute(
            select(consent_events.c.consent_id)
            .where(
                consent_events.c.customer_id == customer_id,
                consent_events.c.purpose == purpose.name,
                consent_events.c.event_type == "grant",
                consent_events.c.occurred_at <= occurred_at,
            )
            .order_by(consent_events.c.occurred_at.desc(), consent_events.c.event_id.desc())
            .limit(1)
        ).scalar_one()
        event_id = f"{consent_id}:withdrawal:{uuid.uuid4().hex[:12]}"
        conn.execute(
            insert(consent_events).values(
                event_id=event_id,
                consent_id=consent_id,
                customer_id=customer_id,
                purpose=purpose.name,
                event_type="withdrawal",
                occurred_at=occurred_at,
                source=source,
                policy_version=policy_version,
                proof_ref=proof_ref,
                loaded_at=datetime.now(UTC),
            )
        )
    return event_id
