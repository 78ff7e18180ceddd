"""French exports show labels, never the English codes of the store and the journal.

A small store gets journal entries from the real stages (retention, data subject requests, the
listener's task outcomes and the register's own export) and from `RunContext.journal` for masking
and consent extracts. Every export a French DPO reads is then generated from it, and no value
displayed to the reader may be one of the English codes. Codes stay allowed where they are kept for programs:
in JSON keys ending in `_code`, next to a `*_label`, and in brackets after a label.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import governance.cli
import governance.cli.dsr

from governance.cli import app
from governance.config import Settings
from governance.consent.ledger import ConsentStatus
from governance.consent.purposes import current_purposes
from governance.dsr.execute import JOURNAL_ACTIVITY, JOURNAL_PURPOSE, WITHDRAWAL_SOURCE, execute_pending
from governance.ingest import load_reviews
from governance.dsr.requests import RequestStatus, RequestType, get_request, submit_request
from governance.pii.config import DEFAULT_ENTITIES
from governance.register import i18n
from governance.register.activities import DataCategory as RegisterDataCategory
from governance.register.activities import LawfulBasis, load_register
from governance.register.export import ExportFormat, Period, build_export, export_register
from governance.register.journal import ExtractRecord, JournalEntry, append_entry, verify_chain
from governance.register.outcomes import INTERNAL_DAGS, UNDECLARED_ACTIVITY, TaskOutcome, record_outcome
from governance.register.stages import DPO_RECIPIENT, REGISTER_ACTIVITY, REGISTER_PURPOSE, export_month
from governance.retention.policies import DataCategory, RetentionAction, StartEvent, load_retention_policies
from governance.runtime import RunContext
from governance.sources import survey_jsonl
from governance.sources.records import PURPOSES
from governance.stages import EXTRACT_RECIPIENTS, apply_retention, plan_retention, verify_retention
from governance.store import Store
from governance.store.schema import customers, quarantine, register_journal, reviews
from tests.bundled import load_bundled
from tests.test_journal import _tamper

CUSTOMERS = 40

# Statuses that the stages, the DSR executor and the Airflow listener write into the journal.
JOURNAL_STATUSES = {"success", "failed", "rejected", "violation"}
# Activities and purposes the package journals besides those of the register configuration.
OTHER_ACTIVITIES = {JOURNAL_ACTIVITY, "key_rotation", UNDECLARED_ACTIVITY}
OTHER_PURPOSES = {"analytics", "retention", "security", REGISTER_PURPOSE, JOURNAL_PURPOSE, UNDECLARED_ACTIVITY}


def _package_codes() -> dict[str, set[str]]:
    """Return, per label group, the codes that the package itself writes or configures."""
    register = load_register()
    return {
        # An ingest run writes `partial` when a source pull stops before the end.
        "statuses": JOURNAL_STATUSES | {"partial"},
        "entry_kinds": {"report", "outcome"},
        "activities": OTHER_ACTIVITIES,
        "purposes": set(PURPOSES) | set(current_purposes().names()) | OTHER_PURPOSES
        | {activity.journal_purpose for activity in register.activities},
        "entity_types": set(DEFAULT_ENTITIES),
        "extracts": set(EXTRACT_RECIPIENTS) | {f"register_{item.value}" for item in ExportFormat},
        "recipients": {name for names in EXTRACT_RECIPIENTS.values() for name in names} | {DPO_RECIPIENT},
        "request_types": {item.value for item in RequestType},
        "request_statuses": {item.value for item in RequestStatus},
        "consent_event_types": {"grant", "withdrawal"},
        "consent_sources": {"web_form", "email_link", "mobile_app", WITHDRAWAL_SOURCE},
        "consent_states": {item.value for item in ConsentStatus},
        "retention_categories": {item.value for item in DataCategory},
        "retention_event_names": {item.value for item in StartEvent},
        "retention_action_names": {item.value for item in RetentionAction},
        "lawful_bases": {item.value for item in LawfulBasis},
        "data_categories": {item.value for item in RegisterDataCategory},
    }


def _journal_codes(store: Store) -> dict[str, set[str]]:
    """Return, per label group, the codes found in the store's journal."""
    codes: dict[str, set[str]] = {"activities": set(), "purposes": set(), "statuses": set(),
                                  "deletion_categories": set(), "entity_types": set(),
                                  "extracts": set(), "recipients": set()}
    with store.engine.connect() as conn:
        for row in conn.execute(select(register_journal)).mappings():
            codes["activities"].add(row["activity"])
            codes["purposes"].add(row["purpose"])
            codes["statuses"].add(row["status"])
            codes["deletion_categories"] |= set(json.loads(row["deletions"]))
            codes["entity_types"] |= set(json.loads(row["entities_masked"]))
            for extract in json.loads(row["extracts"]):
                codes["extracts"].add(extract["name"])
                codes["recipients"] |= set(extract["recipients"])
    return codes


