"""Airflow plugin: journal the outcome of every governed task, success or failure.

Tasks report their own counts to the processing journal; this listener adds an entry when a task
instance succeeds or fails, so that no processing escapes the journal, even a task that crashes
before reporting or never reports. Governed tasks are those that a processing activity of the
register declares, alone or with their whole DAG, those of the `register` DAG, and those of DAGs
tagged `review-governance`.

Hook signatures: Airflow 3.3 task-instance listener spec (`on_task_instance_success`,
`on_task_instance_failed`). Airflow catches and logs any exception a listener raises, so a journal
error never changes a task's state; it is logged with the task's ids.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)


def _outcome(task_instance: Any, state: str, error: object = None):  # type: ignore[no-untyped-def]
    from governance.register.outcomes import TaskOutcome

    task = getattr(task_instance, "task", None)
    dag = getattr(task, "dag", None)
    map_index = getattr(task_instance, "map_index", None)
    # The class name only, because an exception message may quote a personal value.
    if isinstance(error, BaseException):
        error_type = type(error).__name__
    elif error:
        error_type = "unspecified"
    else:
        error_type = None
    return TaskOutcome(
        dag_id=task_instance.dag_id,
        run_id=task_instance.run_id,
        task_id=task_instance.task_id,
        map_index=-1 if map_index is None else int(map_index),
        try_number=int(getattr(task_instance, "try_number", 0) or 0),
        state=state,
        started_at=getattr(task_instance, "start_date", None),
        ended_at=getattr(task_instance, "end_date", None) or datetime.now(UTC),
        dag_tags=frozenset(getattr(dag, "tags", None) or ()),
        error_type=error_type,
    )


def _record(task_instance: Any, state: str, error: object = None) -> None:
    from governance.register.outcomes import record_outcome_from_env

    try:
        seq = record_outcome_from_env(_outcome(task_instance, state, error))
    except Exception:
        log.exception(
            "Could not journal the %s of task %s.%s (run %s)",
            state, task_instance.dag_id, task_instance.task_id, task_instance.run_id,
        )
        raise
    if seq is not None:
        log.info("Journal entry %s records the %s of task %s", seq, state, task_instance.task_id)


@hookimpl
def on_task_instance_success(previous_state: Any, task_instance: Any) -> None:
    _record(task_instance, "success")


@hookimpl
def on_task_instance_failed(previous_state: Any, task_instance: Any, error: BaseException | str | None) -> None:
    _record(task_instance, "failed", error)


class RegisterListenerPlugin(AirflowPlugin):
    name = "review_governance_register"
    listeners = [sys.modules[__name__]]
