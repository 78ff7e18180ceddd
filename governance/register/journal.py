"""The processing journal: an append-only, hash-chained record of every run of every stage.

Each entry stores counts and ids only, never a personal value. Its hash is SHA-256 over a canonical
JSON encoding of the entry, previous hash included, so editing or deleting any row breaks every link
after it. Sequence numbers are a primary key: two concurrent writers that read the same chain head
cannot both insert the next entry, and the loser retries on the new head, so the chain never forks.
On SQLite the append opens its transaction with BEGIN IMMEDIATE: it takes the write lock before it
reads the head, and waits its turn within the busy timeout. A "database is locked" that still gets
through is retried after a short back-off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from governance.store.schema import register_journal

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
MAX_APPEND_ATTEMPTS = 50


def code_version() -> str:
    """Return the version of this package, or `REVIEW_GOV_CODE_VERSION` when set (a git sha)."""
    configured = os.environ.get("REVIEW_GOV_CODE_VERSION")
    if configured:
        return configured[:40]
    try:
        return version("review-governance")
    except PackageNotFoundError:
        return "unknown"


@dataclass
class ExtractRecord:
    """A file produced by a run for someone outside the pipeline: its name, size and recipients."""

    name: str
    rows: int
    recipients: Sequence[str]
    path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "recipients": list(self.recipients), "path": self.path}


@dataclass
class JournalEntry:
    """One processing event: what ran, for which purpose, on how many records.

    `entities_masked` maps a personal-data entity type to the number masked, `deletions` maps a data
    category to the rows erased; both hold counts only.
    """

    activity: str
    purpose: str
    status: str = "success"
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    map_index: int | None = None
    try_number: int | None = None
    error_type: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    records_in: int | None = None
    records_out: int | None = None
    entities_masked: Mapping[str, int] = field(default_factory=dict)
    consents_checked: int | None = None
    deletions: Mapping[str, int] = field(default_factory=dict)
    extracts: Sequence[ExtractRecord] = field(default_factory=list)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("entities_masked", "deletions"):
            for key, count in getattr(self, name).items():
                if not isinstance(count, int) or count < 0:
                    raise ValueError(f"{name}[{key!r}] must be a count (int >= 0), got {type(count).__name__}.")


def canonical_json(value: Any) -> str:
    """Encode a value as JSON with sorted keys and no spaces, so the same data hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


# Columns added to the journal after its first release. Rows written before them have NULL there,
# and a NULL column is left out of the encoding, so those rows keep the hash they were written with.
LATER_COLUMNS = (
    "map_index", "try_number", "error_type", "entities_masked", "consents_checked", "deletions", "extracts",
)


def entry_hash(row: Mapping[str, Any]) -> str:
    """Compute the SHA-256 hash of a journal row over its canonical encoding."""
    payload = {
        "seq": row["seq"],
        "entry_id": row["entry_id"],
        "idempotency_key": row["idempotency_key"],
        "recorded_at": _iso(row["recorded_at"]),
        "activity": row["activity"],
        "purpose": row["purpose"],
        "dag_id": row["dag_id"],
        "run_id": row["run_id"],
        "task_id": row["task_id"],
        "map_index": row["map_index"],
        "try_number": row["try_number"],
        "status": row["status"],
        "error_type": row["error_type"],
        "started_at": _iso(row["started_at"]),
        "ended_at": _iso(row["ended_at"]),
        "records_in": row["records_in"],
        "records_out": row["records_out"],
        "entities_masked": row["entities_masked"],
        "consents_checked": row["consents_checked"],
        "deletions": row["deletions"],
        "extracts": row["extracts"],
        "details": row["details"],
        "code_version": row["code_version"],
        "prev_hash": row["prev_hash"],
    }
    for column in LATER_COLUMNS:
        if payload[column] is None:
            del payload[column]
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def append_entry(engine: Engine, entry: JournalEntry, idempotency_key: str | None = None) -> int:
    """Append an entry at the head of the chain and return its sequence number.

    With an `idempotency_key` that is already in the journal, nothing is written and the existing
    entry's sequence number is returned, so re-running a task does not duplicate its entries.
    """
    key = idempotency_key or f"entry:{uuid.uuid4()}"
    for attempt in range(MAX_APPEND_ATTEMPTS):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    # Take the write lock before reading the head: a deferred transaction would
                    # read a snapshot that another writer can make stale before this one inserts.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                existing = conn.execute(
                    select(register_journal.c.seq).where(register_journal.c.idempotency_key == key)
                ).scalar()
                if existing is not None:
                    return int(existing)
                head = conn.execute(
                    select(register_journal.c.seq, register_journal.c.entry_hash)
                    .order_by(register_journal.c.seq.desc())
                    .limit(1)
                ).first()
                row: dict[str, Any] = {
                    "seq": 1 if head is None else head.seq + 1,
                    "entry_id": str(uuid.uuid4()),
                    "idempotency_key": key,
                    "recorded_at": datetime.now(UTC),
                    "activity": entry.activity,
                    "purpose": entry.purpose,
                    "dag_id": entry.dag_id,
                    "run_id": entry.run_id,
                    "task_id": entry.task_id,
                    "map_index": entry.map_index,
                    "try_number": entry.try_number,
                    "status": entry.status,
                    "error_type": entry.error_type,
                    "started_at": entry.started_at,
                    "ended_at": entry.ended_at,
                    "records_in": entry.records_in,
                    "records_out": entry.records_out,
                    "entities_masked": canonical_json(dict(entry.entities_masked)),
                    "consents_checked": entry.consents_checked,
                    "deletions": canonical_json(dict(entry.deletions)),
                    "extracts": canonical_json([extract.as_dict() for extract in entry.extracts]),
                    "details": canonical_json(dict(entry.details)),
                    "code_version": code_version(),
                    "prev_hash": GENESIS_HASH if head is None else head.entry_hash,
                }
                row["entry_hash"] = entry_hash(row)
                conn.execute(insert(register_journal).values(**row))
                log.info(
                    "Journal entry %s appended: activity=%s task=%s", row["seq"], entry.activity, entry.task_id
                )
                return int(row["seq"])
        except IntegrityError:
            # Another writer took this sequence number (or recorded the same key): read the new head.
            _back_off(attempt)
            continue
        except OperationalError as error:
            if not _is_sqlite_lock_conflict(error):
                raise
            _back_off(attempt)
            continue
    raise RuntimeError(
        f"Could not append to the journal after {MAX_APPEND_ATTEMPTS} attempts: too many concurrent writers."
    )


