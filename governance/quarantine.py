"""The quarantine of rejected rows: counts by source and reason, and retries once a cause is fixed.

The cause of a rejection may be fixed without a new export. The customer a survey names may now be
in the CRM, a purpose may now be declared, the text limit may have been raised, or a parser may now
read a date. A retry decrypts each stored row and reads it again with the connector type that first
read it (`quarantine.reader`). The records that pass go through the same loader as an ingest, in one
transaction per source, customers first, then consents, then reviews:

- a row that passes is loaded and removed from quarantine, and its own data key, if it had one, is
  destroyed. Loads are upserts keyed by id, so a second retry never duplicates a record;
- a row that still fails stays, with the new reason;
- a row whose record the store got from a load after the row was quarantined is superseded. It is
  removed without being loaded, so that an old version never overwrites a newer one;
- a row without a reader is left alone, because reading it again cannot change the outcome: invalid
  bytes, a duplicate id in one export, a malformed page, or a row quarantined before schema
  revision 0004, which stores no reader.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from governance.crypto import KeyShreddedError
from governance.ingest import (
    QUARANTINE_SUBJECT_PREFIX,
    LoadCounts,
    load_consents,
    load_customers,
    load_reviews,
    max_text_chars,
    reason_kind,
    redact_reason,
    text_too_long_reason,
)
from governance.sources.base import PullContext, Record, SourceKind
from governance.sources.records import REVIEW_RECORD_READER, ConsentRecord, CustomerRecord, ReviewRecord
from governance.sources.registry import CONNECTORS
from governance.sources.runner import StoreSubjects
from governance.sources.trustpilot_csv import _reason
from governance.store import Store
from governance.store.schema import customers, quarantine, reviews

log = logging.getLogger(__name__)

LOAD_ORDER = (SourceKind.CUSTOMERS, SourceKind.CONSENTS, SourceKind.REVIEWS)
CHUNK = 500
CONFLICT_REASON = "duplicate id with different content among the retried rows"

Loader = Callable[..., LoadCounts]
LOADERS: dict[SourceKind, Loader] = {
    SourceKind.CUSTOMERS: load_customers,
    SourceKind.CONSENTS: load_consents,
    SourceKind.REVIEWS: load_reviews,
}


@dataclass(frozen=True)
class QuarantineGroup:
    """Quarantined rows of one source with one kind of reason, and how many of them a retry reads."""

    source: str
    reason: str
    rows: int
    retryable: int

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "reason": self.reason, "rows": self.rows, "retryable": self.retryable}


def quarantine_summary(store: Store) -> list[QuarantineGroup]:
    """Count the quarantined rows by source and kind of reason, without decrypting any."""
    rows: Counter[tuple[str, str]] = Counter()
    retryable: Counter[tuple[str, str]] = Counter()
    query = select(
        quarantine.c.source, quarantine.c.reason, quarantine.c.reader.is_not(None).label("retryable"), func.count()
    ).group_by(quarantine.c.source, quarantine.c.reason, quarantine.c.reader.is_not(None))
    with store.engine.connect() as conn:
        for source, reason, can_retry, count in conn.execute(query):
            # The kind of reason only: rows stored before reasons were redacted may quote a value.
            key = (source, reason_kind(reason))
            rows[key] += count
            if can_retry:
                retryable[key] += count
    return [
        QuarantineGroup(source, reason, rows[(source, reason)], retryable[(source, reason)])
        for source, reason in sorted(rows)
    ]


@dataclass
class RetryCounts:
    """Outcome of a retry for one source: row counts and kinds of reason, never values.

    `loaded` rows left the quarantine because the store now contains their record. The loader's own
    counts (`inserted` to `suppressed`) show what the load changed.
    """

    source: str
    retried: int = 0
    loaded: int = 0
    superseded: int = 0
    still_failing: int = 0
    not_retryable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0

    def add(self, other: RetryCounts) -> None:
        self.retried += other.retried
        self.loaded += other.loaded
        self.superseded += other.superseded
        self.still_failing += other.still_failing
        self.not_retryable += other.not_retryable
        self.reasons.update(other.reasons)
        self.add_load(other.inserted, other.updated, other.unchanged, other.suppressed)

    def add_load(self, inserted: int, updated: int, unchanged: int, suppressed: int) -> None:
        self.inserted += inserted
        self.updated += updated
        self.unchanged += unchanged
        self.suppressed += suppressed

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "retried": self.retried,
            "loaded": self.loaded,
            "superseded": self.superseded,
            "still_failing": self.still_failing,
            "not_retryable": self.not_retryable,
            "still_failing_reasons": dict(sorted(self.reasons.items())),
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "suppressed_erased_subjects": self.suppressed,
        }


@dataclass(frozen=True)
class _StoredRow:
    quarantine_id: str
    source: str
    reader: str | None
    subject_id: str
    created_at: datetime
    payload_enc: bytes
    row_enc: bytes | None


def reader_kind(reader: str | None) -> SourceKind | None:
    """Return the kind of records a reader produces, or None for a row that cannot be retried."""
    if reader == REVIEW_RECORD_READER:
        return SourceKind.REVIEWS
    connector = CONNECTORS.get(reader or "")
    return connector.kind if connector else None


def retry_quarantine(store: Store, *, source: str | None = None, run_id: str | None = None) -> list[RetryCounts]:
    """Read every retryable quarantined row again and load those that pass; return counts per source."""
    with store.engine.connect() as conn:
        query = select(
            quarantine.c.quarantine_id, quarantine.c.source, quarantine.c.reader, quarantine.c.subject_id,
            quarantine.c.created_at, quarantine.c.payload_enc, quarantine.c.row_enc,
        ).order_by(quarantine.c.source, quarantine.c.created_at, quarantine.c.quarantine_id)
        if source is not None:
            query = query.where(quarantine.c.source == source)
        stored = [_StoredRow(**row) for row in conn.execute(query).mappings()]

    results: dict[str, RetryCounts] = {}
    groups: dict[tuple[SourceKind, str], list[_StoredRow]] = defaultdict(list)
    for row in stored:
        kind = reader_kind(row.reader)
        if kind is None:
            results.setdefault(row.source, RetryCounts(row.source)).not_retryable += 1
        else:
            groups[(kind, row.source)].append(row)

    for kind, group_source in sorted(groups, key=lambda key: (LOAD_ORDER.index(key[0]), key[1])):
        counts = _retry_group(store, kind, group_source, groups[(kind, group_source)], run_id)
        results.setdefault(group_source, RetryCounts(group_source)).add(counts)
        log.info(
            "Quarantine retry of %s: %d rows read again, %d loaded, %d superseded, %d still failing",
            group_source, counts.retried, counts.loaded, counts.superseded, counts.still_failing,
        )
    return [results[name] for name in sorted(results)]


def _retry_group(
    store: Store, kind: SourceKind, source: str, rows: Sequence[_StoredRow], run_id: str | None
) -> RetryCounts:
    """Retry the rows of one source in one transaction, so that a failure changes nothing."""
    counts = RetryCounts(source)
    context = PullContext(
        source=source, input_dir=Path(), watermark=None, credentials=None, subjects=StoreSubjects(store)
    )
    with store.engine.begin() as conn:
        passed: list[tuple[_StoredRow, Record]] = []
        for row in rows:
            try:
                record = _read_again(store, conn, row, context)
            except KeyShreddedError:
                # An erasure destroyed the row's data key, so the row cannot be decrypted.
                counts.not_retryable += 1
                continue
            except ValueError as error:
                counts.retried += 1
                _keep(conn, row, _reason(error), counts)
                continue
            counts.retried += 1
            passed.append((row, record))

        superseded = _superseded(conn, kind, source, passed)
        current = [(row, record) for row, record in passed if row.quarantine_id not in superseded]
        to_load, same_as_loaded, conflicts = _split_duplicates(current)
        for row in conflicts:
            _keep(conn, row, CONFLICT_REASON, counts)

        load = LOADERS[kind](store, [record for _, record in to_load], source, run_id, conn=conn)
        counts.add_load(load.inserted, load.updated, load.unchanged, load.suppressed)
        counts.loaded = len(to_load) + len(same_as_loaded)
        counts.superseded = len(superseded)
        superseded_rows = [row for row, _ in passed if row.quarantine_id in superseded]
        _remove(store, conn, [row for row, _ in to_load] + same_as_loaded + superseded_rows)
    return counts


def _read_again(store: Store, conn: Connection, row: _StoredRow, context: PullContext) -> Record:
    """Decrypt a stored row and read it with its reader; raise ValueError when it is still invalid."""
    if row.row_enc is not None:
        payload = store.decrypt(conn, row.subject_id, row.row_enc, f"quarantine:{row.quarantine_id}:row")
    else:
        payload = store.decrypt(conn, row.subject_id, row.payload_enc, f"quarantine:{row.quarantine_id}")
    assert payload is not None and row.reader is not None

    if row.reader == REVIEW_RECORD_READER:
        record: Record = ReviewRecord.model_validate_json(payload)
    else:
        connector_class = CONNECTORS[row.reader]
        # Reading a stored row needs the source name only, never the options (paths, URLs, ids).
        connector = connector_class(row.source, connector_class.Options.model_construct())
        record = connector.reread(payload, context)

    if isinstance(record, ReviewRecord):
        if record.source != row.source:
            record = record.model_copy(update={"source": row.source})
        too_long = text_too_long_reason(record, max_text_chars())
        if too_long is not None:
            raise ValueError(too_long)
    return record


def _keep(conn: Connection, row: _StoredRow, reason: str, counts: RetryCounts) -> None:
    """Leave a row in quarantine with the reason of this retry, without the values it quotes."""
    redacted = redact_reason(reason)
    conn.execute(update(quarantine).where(quarantine.c.quarantine_id == row.quarantine_id).values(reason=redacted))
    counts.still_failing += 1
    counts.reasons[reason_kind(redacted)] += 1


def _record_key(record: Record) -> str:
    if isinstance(record, CustomerRecord):
        return record.customer_id
    if isinstance(record, ConsentRecord):
        return record.consent_id
    return record.external_id


def _superseded(
    conn: Connection, kind: SourceKind, source: str, passed: Sequence[tuple[_StoredRow, Record]]
) -> set[str]:
    """Return the ids of the rows whose customer or review was stored after the row was quarantined.

    Consents are appended to a ledger keyed by event, so none is ever superseded.
    """
    keys = sorted({_record_key(record) for _, record in passed})
    if kind is SourceKind.CUSTOMERS:
        key_column = customers.c.customer_id
        query = select(key_column, customers.c.ingested_at)
    elif kind is SourceKind.REVIEWS:
        key_column = reviews.c.external_id
        query = select(key_column, reviews.c.ingested_at).where(reviews.c.source == source)
    else:
        return set()
    stored_at: dict[str, datetime] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        stored_at.update(conn.execute(query.where(key_column.in_(chunk))).all())
    return {
        row.quarantine_id
        for row, record in passed
        if _record_key(record) in stored_at and stored_at[_record_key(record)] > row.created_at
    }


def _split_duplicates(
    passed: Sequence[tuple[_StoredRow, Record]],
) -> tuple[list[tuple[_StoredRow, Record]], list[_StoredRow], list[_StoredRow]]:
    """Split rows that read as the same record id: the oldest row is loaded, like an ingest does.

    Returns the rows to load, the later rows with the same content (nothing of theirs is lost) and
    the later rows with other content, which stay in quarantine rather than guess which is right.
    """
    first: dict[str, Record] = {}
    to_load: list[tuple[_StoredRow, Record]] = []
    same: list[_StoredRow] = []
    conflicts: list[_StoredRow] = []
    for row, record in passed:
        key = _record_key(record)
        if key not in first:
            first[key] = record
            to_load.append((row, record))
        elif first[key].model_dump_json() == record.model_dump_json():
            same.append(row)
        else:
            conflicts.append(row)
    return to_load, same, conflicts


def _remove(store: Store, conn: Connection, rows: Sequence[_StoredRow]) -> None:
    """Delete rows from quarantine, and the data keys that only these rows used."""
    ids = [row.quarantine_id for row in rows]
    for start in range(0, len(ids), CHUNK):
        conn.execute(delete(quarantine).where(quarantine.c.quarantine_id.in_(ids[start : start + CHUNK])))
    # A row of no known customer has a key of its own. It is deleted rather than destroyed, so
    # that the same row quarantined again by a later load gets a new key instead of an error.
    own_keys = sorted({row.subject_id for row in rows if row.subject_id.startswith(QUARANTINE_SUBJECT_PREFIX)})
    store.delete_keys(conn, own_keys)
