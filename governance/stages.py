"""Entry points of the pipeline stages, one function per Airflow task.

Each function opens the store, does its work through the library, appends its counts to the
processing journal and returns a small JSON-serialisable dict of counts and ids: tasks exchange
ids and paths, never data.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import Any

from governance.config import Settings
from governance.runtime import RunContext, open_store

log = logging.getLogger(__name__)


def ingest_files(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Load the file exports (CRM, consents, surveys, Trustpilot CSV) into the store."""
    from governance.ingest import ingest_exports

    settings = settings or Settings.from_env()
    started_at = datetime.now(UTC)
    store = open_store(settings)
    results = [counts.as_dict() for counts in ingest_exports(store, settings.input_dir, ctx.run_id)]
    details = {"sources": results}
    ctx.journal(
        store,
        activity="review_collection",
        purpose="review_collection",
        started_at=started_at,
        records_in=sum(int(item["read"]) for item in results),
        records_out=sum(int(item["inserted"]) + int(item["updated"]) for item in results),
        details=details,
    )
    return details


def plan_masking(
    ctx: RunContext, partition_size: int, max_partitions: int | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Split the reviews waiting to be masked into id-range partitions, at most `max_partitions`."""
    from governance.masking import plan_partitions

    store = open_store(settings)
    partitions = [partition.as_dict() for partition in plan_partitions(store, partition_size, max_partitions)]
    log.info("Planned %d masking partitions", len(partitions))
    return partitions


def mask_partition(ctx: RunContext, partition: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    """Mask one partition of reviews and journal the entities masked by type."""
    from governance.masking import Partition, mask_processes_from_env
    from governance.masking import mask_partition as mask
    from governance.pii import PiiConfig, PiiEngine

    started_at = datetime.now(UTC)
    store = open_store(settings)
    operator = os.environ.get("REVIEW_GOV_MASK_OPERATOR", "tag")
    processes = mask_processes_from_env()
    with PiiEngine(PiiConfig.from_env(operator=operator, n_process=processes)).load() as engine:
        counts = mask(store, engine, Partition(**partition), operator=operator)
    details = {"partition": partition, "operator": operator, "processes": processes, **counts.as_dict()}
    ctx.journal(
        store,
        activity="review_masking",
        purpose="analytics",
        started_at=started_at,
        records_in=int(partition["size"]),
        records_out=counts.reviews,
        details=details,
    )
    return details


def check_publication_consent(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Build the publication extract, validate its consent coverage, write it if valid."""
    from governance.config import ConsentMode
    from governance.consent.publication import build_publication_extract

    settings = settings or Settings.from_env()
    started_at = datetime.now(UTC)
    store = open_store(settings)
    result = build_publication_extract(
        store,
        settings.extracts_dir,
        as_of=ctx.logical_date,
        run_id=ctx.run_id,
        fail_on_violation=settings.consent_mode is ConsentMode.FAIL,
    )
    details = {
        "coverage": result.coverage.as_dict(),
        "candidates_by_consent_status": result.candidates_by_status,
        "extract": {"name": "publication", "rows": result.rows,
                    "path": str(result.path) if result.path else None, "recipients": ["public website"]},
    }
    ctx.journal(
        store,
        activity="review_publication",
        purpose="review_publication",
        started_at=started_at,
        records_in=sum(result.candidates_by_status.values()),
        records_out=result.rows,
        details=details,
        status="success" if result.coverage.success else "violation",
    )
    return details


def apply_customer_retention(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Erase customers past the 3-year retention period, as of the run's logical date."""
    from governance.retention.customers import count_expired, erase_expired_customers, years_before

    started_at = datetime.now(UTC)
    store = open_store(settings)
    planned = count_expired(store, years_before(ctx.logical_date, 3))
    counts = erase_expired_customers(store, as_of=ctx.logical_date)
    remaining = count_expired(store, counts.cutoff)
    if remaining:
        raise RuntimeError(f"Retention verification failed: {remaining} expired customers are still stored.")
    details = {"planned_customers": planned, **counts.as_dict(), "remaining_after_verify": remaining}
    ctx.journal(
        store,
        activity="retention",
        purpose="retention",
        started_at=started_at,
        records_in=planned,
        records_out=counts.deleted.get("customers", 0),
        details=details,
    )
    return details


def plan_sources(settings: Settings | None = None) -> dict[str, list[str]]:
    """Return the enabled source names: those loading customers, and all the others."""
    from governance.sources.registry import plan_source_names

    plan = plan_source_names()
    log.info("Sources: %d loading customers, %d others", len(plan["customers"]), len(plan["others"]))
    return plan


def source_connection_id(name: str) -> str | None:
    """Return the Airflow connection id holding the credentials of a source, if it uses one."""
    from governance.sources.registry import get_source

    return get_source(name).conn_id


def ingest_source(
    ctx: RunContext, name: str, credentials: Any = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Pull one configured source into the store and journal its counts.

    `credentials` (a `governance.sources.base.Credentials`) comes from the DAG layer's Airflow
    connection; without it the source's `REVIEW_GOV_SOURCE_<NAME>_*` variables are read.
    """
    from governance.sources.registry import get_source
    from governance.sources.runner import pull_source

    settings = settings or Settings.from_env()
    started_at = datetime.now(UTC)
    store = open_store(settings)
    source = get_source(name)
    run = pull_source(store, source, input_dir=settings.input_dir, credentials=credentials, run_id=ctx.run_id)
    details = run.as_dict()
    ctx.journal(
        store,
        activity="review_collection",
        purpose="review_collection",
        started_at=started_at,
        records_in=run.counts.read,
        records_out=run.counts.inserted + run.counts.updated,
        details=details,
        status="success" if run.state.complete else "partial",
    )
    return details
