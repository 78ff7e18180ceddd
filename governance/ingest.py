"""Load normalised records into the store: idempotent upserts, encryption, quarantine.

Re-running a load with the same input changes nothing. Rows are keyed by source and external id:
an unchanged row is skipped, an edited one is updated (and its masked text dropped so it is masked
again), and quarantine rows are keyed by a hash of source, reference and raw content.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from pathlib import Path

from sqlalchemy import Connection, delete, insert, or_, select, update

from governance.config import read_key
from governance.consent.purposes import current_purposes
from governance.sources import crm_csv, survey_jsonl, trustpilot_csv
from governance.sources.records import (
    REVIEW_RECORD_READER,
    ConsentRecord,
    CustomerRecord,
    Rejected,
    ReviewRecord,
    stable_id,
)
from governance.retention.extracts import customer_pseudonym
from governance.store import Store
from governance.store.schema import (
    consent_events,
    customers,
    masked_reviews,
    quarantine,
    review_tombstones,
    reviews,
    subject_keys,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 1000

T = TypeVar("T")
# A review longer than this is quarantined rather than masked: real reviews are a few thousand
# characters at most, and one multi-megabyte text would hold a masking partition for minutes.
DEFAULT_MAX_TEXT_CHARS = 100_000
PERSONAL_CUSTOMER_FIELDS = ("first_name", "last_name", "email", "phone", "postal_address")
# Prefix of the subject of a quarantine row that names no known customer: one data key per row.
QUARANTINE_SUBJECT_PREFIX = "quarantine:"


CUSTOMER_SUBJECT_PREFIX = "customer:"
ERASED_CUSTOMER_PREFIX = "erased-customer:"


def customer_subject(customer_id: str) -> str:
    return f"{CUSTOMER_SUBJECT_PREFIX}{customer_id}"


def erased_customer_subject(customer_id: str, key: bytes | None = None) -> str:
    """Return the key row that marks a customer as erased: the keyed hash of the id, never the id.

    `key` is the pseudonym key, read from the environment when not given.
    """
    # 48 hexadecimal digits (192 bits of the HMAC) keep the id within the 64-character column.
    return ERASED_CUSTOMER_PREFIX + customer_pseudonym(customer_id, key or read_key("PSEUDONYM_KEY"))[:48]


class ErasedCustomers(Container[str]):
    """The customers erased from the store, never to be stored again.

    Erasure leaves one key row per customer, named by the keyed hash of the id. A destroyed key row
    that still names the customer id (erased before the hash was kept, or shredded while other rows
    still refer to it) counts too.
    """

    def __init__(self, conn: Connection) -> None:
        rows = conn.execute(
            select(subject_keys.c.subject_id).where(
                subject_keys.c.wrapped_key.is_(None),
                or_(
                    subject_keys.c.subject_id.startswith(ERASED_CUSTOMER_PREFIX),
                    subject_keys.c.subject_id.startswith(CUSTOMER_SUBJECT_PREFIX),
                ),
            )
        ).scalars()
        self._hashed: set[str] = set()
        self._plain: set[str] = set()
        self._key: bytes | None = None
        for subject_id in rows:
            if subject_id.startswith(ERASED_CUSTOMER_PREFIX):
                self._hashed.add(subject_id)
            else:
                self._plain.add(subject_id.removeprefix(CUSTOMER_SUBJECT_PREFIX))

    def __contains__(self, customer_id: object) -> bool:
        if not isinstance(customer_id, str):
            return False
        if customer_id in self._plain:
            return True

        # The pseudonym key is read only when a hashed row exists, so a store with no erasure
        # loads without it.
        if not self._hashed:
            return False
        if self._key is None:
            self._key = read_key("PSEUDONYM_KEY")
        return erased_customer_subject(customer_id, self._key) in self._hashed

    def subjects(self, customer_ids: Iterable[str | None]) -> set[str]:
        """Return the customer subjects of the erased customers among `customer_ids`."""
        return {customer_subject(customer_id) for customer_id in customer_ids if customer_id and customer_id in self}


class KnownCustomers(Container[str]):
    """The customer ids that a reader accepts: stored customers and erased ones.

    Erased customers count as known, so their rows are suppressed at load time instead of being
    quarantined with their personal data.
    """

    def __init__(self, conn: Connection) -> None:
        self.stored = set(conn.execute(select(customers.c.customer_id)).scalars())
        self.erased = ErasedCustomers(conn)

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self.stored or customer_id in self.erased


def review_subject(review_id: str) -> str:
    """Return the subject of a review whose author is not a known customer: one key per review."""
    return f"review:{review_id}"


@dataclass
class LoadCounts:
    """Counts of one load by outcome, never values."""

    source: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    suppressed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "read": self.read,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "suppressed_erased_subjects": self.suppressed,
            "quarantine_reasons": dict(self.reasons),
        }


def reason_kind(reason: str) -> str:
    """Return the reason without its quoted value, for counting reasons by kind."""
    for separator in ("'", '"', ":"):
        reason = reason.split(separator)[0]
    return reason.strip()


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def redact_reason(reason: str) -> str:
    """Replace every quoted value of a reason with '…'.

    A reason quotes the field value that failed, and in a malformed row a field may hold another
    field's content (an email in the date column): the stored reason is readable with plain SQL, so
    it keeps the kind of failure only. The raw row stays in the encrypted payload.
    """
    return _QUOTED.sub("'…'", reason)


def quarantine_rows(store: Store, conn: Connection, rejected: Rejected, run_id: str | None) -> bool:
    """Store a rejected row encrypted, with its reason; return False when it was already there."""
    # Bytes that were not valid UTF-8 arrive as lone surrogates; keep them as escapes.
    raw = rejected.raw.encode("utf-8", "backslashreplace").decode("utf-8")
    row = None if rejected.row is None else rejected.row.encode("utf-8", "backslashreplace").decode("utf-8")
    quarantine_id = hashlib.sha256(
        "\x1f".join([rejected.source, rejected.source_ref, raw]).encode("utf-8")
    ).hexdigest()
    exists = conn.execute(
        select(quarantine.c.quarantine_id).where(quarantine.c.quarantine_id == quarantine_id)
    ).first()
    if exists:
        return False
    known_customer = rejected.customer_id and conn.execute(
        select(customers.c.subject_id).where(customers.c.customer_id == rejected.customer_id)
    ).scalar()
    # A row of no known customer gets a key of its own, which retention, erasure and a quarantine
    # retry delete with the row.
    subject_id = known_customer or f"{QUARANTINE_SUBJECT_PREFIX}{quarantine_id[:32]}"
    conn.execute(
        insert(quarantine).values(
            quarantine_id=quarantine_id,
            source=rejected.source,
            source_ref=rejected.source_ref,
            reason=redact_reason(rejected.reason),
            customer_id=rejected.customer_id if known_customer else None,
            subject_id=subject_id,
            payload_enc=store.encrypt(conn, subject_id, raw, f"quarantine:{quarantine_id}"),
            reader=rejected.reader,
            row_enc=store.encrypt(conn, subject_id, row, f"quarantine:{quarantine_id}:row"),
            run_id=run_id,
            created_at=datetime.now(UTC),
        )
    )
    return True


def _record_rejection(store: Store, conn: Connection, counts: LoadCounts, item: Rejected, run_id: str | None) -> None:
    counts.quarantined += 1
    counts.reasons[reason_kind(item.reason)] += 1
    quarantine_rows(store, conn, item, run_id)
    log.info("Quarantined %s (%s): %s", item.source_ref, item.source, reason_kind(item.reason))


@contextmanager
def _transaction(store: Store, conn: Connection | None) -> Iterator[Connection]:
    """Use the caller's connection and transaction when given one, else run in a transaction of its own."""
    if conn is not None:
        yield conn
        return
    with store.engine.begin() as own:
        yield own


