"""
### Consent-bound extracts

Builds one extract per purpose from the masked reviews: `analytics` (review collection, keyed
pseudonyms, no direct identifier), `publication`, `recontact` (ratings of 2 or less) and
`ambassadors` (rating 5, text not negative). Each task validates every row with Great Expectations
against the consent ledger at the run's logical date, writes its Parquet file under
`$REVIEW_GOV_DATA_DIR/extracts/` only when the validation passes, and updates the Data Docs under
`$REVIEW_GOV_DATA_DIR/gx/`. On a violation the task fails and writes nothing, unless
`REVIEW_GOV_CONSENT_MODE=report`. A withdrawal loaded before the run removes the customer from
every extract of that purpose, and the task's journal entry lists it.

Runs when the `masked_reviews` asset is updated.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from governance_assets import (
    AMBASSADORS_EXTRACT,
    ANALYTICS_EXTRACT,
    MASKED_REVIEWS,
    PUBLICATION_EXTRACT,
    RECONTACT_EXTRACT,
)

EXTRACT_ASSETS = {
    "analytics": ANALYTICS_EXTRACT,
    "publication": PUBLICATION_EXTRACT,
    "recontact": RECONTACT_EXTRACT,
    "ambassadors": AMBASSADORS_EXTRACT,
}


@dag(
    schedule=[MASKED_REVIEWS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "consent"],
    doc_md=__doc__,
)
def review_consent():
    @task
    def build_extract(extract: str) -> dict:
        """Build, validate and write one purpose-bound extract; fail on a violation."""
        from governance.stages import build_consent_extract
        from governance_context import current_run

        return build_consent_extract(current_run(), extract)

    for extract, asset in EXTRACT_ASSETS.items():
        build_extract.override(task_id=f"{extract}_extract", outlets=[asset])(extract)


review_consent()
