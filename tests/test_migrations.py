"""Schema migrations: an empty store and a first-release store both reach the latest schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from governance.register.journal import GENESIS_HASH, LATER_COLUMNS, entry_hash, verify_chain
from governance.store import create_store_engine
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


def test_upgrade_twice_is_noop(store_url: str) -> None:
    engine = create_store_engine(store_url)
    upgrade(engine)
    assert upgrade(engine) == (head_revision(), head_revision())
