"""Connection to the governance store and the encryption of its personal fields."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, inspect, select, update
from sqlalchemy.engine import make_url

from governance.crypto import (
    KeyShreddedError,
    KeyWrapper,
    MasterKeyMismatchError,
    decrypt_value,
    encrypt_value,
)
from governance.private_files import PRIVATE_DIR_MODE, PRIVATE_FILE_MODE
from governance.store.schema import subject_keys

log = logging.getLogger(__name__)


def create_store_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout for concurrent writers."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_sqlite_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def _create_private_sqlite_file(path: Path) -> None:
    """Create a missing SQLite file as an empty, owner-only database.

    SQLite gives its -wal and -shm files the mode of the database file, so they are owner-only too.
    """
    path.parent.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if not path.exists():
        # An empty file is a valid empty database.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE))


def init_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the latest migration, with the append-only triggers."""
    from governance.store.migrate import current_revision, head_revision, upgrade

    if current_revision(engine) != head_revision():
        upgrade(engine)


def stored_master_key_ids(engine: Engine) -> set[str]:
    """Return the ids of the master keys that wrap the data keys not yet destroyed."""
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(subject_keys.c.master_key_id).where(subject_keys.c.wrapped_key.is_not(None)).distinct()
            ).scalars()
        )


class Store:
    """The governance store: an engine plus the per-subject data keys that protect personal fields."""

    def __init__(self, engine: Engine, wrapper: KeyWrapper) -> None:
        self.engine = engine
        self.wrapper = wrapper
        self._data_keys: dict[str, bytes] = {}
        # Keys created in a transaction that is not yet committed: a rollback must drop them from
        # the cache, or a later load would skip inserting their rows.
        self._uncommitted: set[str] = set()
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "rollback", self._on_rollback)

    def _on_commit(self, _conn: Connection) -> None:
        self._uncommitted.clear()

    def _on_rollback(self, _conn: Connection) -> None:
        for subject_id in self._uncommitted:
            self._data_keys.pop(subject_id, None)
        self._uncommitted.clear()

    @classmethod
    def open(cls, url: str, master_key: bytes, *, create: bool = True) -> Store:
        """Open the store and check the master key; with `create`, create or upgrade the schema.

        A store that already contains data keys is checked before any migration runs, so a wrong
        master key writes nothing.
        """
        engine = create_store_engine(url)
        store = cls(engine, KeyWrapper(master_key))
        if create:
            if inspect(engine).has_table(subject_keys.name):
                store.check_master_key()
            init_schema(engine)
        store.check_master_key()
        return store

    def check_master_key(self) -> None:
        """Raise MasterKeyMismatchError if stored data keys were wrapped by another master key."""
        foreign_ids = stored_master_key_ids(self.engine) - {self.wrapper.key_id}
        if foreign_ids:
            raise MasterKeyMismatchError(
                f"The store contains data keys wrapped by master key id(s) {sorted(foreign_ids)}, "
                f"but REVIEW_GOV_MASTER_KEY has id {self.wrapper.key_id}. Nothing was written. "
                "Set the master key that wrapped them, or re-wrap with `review-gov keys rotate`."
            )

    def data_key(self, conn: Connection, subject_id: str, *, create: bool = True) -> bytes:
        """Return the subject's data key, creating and storing it on first use."""
        cached = self._data_keys.get(subject_id)
        if cached is not None:
            return cached
        row = conn.execute(
            select(subject_keys.c.wrapped_key, subject_keys.c.master_key_id).where(
                subject_keys.c.subject_id == subject_id
            )
        ).first()
        if row is None:
            if not create:
                raise KeyError(f"No data key for subject {subject_id}.")
            data_key, wrapped = self.wrapper.new_data_key(subject_id)
            self._uncommitted.add(subject_id)
            conn.execute(
                insert(subject_keys).values(
                    subject_id=subject_id,
                    wrapped_key=wrapped,
                    master_key_id=self.wrapper.key_id,
                    created_at=datetime.now(UTC),
                )
            )
        elif row.wrapped_key is None:
            raise KeyShreddedError(f"The data key of subject {subject_id} was destroyed.")
        else:
            data_key = self.wrapper.unwrap(subject_id, row.wrapped_key, stored_key_id=row.master_key_id)
        self._data_keys[subject_id] = data_key
        return data_key

    def preload_keys(self, conn: Connection, subject_ids: list[str]) -> set[str]:
        """Load or create the data keys of many subjects with one query and one bulk insert.

        Returns the subjects among `subject_ids` whose key was destroyed: they were erased, and
        their data must not be stored again.
        """
        shredded: set[str] = set()
        missing = sorted({subject_id for subject_id in subject_ids if subject_id not in self._data_keys})
        if not missing:
            return shredded
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = conn.execute(
                select(subject_keys.c.subject_id, subject_keys.c.wrapped_key, subject_keys.c.master_key_id)
                .where(subject_keys.c.subject_id.in_(chunk))
            ).all()
            for row in rows:
                if row.wrapped_key is None:
                    shredded.add(row.subject_id)
                else:
                    self._data_keys[row.subject_id] = self.wrapper.unwrap(
                        row.subject_id, row.wrapped_key, stored_key_id=row.master_key_id
                    )
            found = {row.subject_id for row in rows}
            new_rows = []
            now = datetime.now(UTC)
            for subject_id in chunk:
                if subject_id in found:
                    continue
                data_key, wrapped = self.wrapper.new_data_key(subject_id)
                self._data_keys[subject_id] = data_key
                self._uncommitted.add(subject_id)
                new_rows.append(
                    {"subject_id": subject_id, "wrapped_key": wrapped, "master_key_id": self.wrapper.key_id,
                     "created_at": now}
                )
            if new_rows:
                conn.execute(insert(subject_keys), new_rows)
        return shredded

    def encrypt(self, conn: Connection, subject_id: str, value: str | None, context: str) -> bytes | None:
        if value is None:
            return None
        return encrypt_value(self.data_key(conn, subject_id), value, context)

    def decrypt(self, conn: Connection, subject_id: str, sealed: bytes | None, context: str) -> str | None:
        if sealed is None:
            return None
        return decrypt_value(self.data_key(conn, subject_id, create=False), sealed, context)

    def shred(self, conn: Connection, subject_ids: list[str]) -> int:
        """Destroy the data keys of these subjects; return how many keys were destroyed."""
        if not subject_ids:
            return 0
        for subject_id in subject_ids:
            self._data_keys.pop(subject_id, None)
        result = conn.execute(
            update(subject_keys)
            .where(subject_keys.c.subject_id.in_(subject_ids), subject_keys.c.wrapped_key.is_not(None))
            .values(wrapped_key=None, shredded_at=datetime.now(UTC))
        )
        return result.rowcount or 0

    def delete_keys(self, conn: Connection, subject_ids: list[str]) -> int:
        """Delete the data keys of subjects that no row refers to any more; return how many were deleted."""
        for subject_id in subject_ids:
            self._data_keys.pop(subject_id, None)
        deleted = 0
        for start in range(0, len(subject_ids), 500):
            chunk = subject_ids[start : start + 500]
            deleted += conn.execute(delete(subject_keys).where(subject_keys.c.subject_id.in_(chunk))).rowcount or 0
        return deleted

    def forget_cached_keys(self) -> None:
        self._data_keys.clear()
