"""Readers for the internal CRM export: customers and their consents, as CSV files."""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Container, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from governance.sources.base import Connector, FileOptions, PullContext, PullState, Record, SourceKind
from governance.sources.parsing import INVALID_TEXT_REASON, has_invalid_text, parse_date
from governance.sources.records import ConsentRecord, CustomerRecord, Rejected
from governance.sources.trustpilot_csv import _reason

CUSTOMERS_SOURCE = "crm_customers"
CONSENTS_SOURCE = "crm_consents"
CUSTOMERS_TYPE = "crm_customers_csv"
CONSENTS_TYPE = "crm_consents_csv"

# Exports write consent dates as midnight UTC, so a consent given today east of UTC can be dated
# tomorrow. Past this margin, an event dated after the load cannot be true.
FUTURE_DATE_TOLERANCE = timedelta(days=1)


def _rows(path: Path, required: list[str]) -> Iterator[tuple[str, dict[str, str], str, str | None]]:
    """Yield each row's reference, values, raw text, and what is wrong with its shape (or None)."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        missing = [column for column in required if column not in columns]
        if missing:
            raise ValueError(f"{path.name}: missing columns {missing}; found {reader.fieldnames}.")
        for row in reader:
            # DictReader puts the fields beyond the header under None, and gives None to the
            # columns that a short row lacks.
            extra = row.pop(None, None) or []  # type: ignore[call-overload]
            absent = [column for column, value in row.items() if value is None]
            values = {column: value or "" for column, value in row.items()}
            raw = ",".join([*values.values(), *extra])
            problem = None
            if extra:
                problem = (
                    f"row has {len(columns) + len(extra)} fields, expected {len(columns)}: "
                    "quote the values that contain a comma"
                )
            elif absent:
                problem = f"row has {len(columns) - len(absent)} fields, expected {len(columns)}: missing {absent}"
            yield f"{path.name}:line {reader.line_num}", values, raw, problem


CUSTOMER_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "postal_address",
                    "created_at", "last_contact_at", "channel"]
CONSENT_COLUMNS = ["consent_id", "customer_id", "purpose", "granted_at", "withdrawn_at", "source",
                   "policy_version"]


def customer_from_row(row: Mapping[str, str]) -> CustomerRecord:
    """Build a customer from a row of text values; raise ValueError when a value is invalid."""
    return CustomerRecord(
        customer_id=row["customer_id"].strip(),
        first_name=row["first_name"] or None,
        last_name=row["last_name"] or None,
        email=row["email"] or None,
        phone=row["phone"] or None,
        postal_address=row["postal_address"] or None,
        created_at=parse_date(row["created_at"]),
        last_contact_at=parse_date(row["last_contact_at"]),
        channel=row["channel"] or None,
    )


def read_customers(path: Path) -> Iterator[CustomerRecord | Rejected]:
    for ref, row, raw, problem in _rows(path, CUSTOMER_COLUMNS):
        if has_invalid_text(raw):
            yield Rejected(CUSTOMERS_SOURCE, ref, INVALID_TEXT_REASON, raw)
            continue
        if problem is not None:
            yield Rejected(CUSTOMERS_SOURCE, ref, problem, raw, customer_id=row["customer_id"].strip() or None)
            continue
        try:
            yield customer_from_row(row)
        except ValueError as error:
            yield Rejected(
                CUSTOMERS_SOURCE, ref, _reason(error), raw, customer_id=row.get("customer_id"),
                reader=CUSTOMERS_TYPE, row=json.dumps(row, ensure_ascii=False),
            )


def consent_from_row(
    row: Mapping[str, str],
    known_customers: Container[str],
    *,
    purposes: Collection[str] | None = None,
    loaded_at: datetime | None = None,
) -> ConsentRecord:
    """Build a consent from a row of text values; raise ValueError naming what is invalid.

    `purposes` are the declared purpose names (default: the configured purposes file), and
    `loaded_at` (default: now) the time after which no consent event can have happened yet.
    """
    if purposes is None:
        from governance.consent.purposes import current_purposes

        purposes = current_purposes().names()
    customer_id = row["customer_id"].strip()
    purpose = row["purpose"].strip()
    if customer_id not in known_customers:
        raise ValueError(f"unknown customer id {customer_id!r}")
    if purpose not in purposes:
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {', '.join(purposes)}")
    granted_at = parse_date(row["granted_at"])
    withdrawn_at = parse_date(row["withdrawn_at"]) if row["withdrawn_at"].strip() else None
    if withdrawn_at is not None and withdrawn_at < granted_at:
        raise ValueError("withdrawal is dated before its grant")
    latest_possible = (loaded_at or datetime.now(UTC)) + FUTURE_DATE_TOLERANCE
    if max(granted_at, withdrawn_at or granted_at) > latest_possible:
        raise ValueError(f"consent dated in the future: after the load time {latest_possible.date().isoformat()}")
    return ConsentRecord(
        consent_id=row["consent_id"].strip(),
        customer_id=customer_id,
        purpose=purpose,
        granted_at=granted_at,
        withdrawn_at=withdrawn_at,
        source=row["source"] or None,
        policy_version=row["policy_version"] or None,
        proof_ref=row.get("privacy_policy_url") or None,
    )


def read_consents(
    path: Path,
    known_customers: Container[str],
    purposes: Collection[str] | None = None,
    *,
    loaded_at: datetime | None = None,
) -> Iterator[ConsentRecord | Rejected]:
    """Read consent rows; reject duplicate ids and every row `consent_from_row` finds invalid."""
    seen_ids: set[str] = set()
    for ref, row, raw, problem in _rows(path, CONSENT_COLUMNS):
        if has_invalid_text(raw):
            yield Rejected(CONSENTS_SOURCE, ref, INVALID_TEXT_REASON, raw)
            continue
        customer_id = row["customer_id"].strip() or None
        if problem is not None:
            yield Rejected(CONSENTS_SOURCE, ref, problem, raw, customer_id=customer_id)
            continue
        consent_id = row["consent_id"].strip()
        if consent_id in seen_ids:
            reason = f"duplicate consent id {consent_id!r} in the same export"
            yield Rejected(CONSENTS_SOURCE, ref, reason, raw, customer_id=customer_id)
            continue
        seen_ids.add(consent_id)
        try:
            yield consent_from_row(row, known_customers, purposes=purposes, loaded_at=loaded_at)
        except ValueError as error:
            yield Rejected(
                CONSENTS_SOURCE, ref, _reason(error), raw, customer_id=customer_id,
                reader=CONSENTS_TYPE, row=json.dumps(row, ensure_ascii=False),
            )


class CustomersCsv(Connector):
    """CRM customers from a CSV export."""

    type_name: ClassVar[str] = CUSTOMERS_TYPE
    kind: ClassVar[SourceKind] = SourceKind.CUSTOMERS
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[CustomerRecord | Rejected]:
        state.full_listing = False
        return read_customers(self.options.resolve(ctx.input_dir))

    def reread(self, payload: str, ctx: PullContext) -> Record:
        return customer_from_row(json.loads(payload))


class ConsentsCsv(Connector):
    """Consents of CRM customers from a CSV export; rows naming an unknown customer are rejected."""

    type_name: ClassVar[str] = CONSENTS_TYPE
    kind: ClassVar[SourceKind] = SourceKind.CONSENTS
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[ConsentRecord | Rejected]:
        state.full_listing = False
        return read_consents(self.options.resolve(ctx.input_dir), ctx.subjects)

    def reread(self, payload: str, ctx: PullContext) -> Record:
        return consent_from_row(json.loads(payload), ctx.subjects)
