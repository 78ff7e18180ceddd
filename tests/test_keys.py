"""Master key rotation on both backends: re-wrapping, wrong keys, resuming."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from governance.cli import app
from governance.crypto import MasterKeyMismatchError
from governance.keys import rotate_master_key
from governance.store import Store
from governance.store.schema import subject_keys

SUBJECTS = [f"customer:K{index:03d}" for index in range(7)]


def _seal_values(store: Store) -> dict[str, bytes]:
    with store.engine.begin() as conn:
        return {subject: store.encrypt(conn, subject, f"value of {subject}", f"ctx:{subject}") for subject in SUBJECTS}


def _wrapped_keys(store: Store) -> dict[str, bytes | None]:
    with store.engine.connect() as conn:
        return {row.subject_id: row.wrapped_key for row in conn.execute(select(subject_keys))}


def _open_and_read(store_url: str, key: bytes, sealed: dict[str, bytes]) -> dict[str, str | None]:
    reopened = Store.open(store_url, key)
    with reopened.engine.connect() as conn:
        values = {subject: reopened.decrypt(conn, subject, value, f"ctx:{subject}") for subject, value in sealed.items()}
    reopened.engine.dispose()
    return values


def test_rotate_rewraps_without_reencrypting(store: Store, store_url: str) -> None:
    sealed = _seal_values(store)
    old_key, new_key = store.wrapper.master_key, os.urandom(32)
    with store.engine.begin() as conn:
        store.shred(conn, [SUBJECTS[0]])

    result = rotate_master_key(store.engine, old_key, new_key, batch_size=3)

    assert result.rewrapped == len(SUBJECTS) - 1
    values = _open_and_read(store_url, new_key, {subject: sealed[subject] for subject in SUBJECTS[1:]})
    assert values == {subject: f"value of {subject}" for subject in SUBJECTS[1:]}
    with pytest.raises(MasterKeyMismatchError):
        Store.open(store_url, old_key)


def test_rotate_wrong_key_writes_nothing(store: Store) -> None:
    _seal_values(store)
    before = _wrapped_keys(store)
    with pytest.raises(MasterKeyMismatchError, match="Nothing was written"):
        rotate_master_key(store.engine, os.urandom(32), os.urandom(32))
    assert _wrapped_keys(store) == before


def test_rotate_resumes_after_crash(store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = _seal_values(store)
    old_key, new_key = store.wrapper.master_key, os.urandom(32)
    from governance import crypto

    real_wrap = crypto.KeyWrapper.wrap
    calls = {"count": 0}

    def crash_in_second_batch(self, subject_id, data_key):  # type: ignore[no-untyped-def]
        if self.master_key == new_key:
            calls["count"] += 1
            if calls["count"] == 4:
                raise ConnectionError("worker lost")
        return real_wrap(self, subject_id, data_key)

    monkeypatch.setattr(crypto.KeyWrapper, "wrap", crash_in_second_batch)
    with pytest.raises(ConnectionError):
        rotate_master_key(store.engine, old_key, new_key, batch_size=3)
    monkeypatch.setattr(crypto.KeyWrapper, "wrap", real_wrap)
    with pytest.raises(MasterKeyMismatchError):
        Store.open(store_url, new_key)

    result = rotate_master_key(store.engine, old_key, new_key, batch_size=3)

    assert result.already_rewrapped == 3
    assert result.rewrapped == len(SUBJECTS) - 3
    assert _open_and_read(store_url, new_key, sealed) == {subject: f"value of {subject}" for subject in SUBJECTS}


def test_cli_rotate_missing_new_key(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _seal_values(store)
    before = _wrapped_keys(store)
    monkeypatch.delenv("REVIEW_GOV_NEW_MASTER_KEY", raising=False)
    result = CliRunner().invoke(app, ["keys", "rotate"])
    assert result.exit_code == 1
    assert "REVIEW_GOV_NEW_MASTER_KEY is not set" in result.output
    assert _wrapped_keys(store) == before


def test_cli_rotate_then_open(store: Store, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sealed = _seal_values(store)
    new_key = os.urandom(32)
    monkeypatch.setenv("REVIEW_GOV_NEW_MASTER_KEY", base64.b64encode(new_key).decode())
    result = CliRunner().invoke(app, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert f"Re-wrapped {len(SUBJECTS)} data keys" in result.output
    assert _open_and_read(store_url, new_key, sealed)[SUBJECTS[0]] == f"value of {SUBJECTS[0]}"
