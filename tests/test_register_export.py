"""The record of activities and its exports: validation, counts against the store, no personal value."""

from __future__ import annotations

import ast
import copy
import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from governance.cli import app
from governance.consent.purposes import current_purposes
from governance.register import i18n
from governance.register.activities import PACKAGED_CONFIG, RegisterConfigError, load_register, parse_register
from governance.register.export import ExportFormat, Period, build_export, export_register, render_html
from governance.register.i18n import LABELS
from governance.register.journal import JournalEntry, append_entry
from governance.register.outcomes import INTERNAL_DAGS, UNDECLARED_ACTIVITY
from governance.register.stages import export_month, verify_journal
from governance.retention.erasure import ANONYMISED_SUBJECT
from governance.runtime import RunContext
from governance.stages import apply_retention, ingest_files, plan_retention, verify_retention
from governance.store import Store
from governance.store.schema import consent_events, customers, masked_reviews, quarantine, reviews, subject_keys
from tests.bundled import crm_leaks, crm_values

PROJECT = Path(__file__).resolve().parent.parent
UTF8_BOM = b"\xef\xbb\xbf"
FIELD_LABEL_KEYS = (
    "lawful_basis", "retention", "transfers", "security_encryption", "dpia", "breach_register", "last_review",
)


def _packaged() -> dict[str, Any]:
    return yaml.safe_load(PACKAGED_CONFIG.read_text(encoding="utf-8"))


def _activity(raw: dict[str, Any], reference: str) -> dict[str, Any]:
    return next(item for item in raw["activities"] if item["reference"] == reference)


def test_packaged_register_is_valid() -> None:
    register = load_register(PACKAGED_CONFIG)
    references = [activity.reference for activity in register.activities]
    assert references == [
        "review_collection", "review_masking", "review_publication", "recontact", "ambassador_program", "retention",
        "data_subject_request", "key_rotation",
    ]


# Functions that pass a computed activity to the journal, and where the test checks its values.
COMPUTED_ACTIVITY_SITES = {
    # Passes its caller's `activity` through; the callers are scanned like any other site.
    "governance/runtime.py:journal",
    # The extract's consent purpose: every purpose of the purposes file.
    "governance/stages.py:build_consent_extract",
    # `resolve_activity`: a declared activity, an internal DAG's activity or `undeclared`.
    "governance/register/outcomes.py:record_outcome",
}


