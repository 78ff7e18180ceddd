"""The processing journal on both backends: concurrent writers, tampering, the verify command."""

from __future__ import annotations

import multiprocessing
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from governance.cli import app
from governance.register.journal import (
    ExtractRecord,
    JournalEntry,
    append_entry,
    read_entries,
    verify_chain,
)
from governance.runtime import RunContext
from governance.store import Store
from governance.store.database import create_store_engine
from governance.store.schema import register_journal

WRITERS = 2
ENTRIES_PER_WRITER = 100


def _write_entries(url: str, writer: int, count: int, start: Any = None) -> None:
    """Child process: append `count` entries through an engine of its own.

    `start` is a barrier shared by the writers, so that they all begin once their imports are done.
    """
    engine = create_store_engine(url)
    if start is not None:
        start.wait(timeout=120)
    for index in range(count):
        append_entry(
            engine,
            JournalEntry(activity="review_collection", purpose="review_collection", records_in=index),
            idempotency_key=f"writer-{writer}/entry-{index}",
        )
    engine.dispose()


def _tamper(store: Store, sql: str) -> None:
    """Run `sql` on the journal with its append-only trigger out of the way."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER register_journal_no_update"))
            conn.execute(text("DROP TRIGGER register_journal_no_delete"))
            conn.execute(text(sql))
        else:
            conn.execute(text("ALTER TABLE register_journal DISABLE TRIGGER register_journal_append_only"))
            conn.execute(text(sql))
            conn.execute(text("ALTER TABLE register_journal ENABLE TRIGGER register_journal_append_only"))


def test_concurrent_writers_keep_one_chain(store: Store, store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    writers = [
        context.Process(target=_write_entries, args=(store_url, writer, ENTRIES_PER_WRITER, start))
        for writer in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    assert [process.exitcode for process in writers] == [0] * WRITERS

    report = verify_chain(store.engine)
    assert report.ok, report.describe()
    assert report.entries == WRITERS * ENTRIES_PER_WRITER
    with store.engine.connect() as conn:
        prev_hashes = conn.execute(select(func.count(func.distinct(register_journal.c.prev_hash)))).scalar()
    assert prev_hashes == WRITERS * ENTRIES_PER_WRITER


def test_rerun_with_same_keys_adds_nothing(store: Store, store_url: str) -> None:
    _write_entries(store_url, writer=0, count=5)
    _write_entries(store_url, writer=0, count=5)
    assert verify_chain(store.engine).entries == 5


def test_success_after_violation_recorded(store: Store) -> None:
    """A task re-run that succeeds after a violation adds its report, and repeats add nothing."""
    context = RunContext(dag_id="review_consent", run_id="run-1", task_id="build_recontact")
    started = datetime.now(UTC)

    def report(status: str) -> None:
        context.journal(store, activity="recontact", purpose="recontact", started_at=started, records_in=3,
                        records_out=2, details={}, status=status)

    report("violation")
    report("violation")
    report("success")
    report("success")

    with store.engine.connect() as conn:
        statuses = list(conn.execute(select(register_journal.c.status).order_by(register_journal.c.seq)).scalars())
    assert statuses == ["violation", "success"]


def test_structured_fields_round_trip(store: Store) -> None:
    entry = JournalEntry(
        activity="review_masking",
        purpose="analytics",
        dag_id="review_masking",
        run_id="manual__1",
        task_id="mask_partition",
        map_index=3,
        started_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
        ended_at=datetime(2026, 3, 1, 8, 5, tzinfo=UTC),
        records_in=10,
        records_out=9,
        entities_masked={"EMAIL_ADDRESS": 2, "PERSON": 5},
        consents_checked=7,
        deletions={"reviews": 1},
        extracts=[ExtractRecord("publication", 4, ["public website"])],
    )
    append_entry(store.engine, entry)
    [row] = read_entries(store.engine)
    assert row["map_index"] == 3
    assert row["entities_masked"] == {"EMAIL_ADDRESS": 2, "PERSON": 5}
    assert row["consents_checked"] == 7
    assert row["deletions"] == {"reviews": 1}
    assert row["extracts"] == [{"name": "publication", "rows": 4, "recipients": ["public website"], "path": None}]
    assert row["started_at"] == datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert verify_chain(store.engine).ok


def test_entry_rejects_non_count(store: Store) -> None:
    with pytest.raises(ValueError, match=r"entities_masked\['PERSON'\] must be a count"):
        JournalEntry(activity="a", purpose="p", entities_masked={"PERSON": "Jean"})  # type: ignore[dict-item]


def test_verify_names_edited_row(store: Store, settings_env: object) -> None:
    for index in range(4):
        append_entry(
            store.engine,
            JournalEntry(activity="retention", purpose="retention", dag_id="review_retention",
                         task_id=f"task_{index}", deletions={"customers": index}),
        )
    [third] = [row for row in read_entries(store.engine) if row["seq"] == 3]
    _tamper(store, "UPDATE register_journal SET deletions = replace(deletions, '2', '0') WHERE seq = 3")

    result = CliRunner().invoke(app, ["register", "verify"])

    assert result.exit_code == 1
    assert "broken at entry 3" in result.output
    assert third["entry_id"] in result.output
    assert "task_2" in result.output
    assert "edited" in result.output


def test_verify_names_deleted_row(store: Store, settings_env: object) -> None:
    for _ in range(3):
        append_entry(store.engine, JournalEntry(activity="a", purpose="p"))
    _tamper(store, "DELETE FROM register_journal WHERE seq = 2")

    result = CliRunner().invoke(app, ["register", "verify"])

    assert result.exit_code == 1
    assert re.search(r"broken at entry 2\b.*missing", result.output)


def test_verify_intact_prints_head(store: Store, settings_env: object) -> None:
    append_entry(store.engine, JournalEntry(activity="a", purpose="p"))
    head = verify_chain(store.engine).head_hash

    result = CliRunner().invoke(app, ["register", "verify"])

    assert result.exit_code == 0, result.output
    assert "1 entries" in result.output
    assert head is not None and head in result.output