def _back_off(attempt: int) -> None:
    """Sleep a random, growing moment so that colliding writers stop colliding."""
    time.sleep(random.uniform(0, 0.01 * (attempt + 1)))


def _is_sqlite_lock_conflict(error: OperationalError) -> bool:
    message = str(error.orig).lower()
    return "database is locked" in message or "database is busy" in message


@dataclass
class ChainReport:
    """The result of a chain verification: how many entries were read and the first broken one.

    `broken_entry` contains the ids of the broken row (entry id, DAG, run, task, recorded at), so that
    the DPO can find it; it is None when the entry itself is missing. `reason` is the English text
    for logs, and `reason_code` its key in the `chain_breaks` labels that exports show.
    """

    entries: int
    first_broken_seq: int | None = None
    reason: str | None = None
    broken_entry: dict[str, Any] | None = None
    head_seq: int | None = None
    head_hash: str | None = None
    reason_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None

    def describe(self) -> str:
        """Describe the outcome in one line: the head of an intact chain, or the broken row."""
        if self.ok:
            return f"Journal intact: {self.entries} entries, head {self.head_seq} ({self.head_hash})."
        where = ""
        if self.broken_entry:
            where = " (" + ", ".join(f"{key}={value}" for key, value in self.broken_entry.items()) + ")"
        return f"Journal broken at entry {self.first_broken_seq}{where}: {self.reason}."


def _row_ids(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "entry_id": row["entry_id"],
        "dag_id": row["dag_id"],
        "run_id": row["run_id"],
        "task_id": row["task_id"],
        "recorded_at": _iso(row["recorded_at"]),
    }


def iter_entries(engine: Engine, batch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Yield journal rows in sequence order, reading in keyset-paginated batches."""
    last_seq = 0
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(register_journal)
                .where(register_journal.c.seq > last_seq)
                .order_by(register_journal.c.seq)
                .limit(batch_size)
            ).mappings().all()
            if not rows:
                return
            for row in rows:
                yield dict(row)
            last_seq = rows[-1]["seq"]


def verify_chain(engine: Engine) -> ChainReport:
    """Recompute every hash and link; report the first entry that does not match."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in iter_entries(engine):
        count += 1
        if row["seq"] != expected_seq:
            return ChainReport(
                count, expected_seq, f"entry {expected_seq} is missing (deleted)", reason_code="entry_missing"
            )
        if row["prev_hash"] != expected_prev:
            return ChainReport(
                count, row["seq"], "previous-hash link does not match the entry before", _row_ids(row),
                reason_code="link_mismatch",
            )
        if entry_hash(row) != row["entry_hash"]:
            return ChainReport(
                count, row["seq"], "content does not match its hash (the row was edited)", _row_ids(row),
                reason_code="hash_mismatch",
            )
        expected_prev = row["entry_hash"]
        expected_seq += 1
    return ChainReport(count, head_seq=expected_seq - 1, head_hash=expected_prev)


def decode_entry(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a journal row with its JSON columns decoded into Python values."""
    decoded = dict(row)
    empty: dict[str, Any] = {"entities_masked": {}, "deletions": {}, "extracts": [], "details": {}}
    for column, default in empty.items():
        decoded[column] = default if row[column] is None else json.loads(row[column])
    return decoded


def read_entries(engine: Engine, start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    """Read the decoded entries recorded in [start, end), in sequence order."""
    query = select(register_journal).order_by(register_journal.c.seq)
    if start is not None:
        query = query.where(register_journal.c.recorded_at >= start)
    if end is not None:
        query = query.where(register_journal.c.recorded_at < end)
    with engine.connect() as conn:
        return [decode_entry(row) for row in conn.execute(query).mappings()]


def count_entries(engine: Engine) -> int:
    """Return the number of entries in the journal."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(register_journal)).scalar() or 0)
