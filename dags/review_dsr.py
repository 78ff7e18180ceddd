"""
### Data subject requests

Executes the requests filed with `review-gov dsr submit`, oldest due date first, one mapped task
instance per request:

- **access** writes one JSON file under `reports/dsr/` with everything held on the customer,
  labelled in the request's language (French by default, or English);
- **erasure** removes the customer everywhere (extract lines, quarantine rows, consent events,
  masked and raw reviews, the customer row), destroys their data key, and verifies that nothing
  is left before it commits;
- **withdrawal** appends a withdrawal event to the consent ledger and erases only the data whose
  sole lawful basis was that consent.

Each execution is journalled with categories and counts, never values. Requests run one at a time
because an erasure rewrites the shared extract files.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "dsr"],
    doc_md=__doc__,
)
def review_dsr():
    @task
    def pending_requests() -> list[str]:
        """List the ids of the requests not yet completed; only ids travel through XCom."""
        from governance.stages import list_pending_requests
        from governance_context import current_run

        return list_pending_requests(current_run())

    @task(max_active_tis_per_dag=1, retries=1)
    def execute(request_id: str) -> dict:
        """Execute one request and journal what it did."""
        from governance.stages import execute_subject_request
        from governance_context import current_run

        return execute_subject_request(current_run(), request_id)

    execute.expand(request_id=pending_requests())


review_dsr()