def _store_codes(store: Store) -> dict[str, set[str]]:
    """Return, per label group, the channels and source names found in the store's rows."""
    codes: dict[str, set[str]] = {"channels": set(), "review_sources": set()}
    with store.engine.connect() as conn:
        codes["channels"] |= set(conn.execute(select(customers.c.channel)).scalars())
        codes["channels"] |= set(conn.execute(select(reviews.c.channel)).scalars())
        codes["review_sources"] |= set(conn.execute(select(reviews.c.source)).scalars())
        codes["review_sources"] |= set(conn.execute(select(quarantine.c.source)).scalars())
    return {group: values - {None} for group, values in codes.items()}


def _english_codes(*code_sets: dict[str, set[str]]) -> set[str]:
    """Return the codes a French reader must not see: all but those that are their own French label.

    DAG ids are left out: the exports show them as they are, to find the run in Airflow, and two of
    them (`review_masking`, `register`) are also activity codes.
    """
    dag_ids = {link.split(":")[0] for link in load_register().activity_by_dag} | set(INTERNAL_DAGS)
    english = set()
    for codes in code_sets:
        for group, values in codes.items():
            for code in values:
                entry = i18n.CATALOG[group].get(code)
                if entry is None or entry["fr"].casefold() != code.casefold():
                    english.add(code.casefold())
    return english - {dag_id.casefold() for dag_id in dag_ids}


def _fragments(text: str) -> Iterator[str]:
    """Split a displayed text into the values it lists, leaving out what is in brackets."""
    without_brackets = re.sub(r"\([^()]*\)", " ", text)
    for part in re.split(r"[;:,\n→/]", without_brackets):
        if part.strip():
            yield part.strip().casefold()


def _english_in(texts: list[str], english: set[str]) -> list[str]:
    return sorted({fragment for text in texts for fragment in _fragments(text) if fragment in english})


