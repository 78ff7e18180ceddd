"""Deletion of customers whose retention period has run out.

The CNIL keeps customer data for the length of the commercial relationship, then at most 3 years
after the last contact that came from the customer (référentiel « gestion commerciale »,
délibération 2021-131). Past that date this job erases the customer: survey reviews and their
masked text, consent events, quarantine rows that name them, the customer row, and finally their
data key, so any copy of their encrypted fields left in a backup can no longer be read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select

from governance.store import Store
from governance.store.schema import consent_events, customers, masked_reviews, quarantine, reviews

log = logging.getLogger(__name__)

CUSTOMER_RETENTION_YEARS = 3
DEFAULT_BATCH_SIZE = 500


def years_before(moment: datetime, years: int) -> datetime:
    """Return the same calendar day `years` earlier (28 February for 29 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class RetentionCounts:
    """Rows erased per category; counts only."""

    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)

    def add(self, category: str, count: int) -> None:
        self.deleted[category] = self.deleted.get(category, 0) + count

    def as_dict(self) -> dict[str, object]:
        return {"cutoff": self.cutoff.isoformat(), "deleted": dict(sorted(self.deleted.items()))}


def expired_customers_query(cutoff: datetime):  # type: ignore[no-untyped-def]
    return select(customers.c.customer_id, customers.c.subject_id).where(customers.c.last_contact_at < cutoff)


def count_expired(store: Store, cutoff: datetime) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(expired_customers_query(cutoff).subquery())).scalar() or 0
        )


def erase_expired_customers(
    store: Store, *, as_of: datetime, years: int = CUSTOMER_RETENTION_YEARS, batch_size: int = DEFAULT_BATCH_SIZE
) -> RetentionCounts:
    """Erase customers whose last contact is older than `years` before `as_of`, in bounded batches.

    Each batch is one transaction, in foreign-key order, so a crash leaves whole customers either
    erased or untouched, and a re-run finishes the job.
    """
    counts = RetentionCounts(cutoff=years_before(as_of, years))
    while True:
        with store.engine.begin() as conn:
            batch = conn.execute(expired_customers_query(counts.cutoff).limit(batch_size)).all()
            if not batch:
                break
            ids = [row.customer_id for row in batch]
            review_ids = select(reviews.c.review_id).where(reviews.c.customer_id.in_(ids))
            counts.add("masked_reviews", conn.execute(
                delete(masked_reviews).where(masked_reviews.c.review_id.in_(review_ids))).rowcount)
            counts.add("reviews", conn.execute(delete(reviews).where(reviews.c.customer_id.in_(ids))).rowcount)
            counts.add("consent_events", conn.execute(
                delete(consent_events).where(consent_events.c.customer_id.in_(ids))).rowcount)
            counts.add("quarantine", conn.execute(
                delete(quarantine).where(quarantine.c.customer_id.in_(ids))).rowcount)
            counts.add("customers", conn.execute(delete(customers).where(customers.c.customer_id.in_(ids))).rowcount)
            counts.add("data_keys_shredded", store.shred(conn, [row.subject_id for row in batch]))
        log.info("Erased a batch of %d expired customers", len(batch))
    return counts
