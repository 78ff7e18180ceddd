"""Schema migrations: an empty store and a first-release store both reach the latest schema."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from governance.crypto import MasterKeyMismatchError
from governance.register.journal import GENESIS_HASH, LATER_COLUMNS, entry_hash, verify_chain
from governance.store import Store, create_store_engine
from governance.store.migrate import alembic_config, current_revision, head_revision, upgrade
from governance.store.schema import metadata

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def _first_release_store(url: str):  # type: ignore[no-untyped-def]
    """Create a store at revision 0001 holding one customer, review, masked text and journal entry."""
    engine = create_store_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
    row = {
        "seq": 1, "entry_id": "00000000-0000-0000-0000-000000000001", "idempotency_key": "k1",
        "recorded_at": NOW, "activity": "review_collection", "purpose": "review_collection",
        "dag_id": "review_ingest", "run_id": "r1", "task_id": "t1", "status": "success",
        "started_at": NOW, "ended_at": NOW, "records_in": 3, "records_out": 3,
        "details": json.dumps({"sources": []}), "code_version": "0.1.0", "prev_hash": GENESIS_HASH,
    }
    hashed = {**row, **{column: None for column in LATER_COLUMNS}}
    row["entry_hash"] = entry_hash(hashed)
    naive = NOW.replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO subject_keys (subject_id, wrapped_key, master_key_id, created_at) "
            "VALUES ('customer:C1', :key, 'k', :now)"), {"key": b"x", "now": naive})
        conn.execute(text(
            "INSERT INTO customers (customer_id, subject_id, created_at, last_contact_at, ingested_at) "
            "VALUES ('C1', 'customer:C1', :now, :now, :now)"), {"now": naive})
        conn.execute(text(
            "INSERT INTO reviews (review_id, source, external_id, customer_id, subject_id, text_enc, "
            "review_date, content_hash, ingested_at) VALUES ('R1', 'survey', 'S1', 'C1', 'customer:C1', "
            ":blob, :now, 'h', :now)"), {"blob": b"y", "now": naive})
        conn.execute(text(
            "INSERT INTO masked_reviews (review_id, masked_text, entity_counts, language, content_hash, "
            "masked_at) VALUES ('R1', 'Merci <PERSON>', '{}', 'fr', 'h', :now)"), {"now": naive})
        values = {**row, "recorded_at": naive, "started_at": naive, "ended_at": naive}
        conn.execute(text(
            "INSERT INTO register_journal (seq, entry_id, idempotency_key, recorded_at, activity, purpose, "
            "dag_id, run_id, task_id, status, started_at, ended_at, records_in, records_out, details, "
            "code_version, prev_hash, entry_hash) VALUES (:seq, :entry_id, :idempotency_key, :recorded_at, "
            ":activity, :purpose, :dag_id, :run_id, :task_id, :status, :started_at, :ended_at, :records_in, "
            ":records_out, :details, :code_version, :prev_hash, :entry_hash)"), values)
    return engine


def _schema_diff(engine) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_empty_store_reaches_head(store_url: str) -> None:
    engine = create_store_engine(store_url)
    before, after = upgrade(engine)
    assert before is None
    assert after == head_revision()
    assert current_revision(engine) == head_revision()
    assert _schema_diff(engine) == []


def test_first_release_store_upgrades(store_url: str) -> None:
    engine = _first_release_store(store_url)

    before, after = upgrade(engine)

    assert (before, after) == ("0001", head_revision())
    assert _schema_diff(engine) == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM masked_reviews")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM reviews")).scalar() == 1
        assert conn.execute(text("SELECT content_hash FROM customers")).scalar() == ""
    assert verify_chain(engine).ok
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM register_journal"))


def test_wrong_master_key_leaves_old_schema(store_url: str) -> None:
    engine = _first_release_store(store_url)

    with pytest.raises(MasterKeyMismatchError, match="Nothing was written"):
        Store.open(store_url, os.urandom(32))

    assert current_revision(engine) == "0001"


def test_upgrade_twice_is_noop(store_url: str) -> None:
    engine = create_store_engine(store_url)
    upgrade(engine)
    assert upgrade(engine) == (head_revision(), head_revision())


def _insert_consent_event(engine) -> None:  # type: ignore[no-untyped-def]
    """Insert one customer with one consent grant, with plain SQL that works at any revision."""
    naive = NOW.replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO subject_keys (subject_id, wrapped_key, master_key_id, created_at) "
            "VALUES ('customer:C1', :key, 'k', :now)"), {"key": b"x", "now": naive})
        conn.execute(text(
            "INSERT INTO customers (customer_id, subject_id, created_at, last_contact_at, content_hash, "
            "ingested_at) VALUES ('C1', 'customer:C1', :now, :now, 'h', :now)"), {"now": naive})
        conn.execute(text(
            "INSERT INTO consent_events (event_id, consent_id, customer_id, purpose, event_type, occurred_at, "
            "loaded_at) VALUES ('K1:grant', 'K1', 'C1', 'recontact', 'grant', :now, :now)"), {"now": naive})


def _assert_ledger_rejects_update_allows_delete(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE consent_events SET event_type = 'withdrawal'"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT event_type FROM consent_events")).scalar() == "grant"
    with engine.begin() as conn:
        deleted = conn.execute(text("DELETE FROM consent_events WHERE customer_id = 'C1'")).rowcount
    assert deleted == 1


def test_fresh_store_ledger_rejects_update(store_url: str) -> None:
    engine = create_store_engine(store_url)
    upgrade(engine)
    _insert_consent_event(engine)

    _assert_ledger_rejects_update_allows_delete(engine)


def test_downgrade_drops_ledger_trigger(store_url: str) -> None:
    engine = create_store_engine(store_url)
    upgrade(engine)
    _insert_consent_event(engine)

    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")

    assert current_revision(engine) == "0003"
    with engine.begin() as conn:
        updated = conn.execute(text("UPDATE consent_events SET source = 'crm'")).rowcount
    assert updated == 1


def test_cli_upgrades_0003_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from governance.cli import app

    engine = create_store_engine(store_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0003")
    _insert_consent_event(engine)
    with engine.begin() as conn:
        # Before 0004 nothing stops an in-place edit of the ledger.
        conn.execute(text("UPDATE consent_events SET source = 'crm'"))
    monkeypatch.setenv("REVIEW_GOV_STORE_URL", store_url)

    result = CliRunner().invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert "from revision 0003 to 0004" in result.output
    assert current_revision(engine) == head_revision() == "0004"
    assert _schema_diff(engine) == []
    _assert_ledger_rejects_update_allows_delete(engine)


def test_cli_creates_fresh_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from governance.cli import app

    monkeypatch.setenv("REVIEW_GOV_STORE_URL", store_url)

    result = CliRunner().invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    assert f"from revision none (empty store) to {head_revision()}" in result.output
    engine = create_store_engine(store_url)
    assert current_revision(engine) == head_revision()
    _insert_consent_event(engine)
    _assert_ledger_rejects_update_allows_delete(engine)
