"""
### Retention

Erases customers whose last contact is more than 3 years before the run's logical date (the CNIL
period for customer data), with their survey reviews, masked texts, consent events and quarantine
rows, then destroys their data keys. Verifies that none is left and journals the counts.
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
    def erase_expired_customers() -> dict:
        """Erase expired customers in bounded batches, then verify none is left."""
        from governance.stages import apply_customer_retention
        from governance_context import current_run

        return apply_customer_retention(current_run())

    erase_expired_customers()


review_retention()
