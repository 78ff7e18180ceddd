"""Exports of the register for the DPO: the record of activities and the journal of a period.

One function gathers the data (`build_export`). Three writers render it as JSON, CSV files or an
HTML page with a summary table and two bar charts (records processed and deleted per month).
Everything shown comes from the register configuration and the journal, which hold counts and ids
only, so no export can contain a personal value.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine

from governance.csv_export import csv_format
from governance.register import i18n
from governance.register.activities import Activity, ProcessingRegister, retention_for
from governance.register.journal import read_entries, verify_chain
from governance.register.retention_periods import NOT_CONFIGURED, RetentionPeriod

log = logging.getLogger(__name__)

CHART_WIDTH = 640
CHART_HEIGHT = 180


class ExportFormat(StrEnum):
    HTML = "html"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class Period:
    """A range of days, both ends included; None leaves that side open."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"The period ends ({self.end}) before it starts ({self.start}): swap --from and --to.")

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """Return the UTC instants [start, end) that cover the days of the period."""
        start = datetime.combine(self.start, time.min, UTC) if self.start else None
        end = datetime.combine(self.end + timedelta(days=1), time.min, UTC) if self.end else None
        return start, end

    def slug(self) -> str:
        return f"{self.start or 'start'}_{self.end or 'now'}"


def _text(value: Any, language: str) -> str:
    return value.text(language) if value is not None else i18n.label("none", language)


def _texts(values: list[Any], language: str) -> str:
    return i18n.semicolon(language).join(value.text(language) for value in values) or i18n.label("none", language)


def _yes_no(flag: bool, language: str) -> str:
    return i18n.label("yes" if flag else "no", language)


def describe_retention(period: RetentionPeriod, language: str) -> str:
    """Describe a retention period in one line: duration, starting event, source, enforcing DAG."""
    if period.starts_from == NOT_CONFIGURED:
        return i18n.label("retention_not_configured", language)
    event_key = period.starts_from
    if period.months and event_key == "consent_withdrawal":
        event_key = "after_consent_withdrawal"
    event = i18n.RETENTION_EVENTS.get(event_key, {}).get(language, period.starts_from)
    duration = f"{i18n.format_months(period.months, language)} {event}" if period.months else event
    if period.action:
        duration += " " + i18n.RETENTION_ACTIONS.get(period.action, {}).get(language, period.action)
    enforced = (
        f"{i18n.label('enforced_by', language)} {period.enforced_by}"
        if period.enforced_by
        else i18n.label("not_automated", language)
    )
    return f"{duration} ({period.source}{i18n.semicolon(language)}{enforced})"


def _sensitive_text(activity: Activity, lang: str) -> str:
    sensitive = activity.sensitive_data
    colon = i18n.colon(lang)
    text = _yes_no(sensitive.processed, lang)
    if sensitive.processed:
        text += (
            f"{colon}{_texts(sensitive.categories, lang)} ({i18n.label('article_9_condition', lang)}{colon}"
            f"{_text(sensitive.article_9_condition, lang)})"
        )
    return text


def _transfers_text(activity: Activity, lang: str) -> str:
    transfers = activity.transfers
    colon, semicolon = i18n.colon(lang), i18n.semicolon(lang)
    text = _yes_no(transfers.outside_eu, lang)
    if transfers.outside_eu:
        text += (
            f"{colon}{', '.join(transfers.countries)}{semicolon}{i18n.label('safeguards', lang)}{colon}"
            f"{_text(transfers.safeguards, lang)}{semicolon}{i18n.label('documentation', lang)}{colon}"
            f"{transfers.documentation or i18n.label('none', lang)}"
        )
    return text


def _decisions_text(activity: Activity, lang: str) -> str:
    text = _yes_no(activity.automated_decisions.used, lang)
    if activity.automated_decisions.used:
        text += f"{i18n.colon(lang)}{_text(activity.automated_decisions.detail, lang)}"
    return text


