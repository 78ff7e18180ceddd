"""
### Retention

Enforces the retention policies (`governance/retention/policies.yaml`, or the file named by
`REVIEW_GOV_RETENTION_POLICIES`) as of the run's logical date:

1. **plan** writes a dry-run report under `reports/retention/`: items due per policy and the
   start date of the oldest;
2. **apply** deletes, anonymises or crypto-shreds them in bounded batches, one transaction per
   batch, so a re-run after a crash finishes the job;
3. **verify** runs the plan's queries again and fails if any item is left.

Each step appends its counts to the processing journal.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "retention"],
    doc_md=__doc__,
)
def review_retention():
    @task
    def plan() -> dict:
        """Count the items past retention per policy and write the dry-run report."""
        from governance.stages import plan_retention
        from governance_context import current_run

        return plan_retention(current_run())

    @task(retries=2)
    def apply(planned: dict) -> dict:
        """Delete, anonymise or crypto-shred the due items in bounded batches."""
        from governance.stages import apply_retention
        from governance_context import current_run

        return apply_retention(current_run())

    @task
    def verify(applied: dict) -> dict:
        """Fail if any item past retention is still stored."""
        from governance.stages import verify_retention
        from governance_context import current_run

        return verify_retention(current_run())

    verify(apply(plan()))


review_retention()
