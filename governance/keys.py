"""Rotation of the master key: every data key is re-wrapped, no data is re-encrypted.

The rotation first unwraps every data key with the current master key without writing anything,
so a wrong current key stops it before the first change. It then re-wraps the keys in batches, one
transaction each. A rotation that stops halfway leaves keys under both master keys: the store
refuses to open until `review-gov keys rotate` is run again with the same two keys, which finishes
the job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select, update

from governance.crypto import KeyWrapper, MasterKeyMismatchError
from governance.store.database import stored_master_key_ids
from governance.store.schema import subject_keys

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class RotationResult:
    """Outcome of a rotation. Key ids are non-secret fingerprints of the master keys."""

    old_key_id: str
    new_key_id: str
    rewrapped: int
    already_rewrapped: int

    def as_dict(self) -> dict[str, object]:
        return {
            "old_key_id": self.old_key_id,
            "new_key_id": self.new_key_id,
            "rewrapped": self.rewrapped,
            "already_rewrapped": self.already_rewrapped,
        }


def _check_key_ids(engine: Engine, old: KeyWrapper, new: KeyWrapper) -> None:
    foreign = stored_master_key_ids(engine) - {old.key_id, new.key_id}
    if foreign:
        raise MasterKeyMismatchError(
            f"The store contains data keys wrapped by master key id(s) {sorted(foreign)}, but "
            f"REVIEW_GOV_MASTER_KEY has id {old.key_id}. Nothing was written. Set REVIEW_GOV_MASTER_KEY "
            "to the master key that wrapped them."
        )


def _unwrap_all(engine: Engine, old: KeyWrapper, batch_size: int) -> int:
    """Unwrap every data key still under the old master key, writing nothing; return how many."""
    checked = 0
    last = ""
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(subject_keys.c.subject_id, subject_keys.c.wrapped_key)
                .where(
                    subject_keys.c.master_key_id == old.key_id,
                    subject_keys.c.wrapped_key.is_not(None),
                    subject_keys.c.subject_id > last,
                )
                .order_by(subject_keys.c.subject_id)
                .limit(batch_size)
            ).all()
            if not rows:
                return checked
            for row in rows:
                old.unwrap(row.subject_id, row.wrapped_key, stored_key_id=old.key_id)
            checked += len(rows)
            last = rows[-1].subject_id


def rotate_master_key(
    engine: Engine, old_key: bytes, new_key: bytes, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RotationResult:
    """Re-wrap every data key from the old master key to the new one, batch by batch.

    Raises ValueError when both keys are the same, and MasterKeyMismatchError when the old key did
    not wrap the stored keys. In both cases nothing is written.
    """
    old, new = KeyWrapper(old_key), KeyWrapper(new_key)
    if old.key_id == new.key_id:
        raise ValueError(
            "REVIEW_GOV_NEW_MASTER_KEY is the same key as REVIEW_GOV_MASTER_KEY: generate a new key."
        )
    _check_key_ids(engine, old, new)
    to_rewrap = _unwrap_all(engine, old, batch_size)
    with engine.connect() as conn:
        already = len(
            conn.execute(
                select(subject_keys.c.subject_id).where(
                    subject_keys.c.master_key_id == new.key_id, subject_keys.c.wrapped_key.is_not(None)
                )
            ).all()
        )

    rewrapped = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(subject_keys.c.subject_id, subject_keys.c.wrapped_key)
                .where(subject_keys.c.master_key_id == old.key_id, subject_keys.c.wrapped_key.is_not(None))
                .order_by(subject_keys.c.subject_id)
                .limit(batch_size)
            ).all()
            if not rows:
                break
            values = [
                {
                    "subject": row.subject_id,
                    "rewrapped": new.wrap(row.subject_id, old.unwrap(row.subject_id, row.wrapped_key)),
                }
                for row in rows
            ]
            conn.execute(
                update(subject_keys)
                .where(
                    subject_keys.c.subject_id == bindparam("subject"),
                    subject_keys.c.master_key_id == old.key_id,
                )
                .values(wrapped_key=bindparam("rewrapped"), master_key_id=new.key_id),
                values,
            )
            rewrapped += len(rows)
        log.info("Re-wrapped %d of %d data keys", rewrapped, to_rewrap)
    # Destroyed keys keep no wrapped key; their rows move to the new id so no trace of the old
    # master key is left.
    with engine.begin() as conn:
        conn.execute(
            update(subject_keys)
            .where(subject_keys.c.master_key_id == old.key_id, subject_keys.c.wrapped_key.is_(None))
            .values(master_key_id=new.key_id)
        )
    return RotationResult(old.key_id, new.key_id, rewrapped, already)