class _TextCollector(HTMLParser):
    """Collect the text a browser shows, without style sheets and <code> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skipped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "code"):
            self._skipped.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipped and self._skipped[-1] == tag:
            self._skipped.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipped:
            self.texts.append(data)


def test_catalog_labels_package_codes() -> None:
    for group, codes in _package_codes().items():
        for code in sorted(codes):
            assert code in i18n.CATALOG[group], (group, code)


def test_catalog_rejects_missing_language(tmp_path: Path) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text("statuses:\n  success: {fr: \"succès\"}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"statuses\.success must give a non-empty text for exactly fr, en"):
        i18n.load_catalog(path)
    path.write_text("labels:\n  yes: {fr: \"oui\", en: \"yes\"}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="key True of group 'labels' is not a string: quote it"):
        i18n.load_catalog(path)


def _customers_with_reviews(store: Store, count: int) -> list[str]:
    with store.engine.connect() as conn:
        ids = conn.execute(
            select(reviews.c.customer_id)
            .where(reviews.c.customer_id.is_not(None))
            .distinct()
            .order_by(reviews.c.customer_id)
        ).scalars()
        return list(ids)[:count]


# Survey responses of one customer that the survey reader rejects, one per reason.
INVALID_RESPONSES = (
    {"response_id": "X1", "submitted_at": "2026-03-05T00:00:00Z", "rating": 9, "comment": "ok"},
    {"response_id": "X2", "submitted_at": "2026-02-31", "rating": 4, "comment": "ok"},
    {"response_id": "X3", "submitted_at": "2026-03-05T00:00:00Z", "rating": 4, "comment": ""},
)


def _load_responses(store: Store, customer_id: str, folder: Path) -> None:
    """Load survey responses of the customer: a recent valid one, which retention keeps, and the
    invalid ones, which are quarantined with their reason."""
    path = folder / "responses.jsonl"
    valid = {"response_id": "X0", "submitted_at": datetime.now(UTC).date().isoformat(), "rating": 4,
             "comment": "Livraison rapide"}
    lines = [
        json.dumps({**response, "customer_id": customer_id, "channel": "kiosk"})
        for response in (valid, *INVALID_RESPONSES)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_reviews(store, survey_jsonl.read(path, {customer_id}), survey_jsonl.SOURCE)


@pytest.fixture
def journalled(store: Store, settings_env: Path, tmp_path: Path) -> dict[str, Any]:
    """Fill a small store's journal through the stages; return the files the tests read."""
    load_bundled(store, customers_limit=CUSTOMERS)
    settings = Settings.from_env()
    config = load_retention_policies()
    withdrawn, erased, rejected = _customers_with_reviews(store, 3)
    _load_responses(store, withdrawn, tmp_path)
    now = datetime.now(UTC)

    masking = RunContext(dag_id="review_masking", run_id="run-1", task_id="mask")
    masking.journal(store, activity="review_masking", purpose="analytics", started_at=now, records_in=5,
                    records_out=5, details={}, entities_masked={entity: 1 for entity in DEFAULT_ENTITIES})
    for extract, recipients in EXTRACT_RECIPIENTS.items():
        # As the consent stage journals an extract; one of them lacks consent for some rows.
        purpose = current_purposes().for_extract(extract).name
        consent = RunContext(dag_id="review_consent", run_id="run-1", task_id=f"build_{extract}")
        consent.journal(store, activity=purpose, purpose=purpose, started_at=now, records_in=3, records_out=2,
                        details={}, consents_checked=3, extracts=[ExtractRecord(extract, 2, recipients)],
                        status="violation" if extract == "recontact" else "success")

    for stage, task_id in ((plan_retention, "plan"), (apply_retention, "apply"), (verify_retention, "verify")):
        stage(RunContext(dag_id="review_retention", run_id="run-1", task_id=task_id))
    record_outcome(store.engine, load_register(), TaskOutcome(
        dag_id="review_retention", run_id="run-2", task_id="apply", map_index=-1, try_number=1, state="failed",
        started_at=now, ended_at=now, error_type="RuntimeError",
    ))

    submit_request(store, RequestType.WITHDRAWAL, withdrawn, purpose="review_publication")
    submit_request(store, RequestType.ERASURE, erased)
    # The erasure is due first, so it runs first and the later access request finds nothing left.
    submit_request(store, RequestType.ERASURE, rejected, received_at=now - timedelta(days=2))
    submit_request(store, RequestType.ACCESS, rejected, received_at=now - timedelta(days=1))
    execute_pending(store, settings, config)
    access = submit_request(store, RequestType.ACCESS, withdrawn)
    execute_pending(store, settings, config)

    today = now.date()
    export_month(RunContext(dag_id="register", run_id="run-1", task_id="export_month"),
                 month=(today.replace(day=1), today))
    return {
        "access_path": Path(get_request(store, access.request_id).output_path or ""),
        "plan_reports": sorted((settings.reports_dir / "retention").glob("plan-*.json")),
    }


def test_journal_covers_every_kind(store: Store, journalled: dict[str, Any]) -> None:
    codes = _journal_codes(store)
    assert codes["statuses"] == JOURNAL_STATUSES
    assert {JOURNAL_ACTIVITY, REGISTER_ACTIVITY, "retention"} <= codes["activities"]
    assert {"customers", "reviews", "data_keys_shredded", "consents_withdrawn"} <= codes["deletion_categories"]
    assert codes["entity_types"] == set(DEFAULT_ENTITIES)
    assert DPO_RECIPIENT in codes["recipients"]


