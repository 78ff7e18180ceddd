"""The access export: every piece of data held on one customer, in one JSON file, in French or English.

It gathers the customer record, their reviews (raw and masked text), their consent events and the
state derived from them, and the quarantine rows that name them. It adds the extract lines they
appear in, the register entries about them, their earlier requests, and the retention period of
each category (GDPR Art. 15(1)(d)). Register entries are listed without their details, because
one entry counts the records of many people.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from governance.private_files import write_private_text
from governance.register import i18n
from governance.register.journal import iter_entries
from governance.retention.erasure import quarantine_mentions
from governance.retention.extracts import SubjectMatcher, find_subject_lines
from governance.retention.policies import RetentionConfig
from governance.store import Store
from governance.store.schema import consent_events, customers, data_subject_requests, masked_reviews, quarantine, reviews

# Field names of the export per language; English uses the names as they are. Enumerated values
# take their labels from the register's catalog (governance/register/labels.yaml).
FIELD_NAMES: dict[str, dict[str, str]] = {
    "fr": {
        "request": "demande",
        "request_id": "identifiant_demande",
        "request_type": "type_demande",
        "received_at": "reçue_le",
        "due_at": "échéance",
        "generated_at": "générée_le",
        "customer": "client",
        "customer_id": "identifiant_client",
        "first_name": "prénom",
        "last_name": "nom",
        "email": "e-mail",
        "phone": "téléphone",
        "postal_address": "adresse_postale",
        "channel": "canal",
        "created_at": "créé_le",
        "last_contact_at": "dernier_contact_le",
        "reviews": "avis",
        "review_id": "identifiant_avis",
        "source": "source",
        "review_date": "date_avis",
        "experience_date": "date_expérience",
        "rating": "note",
        "title": "titre",
        "text": "texte",
        "author": "auteur",
        "language": "langue",
        "masked_text": "texte_masqué",
        "consents": "consentements",
        "consent_events": "événements",
        "consent_state": "état_par_finalité",
        "consent_id": "identifiant_consentement",
        "purpose": "finalité",
        "event_type": "événement",
        "occurred_at": "date",
        "policy_version": "version_politique",
        "proof_ref": "référence_preuve",
        "quarantine": "lignes_en_quarantaine",
        "source_ref": "référence_source",
        "reason": "motif",
        "payload": "contenu",
        "extracts": "extractions",
        "file": "fichier",
        "lines": "lignes",
        "register_entries": "entrées_du_registre",
        "seq": "numéro",
        "recorded_at": "enregistrée_le",
        "activity": "activité",
        "status": "statut",
        "requests": "demandes_précédentes",
        "retention": "durées_de_conservation",
        "category": "catégorie",
        "period": "durée",
        "start_event": "point_de_départ",
        "action": "action",
    },
    "en": {},
}


# Enumerated fields of each part of the export, with their group in the label catalog.
REQUEST_VALUES = {"request_type": "request_types", "purpose": "purposes", "status": "request_statuses"}
CONSENT_EVENT_VALUES = {"purpose": "purposes", "event_type": "consent_event_types", "source": "consent_sources"}
JOURNAL_VALUES = {"activity": "activities", "purpose": "purposes", "status": "statuses"}
CUSTOMER_VALUES = {"channel": "channels"}
REVIEW_VALUES = {"source": "review_sources", "channel": "channels"}
QUARANTINE_VALUES = {"source": "review_sources"}


class Labeller:
    """Translates the export's field names, and its enumerated values into labels."""

    def __init__(self, language: str) -> None:
        self.language = i18n.check_language(language)
        self.table = FIELD_NAMES.get(language, {})

    def __call__(self, name: str) -> str:
        return self.table.get(name, name)

    def value(self, group: str, code: str) -> str:
        return i18n.value_label(group, code, self.language)

    def quarantine_record(self, values: dict[str, Any]) -> dict[str, Any]:
        """Translate a quarantine row; its reason gets a label, and the stored English reason in `<reason>_code`."""
        reason = values["reason"]
        record = self.record({key: value for key, value in values.items() if key != "reason"}, QUARANTINE_VALUES)
        record[self("reason")] = i18n.reason_label(reason, self.language)
        record[f"{self('reason')}_code"] = reason
        return record

    def record(self, values: dict[str, Any], enumerated: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Translate the keys; give each `enumerated` field its label, and its stored code in `<field>_code`.

        `enumerated` maps a field name to its group in the label catalog.
        """
        enumerated = enumerated or {}
        record: dict[str, Any] = {}
        for key, value in values.items():
            group = enumerated.get(key)
            if group is None:
                record[self(key)] = _plain(value)
                continue
            record[self(key)] = None if value is None else self.value(group, value)
            record[f"{self(key)}_code"] = value
        return record


def _plain(value: Any) -> Any:
    """Convert dates and other non-JSON values to strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _customer(store: Store, conn: Connection, customer_id: str) -> tuple[dict[str, Any], str]:
    row = conn.execute(select(customers).where(customers.c.customer_id == customer_id)).mappings().one()
    record: dict[str, Any] = {"customer_id": customer_id}
    for column in ("first_name", "last_name", "email", "phone", "postal_address"):
        record[column] = store.decrypt(
            conn, row["subject_id"], row[f"{column}_enc"], f"customers:{customer_id}:{column}"
        )
    for column in ("channel", "created_at", "last_contact_at"):
        record[column] = row[column]
    return record, row["subject_id"]


def _reviews(store: Store, conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    query = (
        select(reviews, masked_reviews.c.masked_text)
        .outerjoin(masked_reviews, masked_reviews.c.review_id == reviews.c.review_id)
        .where(reviews.c.customer_id == customer_id)
        .order_by(reviews.c.review_date, reviews.c.review_id)
    )
    found = []
    for row in conn.execute(query).mappings():
        context = f"reviews:{row['review_id']}"
        found.append(
            {
                "review_id": row["review_id"],
                "source": row["source"],
                "review_date": row["review_date"],
                "experience_date": row["experience_date"],
                "rating": row["rating"],
                "title": store.decrypt(conn, row["subject_id"], row["title_enc"], f"{context}:title"),
                "text": store.decrypt(conn, row["subject_id"], row["text_enc"], f"{context}:text"),
                "author": store.decrypt(conn, row["subject_id"], row["author_enc"], f"{context}:author"),
                "language": row["language"],
                "channel": row["channel"],
                "masked_text": row["masked_text"],
            }
        )
    return found


def _consents(conn: Connection, customer_id: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    events = []
    state: dict[str, str] = {}
    query = (
        select(consent_events)
        .where(consent_events.c.customer_id == customer_id)
        .order_by(consent_events.c.occurred_at, consent_events.c.event_id)
    )
    for row in conn.execute(query).mappings():
        events.append(
            {
                key: row[key]
                for key in ("consent_id", "purpose", "event_type", "occurred_at", "source", "policy_version", "proof_ref")
            }
        )
        state[row["purpose"]] = "active" if row["event_type"] == "grant" else "withdrawn"
    return events, state


def _quarantine(store: Store, conn: Connection, customer_id: str, needles: list[str]) -> list[dict[str, Any]]:
    linked = list(conn.execute(select(quarantine.c.quarantine_id).where(quarantine.c.customer_id == customer_id)).scalars())
    ids = linked + quarantine_mentions(store, conn, needles)
    rows = []
    if not ids:
        return rows
    for row in conn.execute(
        select(quarantine).where(quarantine.c.quarantine_id.in_(ids)).order_by(quarantine.c.created_at)
    ).mappings():
        rows.append(
            {
                "source": row["source"],
                "source_ref": row["source_ref"],
                "reason": row["reason"],
                "created_at": row["created_at"],
                "payload": store.decrypt(conn, row["subject_id"], row["payload_enc"], f"quarantine:{row['quarantine_id']}"),
            }
        )
    return rows


def _register_entries(store: Store, ids: set[str]) -> list[dict[str, Any]]:
    """Return the journal entries whose details name one of the ids, without the details."""
    quoted = [json.dumps(identifier) for identifier in ids]
    entries = []
    for row in iter_entries(store.engine):
        if any(identifier in row["details"] for identifier in quoted):
            entries.append(
                {key: row[key] for key in ("seq", "recorded_at", "activity", "purpose", "status", "dag_id", "run_id")}
            )
    return entries


def _previous_requests(conn: Connection, subject_hash: str, request_id: str) -> list[dict[str, Any]]:
    query = (
        select(data_subject_requests)
        .where(data_subject_requests.c.subject_hash == subject_hash, data_subject_requests.c.request_id != request_id)
        .order_by(data_subject_requests.c.received_at)
    )
    return [
        {key: row[key] for key in ("request_id", "request_type", "purpose", "received_at", "due_at", "status")}
        for row in conn.execute(query).mappings()
    ]


def _retention(config: RetentionConfig, language: str) -> list[dict[str, Any]]:
    """Describe each retention policy; the period is written out, with its ISO 8601 form in `_code`."""
    label = Labeller(language)
    return [
        {
            label("category"): policy.display_name(language),
            label("period"): i18n.format_period(policy.period, language),
            f"{label('period')}_code": policy.period.iso(),
            **label.record(
                {"start_event": policy.start_event.value, "action": policy.action.value},
                enumerated={"start_event": "retention_event_names", "action": "retention_action_names"},
            ),
        }
        for policy in config.policies
    ]


def build_access_export(
    store: Store,
    *,
    request: dict[str, Any],
    customer_id: str,
    subject_hash: str,
    extracts_dir: Path,
    config: RetentionConfig,
) -> tuple[dict[str, Any], dict[str, int]]:
    """Collect everything held on a customer; return the labelled export and its counts per category."""
    label = Labeller(request["language"])
    with store.engine.connect() as conn:
        customer, _subject = _customer(store, conn, customer_id)
        review_rows = _reviews(store, conn, customer_id)
        events, state = _consents(conn, customer_id)
        needles = [customer_id, customer.get("email") or "", customer.get("phone") or ""]
        quarantine_rows = _quarantine(store, conn, customer_id, needles)
        previous = _previous_requests(conn, subject_hash, request["request_id"])
    review_ids = {row["review_id"] for row in review_rows}
    extract_lines = find_subject_lines(extracts_dir, SubjectMatcher({customer_id}, review_ids))
    consent_ids = {event["consent_id"] for event in events}
    register_ids = {
        customer_id, *review_ids, *consent_ids, request["request_id"], *(item["request_id"] for item in previous)
    }
    register = _register_entries(store, register_ids)

    export = {
        label("request"): label.record({**request, "generated_at": datetime.now(UTC)}, enumerated=REQUEST_VALUES),
        label("customer"): label.record(customer, enumerated=CUSTOMER_VALUES),
        label("reviews"): [label.record(row, enumerated=REVIEW_VALUES) for row in review_rows],
        label("consents"): {
            label("consent_events"): [label.record(event, enumerated=CONSENT_EVENT_VALUES) for event in events],
            label("consent_state"): {
                label.value("purposes", purpose): label.value("consent_states", status)
                for purpose, status in sorted(state.items())
            },
            f"{label('consent_state')}_code": dict(sorted(state.items())),
        },
        label("quarantine"): [label.quarantine_record(row) for row in quarantine_rows],
        label("extracts"): [
            {label("file"): str(path.relative_to(extracts_dir)), label("lines"): _plain(lines)}
            for path, lines in extract_lines.items()
        ],
        label("register_entries"): [label.record(entry, enumerated=JOURNAL_VALUES) for entry in register],
        label("requests"): [label.record(item, enumerated=REQUEST_VALUES) for item in previous],
        label("retention"): _retention(config, request["language"]),
    }
    counts = {
        "customer": 1,
        "reviews": len(review_rows),
        "consent_events": len(events),
        "quarantine": len(quarantine_rows),
        "extract_lines": sum(len(lines) for lines in extract_lines.values()),
        "register_entries": len(register),
    }
    return export, counts


def write_export(export: dict[str, Any], path: Path) -> Path:
    """Write the export as UTF-8 JSON, readable by its owner only, through a temporary file."""
    return write_private_text(path, json.dumps(export, indent=2, ensure_ascii=False))
