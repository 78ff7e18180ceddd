"""Journal entries for the outcome of Airflow tasks, written by the listener in `plugins/`.

A stage reports its own counts (`RunContext.journal`); this module adds one entry per task outcome,
so that a task that crashes or does not report still leaves a trace. It imports nothing from
Airflow: the plugin passes plain values.

Idempotency: a task instance has at most one success entry, whatever the number of times Airflow
calls the hook or the task is re-run after success; each failed attempt (try number) has its own
failure entry, because a failed attempt may have processed part of the data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Engine, func, select

from governance.config import Settings
from governance.register.activities import ProcessingRegister, load_register
from governance.register.journal import JournalEntry, append_entry
from governance.store.database import create_store_engine, init_schema
from governance.store.schema import register_journal

log = logging.getLogger(__name__)

GOVERNED_TAG = "review-governance"
UNDECLARED_ACTIVITY = "undeclared"
# DAGs that process no personal data and so have no sheet in the record: DAG id -> (activity, purpose).
INTERNAL_DAGS = {"register": ("register", "accountability")}


@dataclass(frozen=True)
class TaskOutcome:
    """The ids and state of a finished task instance, as the listener receives them."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    dag_tags: frozenset[str] = frozenset()
    error_type: str | None = None


def report_key(dag_id: str, run_id: str, task_id: str, map_index: int, status: str = "success") -> str:
    """Return the idempotency key of a stage's own report (the one `RunContext.journal` uses).

    A re-run that reports the same status adds nothing, but a re-run that succeeds after a
    violation or a failure is recorded beside the earlier report.
    """
    base = f"{dag_id}/{run_id}/{task_id}/{map_index}/report"
    return base if status == "success" else f"{base}/{status}"


def outcome_key(outcome: TaskOutcome) -> str:
    base = f"{outcome.dag_id}/{outcome.run_id}/{outcome.task_id}/{outcome.map_index}/outcome"
    if outcome.state == "success":
        return f"{base}/success"
    return f"{base}/try-{outcome.try_number}/{outcome.state}"


def resolve_activity(
    register: ProcessingRegister, dag_id: str, dag_tags: Iterable[str], task_id: str | None = None
) -> tuple[str, str] | None:
    """Return the (activity, purpose) of a DAG task, or None when the task is not governed.

    A task is governed when an activity declares it (`dag_id:task_id`) or its DAG, when its DAG is
    an internal DAG, or when its DAG carries the `review-governance` tag. A task of a tagged DAG
    that no activity declares is journaled as `undeclared`, so that the export shows the gap in the
    record.
    """
    activity = register.activity_of_task(dag_id, task_id)
    if activity is not None:
        return activity.reference, activity.journal_purpose
    if dag_id in INTERNAL_DAGS:
        return INTERNAL_DAGS[dag_id]
    if GOVERNED_TAG in set(dag_tags):
        log.warning(
            "DAG %s is tagged %s but no processing activity declares it or its task %s: add one of "
            "them to the dags of an activity in the register configuration.", dag_id, GOVERNED_TAG, task_id,
        )
        return UNDECLARED_ACTIVITY, UNDECLARED_ACTIVITY
    return None


def record_outcome(engine: Engine, register: ProcessingRegister, outcome: TaskOutcome) -> int | None:
    """Append the outcome of a governed task to the journal; return its sequence number.

    Returns None, writing nothing, when the task's DAG is not governed.
    """
    resolved = resolve_activity(register, outcome.dag_id, outcome.dag_tags, outcome.task_id)
    if resolved is None:
        return None
    activity, purpose = resolved
    with engine.connect() as conn:
        # The latest report of the task, whatever its status.
        report_seq = conn.execute(
            select(func.max(register_journal.c.seq)).where(
                register_journal.c.idempotency_key.startswith(
                    report_key(outcome.dag_id, outcome.run_id, outcome.task_id, outcome.map_index), autoescape=True
                )
            )
        ).scalar()
    entry = JournalEntry(
        activity=activity,
        purpose=purpose,
        status=outcome.state,
        dag_id=outcome.dag_id,
        run_id=outcome.run_id,
        task_id=outcome.task_id,
        map_index=outcome.map_index,
        try_number=outcome.try_number,
        error_type=outcome.error_type,
        started_at=outcome.started_at,
        ended_at=outcome.ended_at or datetime.now(UTC),
        details={"reported": report_seq is not None, "report_seq": report_seq},
    )
    return append_entry(engine, entry, idempotency_key=outcome_key(outcome))


@cache
def _engine(url: str) -> Engine:
    engine = create_store_engine(url)
    init_schema(engine)
    return engine


@cache
def _register() -> ProcessingRegister:
    return load_register()


def record_outcome_from_env(outcome: TaskOutcome) -> int | None:
    """Record an outcome in the store named by `REVIEW_GOV_STORE_URL`, with the configured register.

    The journal needs no encryption key, so this works in any task process that can reach the store.
    Engine and register are loaded once per process.
    """
    return record_outcome(_engine(Settings.from_env().store_url), _register(), outcome)
