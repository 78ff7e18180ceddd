"""Stages of the `register` DAG: verify the journal's chain, then export the month for the DPO."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

from governance.config import Settings
from governance.register.activities import load_register
from governance.register.export import ExportFormat, Period, default_output, export_register
from governance.register.journal import ExtractRecord, verify_chain
from governance.runtime import RunContext, open_store

log = logging.getLogger(__name__)

REGISTER_ACTIVITY = "register"
REGISTER_PURPOSE = "accountability"
DPO_RECIPIENT = "DPO"


class JournalChainBrokenError(RuntimeError):
    """The journal's hash chain does not verify: a row was edited or deleted."""


def previous_month(moment: datetime) -> Period:
    """Return the calendar month before `moment`, first and last day included."""
    first_of_month = moment.date().replace(day=1)
    last_day = first_of_month - timedelta(days=1)
    return Period(last_day.replace(day=1), last_day)


def month_to_date(moment: datetime) -> Period:
    """Return the days from the first of `moment`'s month to `moment`'s day, both included."""
    return Period(moment.date().replace(day=1), moment.date())


def verify_journal(ctx: RunContext, settings: Settings | None = None) -> dict[str, Any]:
    """Verify the whole chain; raise JournalChainBrokenError naming the first broken entry."""
    started_at = datetime.now(UTC)
    store = open_store(settings)
    report = verify_chain(store.engine)
    log.info(report.describe())
    if not report.ok:
        raise JournalChainBrokenError(report.describe() + " Export stopped: investigate before trusting the journal.")
    details = {"entries": report.entries, "head_seq": report.head_seq, "head_hash": report.head_hash}
    ctx.journal(
        store,
        activity=REGISTER_ACTIVITY,
        purpose=REGISTER_PURPOSE,
        started_at=started_at,
        records_in=report.entries,
        records_out=None,
        details=details,
    )
    return details


def export_month(
    ctx: RunContext,
    settings: Settings | None = None,
    month: tuple[date, date] | None = None,
    month_to_date_only: bool = False,
) -> dict[str, Any]:
    """Write the register export of the month before the run's logical date in every format.

    With `month_to_date_only` (a manually triggered run) the export covers the current month up to
    the logical date instead, so that a DPO who requests the register now sees this month. The page is in the language of the settings (`REVIEW_GOV_LANGUAGE`, French by default); the
    files go to `<reports>/register-<first day>_<last day>-<lang>.<format>`, so a re-run of the same
    month overwrites the same files.
    """
    settings = settings or Settings.from_env()
    started_at = datetime.now(UTC)
    store = open_store(settings)
    register = load_register()
    if month:
        period = Period(*month)
    elif month_to_date_only:
        period = month_to_date(ctx.logical_date)
    else:
        period = previous_month(ctx.logical_date)
    language = settings.language

    written: dict[str, list[str]] = {}
    journal_entries = 0
    for export_format in ExportFormat:
        output = default_output(settings.reports_dir, export_format, period, language)
        data, paths = export_register(store.engine, register, period, language, export_format, output)
        written[export_format.value] = [str(path) for path in paths]
        journal_entries = len(data["journal"])

    details = {"period": {"from": str(period.start), "to": str(period.end)}, "language": language, "files": written}
    ctx.journal(
        store,
        activity=REGISTER_ACTIVITY,
        purpose=REGISTER_PURPOSE,
        started_at=started_at,
        records_in=journal_entries,
        records_out=len(register.activities),
        details=details,
        extracts=[
            ExtractRecord(f"register_{name}", journal_entries, [DPO_RECIPIENT], paths[0])
            for name, paths in written.items()
        ],
    )
    return details