def _dpia_text(activity: Activity, lang: str) -> str:
    dpia = activity.dpia
    done_on = f" ({dpia.done_on.isoformat()})" if dpia.done_on else ""
    colon, semicolon = i18n.colon(lang), i18n.semicolon(lang)
    return (
        f"{i18n.label('dpia_required', lang)}{colon}{_yes_no(dpia.required, lang)}{semicolon}"
        f"{i18n.label('dpia_done', lang)}{colon}{_yes_no(dpia.done, lang)}{done_on}{semicolon}{dpia.reason.text(lang)}"
    )


def _purpose_text(purpose: str | None, lang: str) -> str:
    """Name a consent purpose, with its code, which is the key of the consent register."""
    if purpose is None:
        return i18n.label("not_applicable", lang)
    return f"{i18n.value_label('purposes', purpose, lang)} ({purpose})"


def activity_fields(activity: Activity, periods: dict[str, RetentionPeriod], language: str) -> list[dict[str, str]]:
    """Flatten one activity into labelled rows, in the order of the CNIL register model."""
    lang = language
    colon = i18n.colon(lang)
    categories = "\n".join(
        f"{i18n.DATA_CATEGORIES[item.category.value][lang]}{colon}{item.description.text(lang)}"
        for item in activity.data_categories
    )
    retention = "\n".join(
        f"{i18n.DATA_CATEGORIES[item.category.value][lang]} ({item.retention_policy}){colon}"
        f"{describe_retention(periods[item.retention_policy], lang)}"
        for item in activity.data_categories
    )
    processors = i18n.semicolon(lang).join(
        f"{item.name} ({item.service.text(lang)}, {item.contract})" for item in activity.recipients.processors
    ) or i18n.label("none", lang)

    none = i18n.label("none", lang)
    security = activity.security_measures
    rows: list[tuple[str, str]] = [
        ("number", f"{activity.number} ({activity.reference})"),
        ("name", activity.name.text(lang)),
        ("created_on", activity.created_on.isoformat()),
        ("updated_on", activity.updated_on.isoformat()),
        ("joint_controller", activity.joint_controller or none),
        ("software", ", ".join(activity.software)),
        ("dags", ", ".join(activity.dags) or none),
        ("main_purpose", activity.purposes.main.text(lang)),
        ("sub_purposes", _texts(activity.purposes.sub, lang)),
        ("lawful_basis", i18n.LAWFUL_BASES[activity.lawful_basis.value][lang]),
        ("lawful_basis_detail", activity.lawful_basis_detail.text(lang)),
        ("legitimate_interest_assessment", activity.legitimate_interest_assessment or i18n.label("not_applicable", lang)),
        ("consent_purpose", _purpose_text(activity.consent_purpose, lang)),
        ("consent_register", activity.consent_register.text(lang) if activity.consent_register
         else i18n.label("not_applicable", lang)),
        ("data_subjects", _texts(activity.data_subjects, lang)),
        ("data_categories", categories),
        ("sensitive_data", _sensitive_text(activity, lang)),
        ("retention", retention),
        ("recipients_internal", _texts(activity.recipients.internal, lang)),
        ("recipients_external", _texts(activity.recipients.external, lang)),
        ("processors", processors),
        ("transfers", _transfers_text(activity, lang)),
        ("security_access_control", security.access_control.text(lang)),
        ("security_traceability", security.traceability.text(lang)),
        ("security_software_protection", security.software_protection.text(lang)),
        ("security_backups", security.backups.text(lang)),
        ("security_encryption", security.encryption.text(lang)),
        ("security_processor_control", security.processor_control.text(lang)),
        ("security_other", _text(security.other, lang)),
        ("automated_decisions", _decisions_text(activity, lang)),
        ("dpia", _dpia_text(activity, lang)),
        ("data_subject_rights", activity.data_subject_rights.text(lang)),
        ("privacy_policy_url", activity.privacy_policy_url),
        ("breach_register", activity.breach_register.text(lang)),
        ("last_review", f"{activity.last_review.reviewed_on.isoformat()} ({activity.last_review.reviewer})"),
    ]
    return [{"key": key, "label": i18n.label(key, lang), "value": value} for key, value in rows]


