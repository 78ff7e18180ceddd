"""
### Review ingest

Loads the file exports into the governance store: CRM customers, their consents, survey responses
and the Trustpilot CSV export. Rows that cannot be read go to the quarantine table with their
reason; the run goes on. Re-running on the same files changes nothing.

Updates the `reviews` asset, which starts the masking DAG.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from governance_assets import RAW_REVIEWS


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "ingest"],
    doc_md=__doc__,
)
def review_ingest():
    @task(outlets=[RAW_REVIEWS])
    def load_exports() -> dict:
        """Load customers, consents, surveys and platform exports; quarantine bad rows."""
        from governance.stages import ingest_files
        from governance_context import current_run

        return ingest_files(current_run())

    load_exports()


review_ingest()
