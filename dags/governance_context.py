"""Turns the Airflow task context into the library's RunContext (no heavy import here)."""

from __future__ import annotations

from governance.runtime import RunContext


def current_run() -> RunContext:
    """Return the ids of the running task instance, for the processing journal."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    task_instance = context["ti"]
    logical_date = context.get("logical_date") or context["dag_run"].run_after
    return RunContext(
        dag_id=task_instance.dag_id,
        run_id=task_instance.run_id,
        task_id=task_instance.task_id,
        map_index=task_instance.map_index if task_instance.map_index is not None else -1,
        logical_date=logical_date,
    )
