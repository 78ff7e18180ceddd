"""Pull one configured source into the store: load, mark deletions, move the watermark.

The order makes a rerun safe. The records are loaded in one transaction of idempotent upserts keyed
by source and external id. Only after it commits are deletions marked and the watermark written.
A crash before the watermark is written means the next run reads the same interval again, which
inserts nothing new.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update

from governance.crypto import KeyShreddedError
from governance.ingest import KnownCustomers, LoadCounts, load_consents, load_customers, load_reviews
from governance.sources.base import (
    Credentials,
    PullContext,
    PullState,
    Record,
    SourceConfigError,
    SourceKind,
    SubjectLookup,
)
from governance.sources.records import Rejected, ReviewRecord
from governance.sources.registry import ConfiguredSource
from governance.store import Store
from governance.store.schema import customers, masked_reviews, reviews, source_watermarks

log = logging.getLogger(__name__)

CHUNK = 500


class StoreSubjects(SubjectLookup):
    """Looks customers up in the store; the email index is built on first use by decrypting."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._ids: KnownCustomers | None = None
        self._emails: dict[str, str] | None = None

    def customer_id(self, candidate: str | None) -> str | None:
        if not candidate:
            return None
        if self._ids is None:
            with self.store.engine.connect() as conn:
                self._ids = KnownCustomers(conn)
        return candidate if candidate in self._ids else None

    def customer_id_by_email(self, email: str | None) -> str | None:
        if not email or not email.strip():
            return None
        if self._emails is None:
            self._emails = self._email_index()
        return self._emails.get(email.strip().lower())

    def _email_index(self) -> dict[str, str]:
        index: dict[str, str] = {}
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(customers.c.customer_id, customers.c.subject_id, customers.c.email_enc))
            for customer_id, subject_id, sealed in rows:
                try:
                    email = self.store.decrypt(conn, subject_id, sealed, f"customers:{customer_id}:email")
                except KeyShreddedError:
                    continue
                if email:
                    index[email.strip().lower()] = customer_id
        return index


@dataclass
class SourceRun:
    """Counts and outcome of one pull of one source."""

    source: str
    type_name: str
    counts: LoadCounts
    state: PullState
    deleted: int = 0
    restored: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.counts.as_dict(),
            "type": self.type_name,
            "deleted": self.deleted,
            "restored": self.restored,
            "skipped_by_watermark": self.state.skipped_by_watermark,
            "requests": self.state.requests,
            "complete": self.state.complete,
            "stopped_because": self.state.stopped_because,
            "watermark": self.state.watermark,
        }


def read_watermark(store: Store, source: str) -> dict[str, Any] | None:
    with store.engine.connect() as conn:
        cursor = conn.execute(
            select(source_watermarks.c.cursor).where(source_watermarks.c.source == source)
        ).scalar()
    return json.loads(cursor) if cursor else None


def write_watermark(store: Store, source: str, watermark: dict[str, Any]) -> None:
    values = {"cursor": json.dumps(watermark, sort_keys=True), "updated_at": datetime.now(UTC)}
    with store.engine.begin() as conn:
        exists = conn.execute(
            select(source_watermarks.c.source).where(source_watermarks.c.source == source)
        ).first()
        if exists:
            conn.execute(update(source_watermarks).where(source_watermarks.c.source == source).values(**values))
        else:
            conn.execute(insert(source_watermarks).values(source=source, **values))


def stored_external_ids(store: Store, source: str) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(reviews.c.external_id).where(reviews.c.source == source)).scalars())