def _activity_name(reference: str, register: ProcessingRegister, language: str) -> str:
    activity = register.activity(reference)
    if activity is not None:
        return activity.name.text(language)
    internal = i18n.INTERNAL_ACTIVITIES.get(reference)
    return internal[language] if internal else i18n.value_label("activities", reference, language)


def _deleted(entry: dict[str, Any]) -> int:
    return sum(int(count) for count in entry["deletions"].values())


def _processed(entry: dict[str, Any]) -> int:
    """Records a task reported reading; outcome entries of the Airflow listener carry no count."""
    return int(entry["records_in"] or 0)


# Journal statuses that the summary counts in a column of their own, by column. Every other status
# except `success` counts as a failure, an unknown one included.
STATUS_COLUMNS = {"rejected": "rejected", "consent_violations": "violation", "partial": "partial"}


def _count_statuses(group: list[dict[str, Any]]) -> dict[str, int]:
    """Count failed entries apart from rejected requests, consent violations and partial runs."""
    statuses = Counter(entry["status"] for entry in group)
    counts = {column: statuses.pop(status, 0) for column, status in STATUS_COLUMNS.items()}
    statuses.pop("success", None)
    return {"failures": sum(statuses.values()), **counts}


def summarise(entries: list[dict[str, Any]], register: ProcessingRegister, language: str) -> list[dict[str, Any]]:
    """Add up the journal entries of each activity: runs, outcomes, records, deletions, extracts."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        groups[entry["activity"]].append(entry)
    order = [activity.reference for activity in register.activities]
    order += sorted(set(groups) - set(order))
    rows = []
    for reference in order:
        group = groups.get(reference, [])
        entities: Counter[str] = Counter()
        deletions: Counter[str] = Counter()
        for entry in group:
            entities.update(entry["entities_masked"])
            deletions.update(entry["deletions"])
        rows.append({
            "activity": reference,
            "name": _activity_name(reference, register, language),
            "declared": register.activity(reference) is not None,
            "runs": len({(entry["dag_id"], entry["run_id"]) for entry in group}),
            "entries": len(group),
            **_count_statuses(group),
            "records_processed": sum(_processed(entry) for entry in group),
            "records_written": sum(int(entry["records_out"] or 0) for entry in group),
            "records_deleted": sum(deletions.values()),
            "deletions": dict(sorted(deletions.items())),
            "deletions_labels": i18n.value_labels("deletion_categories", sorted(deletions), language),
            "entities_masked": dict(sorted(entities.items())),
            "entities_masked_labels": i18n.value_labels("entity_types", sorted(entities), language),
            "consents_checked": sum(int(entry["consents_checked"] or 0) for entry in group),
            "extracts": sum(len(entry["extracts"]) for entry in group),
        })
    return rows


def monthly_totals(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records processed and deleted per calendar month (UTC) of the entries' recording time."""
    months: dict[str, dict[str, int]] = {}
    for entry in entries:
        month = entry["recorded_at"].strftime("%Y-%m")
        totals = months.setdefault(month, {"records_processed": 0, "records_deleted": 0})
        totals["records_processed"] += _processed(entry)
        totals["records_deleted"] += _deleted(entry)
    return [{"month": month, **totals} for month, totals in sorted(months.items())]


def _json_entry(entry: dict[str, Any], register: ProcessingRegister, language: str) -> dict[str, Any]:
    """Return a journal entry with its codes as stored and, in `*_label(s)` keys, what they mean."""
    row = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in entry.items()}
    row["activity_name"] = _activity_name(entry["activity"], register, language)
    row["purpose_label"] = i18n.value_label("purposes", entry["purpose"], language)
    row["kind"] = "report" if entry["try_number"] is None else "outcome"
    row["kind_label"] = i18n.value_label("entry_kinds", row["kind"], language)
    row["status_label"] = i18n.value_label("statuses", entry["status"], language)
    row["deletions_labels"] = i18n.value_labels("deletion_categories", entry["deletions"], language)
    row["entities_masked_labels"] = i18n.value_labels("entity_types", entry["entities_masked"], language)
    row["extracts"] = [
        {
            **extract,
            "name_label": i18n.value_label("extracts", extract["name"], language),
            "recipients_labels": [i18n.value_label("recipients", name, language) for name in extract["recipients"]],
        }
        for extract in entry["extracts"]
    ]
    row.pop("idempotency_key", None)
    return row