class _ActivityArguments(ast.NodeVisitor):
    """Collect the `activity=` arguments of one module's calls, by enclosing function."""

    def __init__(self, site_prefix: str) -> None:
        self.site_prefix = site_prefix
        self.functions: list[str] = []
        self.found: list[tuple[str, ast.expr]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    def visit_Call(self, node: ast.Call) -> None:
        for keyword in node.keywords:
            if keyword.arg == "activity":
                site = f"{self.site_prefix}:{self.functions[-1] if self.functions else '<module>'}"
                self.found.append((site, keyword.value))
        self.generic_visit(node)


def _journalled_activities() -> tuple[set[str], set[str]]:
    """Return the activity codes the source passes to the journal, and the sites that compute one.

    A name is resolved through the module-level string constants of the scanned files.
    """
    files = sorted(
        path for folder in ("governance", "plugins", "dags") for path in (PROJECT / folder).rglob("*.py")
    )
    trees = {path.relative_to(PROJECT).as_posix(): ast.parse(path.read_text(encoding="utf-8")) for path in files}
    constants: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
                continue
            if isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        constants[target.id] = node.value.value

    codes: set[str] = set()
    computed: set[str] = set()
    for name, tree in trees.items():
        visitor = _ActivityArguments(name)
        visitor.visit(tree)
        for site, value in visitor.found:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                codes.add(value.value)
            elif isinstance(value, ast.Name) and value.id in constants:
                codes.add(constants[value.id])
            else:
                computed.add(site)
    return codes, computed


def test_journalled_activities_are_declared() -> None:
    register = load_register()
    codes, computed = _journalled_activities()

    assert {"review_collection", "retention", "data_subject_request", "key_rotation", "register"} <= codes
    assert computed == COMPUTED_ACTIVITY_SITES
    for code in sorted(codes):
        declared = register.activity(code) is not None or code in i18n.INTERNAL_ACTIVITIES
        assert declared, f"activity {code!r} is journalled but not declared in the register"
    for purpose in current_purposes().names():
        assert register.activity(purpose) is not None, purpose
    for activity, _purpose in INTERNAL_DAGS.values():
        assert activity in i18n.INTERNAL_ACTIVITIES, activity
    assert register.activity(UNDECLARED_ACTIVITY) is None


def test_dsr_and_key_rotation_declared_in_export(store: Store) -> None:
    for activity, purpose in (("data_subject_request", "data_subject_rights"), ("key_rotation", "security")):
        append_entry(store.engine, JournalEntry(activity=activity, purpose=purpose, records_in=1, records_out=1))
    data = build_export(store.engine, load_register(), Period(), "fr")
    summary = {row["activity"]: row for row in data["summary"]}

    assert data["undeclared_activities"] == []
    assert summary["data_subject_request"]["declared"]
    assert summary["key_rotation"]["declared"]
    sheets = {activity["reference"]: activity["fields"] for activity in data["activities"]}
    lawful_basis = {field["key"]: field["value"] for field in sheets["key_rotation"]}["lawful_basis"]
    assert lawful_basis == "Obligation légale (art. 6.1.c)"
    retention = {field["key"]: field["value"] for field in sheets["data_subject_request"]}["retention"]
    assert "5 ans à compter de la réception de la demande" in retention


def test_summary_separates_statuses(store: Store) -> None:
    statuses = {
        "data_subject_request": ["success", "rejected", "rejected", "failed"],
        "review_publication": ["violation", "success"],
        "review_collection": ["partial", "cancelled"],
    }
    for activity, values in statuses.items():
        for status in values:
            append_entry(store.engine, JournalEntry(activity=activity, purpose=activity, status=status))
    data = build_export(store.engine, load_register(), Period(), "fr")
    summary = {row["activity"]: row for row in data["summary"]}

    requests = summary["data_subject_request"]
    assert requests["failures"] == 1
    assert requests["rejected"] == 2
    assert summary["review_publication"]["failures"] == 0
    assert summary["review_publication"]["consent_violations"] == 1
    # An unknown status counts as a failure, so it is not lost.
    assert summary["review_collection"]["failures"] == 1
    assert summary["review_collection"]["partial"] == 1
    assert data["totals"]["failures"] == 2
    assert data["totals"]["rejected"] == 2
    assert data["totals"]["consent_violations"] == 1
    page = render_html(data)
    assert "<th>Demandes rejetées</th>" in page
    assert "<th>Violations du consentement</th>" in page


def test_missing_field_is_named() -> None:
    raw = _packaged()
    del _activity(raw, "recontact")["lawful_basis"]
    with pytest.raises(RegisterConfigError, match=r"activities\[recontact\]\.lawful_basis: Field required"):
        parse_register(raw)


def test_missing_breach_register_is_named() -> None:
    raw = _packaged()
    del _activity(raw, "ambassador_program")["breach_register"]
    with pytest.raises(RegisterConfigError, match=r"activities\[ambassador_program\]\.breach_register: Field required"):
        parse_register(raw)


def test_missing_nested_field_is_named() -> None:
    raw = _packaged()
    del _activity(raw, "retention")["security_measures"]["backups"]
    with pytest.raises(RegisterConfigError, match=r"activities\[retention\]\.security_measures\.backups"):
        parse_register(raw)


def test_misspelt_field_is_rejected() -> None:
    raw = _packaged()
    _activity(raw, "review_masking")["retension"] = "3 years"
    with pytest.raises(RegisterConfigError, match=r"activities\[review_masking\]\.retension: Extra inputs"):
        parse_register(raw)


def test_legitimate_interest_needs_assessment() -> None:
    raw = _packaged()
    _activity(raw, "review_masking")["legitimate_interest_assessment"] = None
    with pytest.raises(RegisterConfigError, match="legitimate_interest_assessment is missing"):
        parse_register(raw)


def test_transfer_needs_safeguards() -> None:
    raw = _packaged()
    activity = _activity(raw, "recontact")
    activity["transfers"] = {**activity["transfers"], "outside_eu": True, "countries": ["US"]}
    with pytest.raises(RegisterConfigError, match=r"activities\[recontact\]\.transfers.*safeguards is missing"):
        parse_register(raw)


def test_unknown_retention_policy_is_named() -> None:
    raw = _packaged()
    _activity(raw, "ambassador_program")["data_categories"][0]["retention_policy"] = "forever"
    with pytest.raises(RegisterConfigError, match=r"ambassador_program\]\.data_categories\[0\].*'forever'"):
        parse_register(raw)


def test_dag_in_two_activities_rejected() -> None:
    raw = _packaged()
    _activity(raw, "recontact")["dags"] = ["review_ingest"]
    with pytest.raises(RegisterConfigError, match="'review_ingest' is declared by 'review_collection' and 'recontact'"):
        parse_register(raw)


def test_task_link_in_two_activities_rejected() -> None:
    raw = _packaged()
    _activity(raw, "recontact")["dags"] = ["review_consent:publication_extract"]
    with pytest.raises(RegisterConfigError, match="'review_consent:publication_extract' is declared by"):
        parse_register(raw)


def test_malformed_task_link_is_named() -> None:
    raw = _packaged()
    _activity(raw, "recontact")["dags"] = ["review_consent:"]
    with pytest.raises(RegisterConfigError, match=r"activities\[recontact\]\.dags: .*invalid link 'review_consent:'"):
        parse_register(raw)


def test_task_link_wins_over_dag_link() -> None:
    raw = _packaged()
    _activity(raw, "review_publication")["dags"] = ["review_consent"]
    register = parse_register(raw)
    assert register.activity_of_task("review_consent", "recontact_extract").reference == "recontact"
    assert register.activity_of_task("review_consent", "other_task").reference == "review_publication"
    assert register.activity_of_task("review_consent", None).reference == "review_publication"


def test_override_file_replaces_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = _packaged()
    raw["activities"] = [copy.deepcopy(_activity(raw, "retention"))]
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("REVIEW_GOV_REGISTER_CONFIG", str(path))
    assert [activity.reference for activity in load_register().activities] == ["retention"]


def test_missing_override_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_GOV_REGISTER_CONFIG", str(tmp_path / "absent.yaml"))
    with pytest.raises(RegisterConfigError, match="absent.yaml not found"):
        load_register()


def test_activities_command_reports_invalid_file(tmp_path: Path) -> None:
    raw = _packaged()
    del raw["organisation"]["dpo"]
    path = tmp_path / "register.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = CliRunner().invoke(app, ["register", "activities", "--config", str(path)])
    assert result.exit_code == 1
    assert "organisation.dpo: Field required" in result.output


@pytest.fixture
def pipeline_store(store: Store) -> dict[str, Any]:
    """Ingest the bundled exports, then run the retention stages; return the store counts in between."""
    ingest_files(RunContext(dag_id="review_ingest", run_id="run-1", task_id="load_exports"))
    with store.engine.connect() as conn:
        before = {
            "customers": conn.execute(select(func.count()).select_from(customers)).scalar(),
            "reviews": conn.execute(select(func.count()).select_from(reviews)).scalar(),
            "consent_events": conn.execute(select(func.count()).select_from(consent_events)).scalar(),
            "consents": conn.execute(select(func.count(func.distinct(consent_events.c.consent_id)))).scalar(),
            "quarantine": conn.execute(select(func.count()).select_from(quarantine)).scalar(),
            "masked_reviews": conn.execute(select(func.count()).select_from(masked_reviews)).scalar(),
        }
    for stage, task_id in ((plan_retention, "plan"), (apply_retention, "apply"), (verify_retention, "verify")):
        stage(RunContext(dag_id="review_retention", run_id="run-1", task_id=task_id))
    return before


def _store_count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_export_counts_match_store(store: Store, pipeline_store: dict[str, Any]) -> None:
    before = pipeline_store
    data = build_export(store.engine, load_register(), Period(), "fr")
    summary = {row["activity"]: row for row in data["summary"]}

    collection = summary["review_collection"]
    assert collection["entries"] == 1
    assert collection["records_written"] == before["customers"] + before["reviews"] + before["consents"]
    retention = summary["retention"]
    assert retention["deletions"]["customers"] == before["customers"] - _store_count(store, customers)
    assert retention["deletions"]["reviews"] == before["reviews"] - _store_count(store, reviews)
    assert retention["deletions"]["consent_events"] == before["consent_events"] - _store_count(store, consent_events)
    assert retention["deletions"]["quarantine"] == before["quarantine"] - _store_count(store, quarantine)
    assert retention["deletions"]["masked_reviews"] == before["masked_reviews"] - _store_count(store, masked_reviews)
    with store.engine.connect() as conn:
        # Anonymised reviews share a subject whose key was never created, so it was not shredded.
        shredded = conn.execute(
            select(func.count()).where(
                subject_keys.c.wrapped_key.is_(None), subject_keys.c.subject_id != ANONYMISED_SUBJECT
            )
        ).scalar()
    assert retention["deletions"]["data_keys_shredded"] == shredded
    assert retention["records_deleted"] == sum(retention["deletions"].values())

    month = datetime.now(UTC).strftime("%Y-%m")
    assert data["monthly"] == [{
        "month": month,
        "records_processed": collection["records_processed"] + retention["records_processed"],
        "records_deleted": retention["records_deleted"],
    }]
    assert data["chain"]["ok"]
    assert data["chain"]["entries"] == len(data["journal"]) == 4
    assert data["undeclared_activities"] == []


def test_html_lists_every_activity_and_field(store: Store) -> None:
    register = load_register()
    for language in ("fr", "en"):
        page = render_html(build_export(store.engine, register, Period(), language))
        for activity in register.activities:
            assert f"{activity.number} · {activity.name.text(language)}" in page
        for key in FIELD_LABEL_KEYS:
            label = LABELS[key][language].replace("'", "&#39;")
            assert page.count(f"<th>{label}</th>") == len(register.activities), (language, key)
        assert "<svg" in page


def test_export_punctuation_per_language(store: Store, tmp_path: Path) -> None:
    """French puts a space before a colon and before a semicolon, and English does not."""
    append_entry(store.engine, JournalEntry(activity="retention", purpose="retention", deletions={"customers": 2, "reviews": 5}))
    register = load_register()
    texts = {}
    for language in ("fr", "en"):
        data = build_export(store.engine, register, Period(), language)
        fields = "\n".join(field["value"] for activity in data["activities"] for field in activity["fields"])
        _, files = export_register(store.engine, register, Period(), language, ExportFormat.CSV, tmp_path / language)
        journal = (tmp_path / language / "journal.csv").read_text(encoding="utf-8-sig")
        texts[language] = (fields, render_html(data), journal)

    fields, page, journal = texts["en"]
    assert " : " not in fields
    assert " ; " not in fields
    assert "required: no; done: no; " in fields
    assert "Customers: 2" in page
    assert "Customers: 2; Reviews: 5" in journal
    fields, page, journal = texts["fr"]
    assert "requise : non ; réalisée : non ; " in fields
    assert "Clients : 2" in page
    assert "Clients : 2 ; Avis : 5" in journal


def test_export_files_each_format(store: Store, tmp_path: Path) -> None:
    register = load_register()
    _, [html] = export_register(store.engine, register, Period(), "en", ExportFormat.HTML, tmp_path / "r.html")
    _, [as_json] = export_register(store.engine, register, Period(), "en", ExportFormat.JSON, tmp_path / "r.json")
    _, files = export_register(store.engine, register, Period(), "en", ExportFormat.CSV, tmp_path / "csv")
    assert 'lang="en"' in html.read_text(encoding="utf-8")
    assert json.loads(as_json.read_text(encoding="utf-8"))["language"] == "en"
    assert sorted(path.name for path in files) == ["activities.csv", "journal.csv", "monthly.csv", "summary.csv"]
    raw = (tmp_path / "csv" / "activities.csv").read_bytes()
    assert not raw.startswith(UTF8_BOM)
    with (tmp_path / "csv" / "activities.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + len(register.activities)
    assert rows[0][0] == "Number / reference"
    assert len(rows[0]) == len(rows[1]) > 30


def test_french_csv_opens_in_columns(store: Store, tmp_path: Path) -> None:
    register = load_register()
    _, files = export_register(store.engine, register, Period(), "fr", ExportFormat.CSV, tmp_path / "csv")
    for path in files:
        assert path.read_bytes().startswith(UTF8_BOM), path.name
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, delimiter=";"))
        assert len(header) >= 3, path.name
    with (tmp_path / "csv" / "activities.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0][0] == "N° / référence"
    assert rows[0][1] == "Nom du traitement"
    assert len(rows) == 1 + len(register.activities)
    assert all(len(row) == len(rows[0]) for row in rows)


def test_export_command_rejects_bad_period(store: Store, settings_env: Path) -> None:
    result = CliRunner().invoke(app, ["register", "export", "--from", "2026-03-01", "--to", "2026-02-01"])
    assert result.exit_code != 0
    assert "before it starts" in result.output


def test_export_command_rejects_bad_language(store: Store, settings_env: Path) -> None:
    result = CliRunner().invoke(app, ["register", "export", "--lang", "de"])
    assert result.exit_code != 0
    assert "'de' is not supported" in result.output


def test_export_command_defaults_to_configured_language(
    store: Store, settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVIEW_GOV_LANGUAGE", "en")
    target = tmp_path / "register.json"
    result = CliRunner().invoke(app, ["register", "export", "--format", "json", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert json.loads(target.read_text(encoding="utf-8"))["language"] == "en"


def test_exports_hold_no_crm_value(store: Store, pipeline_store: dict[str, Any], settings_env: Path) -> None:
    register_words = set(re.findall(r"\w+", PACKAGED_CONFIG.read_text(encoding="utf-8")))
    verify_journal(RunContext(dag_id="register", run_id="run-1", task_id="verify_journal"))
    today = datetime.now(UTC).date()
    details = export_month(
        RunContext(dag_id="register", run_id="run-1", task_id="export_month"), month=(today.replace(day=1), today)
    )
    texts = {}
    for paths in details["files"].values():
        for path in paths:
            for file in sorted(Path(path).rglob("*")) if Path(path).is_dir() else [Path(path)]:
                texts[file.name] = file.read_text(encoding="utf-8-sig")
    with store.engine.connect() as conn:
        texts["register_journal"] = "\n".join(str(tuple(row)) for row in conn.exec_driver_sql("SELECT * FROM register_journal"))
    assert {"activities.csv", "journal.csv"} <= set(texts)
    assert '"verify_journal"' in texts[next(name for name in texts if name.endswith(".json"))]

    values = crm_values()
    assert len(values["exact"]) > 6000
    for name, text in texts.items():
        leaks = crm_leaks(text, values, register_words)
        assert leaks["exact"] == [], name
        assert leaks["full_name"] == [], name
        assert leaks["last_name"] == [], name
