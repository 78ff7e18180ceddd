"""
### Processing register

Once a month, verifies the hash chain of the processing journal, then writes the DPO's export of
the month before. The export contains the record of activities with every CNIL field and the
journal of that month, as an HTML page (summary table and charts), CSV files and JSON. A manually triggered run exports the
current month up to its logical date instead. The page is in French unless `REVIEW_GOV_LANGUAGE=en`.
A broken chain fails the run before any export is written. Files go to the reports folder.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule="@monthly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "register"],
    doc_md=__doc__,
)
def register():
    @task
    def verify_journal() -> dict:
        """Recompute the journal's hash chain; fail on the first broken entry."""
        from governance.register.stages import verify_journal as verify
        from governance_context import current_run

        return verify(current_run())

    @task
    def export_month() -> dict:
        """Export the record of activities and last month's journal as HTML, CSV and JSON."""
        from airflow.sdk import get_current_context

        from governance.register.stages import export_month as export
        from governance_context import current_run

        manual = get_current_context()["dag_run"].run_type == "manual"
        return export(current_run(), month_to_date_only=manual)

    verify_journal() >> export_month()


register()