def reconcile_deletions(store: Store, source: str, listed_ids: set[str]) -> tuple[int, int]:
    """Mark deleted the stored reviews the platform no longer lists; restore those listed again.

    A deleted review also loses its masked text, so it leaves the masked dataset. An empty listing
    deletes nothing: it more likely means a wrong location id than a location without reviews.
    Returns (deleted, restored).

    NOTE: a review that shifts to a page already read during the pull is missing from the listing:
    a deletion on the platform shifts the later reviews of page-number and offset paging, and an
    edit moves a Google review to the first page. It is marked deleted until the next pull restores it.
    """
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        rows = conn.execute(
            select(reviews.c.review_id, reviews.c.external_id, reviews.c.deleted_at).where(reviews.c.source == source)
        ).all()
        to_delete = [row.review_id for row in rows if row.external_id not in listed_ids and row.deleted_at is None]
        to_restore = [row.review_id for row in rows if row.external_id in listed_ids and row.deleted_at is not None]
        if not listed_ids and to_delete:
            log.warning(
                "Source %s listed no review while %d are stored; deletions not applied. "
                "Check the location id in the sources configuration.", source, len(to_delete),
            )
            to_delete = []
        for chunk in _chunks(to_delete):
            conn.execute(update(reviews).where(reviews.c.review_id.in_(chunk)).values(deleted_at=now))
            conn.execute(delete(masked_reviews).where(masked_reviews.c.review_id.in_(chunk)))
        for chunk in _chunks(to_restore):
            conn.execute(update(reviews).where(reviews.c.review_id.in_(chunk)).values(deleted_at=None))
            conn.execute(delete(masked_reviews).where(masked_reviews.c.review_id.in_(chunk)))
    return len(to_delete), len(to_restore)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _stamped(items: Iterable[Record | Rejected], source: str) -> Iterator[Record | Rejected]:
    """Give every row the configured source name, whatever name the reader writes."""
    for item in items:
        if isinstance(item, Rejected):
            yield item if item.source == source else dataclasses.replace(item, source=source)
        elif isinstance(item, ReviewRecord) and item.source != source:
            yield item.model_copy(update={"source": source})
        else:
            yield item


def resolve_credentials(source: ConfiguredSource, credentials: Credentials | None) -> Credentials | None:
    """Return the given credentials, else those in the environment; raise when a platform has none."""
    credentials = credentials or Credentials.from_env(source.name)
    if credentials is None and source.connector_class.needs_credentials:
        prefix = Credentials.env_prefix(source.name)
        raise SourceConfigError(
            f"Source {source.name} needs credentials: create the Airflow connection {source.conn_id!r} "
            f"(password: the API key or access token), or outside Airflow set {prefix}SECRET."
        )
    return credentials


def pull_source(
    store: Store,
    source: ConfiguredSource,
    *,
    input_dir: Path,
    credentials: Credentials | None = None,
    run_id: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SourceRun:
    """Pull one source into the store and return its counts."""
    watermark = read_watermark(store, source.name)
    ctx = PullContext(
        source=source.name,
        input_dir=input_dir,
        watermark=watermark,
        credentials=resolve_credentials(source, credentials),
        subjects=StoreSubjects(store),
        known_ids=stored_external_ids(store, source.name) if source.kind is SourceKind.REVIEWS else set(),
        sleep=sleep,
    )
    state = PullState()
    items = _stamped(source.connector().records(ctx, state), source.name)
    loader = {
        SourceKind.CUSTOMERS: load_customers,
        SourceKind.CONSENTS: load_consents,
        SourceKind.REVIEWS: load_reviews,
    }[source.kind]
    try:
        counts = loader(store, items, source.name, run_id)  # type: ignore[arg-type]
    except BaseException:
        # The load rolled back, and with it the data keys it created. The store's key cache still
        # contains them, so the next load would skip inserting their subject_keys rows.
        store.forget_cached_keys()
        raise
    run = SourceRun(source.name, source.type_name, counts, state)

    if state.complete and state.listed_ids is not None:
        run.deleted, run.restored = reconcile_deletions(store, source.name, state.listed_ids)
    if state.complete and state.watermark and state.watermark != watermark:
        write_watermark(store, source.name, state.watermark)
    if not state.complete:
        log.warning("Source %s: pull stopped early (%s); watermark kept", source.name, state.stopped_because)
    log.info(
        "Source %s: read %d, inserted %d, updated %d, unchanged %d, quarantined %d, deleted %d, requests %d",
        source.name, counts.read, counts.inserted, counts.updated, counts.unchanged, counts.quarantined,
        run.deleted, state.requests,
    )
    return run
