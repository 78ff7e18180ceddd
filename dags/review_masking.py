"""
### Review masking

Finds personal data in every review text waiting to be masked (new or edited) and stores the
masked text beside the encrypted original. Pending reviews are split into id-range partitions and
masked by a mapped task, one task instance per partition, so Celery workers share the load.
A partition re-run rewrites the same rows. `REVIEW_GOV_PARTITION_SIZE` sets the reviews per
partition, `REVIEW_GOV_MASK_PROCESSES` the processes each task instance masks with.

Runs when the `reviews` asset is updated; updates the `masked_reviews` asset.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task

from governance_assets import MASKED_REVIEWS, RAW_REVIEWS

PARTITION_SIZE = int(os.environ.get("REVIEW_GOV_PARTITION_SIZE", "5000"))


@dag(
    schedule=[RAW_REVIEWS],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["review-governance", "masking"],
    doc_md=__doc__,
)
def review_masking():
    @task
    def plan_partitions() -> list[dict]:
        """Split pending reviews into id ranges; only the ranges travel through XCom."""
        from airflow.configuration import conf

        from governance.stages import plan_masking
        from governance_context import current_run

        max_map_length = conf.getint("core", "max_map_length")
        return plan_masking(current_run(), PARTITION_SIZE, max_partitions=max_map_length)

    @task
    def mask_partition(partition: dict) -> dict:
        """Detect and mask personal data in one partition of reviews."""
        from governance.stages import mask_partition as mask
        from governance_context import current_run

        return mask(current_run(), partition)

    @task(outlets=[MASKED_REVIEWS])
    def summarize(results: list[dict]) -> dict:
        """Add up the partitions' counts; updating the asset starts the consent DAG once."""
        from collections import Counter

        entities: Counter[str] = Counter()
        for result in results:
            entities.update(result["entities_masked"])
        return {
            "partitions": len(results),
            "reviews_masked": sum(result["reviews_masked"] for result in results),
            "entities_masked": dict(sorted(entities.items())),
        }

    summarize(mask_partition.expand(partition=plan_partitions()))


review_masking()
