"""
### Processing register

Once a month, verifies the hash chain of the processing journal, then writes the DPO's export of
the month before: the record of activities with every CNIL field and the journal of that month, as
an HTML page (summary table and charts), CSV files and JSON. The page is in French unless
`REVIEW_GOV_LANGUAGE=en`. A broken chain fails the run before any export is written.
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
        from governance.register.stages import export_month as export
        from governance_context import current_run

        return export(current_run())

    verify_journal() >> export_month()


register()
