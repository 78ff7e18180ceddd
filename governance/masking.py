"""The masking stage: detect personal data in raw review texts and store the masked text beside it.

Pending reviews (never masked, or edited since) are split into partitions by review-id range, so a
DAG can map one task per partition. Each partition streams its reviews in keyset-paginated batches
and upserts the masked rows, so re-running a partition rewrites the same rows and never duplicates
them, and memory does not grow with the number of reviews.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from governance.store import Store
from governance.store.schema import masked_reviews, reviews

if TYPE_CHECKING:
    from governance.pii import PiiEngine

log = logging.getLogger(__name__)

DEFAULT_PARTITION_SIZE = 5000
DEFAULT_BATCH_SIZE = 256

MASK_PROCESSES_ENV = "REVIEW_GOV_MASK_PROCESSES"


def mask_processes_from_env() -> int:
    """Return the number of processes each masking task uses, from ``REVIEW_GOV_MASK_PROCESSES``.

    Unset means 1. ``all`` means every core that this process may run on.
    """
    value = os.environ.get(MASK_PROCESSES_ENV, "").strip().lower()
    if not value:
        return 1
    if value == "all":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        processes = int(value)
    except ValueError:
        processes = 0
    if processes < 1:
        raise ValueError(
            f"{MASK_PROCESSES_ENV}={value!r} is invalid: set a whole number of processes (1 or more) "
            "or 'all' for every core"
        )
    return processes


@dataclass(frozen=True)
class Partition:
    """An inclusive range of review ids; the only thing a mapped task receives."""

    first_id: str
    last_id: str
    size: int

    def as_dict(self) -> dict[str, object]:
        return {"first_id": self.first_id, "last_id": self.last_id, "size": self.size}


@dataclass
class MaskingCounts:
    """Counts of one masking run; no text, no value."""

    reviews: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "reviews_masked": self.reviews,
            "entities_masked": dict(sorted(self.entities.items())),
            "languages": dict(sorted(self.languages.items())),
        }


def _pending_condition():  # type: ignore[no-untyped-def]
    """Reviews with a raw text, not deleted at the source, whose masked text is missing or stale.

    A review anonymised by retention has no raw text left, so it is never masked again.
    """
    return and_(
        reviews.c.deleted_at.is_(None),
        reviews.c.text_enc.is_not(None),
        or_(
            masked_reviews.c.review_id.is_(None),
            masked_reviews.c.content_hash != reviews.c.content_hash,
        ),
    )


def _pending_ids(
    conn: Connection, *, limit: int, after: str | None = None, first: str | None = None, last: str | None = None
) -> list[str]:
    """Return up to `limit` pending review ids in order, after `after` and within [first, last]."""
    query = (
        select(reviews.c.review_id)
        .select_from(reviews.outerjoin(masked_reviews, masked_reviews.c.review_id == reviews.c.review_id))
        .where(_pending_condition())
        .order_by(reviews.c.review_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(reviews.c.review_id > after)
    if first is not None:
        query = query.where(reviews.c.review_id >= first)
    if last is not None:
        query = query.where(reviews.c.review_id <= last)
    return list(conn.execute(query).scalars())


def count_pending(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(reviews.outerjoin(masked_reviews, masked_reviews.c.review_id == reviews.c.review_id))
                .where(_pending_condition())
            ).scalar()
            or 0
        )


def plan_partitions(
    store: Store, partition_size: int = DEFAULT_PARTITION_SIZE, max_partitions: int | None = None
) -> list[Partition]:
    """Split pending reviews into id ranges of at most `partition_size` reviews.

    With `max_partitions` (Airflow's `max_map_length` for a mapped task), partitions grow so that
    their number stays within it.
    """
    if partition_size < 1:
        raise ValueError(f"partition_size must be at least 1, got {partition_size}.")
    if max_partitions is not None:
        if max_partitions < 1:
            raise ValueError(f"max_partitions must be at least 1, got {max_partitions}.")
        partition_size = max(partition_size, math.ceil(count_pending(store) / max_partitions))
    partitions: list[Partition] = []
    after: str | None = None
    with store.engine.connect() as conn:
        while True:
            ids = _pending_ids(conn, limit=partition_size, after=after)
            if not ids:
                break
            partitions.append(Partition(ids[0], ids[-1], len(ids)))
            after = ids[-1]
    return partitions


def _iter_batches(store: Store, partition: Partition, batch_size: int) -> Iterator[list[dict[str, object]]]:
    """Yield pending reviews of the partition with their decrypted text, one batch at a time."""
    after: str | None = None
    while True:
        with store.engine.connect() as conn:
            ids = _pending_ids(
                conn, limit=batch_size, after=after, first=partition.first_id, last=partition.last_id
            )
            if not ids:
                return
            rows = conn.execute(
                select(
                    reviews.c.review_id,
                    reviews.c.subject_id,
                    reviews.c.text_enc,
                    reviews.c.language,
                    reviews.c.content_hash,
                ).where(reviews.c.review_id.in_(ids)).order_by(reviews.c.review_id)
            ).all()
            # One query for the batch's data keys instead of one per review. The keys are
            # forgotten after the batch, so the cache does not grow with the partition.
            store.preload_keys(conn, [row.subject_id for row in rows])
            batch = [
                {
                    "review_id": row.review_id,
                    "text": store.decrypt(conn, row.subject_id, row.text_enc, f"reviews:{row.review_id}:text"),
                    "language": row.language,
                    "content_hash": row.content_hash,
                }
                for row in rows
            ]
            store.forget_cached_keys()
        yield batch
        after = ids[-1]


def mask_partition(
    store: Store,
    engine: PiiEngine,
    partition: Partition,
    *,
    operator: str = "tag",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> MaskingCounts:
    """Mask every pending review of one partition and upsert the results, one transaction a batch."""
    counts = MaskingCounts()
    for batch in _iter_batches(store, partition, batch_size):
        texts = [str(item["text"]) for item in batch]
        languages = [item["language"] for item in batch]
        results = engine.mask_batch(texts, languages=languages, operator=operator)  # type: ignore[arg-type]
        now = datetime.now(UTC)
        rows = []
        for item, result in zip(batch, results, strict=True):
            by_type = Counter(detection.entity_type for detection in result.detections)
            counts.entities.update(by_type)
            counts.languages[result.language] += 1
            rows.append(
                {
                    "review_id": item["review_id"],
                    "masked_text": result.masked_text,
                    "entity_counts": json.dumps(dict(sorted(by_type.items()))),
                    "language": result.language,
                    "content_hash": item["content_hash"],
                    "masked_at": now,
                }
            )
        with store.engine.begin() as conn:
            ids = [row["review_id"] for row in rows]
            conn.execute(delete(masked_reviews).where(masked_reviews.c.review_id.in_(ids)))
            conn.execute(insert(masked_reviews), rows)
        counts.reviews += len(rows)
        log.info("Masked %d reviews of partition %s..%s", len(rows), partition.first_id, partition.last_id)
    return counts
