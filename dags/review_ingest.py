"""
### Review ingest

Pulls every configured review source into the governance store, one mapped task per source:
CRM customers first, then consents, surveys, file exports and review platforms, which refer to
customers. The sources come from `sources.yaml` in the `governance.sources` package, or from the
file named by `REVIEW_GOV_SOURCES_FILE`.

Platform credentials come from the Airflow connection of each source (`review_gov_<name>` unless
the source sets `conn_id`): the password is the API key or access token, the login an optional
client id. Rows that cannot be read go to the quarantine table with their reason; the run goes on.
Re-running on the same data changes nothing; a review edited on a platform is updated, one deleted
there is marked deleted.

Updates the `reviews` asset, which starts the masking DAG.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from governance_assets import RAW_REVIEWS


def source_credentials(name: str):  # type: ignore[no-untyped-def]
    """Read a source's credentials from its Airflow connection; None when it has none."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from governance.sources.base import Credentials
    from governance.stages import source_connection_id

    conn_id = source_connection_id(name)
    if conn_id is None:
        return None
    try:
        connection = Connection.get(conn_id)
    except AirflowNotFoundException:
        # The library then reads REVIEW_GOV_SOURCE_<NAME>_SECRET, or raises naming the connection.
        return None
    if not connection.password:
        return None
    return Credentials(secret=connection.password, login=connection.login or None)


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "ingest"],
    doc_md=__doc__,
)
def review_ingest():
    @task
    def plan_sources() -> dict[str, list[str]]:
        """List the enabled sources, customers apart."""
        from governance.stages import plan_sources as plan

        return plan()

    @task
    def customer_sources(plan: dict[str, list[str]]) -> list[str]:
        """Pick the sources that load CRM customers."""
        return plan["customers"]

    @task
    def other_sources(plan: dict[str, list[str]]) -> list[str]:
        """Pick the sources that refer to customers: consents, surveys, exports, platforms."""
        return plan["others"]

    # Platforms are rate-limited and the store may be SQLite: a few sources at a time.
    @task(max_active_tis_per_dag=4)
    def ingest_source(name: str) -> dict:
        """Pull one source into the store; quarantine bad rows; mark platform deletions."""
        from governance.stages import ingest_source as ingest
        from governance_context import current_run

        return ingest(current_run(), name, source_credentials(name))

    @task(outlets=[RAW_REVIEWS], trigger_rule="none_failed")
    def reviews_loaded() -> None:
        """Mark the reviews asset updated once every source is in."""

    plan = plan_sources()
    customers = ingest_source.override(task_id="ingest_customers").expand(name=customer_sources(plan))
    others = ingest_source.override(task_id="ingest_sources", trigger_rule="none_failed").expand(
        name=other_sources(plan)
    )
    customers >> others >> reviews_loaded()


review_ingest()