def test_store_channels_and_sources_labelled(store: Store, journalled: dict[str, Any]) -> None:
    codes = _store_codes(store)
    assert {"app", "store", "web", "kiosk"} <= codes["channels"]
    assert {"survey", "trustpilot_csv"} <= codes["review_sources"]
    for group, values in codes.items():
        for code in sorted(values):
            assert code in i18n.CATALOG[group], (group, code)


def test_journal_codes_have_labels(store: Store, journalled: dict[str, Any]) -> None:
    for group, codes in _journal_codes(store).items():
        for code in sorted(codes):
            if group == "activities" and code in i18n.INTERNAL_ACTIVITIES:
                continue
            if group == "activities" and load_register().activity(code) is not None:
                continue
            assert code in i18n.CATALOG[group], (group, code)


def test_french_register_html_translated(store: Store, journalled: dict[str, Any], tmp_path: Path) -> None:
    english = _english_codes(_package_codes(), _journal_codes(store))
    _, [page] = export_register(store.engine, load_register(), Period(), "fr", ExportFormat.HTML, tmp_path / "r.html")
    collector = _TextCollector()
    collector.feed(page.read_text(encoding="utf-8"))

    assert _english_in(collector.texts, english) == []
    assert any("Clés de chiffrement détruites" in text for text in collector.texts)
    assert any(text.strip() == "échec" for text in collector.texts)


def test_french_register_csv_translated(store: Store, journalled: dict[str, Any], tmp_path: Path) -> None:
    english = _english_codes(_package_codes(), _journal_codes(store))
    _, files = export_register(store.engine, load_register(), Period(), "fr", ExportFormat.CSV, tmp_path / "csv")

    cells: dict[str, list[str]] = {}
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            cells[path.name] = [cell for row in csv.reader(handle, delimiter=";") for cell in row]
    for name, values in cells.items():
        assert _english_in(values, english) == [], name
    assert "succès" in cells["journal.csv"]
    assert "échec" in cells["journal.csv"]
    assert any("Adresses e-mail : 1" in cell for cell in cells["journal.csv"])


def test_french_register_json_labels(store: Store, journalled: dict[str, Any], tmp_path: Path) -> None:
    english = _english_codes(_package_codes(), _journal_codes(store))
    _, [path] = export_register(store.engine, load_register(), Period(), "fr", ExportFormat.JSON, tmp_path / "r.json")
    data = json.loads(path.read_text(encoding="utf-8"))

    displayed: list[str] = []
    for entry in data["journal"]:
        assert entry["status"] in JOURNAL_STATUSES
        assert set(entry["deletions_labels"]) == set(entry["deletions"])
        assert set(entry["entities_masked_labels"]) == set(entry["entities_masked"])
        displayed += [entry["activity_name"], entry["purpose_label"], entry["kind_label"], entry["status_label"]]
        displayed += [*entry["deletions_labels"].values(), *entry["entities_masked_labels"].values()]
        for extract in entry["extracts"]:
            displayed += [extract["name_label"], *extract["recipients_labels"]]
    for row in data["summary"]:
        assert set(row["deletions_labels"]) == set(row["deletions"])
        displayed += [row["name"], *row["deletions_labels"].values(), *row["entities_masked_labels"].values()]
    for activity in data["activities"]:
        displayed += [field["value"] for field in activity["fields"]]
    assert _english_in(displayed, english) == []
    assert "échec" in [entry["status_label"] for entry in data["journal"]]


def test_french_access_export_translated(store: Store, journalled: dict[str, Any]) -> None:
    english = _english_codes(_package_codes(), _journal_codes(store), _store_codes(store))
    export = json.loads(journalled["access_path"].read_text(encoding="utf-8"))

    displayed: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if not key.endswith("_code"):
                    displayed.append(key)
                    collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)
        elif isinstance(value, str):
            displayed.append(value)

    # The sections about the customer and their reviews hold their data as stored: only their
    # enumerated fields are checked.
    sections = ("demande", "consentements", "entrées_du_registre", "demandes_précédentes", "durées_de_conservation")
    for section in sections:
        collect(export[section])
    displayed.append(export["client"]["canal"])
    for review in export["avis"]:
        displayed += [review["source"], review["canal"]]
    for row in export["lignes_en_quarantaine"]:
        displayed += [row["source"], row["motif"]]
    assert _english_in(displayed, english) == []
    previous = export["demandes_précédentes"][0]
    assert previous["type_demande"] == "retrait du consentement"
    assert previous["type_demande_code"] == "withdrawal"
    assert previous["statut"] == "traitée"
    assert previous["finalité"] == "Publication des avis"
    assert export["entrées_du_registre"][0]["statut"] == "succès"