def load_customers(
    store: Store,
    items: Iterable[CustomerRecord | Rejected],
    source: str,
    run_id: str | None = None,
    *,
    conn: Connection | None = None,
) -> LoadCounts:
    """Upsert CRM customers with their identity and contact fields encrypted."""
    counts = LoadCounts(source)
    now = datetime.now(UTC)
    with _transaction(store, conn) as conn:
        existing = {row.customer_id: row.content_hash for row in conn.execute(
            select(customers.c.customer_id, customers.c.content_hash))}
        erased = ErasedCustomers(conn)
        seen: set[str] = set()
        for chunk in _chunks(items, BATCH_SIZE):
            accepted: list[tuple[CustomerRecord, str]] = []
            for item in chunk:
                counts.read += 1
                if isinstance(item, Rejected):
                    _record_rejection(store, conn, counts, item, run_id)
                    continue
                if item.customer_id in seen:
                    duplicate = Rejected(
                        source, f"customer {item.customer_id}", "duplicate customer id in the same export",
                        item.model_dump_json(), item.customer_id,
                    )
                    _record_rejection(store, conn, counts, duplicate, run_id)
                    continue
                seen.add(item.customer_id)
                content_hash = hashlib.sha256(item.model_dump_json().encode("utf-8")).hexdigest()
                if existing.get(item.customer_id) == content_hash:
                    counts.unchanged += 1
                    continue
                accepted.append((item, content_hash))
            _write_customers(store, conn, accepted, existing, erased, counts, now)
    return counts


