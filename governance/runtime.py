"""Run-time helpers of a stage: settings, the store, and the identity of the run for the journal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from governance.config import Settings, read_key
from governance.private_files import open_data_dir
from governance.register.journal import ExtractRecord, JournalEntry, append_entry
from governance.register.outcomes import report_key
from governance.store import Store, create_store_engine


def open_store(settings: Settings | None = None) -> Store:
    """Open the store named by the settings with the master key from `REVIEW_GOV_MASTER_KEY`.

    The data folder is opened first (`governance.private_files`), so that the SQLite store and
    every file the stage writes afterwards are readable by their owner only.
    """
    settings = settings or Settings.from_env()
    # A missing or invalid key raises before anything is created.
    master_key = read_key("MASTER_KEY")
    open_data_dir(settings.data_dir)
    return Store.open(settings.store_url, master_key)


def open_engine_read_only(settings: Settings | None = None) -> Engine:
    """Return an engine on an existing, current store, for commands that read no encrypted field.

    The journal and the register hold no encrypted data, so verifying or exporting them needs no
    master key. A missing SQLite file or an outdated schema is an error, never a new empty store.
    """
    from sqlalchemy.engine import make_url

    from governance.store.migrate import current_revision, head_revision

    settings = settings or Settings.from_env()
    url = make_url(settings.store_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        if not Path(url.database).exists():
            raise FileNotFoundError(
                f"No store at {url.database}: set REVIEW_GOV_STORE_URL to the store, "
                "or create one with `review-gov db upgrade`."
            )
    open_data_dir(settings.data_dir)
    engine = create_store_engine(settings.store_url)
    revision = current_revision(engine)
    if revision != head_revision():
        raise ValueError(
            f"The store is at schema revision {revision or 'none'}, not {head_revision()}: "
            "run `review-gov db upgrade` first."
        )
    return engine


@dataclass
class RunContext:
    """The run a stage belongs to: Airflow ids when run by a DAG, `manual` ids from the CLI."""

    dag_id: str = "manual"
    run_id: str = field(default_factory=lambda: f"manual__{datetime.now(UTC).isoformat()}")
    task_id: str = "manual"
    map_index: int = -1
    logical_date: datetime = field(default_factory=lambda: datetime.now(UTC))

    def journal(
        self,
        store: Store,
        *,
        activity: str,
        purpose: str,
        started_at: datetime,
        records_in: int | None,
        records_out: int | None,
        details: Mapping[str, Any],
        status: str = "success",
        entities_masked: Mapping[str, int] | None = None,
        consents_checked: int | None = None,
        deletions: Mapping[str, int] | None = None,
        extracts: Sequence[ExtractRecord] = (),
    ) -> int:
        """Append this task's own report to the processing journal, once per task run.

        The Airflow listener in `plugins/` adds a second entry with the task's outcome, so a task
        that fails before reporting still leaves a trace.
        """
        entry = JournalEntry(
            activity=activity,
            purpose=purpose,
            status=status,
            dag_id=self.dag_id,
            run_id=self.run_id,
            task_id=self.task_id,
            map_index=self.map_index,
            started_at=started_at,
            ended_at=datetime.now(UTC),
            records_in=records_in,
            records_out=records_out,
            entities_masked=dict(entities_masked or {}),
            consents_checked=consents_checked,
            deletions=dict(deletions or {}),
            extracts=list(extracts),
            details=details,
        )
        key = report_key(self.dag_id, self.run_id, self.task_id, self.map_index, status)
        return append_entry(store.engine, entry, idempotency_key=key)
