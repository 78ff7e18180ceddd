"""What a stage needs to run: settings, the store, and the identity of the run for the journal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from governance.config import Settings, read_key
from governance.register.journal import ExtractRecord, JournalEntry, append_entry
from governance.store import Store


def open_store(settings: Settings | None = None) -> Store:
    """Open the store named by the settings with the master key from `REVIEW_GOV_MASTER_KEY`."""
    settings = settings or Settings.from_env()
    return Store.open(settings.store_url, read_key("MASTER_KEY"))


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
        key = f"{self.dag_id}/{self.run_id}/{self.task_id}/{self.map_index}/report"
        return append_entry(store.engine, entry, idempotency_key=key)