def test_french_access_export_labels_values(store: Store, journalled: dict[str, Any]) -> None:
    export = json.loads(journalled["access_path"].read_text(encoding="utf-8"))
    customer = export["client"]
    survey = [review for review in export["avis"] if review["source_code"] == "survey"]
    rows = export["lignes_en_quarantaine"]

    assert customer["canal"] == i18n.CATALOG["channels"][customer["canal_code"]]["fr"]
    assert survey
    for review in survey:
        assert review["source"] == "enquête de satisfaction"
        assert review["canal"] == i18n.CATALOG["channels"][review["canal_code"]]["fr"]
    assert len(rows) == len(INVALID_RESPONSES)
    assert {row["source"] for row in rows} == {"enquête de satisfaction"}
    assert sorted(row["motif"] for row in rows) == [
        "date illisible", "note hors de l'intervalle 1 à 5", "texte de l'avis vide",
    ]
    for row in rows:
        assert row["motif_code"] != row["motif"]


@pytest.mark.parametrize(
    ("tampering", "reason_code"),
    [
        ("UPDATE register_journal SET records_in = 99 WHERE seq = 2", "hash_mismatch"),
        ("UPDATE register_journal SET prev_hash = 'x' WHERE seq = 2", "link_mismatch"),
        ("DELETE FROM register_journal WHERE seq = 2", "entry_missing"),
    ],
)
def test_broken_chain_reason_translated(store: Store, tmp_path: Path, tampering: str, reason_code: str) -> None:
    for index in range(3):
        append_entry(store.engine, JournalEntry(activity="retention", purpose="retention", records_in=index))
    _tamper(store, tampering)
    report = verify_chain(store.engine)
    _, [page] = export_register(store.engine, load_register(), Period(), "fr", ExportFormat.HTML, tmp_path / "r.html")
    html = page.read_text(encoding="utf-8")
    data = build_export(store.engine, load_register(), Period(), "fr")

    assert report.reason_code == reason_code
    assert data["chain"]["reason_code"] == reason_code
    assert data["chain"]["reason_label"] == i18n.CATALOG["chain_breaks"][reason_code]["fr"]
    assert data["chain"]["reason_label"].replace("'", "&#39;") in html
    assert report.reason is not None
    assert report.reason not in html