def build_export(engine: Engine, register: ProcessingRegister, period: Period, language: str) -> dict[str, Any]:
    """Gather the record of activities, the journal of `period` and its summaries in `language`."""
    language = i18n.check_language(language)
    start, end = period.bounds()
    entries = read_entries(engine, start, end)
    chain = verify_chain(engine)
    periods = retention_for(register)
    summary = summarise(entries, register, language)
    return {
        "language": language,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": {
            "from": period.start.isoformat() if period.start else None,
            "to": period.end.isoformat() if period.end else None,
        },
        "organisation": register.organisation.model_dump(mode="json"),
        "activities": [
            {
                "reference": activity.reference,
                "number": activity.number,
                "name": activity.name.text(language),
                "fields": activity_fields(activity, periods, language),
                "definition": activity.model_dump(mode="json"),
            }
            for activity in register.activities
        ],
        "retention_policies": {
            name: {**vars(item), "description": describe_retention(item, language)} for name, item in periods.items()
        },
        "summary": summary,
        "totals": {
            key: sum(row[key] for row in summary)
            for key in ("runs", "entries", "failures", *STATUS_COLUMNS, "records_processed", "records_written",
                        "records_deleted", "consents_checked", "extracts")
        },
        "undeclared_activities": [row["activity"] for row in summary
                                  if not row["declared"] and row["activity"] not in i18n.INTERNAL_ACTIVITIES],
        "monthly": monthly_totals(entries),
        "journal": [_json_entry(entry, register, language) for entry in entries],
        "chain": {
            "ok": chain.ok,
            "entries": chain.entries,
            "head_seq": chain.head_seq,
            "head_hash": chain.head_hash,
            "first_broken_seq": chain.first_broken_seq,
            "reason": chain.reason,
            "reason_code": chain.reason_code,
            "reason_label": (
                i18n.value_label("chain_breaks", chain.reason_code, language) if chain.reason_code else None
            ),
            "broken_entry": chain.broken_entry,
        },
    }


def write_json(data: dict[str, Any], output: Path) -> list[Path]:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return [output]


def _counts_text(counts: dict[str, int], labels: dict[str, str], language: str) -> str:
    """Write counts by code as label and count pairs, such as `Clients : 3 ; Avis : 12` in French."""
    colon = i18n.colon(language)
    return i18n.semicolon(language).join(f"{labels[code]}{colon}{count}" for code, count in counts.items())


def _extracts_text(extracts: list[dict[str, Any]], language: str) -> str:
    texts = [
        f"{extract['name_label']} ({extract['rows']}) → {', '.join(extract['recipients_labels'])}"
        for extract in extracts
    ]
    return i18n.semicolon(language).join(texts)


def _summary_cells(row: dict[str, Any], keys: list[str], language: str) -> list[Any]:
    texts = {
        "activity": row["name"],
        "deletions": _counts_text(row["deletions"], row["deletions_labels"], language),
        "entities_masked": _counts_text(row["entities_masked"], row["entities_masked_labels"], language),
    }
    return [texts.get(key, row[key]) for key in keys]


def _journal_cells(entry: dict[str, Any], keys: list[str], language: str) -> list[Any]:
    texts = {
        "activity": entry["activity_name"],
        "purpose": entry["purpose_label"],
        "kind": entry["kind_label"],
        "status": entry["status_label"],
        "deletions": _counts_text(entry["deletions"], entry["deletions_labels"], language),
        "entities_masked": _counts_text(entry["entities_masked"], entry["entities_masked_labels"], language),
        "extracts": _extracts_text(entry["extracts"], language),
    }
    return [texts.get(key, entry[key]) for key in keys]