def _write_customers(
    store: Store,
    conn: Connection,
    accepted: list[tuple[CustomerRecord, str]],
    existing: dict[str, str],
    erased_customers: ErasedCustomers,
    counts: LoadCounts,
    now: datetime,
) -> None:
    # Erased customers are found before the keys are loaded, because loading creates missing keys.
    erased = erased_customers.subjects(item.customer_id for item, _hash in accepted)
    subject_ids = [customer_subject(item.customer_id) for item, _hash in accepted]
    erased |= store.preload_keys(conn, [subject_id for subject_id in subject_ids if subject_id not in erased])
    inserts: list[dict[str, object]] = []
    for item, content_hash in accepted:
        subject_id = customer_subject(item.customer_id)
        if subject_id in erased:
            # An erased customer still in the export is not stored again, nor quarantined.
            counts.suppressed += 1
            continue
        values: dict[str, object] = {
            "customer_id": item.customer_id,
            "subject_id": subject_id,
            "channel": item.channel,
            "created_at": item.created_at,
            "last_contact_at": item.last_contact_at,
            "content_hash": content_hash,
            "ingested_at": now,
        }
        for column in PERSONAL_CUSTOMER_FIELDS:
            values[f"{column}_enc"] = store.encrypt(
                conn, subject_id, getattr(item, column), f"customers:{item.customer_id}:{column}"
            )
        if item.customer_id in existing:
            conn.execute(update(customers).where(customers.c.customer_id == item.customer_id).values(**values))
            counts.updated += 1
        else:
            inserts.append(values)
            counts.inserted += 1
        existing[item.customer_id] = content_hash
    if inserts:
        conn.execute(insert(customers), inserts)


