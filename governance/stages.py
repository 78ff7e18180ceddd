"""Entry points of the pipeline stages, one function per Airflow task.

Each function opens the store, does its work through the library, appends its counts to the
processing journal and returns a small JSON-serialisable dict of counts and ids: tasks exchange
ids and paths, never data.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from governance.config import Settings
from governance.private_files import write_private_text
from governance.register.i18n import format_period, value_label
from governance.register.journal import ExtractRecord
from governance.runtime import RunContext, open_store

if TYPE_CHECKING:
    from governance.retention.engine import PolicyPlan

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
        entities_masked=dict(counts.entities),
    )
    return details


# Recipients of each consent-bound extract, for the register's record of recipients.
EXTRACT_RECIPIENTS = {
    "analytics": ["analysts"],
    "publication": ["public website"],
    "recontact": ["sales team"],
    "ambassadors": ["marketing team"],
}


def build_consent_extract(ctx: RunContext, extract: str, settings: Settings | None = None) -> dict[str, Any]:
    """Build one purpose-bound extract, validate it row by row, write it only if valid.

    The journal entry's activity is the extract's purpose, so the register groups processing by
    purpose. Its details name the extract and list the withdrawals the run applied.
    """
    from governance.config import ConsentMode
    from governance.consent.extracts import ConsentViolationError, build_extract

    settings = settings or Settings.from_env()
    started_at = datetime.now(UTC)
    store = open_store(settings)
    try:
        result = build_extract(
            store,
            extract,
            data_dir=settings.data_dir,
            as_of=ctx.logical_date,
            run_id=ctx.run_id,
            language=settings.language,
            fail_on_violation=settings.consent_mode is ConsentMode.FAIL,
        )
    except ConsentViolationError as error:
        from governance.consent.purposes import current_purposes

        purpose = current_purposes().for_extract(extract).name
        ctx.journal(
            store,
            activity=purpose,
            purpose=purpose,
            started_at=started_at,
            records_in=None,
            records_out=0,
            details={
                "extract": extract,
                "error": str(error),
                "quarantined_previous": error.result.as_dict()["quarantined_previous"],
            },
            status="violation",
        )
        raise
    details = result.as_dict()
    ctx.journal(
        store,
        activity=result.purpose,
        purpose=result.purpose,
        started_at=started_at,
        records_in=result.coverage.checked,
        records_out=result.rows,
        details=details,
        status="success" if result.coverage.success else "violation",
        consents_checked=result.coverage.checked,
        extracts=[ExtractRecord(extract, result.rows, EXTRACT_RECIPIENTS[extract], details["path"])]
        if result.path
        else [],
    )
    return details


def check_publication_consent(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Build the publication extract (kept for callers of the earlier single-extract stage)."""
    return build_consent_extract(ctx, "publication", settings)


def _retention_inputs(ctx: RunContext, settings: Settings | None):  # type: ignore[no-untyped-def]
    from governance.retention.policies import load_retention_policies

    settings = settings or Settings.from_env()
    return settings, open_store(settings), load_retention_policies()


def _labelled_plan(plan: PolicyPlan, language: str) -> dict[str, Any]:
    """Return a policy's plan with its codes as they are and, in `*_label` keys, their labels."""
    policy = plan.policy
    return {
        **plan.as_dict(),
        "label": policy.display_name(language),
        "category_label": value_label("retention_categories", policy.category.value, language),
        "period_label": format_period(policy.period, language),
        "start_event_label": value_label("retention_event_names", policy.start_event.value, language),
        "action_label": value_label("retention_action_names", policy.action.value, language),
    }


