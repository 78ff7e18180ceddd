"""Turns the Airflow task context into the library's RunContext (no heavy import here)."""

from __future__ import annotations

import os

from governance.runtime import RunContext

# Secrets the library reads from REVIEW_GOV_<NAME>; inside Airflow they may instead be stored as
# the password of the connection review_gov_<name> (for example review_gov_master_key).
SECRET_NAMES = ("MASTER_KEY", "PSEUDONYM_KEY", "ENCRYPTION_KEY")


def export_secrets_from_connections() -> None:
    """Copy secrets held in Airflow connections into the task's environment, when not set there."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    for name in SECRET_NAMES:
        variable = f"REVIEW_GOV_{name}"
        if os.environ.get(variable):
            continue
        try:
            connection = Connection.get(f"review_gov_{name.lower()}")
        except AirflowNotFoundException:
            continue
        if connection.password:
            os.environ[variable] = connection.password


def current_run() -> RunContext:
    """Return the ids of the running task instance, for the processing journal."""
    from airflow.sdk import get_current_context

    export_secrets_from_connections()
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