def load_consents(
    store: Store,
    items: Iterable[ConsentRecord | Rejected],
    source: str,
    run_id: str | None = None,
    *,
    conn: Connection | None = None,
) -> LoadCounts:
    """Append grant and withdrawal events to the consent ledger; events already there are skipped."""
    counts = LoadCounts(source)
    now = datetime.now(UTC)
    with _transaction(store, conn) as conn:
        existing = set(conn.execute(select(consent_events.c.event_id)).scalars())
        erased = ErasedCustomers(conn)
        pending: list[dict[str, object]] = []
        for item in items:
            counts.read += 1
            if isinstance(item, Rejected):
                _record_rejection(store, conn, counts, item, run_id)
                continue
            if item.customer_id in erased:
                counts.suppressed += 1
                continue
            events = [("grant", item.granted_at)]
            if item.withdrawn_at is not None:
                events.append(("withdrawal", item.withdrawn_at))
            new_events = 0
            for event_type, occurred_at in events:
                event_id = f"{item.consent_id}:{event_type}"
                if event_id in existing:
                    continue
                existing.add(event_id)
                new_events += 1
                pending.append(
                    dict(
                        event_id=event_id,
                        consent_id=item.consent_id,
                        customer_id=item.customer_id,
                        purpose=item.purpose,
                        event_type=event_type,
                        occurred_at=occurred_at,
                        source=item.source,
                        policy_version=item.policy_version,
                        proof_ref=item.proof_ref,
                        loaded_at=now,
                    )
                )
            if new_events:
                counts.inserted += 1
            else:
                counts.unchanged += 1
            if len(pending) >= BATCH_SIZE:
                conn.execute(insert(consent_events), pending)
                pending = []
        if pending:
            conn.execute(insert(consent_events), pending)
    return counts


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def max_text_chars() -> int:
    """Return the longest review text accepted: `REVIEW_GOV_MAX_TEXT_CHARS`, else the default."""
    return int(os.environ.get("REVIEW_GOV_MAX_TEXT_CHARS", DEFAULT_MAX_TEXT_CHARS))


def text_too_long_reason(item: ReviewRecord, max_chars: int) -> str | None:
    """Return why the review's text is too long to mask, or None when it is not."""
    if len(item.text) <= max_chars:
        return None
    return (
        f"review text of {len(item.text)} characters is longer than the limit of {max_chars}; "
        "raise REVIEW_GOV_MAX_TEXT_CHARS to accept it"
    )


def load_reviews(
    store: Store,
    items: Iterable[ReviewRecord | Rejected],
    source: str,
    run_id: str | None = None,
    *,
    conn: Connection | None = None,
) -> LoadCounts:
    """Upsert reviews with raw text, title and author encrypted under the subject's data key.

    Rows are written in chunks of BATCH_SIZE with bulk statements, inside one transaction.
    """
    counts = LoadCounts(source)
    now = datetime.now(UTC)
    max_chars = max_text_chars()
    with _transaction(store, conn) as conn:
        existing = {
            row.external_id: row.content_hash
            for row in conn.execute(
                select(reviews.c.external_id, reviews.c.content_hash).where(reviews.c.source == source)
            )
        }
        erased = ErasedCustomers(conn)
        seen_in_load: dict[str, str] = {}
        taken_in_load: set[str] = set()
        for chunk in _chunks(items, BATCH_SIZE):
            accepted: list[tuple[ReviewRecord, str, str]] = []
            for item in chunk:
                counts.read += 1
                if isinstance(item, Rejected):
                    _record_rejection(store, conn, counts, item, run_id)
                    continue
                content_hash = item.content_hash()
                first_hash = seen_in_load.setdefault(item.external_id, content_hash)
                if first_hash != content_hash:
                    # Two rows of one export claim the same id with different content: keep the
                    # first and quarantine the other rather than guess which one is right.
                    conflict = Rejected(
                        source, f"external id {item.external_id}",
                        "duplicate id with different content in the same export",
                        item.model_dump_json(), item.customer_id,
                    )
                    _record_rejection(store, conn, counts, conflict, run_id)
                    continue
                too_long_reason = text_too_long_reason(item, max_chars)
                if too_long_reason is not None:
                    too_long = Rejected(
                        source, f"external id {item.external_id}", too_long_reason,
                        item.model_dump_json(), item.customer_id, reader=REVIEW_RECORD_READER,
                    )
                    _record_rejection(store, conn, counts, too_long, run_id)
                    continue
                if item.external_id in taken_in_load or existing.get(item.external_id) == content_hash:
                    # An identical copy of a row taken earlier in this load, such as a duplicated
                    # survey response, is stored once and counted as unchanged.
                    counts.unchanged += 1
                    continue
                taken_in_load.add(item.external_id)
                accepted.append((item, stable_id(item.source, item.external_id), content_hash))
            _write_reviews(store, conn, accepted, existing, erased, counts, now)
    return counts


