"""The current state of each customer's consent, derived from the append-only event ledger.

The ledger holds grant and withdrawal events and is never updated in place. The state of a
customer's consent for a purpose at a given time is the latest event at or before that time: a
grant makes it active, a withdrawal ends it. A customer with no event for the purpose has no
consent at all, which counts as a gap, never as allowed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, select

from governance.store.schema import consent_events


class ConsentStatus(StrEnum):
    """The state of one customer's consent for one purpose."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    NONE = "none"


def consent_states(conn: Connection, purpose: str, as_of: datetime) -> dict[str, ConsentStatus]:
    """Return the state at `as_of` of every customer with at least one event for `purpose`."""
    events = conn.execute(
        select(consent_events.c.customer_id, consent_events.c.event_type, consent_events.c.occurred_at)
        .where(consent_events.c.purpose == purpose, consent_events.c.occurred_at <= as_of)
        .order_by(consent_events.c.customer_id, consent_events.c.occurred_at, consent_events.c.event_id)
    )
    states: dict[str, ConsentStatus] = {}
    for customer_id, event_type, _occurred_at in events:
        states[customer_id] = ConsentStatus.ACTIVE if event_type == "grant" else ConsentStatus.WITHDRAWN
    return states


def status_of(states: dict[str, ConsentStatus], customer_id: str | None) -> ConsentStatus:
    """Return a customer's status, NONE for an unknown customer or a review with no customer."""
    if customer_id is None:
        return ConsentStatus.NONE
    return states.get(customer_id, ConsentStatus.NONE)
