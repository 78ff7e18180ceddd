"""The store on both backends: schema, encryption at rest, append-only journal."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from governance.crypto import KeyShreddedError, MasterKeyMismatchError
from governance.register.journal import JournalEntry, append_entry, verify_chain
from governance.store import Store
from governance.store.schema import register_journal


def test_encrypted_value_round_trip(store: Store) -> None:
    with store.engine.begin() as conn:
        sealed = store.encrypt(conn, "customer:T1", "secret text", "customers:T1:email")
        assert b"secret text" not in sealed
        assert store.decrypt(conn, "customer:T1", sealed, "customers:T1:email") == "secret text"


def test_shredded_key_cannot_decrypt(store: Store) -> None:
    with store.engine.begin() as conn:
        sealed = store.encrypt(conn, "customer:T2", "secret text", "ctx")
        assert store.shred(conn, ["customer:T2"]) == 1
    with store.engine.begin() as conn, pytest.raises(KeyShreddedError):
        store.decrypt(conn, "customer:T2", sealed, "ctx")


def test_wrong_master_key_is_rejected(store: Store, store_url: str) -> None:
    with store.engine.begin() as conn:
        store.encrypt(conn, "customer:T3", "secret text", "ctx")
    with pytest.raises(MasterKeyMismatchError, match="Nothing was written"):
        Store.open(store_url, b"\x07" * 32)


def test_journal_rejects_update_and_delete(store: Store) -> None:
    append_entry(store.engine, JournalEntry(activity="test", purpose="test"))
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(register_journal.update().values(records_in=5))
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
        conn.execute(register_journal.delete())
    with store.engine.connect() as conn:
        assert conn.execute(select(register_journal.c.records_in)).scalar() is None


def test_journal_idempotency_key_dedupes(store: Store) -> None:
    first = append_entry(store.engine, JournalEntry(activity="a", purpose="p"), idempotency_key="k1")
    again = append_entry(store.engine, JournalEntry(activity="a", purpose="p"), idempotency_key="k1")
    assert first == again
    assert verify_chain(store.engine).entries == 1


def test_journal_edit_is_detected(store: Store) -> None:
    for index in range(3):
        append_entry(store.engine, JournalEntry(activity="a", purpose="p", records_in=index))
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER register_journal_no_update"))
            conn.execute(text("UPDATE register_journal SET records_in = 99 WHERE seq = 2"))
        else:
            conn.execute(text("ALTER TABLE register_journal DISABLE TRIGGER register_journal_append_only"))
            conn.execute(text("UPDATE register_journal SET records_in = 99 WHERE seq = 2"))
            conn.execute(text("ALTER TABLE register_journal ENABLE TRIGGER register_journal_append_only"))
    report = verify_chain(store.engine)
    assert not report.ok
    assert report.first_broken_seq == 2


def test_rolled_back_key_not_cached(store: Store) -> None:
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        store.encrypt(conn, "customer:T4", "secret text", "ctx")
        raise RuntimeError("abort the transaction")
    with store.engine.begin() as conn:
        sealed = store.encrypt(conn, "customer:T4", "secret text", "ctx")
    with store.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM subject_keys WHERE subject_id = 'customer:T4'")).scalar() == 1
        assert store.decrypt(conn, "customer:T4", sealed, "ctx") == "secret text"