def write_csv(data: dict[str, Any], output: Path) -> list[Path]:
    """Write four CSV files into the folder `output`: activities, summary, monthly and journal.

    Cells show labels in the export's language, and the delimiter, encoding and decimal separator
    follow that language (`csv_format`).
    """
    language = data["language"]
    write_table = csv_format(language).write
    output.mkdir(parents=True, exist_ok=True)
    activities = data["activities"]
    keys = [field["key"] for field in activities[0]["fields"]] if activities else []
    written = [
        write_table(
            output / "activities.csv",
            [i18n.label(key, language) for key in keys],
            [[field["value"] for field in activity["fields"]] for activity in activities],
        )
    ]
    summary_keys = ["activity", "runs", "entries", "failures", *STATUS_COLUMNS, "records_processed",
                    "records_written", "records_deleted", "deletions", "entities_masked", "consents_checked",
                    "extracts"]
    written.append(write_table(
        output / "summary.csv",
        [i18n.label(key, language) for key in summary_keys],
        [_summary_cells(row, summary_keys, language) for row in data["summary"]],
    ))
    monthly_keys = ["month", "records_processed", "records_deleted"]
    written.append(write_table(
        output / "monthly.csv",
        [i18n.label(key, language) for key in monthly_keys],
        [[row[key] for key in monthly_keys] for row in data["monthly"]],
    ))
    journal_keys = ["seq", "recorded_at", "activity", "purpose", "kind", "dag_id", "run_id", "task_id",
                    "map_index", "try_number", "status", "error_type", "started_at", "ended_at", "records_in",
                    "records_out", "entities_masked", "consents_checked", "deletions", "extracts",
                    "code_version", "entry_hash"]
    written.append(write_table(
        output / "journal.csv",
        [i18n.label(key, language) for key in journal_keys],
        [_journal_cells(entry, journal_keys, language) for entry in data["journal"]],
    ))
    return written


def bar_chart(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Lay out one bar per month for an inline SVG chart: positions in pixels, values as labels."""
    top = max((row[key] for row in rows), default=0) or 1
    slot = CHART_WIDTH / max(len(rows), 1)
    bar_width = min(48.0, slot * 0.6)
    plot_height = CHART_HEIGHT - 40
    bars = []
    for index, row in enumerate(rows):
        height = plot_height * row[key] / top
        x = index * slot + (slot - bar_width) / 2
        bars.append({
            "x": round(x, 1), "y": round(20 + plot_height - height, 1), "width": round(bar_width, 1),
            "height": round(height, 1), "value": row[key], "month": row["month"],
            "label_x": round(x + bar_width / 2, 1),
        })
    return {"width": CHART_WIDTH, "height": CHART_HEIGHT, "baseline": 20 + plot_height, "bars": bars}


def render_html(data: dict[str, Any]) -> str:
    """Render the export as one self-contained HTML page (inline CSS and SVG, no external asset)."""
    environment = Environment(
        loader=PackageLoader("governance.register", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    language = data["language"]
    template = environment.get_template("register.html.j2")
    return template.render(
        data=data,
        t=lambda key: i18n.label(key, language),
        colon=i18n.colon(language),
        charts={key: bar_chart(data["monthly"], key) for key in ("records_processed", "records_deleted")},
    )


def write_html(data: dict[str, Any], output: Path) -> list[Path]:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(data), encoding="utf-8")
    return [output]


WRITERS = {ExportFormat.HTML: write_html, ExportFormat.CSV: write_csv, ExportFormat.JSON: write_json}


def default_output(reports_dir: Path, export_format: ExportFormat, period: Period, language: str) -> Path:
    """Return `<reports>/register-<from>_<to>-<lang>.<format>`; a folder for CSV."""
    stem = reports_dir / f"register-{period.slug()}-{language}"
    return stem if export_format is ExportFormat.CSV else stem.with_suffix(f".{export_format.value}")


def export_register(
    engine: Engine,
    register: ProcessingRegister,
    period: Period,
    language: str,
    export_format: ExportFormat,
    output: Path,
) -> tuple[dict[str, Any], list[Path]]:
    """Build the export and write it; return the data and the files written."""
    data = build_export(engine, register, period, language)
    paths = WRITERS[export_format](data, output)
    log.info(
        "Register export written: format=%s language=%s entries=%d files=%d",
        export_format.value, language, len(data["journal"]), len(paths),
    )
    return data, paths