def plan_retention(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Count what each retention policy would erase as of the run's logical date; write the report."""
    import json

    from governance.retention.engine import plan_retention as plan

    started_at = datetime.now(UTC)
    settings, store, config = _retention_inputs(ctx, settings)
    plans = plan(store, config, ctx.logical_date, settings.extracts_dir)
    policies = [{**item.as_dict(), "label": item.policy.display_name(settings.language)} for item in plans]
    report_path = settings.reports_dir / "retention" / f"plan-{_safe_name(ctx.run_id)}.json"
    report = {
        "as_of": ctx.logical_date.isoformat(),
        "configuration": config.source,
        "language": settings.language,
        "policies": [_labelled_plan(plan, settings.language) for plan in plans],
    }
    write_private_text(report_path, json.dumps(report, indent=2, ensure_ascii=False))
    due = sum(item.due for item in plans)
    details = {"step": "plan", "as_of": ctx.logical_date.isoformat(), "policies": policies, "report": str(report_path)}
    ctx.journal(store, activity="retention", purpose="retention", started_at=started_at,
                records_in=due, records_out=0, details=details)
    log.info("Retention plan: %d items due under %d policies", due, len(plans))
    return {"report": str(report_path), "due": {item.policy.name: item.due for item in plans}}


def apply_retention(ctx: RunContext, settings: Settings | None = None, *, batch_size: int | None = None) -> dict[str, Any]:
    """Apply every retention policy in bounded batches; journal the counts, even of a failed run."""
    from governance.register.journal import JournalEntry, append_entry
    from governance.retention.engine import DEFAULT_BATCH_SIZE, RetentionCounts
    from governance.retention.engine import apply_retention as apply

    started_at = datetime.now(UTC)
    settings, store, config = _retention_inputs(ctx, settings)
    size = batch_size or int(os.environ.get("REVIEW_GOV_RETENTION_BATCH_SIZE", DEFAULT_BATCH_SIZE))
    counts = RetentionCounts()
    try:
        apply(store, config, ctx.logical_date, settings.extracts_dir, counts, batch_size=size)
    except Exception:
        # The batches committed before the failure are erased for good: journal them under a key
        # of their own, so the retry's report does not replace this one.
        entry = JournalEntry(
            activity="retention", purpose="retention", status="failed", dag_id=ctx.dag_id, run_id=ctx.run_id,
            task_id=ctx.task_id, started_at=started_at, ended_at=datetime.now(UTC),
            records_out=counts.totals().get("items", 0), details={"step": "apply", **counts.as_dict()},
            deletions=counts.as_dict()["deleted"],
        )
        append_entry(store.engine, entry)
        raise
    details = {"step": "apply", "as_of": ctx.logical_date.isoformat(), "batch_size": size, **counts.as_dict()}
    items = counts.totals().get("items", 0)
    ctx.journal(store, activity="retention", purpose="retention", started_at=started_at,
                records_in=items, records_out=items, details=details, deletions=details["deleted"])
    return details


def verify_retention(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Check that no item is left past retention; journal the result and fail if any is."""
    from governance.retention.engine import verify_retention as verify

    started_at = datetime.now(UTC)
    settings, store, config = _retention_inputs(ctx, settings)
    remaining = verify(store, config, ctx.logical_date, settings.extracts_dir)
    left = {name: count for name, count in remaining.items() if count}
    details = {"step": "verify", "as_of": ctx.logical_date.isoformat(), "remaining": remaining}
    ctx.journal(store, activity="retention", purpose="retention", started_at=started_at,
                records_in=sum(remaining.values()), records_out=0, details=details,
                status="success" if not left else "failed")
    if left:
        raise RuntimeError(
            f"Retention verification failed: items past retention are still stored, per policy: {left}. "
            "Re-run the apply task; if the count stays, check the policy's action in the logs."
        )
    return details


def _safe_name(run_id: str) -> str:
    """Return a run id usable as a file name."""
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in run_id)


def list_pending_requests(ctx: RunContext, settings: Settings | None = None) -> list[str]:
    """Return the ids of the data subject requests not yet completed, oldest due date first."""
    from governance.dsr.requests import list_requests

    store = open_store(settings)
    ids = [request.request_id for request in list_requests(store, pending_only=True)]
    log.info("%d data subject requests pending", len(ids))
    return ids


def execute_subject_request(ctx: RunContext, request_id: str, settings: Settings | None = None) -> dict[str, Any]:
    """Execute one data subject request; it journals its own categories and counts."""
    from governance.dsr.execute import execute_request
    from governance.retention.policies import load_retention_policies

    settings = settings or Settings.from_env()
    return execute_request(open_store(settings), request_id, settings, load_retention_policies(), ctx)


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


def retry_quarantine(ctx: RunContext, source: str | None = None, settings: Settings | None = None) -> dict[str, Any]:
    """Read the quarantined rows again, load those that now pass, and journal the counts per source."""
    from governance.quarantine import retry_quarantine as retry

    started_at = datetime.now(UTC)
    store = open_store(settings)
    results = [counts.as_dict() for counts in retry(store, source=source, run_id=ctx.run_id)]
    details = {"step": "quarantine_retry", "source_filter": source, "sources": results}
    ctx.journal(
        store,
        activity="review_collection",
        purpose="review_collection",
        started_at=started_at,
        records_in=sum(int(item["retried"]) for item in results),
        records_out=sum(int(item["loaded"]) for item in results),
        details=details,
    )
    return details
