"""Erasure and anonymisation of customers and reviews, shared by retention and data subject requests.

Every function works inside the caller's transaction and deletes in foreign-key order: extract
lines and access exports, quarantine rows, consent events, masked reviews, reviews, the customer,
and last the subject's data key. Files go first because they are outside the transaction: if the
database part then fails, the files of subjects that were due anyway are gone, and a re-run erases
the rows.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, delete, insert, select, update

from governance.config import read_key
from governance.crypto import KeyShreddedError
from governance.ingest import QUARANTINE_SUBJECT_PREFIX, customer_subject, erased_customer_subject
from governance.retention.extracts import SubjectMatcher, remove_subject_lines
from governance.store import Store
from governance.store.schema import (
    consent_events,
    customers,
    data_subject_requests,
    masked_reviews,
    quarantine,
    review_tombstones,
    reviews,
    subject_keys,
)

log = logging.getLogger(__name__)

# Anonymised reviews point at this subject, whose data key is created already destroyed. The rows
# keep rating and masked text but no longer link to a person.
ANONYMISED_SUBJECT = "system:anonymised"
REVIEW_SUBJECT_PREFIX = "review:"


def ensure_anonymised_subject(store: Store, conn: Connection) -> None:
    """Create the shared subject of anonymised rows, with no data key, if it is missing."""
    exists = conn.execute(
        select(subject_keys.c.subject_id).where(subject_keys.c.subject_id == ANONYMISED_SUBJECT)
    ).first()
    if exists is None:
        now = datetime.now(UTC)
        conn.execute(
            insert(subject_keys).values(
                subject_id=ANONYMISED_SUBJECT,
                wrapped_key=None,
                master_key_id=store.wrapper.key_id,
                created_at=now,
                shredded_at=now,
            )
        )


def _review_subjects(conn: Connection, review_ids: list[str]) -> list[str]:
    """Return the per-review subjects (reviews of no known customer) among these reviews."""
    subjects = conn.execute(
        select(reviews.c.subject_id).where(reviews.c.review_id.in_(review_ids)).distinct()
    ).scalars()
    return [subject for subject in subjects if subject.startswith(REVIEW_SUBJECT_PREFIX)]


def anonymise_reviews(store: Store, conn: Connection, review_ids: list[str]) -> Counter[str]:
    """Drop the raw text, title, author and customer link of reviews; keep rating and masked text.

    Reviews of unknown authors have a data key of their own, which is destroyed too.
    """
    counts: Counter[str] = Counter()
    if not review_ids:
        return counts
    ensure_anonymised_subject(store, conn)
    own_subjects = _review_subjects(conn, review_ids)
    counts["reviews_anonymised"] += conn.execute(
        update(reviews)
        .where(reviews.c.review_id.in_(review_ids))
        .values(customer_id=None, subject_id=ANONYMISED_SUBJECT, title_enc=None, author_enc=None, text_enc=None)
    ).rowcount or 0
    counts["data_keys_shredded"] += store.shred(conn, own_subjects)
    return counts


def delete_reviews(store: Store, conn: Connection, review_ids: list[str]) -> Counter[str]:
    """Delete reviews and their masked text; destroy the data keys of reviews of unknown authors."""
    counts: Counter[str] = Counter()
    if not review_ids:
        return counts
    own_subjects = _review_subjects(conn, review_ids)
    counts["masked_reviews"] += conn.execute(
        delete(masked_reviews).where(masked_reviews.c.review_id.in_(review_ids))
    ).rowcount or 0
    counts["reviews"] += conn.execute(delete(reviews).where(reviews.c.review_id.in_(review_ids))).rowcount or 0
    # A tombstone keeps the id only, so that the next pull of the same export skips the review.
    known = set(
        conn.execute(select(review_tombstones.c.review_id).where(review_tombstones.c.review_id.in_(review_ids))).scalars()
    )
    now = datetime.now(UTC)
    new = [{"review_id": review_id, "deleted_at": now} for review_id in review_ids if review_id not in known]
    if new:
        conn.execute(insert(review_tombstones), new)
    counts["data_keys_shredded"] += store.shred(conn, own_subjects)
    return counts


def remove_extract_lines(extracts_dir: Path | None, customer_ids: Iterable[str], review_ids: Iterable[str]) -> Counter[str]:
    """Remove the lines naming these customers or reviews from every extract; count lines and files."""
    counts: Counter[str] = Counter()
    if extracts_dir is None:
        return counts
    removed = remove_subject_lines(extracts_dir, SubjectMatcher(set(customer_ids), set(review_ids)))
    counts["extract_lines"] += sum(removed.values())
    counts["extract_files_rewritten"] += len(removed)
    return counts


def erase_customers(
    store: Store,
    conn: Connection,
    customer_ids: list[str],
    *,
    keep_reviews: bool,
    extracts_dir: Path | None,
    extra_quarantine_ids: Iterable[str] = (),
) -> Counter[str]:
    """Erase customers with everything that names them, then destroy their data keys.

    With `keep_reviews` their reviews are anonymised (rating and masked text stay for statistics);
    without it they are deleted. `extra_quarantine_ids` are quarantine rows found to mention the
    customers although they were not linked to them at load time.
    """
    counts: Counter[str] = Counter()
    if not customer_ids:
        return counts
    subjects = list(
        conn.execute(select(customers.c.subject_id).where(customers.c.customer_id.in_(customer_ids))).scalars()
    )
    review_ids = list(conn.execute(select(reviews.c.review_id).where(reviews.c.customer_id.in_(customer_ids))).scalars())

    counts.update(remove_extract_lines(extracts_dir, customer_ids, review_ids))
    counts["access_exports"] += remove_access_exports(conn, data_subject_requests.c.customer_id.in_(customer_ids))
    counts.update(delete_quarantine_rows(store, conn, quarantine.c.customer_id.in_(customer_ids)))
    extra = list(extra_quarantine_ids)
    if extra:
        counts.update(delete_quarantine_rows(store, conn, quarantine.c.quarantine_id.in_(extra)))
    counts["consent_events"] += conn.execute(
        delete(consent_events).where(consent_events.c.customer_id.in_(customer_ids))
    ).rowcount or 0
    if keep_reviews:
        counts.update(anonymise_reviews(store, conn, review_ids))
    else:
        counts.update(delete_reviews(store, conn, review_ids))
    counts["customers"] += conn.execute(delete(customers).where(customers.c.customer_id.in_(customer_ids))).rowcount or 0
    # The requests keep the keyed hash of the id, which proves what was done without naming anyone.
    conn.execute(
        update(data_subject_requests)
        .where(data_subject_requests.c.customer_id.in_(customer_ids))
        .values(customer_id=None)
    )
    counts["data_keys_shredded"] += store.shred(conn, subjects)
    rename_erased_keys(conn, customer_ids)
    return counts


def rename_erased_keys(conn: Connection, customer_ids: list[str]) -> int:
    """Replace the destroyed key rows of erased customers by rows named with the keyed hash of the id.

    Ingest reads these rows to keep an erased customer from being loaded again, and the hash lets it
    do so without the store keeping the CRM id. A key row that another row still refers to keeps
    its name. Returns how many rows were renamed.
    """
    renamed = 0
    key = read_key("PSEUDONYM_KEY")
    for customer_id in customer_ids:
        subject_id = customer_subject(customer_id)
        if _subject_in_use(conn, subject_id):
            continue
        row = conn.execute(
            select(subject_keys).where(subject_keys.c.subject_id == subject_id, subject_keys.c.wrapped_key.is_(None))
        ).mappings().first()
        if row is None:
            continue
        conn.execute(delete(subject_keys).where(subject_keys.c.subject_id == subject_id))
        hashed = erased_customer_subject(customer_id, key)
        exists = conn.execute(select(subject_keys.c.subject_id).where(subject_keys.c.subject_id == hashed)).first()
        if exists is None:
            conn.execute(insert(subject_keys).values({**row, "subject_id": hashed}))
        renamed += 1
    return renamed


def _subject_in_use(conn: Connection, subject_id: str) -> bool:
    return any(
        conn.execute(select(table.c.subject_id).where(table.c.subject_id == subject_id).limit(1)).first() is not None
        for table in (customers, reviews, quarantine)
    )


def remove_access_exports(conn: Connection, condition: ColumnElement[bool]) -> int:
    """Delete the access export files of the requests matching `condition`, and return how many were deleted.

    An access export contains a plain copy of everything stored on its subject, so it is deleted
    whenever the subject's data is.
    """
    removed = 0
    rows = conn.execute(
        select(data_subject_requests.c.request_id, data_subject_requests.c.output_path).where(
            condition, data_subject_requests.c.output_path.is_not(None)
        )
    ).all()
    for row in rows:
        path = Path(row.output_path)
        if path.exists():
            path.unlink()
            removed += 1
        conn.execute(
            update(data_subject_requests)
            .where(data_subject_requests.c.request_id == row.request_id)
            .values(output_path=None)
        )
    return removed


def delete_quarantine_rows(store: Store, conn: Connection, condition: ColumnElement[bool]) -> Counter[str]:
    """Delete the quarantine rows matching `condition`, and the data keys of their own.

    A row that named no known customer when it was loaded has a data key of its own
    (`quarantine:<id>`). Deleting that key with the row makes every copy of the row, in backups
    taken after the key is gone, unreadable. The key is deleted rather than destroyed, so that the
    same row quarantined again by a later load gets a new key instead of an error.
    """
    rows = conn.execute(select(quarantine.c.quarantine_id, quarantine.c.subject_id).where(condition)).all()
    counts: Counter[str] = Counter({"quarantine": 0})
    if not rows:
        return counts
    ids = [row.quarantine_id for row in rows]
    own_keys = sorted({row.subject_id for row in rows if row.subject_id.startswith(QUARANTINE_SUBJECT_PREFIX)})
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        counts["quarantine"] += conn.execute(delete(quarantine).where(quarantine.c.quarantine_id.in_(chunk))).rowcount or 0
    counts["data_keys_deleted"] += store.delete_keys(conn, own_keys)
    return counts


def mention_pattern(needles: Iterable[str]) -> re.Pattern[str] | None:
    """Return a case-insensitive pattern that finds any of the needles as a whole value, or None.

    A needle only matches where no character of an email address, id or number continues it on
    either side. "marie@example.fr" thus does not match inside "anne-marie@example.fr", and
    "C00001" does not match inside "C000012". Needles shorter than 4 characters are ignored.
    """
    # Longest first, so that the alternation tries a longer value before a value it contains.
    searched = sorted({needle.strip() for needle in needles if needle and len(needle.strip()) >= 4}, key=len, reverse=True)
    if not searched:
        return None
    alternatives = "|".join(re.escape(needle) for needle in searched)
    return re.compile(rf"(?<![\w.%+-])(?:{alternatives})(?![\w-]|\.\w)", re.IGNORECASE)


def quarantine_mentions(store: Store, conn: Connection, needles: list[str]) -> list[str]:
    """Return ids of quarantine rows not linked to a customer whose payload contains one of the needles.

    A rejected row is linked to its customer only when the customer was already known at load time,
    so erasure also decrypts the unlinked rows and looks for the customer's id and contact values,
    each as a whole value (see `mention_pattern`). The comparison ignores case.
    """
    pattern = mention_pattern(needles)
    if pattern is None:
        return []
    found: list[str] = []
    rows = conn.execute(
        select(quarantine.c.quarantine_id, quarantine.c.subject_id, quarantine.c.payload_enc).where(
            quarantine.c.customer_id.is_(None)
        )
    )
    for row in rows:
        try:
            payload = store.decrypt(conn, row.subject_id, row.payload_enc, f"quarantine:{row.quarantine_id}")
        except (KeyShreddedError, KeyError):
            continue
        if pattern.search(payload or ""):
            found.append(row.quarantine_id)
    return found
