"""
### Consent coverage

Builds the publication extract from the masked reviews and validates, record by record with
Great Expectations, that every review in it has an active `review_publication` consent of its
author. On a violation the task fails and writes nothing, unless `REVIEW_GOV_CONSENT_MODE=report`.

Runs when the `masked_reviews` asset is updated.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from governance_assets import MASKED_REVIEWS, PUBLICATION_EXTRACT


@dag(
    schedule=[MASKED_REVIEWS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "consent"],
    doc_md=__doc__,
)
def review_consent():
    @task(outlets=[PUBLICATION_EXTRACT])
    def publication_extract() -> dict:
        """Build and validate the publication extract; fail on a consent violation."""
        from governance.stages import check_publication_consent
        from governance_context import current_run

        return check_publication_consent(current_run())

    publication_extract()


review_consent()