def _write_reviews(
    store: Store,
    conn: Connection,
    accepted: list[tuple[ReviewRecord, str, str]],
    existing: dict[str, str],
    erased_customers: ErasedCustomers,
    counts: LoadCounts,
    now: datetime,
) -> None:
    """Encrypt and write one chunk of new or changed reviews with bulk statements."""
    subjects = {
        review_id: customer_subject(item.customer_id) if item.customer_id else review_subject(review_id)
        for item, review_id, _hash in accepted
    }
    erased = erased_customers.subjects(item.customer_id for item, _review_id, _hash in accepted)
    erased |= store.preload_keys(conn, [subject_id for subject_id in subjects.values() if subject_id not in erased])
    deleted = set(
        conn.execute(
            select(review_tombstones.c.review_id).where(review_tombstones.c.review_id.in_(list(subjects)))
        ).scalars()
    )
    inserts: list[dict[str, object]] = []
    updated_ids: list[str] = []
    for item, review_id, content_hash in accepted:
        subject_id = subjects[review_id]
        if subject_id in erased or review_id in deleted:
            # Erased or deleted by retention: the review is not stored again.
            counts.suppressed += 1
            continue
        context = f"reviews:{review_id}"
        values: dict[str, object] = {
            "review_id": review_id,
            "source": item.source,
            "external_id": item.external_id,
            "customer_id": item.customer_id,
            "subject_id": subject_id,
            "rating": item.rating,
            "title_enc": store.encrypt(conn, subject_id, item.title, f"{context}:title"),
            "text_enc": store.encrypt(conn, subject_id, item.text, f"{context}:text"),
            "author_enc": store.encrypt(conn, subject_id, item.author, f"{context}:author"),
            "language": item.language,
            "channel": item.channel,
            "review_date": item.review_date,
            "experience_date": item.experience_date,
            "updated_at": item.updated_at,
            "content_hash": content_hash,
            "ingested_at": now,
            "deleted_at": None,
        }
        if item.external_id in existing:
            conn.execute(update(reviews).where(reviews.c.review_id == review_id).values(**values))
            updated_ids.append(review_id)
            counts.updated += 1
        else:
            inserts.append(values)
            counts.inserted += 1
        existing[item.external_id] = content_hash
    if inserts:
        conn.execute(insert(reviews), inserts)
    if updated_ids:
        # An edited review is masked again: its old masked text no longer matches.
        conn.execute(delete(masked_reviews).where(masked_reviews.c.review_id.in_(updated_ids)))


def ingest_exports(store: Store, input_dir: Path, run_id: str | None = None) -> list[LoadCounts]:
    """Load the bundled file exports: CRM customers, then consents, then reviews and surveys.

    Customers come first because surveys and consents are checked against them.
    """
    internal = input_dir / "internal"
    results = [
        load_customers(store, crm_csv.read_customers(internal / "crm_customers.csv"), crm_csv.CUSTOMERS_SOURCE, run_id)
    ]
    with store.engine.connect() as conn:
        known = KnownCustomers(conn)
    purposes = current_purposes().names()
    consents = crm_csv.read_consents(internal / "consents.csv", known, purposes)
    results.append(load_consents(store, consents, crm_csv.CONSENTS_SOURCE, run_id))
    results.append(
        load_reviews(store, survey_jsonl.read(internal / "survey_responses.jsonl", known), survey_jsonl.SOURCE, run_id)
    )
    trustpilot = input_dir / "reviews" / "trustpilot_fr_export.csv"
    results.append(load_reviews(store, trustpilot_csv.read(trustpilot), trustpilot_csv.SOURCE, run_id))
    return results