def test_missing_retention_policy_translated(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The override gives the quarantine policy another category, so quarantine rows have no policy.
    override = tmp_path / "policies.yaml"
    override.write_text(
        "policies:\n  - name: quarantine\n    category: extracts\n    period: P1Y\n"
        "    start_event: collection\n    action: delete\n    legal_reference: test\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("REVIEW_GOV_RETENTION_POLICIES", str(override))
    data = build_export(store.engine, load_register(), Period(), "fr")
    described = data["retention_policies"]["quarantine_rows"]["description"]
    fields = {field["key"]: field["value"] for field in data["activities"][0]["fields"]}

    assert described == i18n.label("retention_not_configured", "fr")
    assert "(quarantine_rows) : aucune politique de conservation configurée" in fields["retention"]
    assert "not set" not in fields["retention"]
    assert "no retention policy" not in fields["retention"]


def test_french_retention_plan_translated(store: Store, journalled: dict[str, Any]) -> None:
    english = _english_codes(_package_codes(), _journal_codes(store))
    [path] = journalled["plan_reports"]
    report = json.loads(path.read_text(encoding="utf-8"))

    assert report["language"] == "fr"
    displayed = [
        policy[key] for policy in report["policies"]
        for key in ("label", "category_label", "period_label", "start_event_label", "action_label")
    ]
    assert _english_in(displayed, english) == []
    customer = next(policy for policy in report["policies"] if policy["policy"] == "customer_identity")
    assert customer["action"] == "anonymise"
    assert customer["action_label"] == "anonymisation"


def test_english_export_keeps_codes(store: Store, journalled: dict[str, Any], tmp_path: Path) -> None:
    _, [path] = export_register(store.engine, load_register(), Period(), "en", ExportFormat.JSON, tmp_path / "r.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    erasures = [entry for entry in data["journal"] if "data_keys_shredded" in entry["deletions"]]

    assert erasures
    for entry in erasures:
        assert entry["deletions_labels"]["data_keys_shredded"] == "Data keys destroyed"
    english_statuses = {
        "success": "success", "failed": "failed", "rejected": "rejected", "violation": "consent violation",
    }
    for entry in data["journal"]:
        assert entry["status_label"] == english_statuses[entry["status"]]


def test_quarantine_reason_labels() -> None:
    cases = {
        "malformed JSON: Expecting value at column 1": "JSON mal formé",
        "malformed JSON page from the platform": "page JSON mal formée venant de la plateforme",
        "expected 5 fields, found 7": "nombre de champs incorrect",
        "unknown customer id '…'": "identifiant client inconnu",
        "Input should be a valid string": i18n.CATALOG["quarantine_reasons"]["other"]["fr"],
    }
    for reason, expected in cases.items():
        assert i18n.reason_label(reason, "fr") == expected, reason
    assert i18n.reason_label("empty review text", "en") == "empty review text"


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Print the command tables 250 columns wide, so that no cell is wrapped or cut."""
    monkeypatch.setattr(governance.cli.console, "width", 250)
    monkeypatch.setattr(governance.cli.dsr.console, "width", 250)


def test_summary_command_french_default(
    journalled: dict[str, Any], wide_console: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REVIEW_GOV_LANGUAGE", raising=False)
    result = CliRunner().invoke(app, ["summary"])

    assert result.exit_code == 0, result.output
    assert "Gouvernance des avis : bilan des exécutions" in result.output
    assert "avis enregistrés : enquête de satisfaction" in result.output
    assert "mis en quarantaine : enquête de satisfaction : note hors de l'intervalle 1 à 5" in result.output
    assert "effacés par la conservation : Clés de chiffrement détruites" in result.output
    assert "chaîne de hachage du journal" in result.output
    for english in ("reviews stored", "quarantined", "rating out of range", "survey", "journal hash chain"):
        assert english not in result.output, english


def test_summary_command_english(journalled: dict[str, Any], wide_console: None) -> None:
    result = CliRunner().invoke(app, ["summary", "--lang", "en"])

    assert result.exit_code == 0, result.output
    assert "Review governance: run summary" in result.output
    assert "reviews stored: satisfaction survey" in result.output
    assert "quarantined: satisfaction survey: rating out of range 1 to 5" in result.output
    assert "deleted by retention: Data keys destroyed" in result.output
    assert "avis enregistrés" not in result.output


def test_summary_language_from_settings(
    journalled: dict[str, Any], wide_console: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVIEW_GOV_LANGUAGE", "en")
    assert "Review governance: run summary" in CliRunner().invoke(app, ["summary"]).output
    rejected = CliRunner().invoke(app, ["summary", "--lang", "de"])
    assert rejected.exit_code == 2
    assert "'de' is not supported" in rejected.output


def test_dsr_list_command_languages(journalled: dict[str, Any], wide_console: None) -> None:
    french = CliRunner().invoke(app, ["dsr", "list", "--lang", "fr"])
    english = CliRunner().invoke(app, ["dsr", "list", "--lang", "en"])

    assert french.exit_code == 0, french.output
    assert "Demandes des personnes concernées" in french.output
    for label in ("retrait du consentement", "Publication des avis", "effacement", "accès", "traitée", "rejetée"):
        assert label in french.output, label
    for code in ("withdrawal", "review_publication", "erasure", "completed", "rejected"):
        assert code not in french.output, code
    assert english.exit_code == 0, english.output
    assert "Data subject requests" in english.output
    for label in ("consent withdrawal", "Publishing reviews", "erasure", "access", "completed", "rejected"):
        assert label in english.output, label
