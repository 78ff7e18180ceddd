"""Readers for the internal CRM export: customers and their consents, as CSV files."""

from __future__ import annotations

import csv
from collections.abc import Container, Iterator, Mapping
from pathlib import Path
from typing import ClassVar

from governance.sources.base import Connector, FileOptions, PullContext, PullState, SourceKind
from governance.sources.parsing import INVALID_TEXT_REASON, has_invalid_text, parse_date
from governance.sources.records import PURPOSES, ConsentRecord, CustomerRecord, Rejected
from governance.sources.trustpilot_csv import _reason

CUSTOMERS_SOURCE = "crm_customers"
CONSENTS_SOURCE = "crm_consents"


def _rows(path: Path, required: list[str]) -> Iterator[tuple[str, dict[str, str], str]]:
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing columns {missing}; found {reader.fieldnames}.")
        for row in reader:
            raw = ",".join(str(value) for value in row.values())
            yield f"{path.name}:line {reader.line_num}", row, raw


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
    for ref, row, raw in _rows(path, CUSTOMER_COLUMNS):
        if has_invalid_text(raw):
            yield Rejected(CUSTOMERS_SOURCE, ref, INVALID_TEXT_REASON, raw)
            continue
        try:
            yield customer_from_row(row)
        except ValueError as error:
            yield Rejected(CUSTOMERS_SOURCE, ref, _reason(error), raw, customer_id=row.get("customer_id"))


def consent_from_row(row: Mapping[str, str], known_customers: Container[str]) -> ConsentRecord:
    """Build a consent from a row of text values; raise ValueError naming what is invalid."""
    customer_id = row["customer_id"].strip()
    purpose = row["purpose"].strip()
    if customer_id not in known_customers:
        raise ValueError(f"unknown customer id {customer_id!r}")
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
    granted_at = parse_date(row["granted_at"])
    withdrawn_at = parse_date(row["withdrawn_at"]) if row["withdrawn_at"].strip() else None
    if withdrawn_at is not None and withdrawn_at < granted_at:
        raise ValueError("withdrawal is dated before its grant")
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


def read_consents(path: Path, known_customers: Container[str]) -> Iterator[ConsentRecord | Rejected]:
    for ref, row, raw in _rows(path, CONSENT_COLUMNS):
        if has_invalid_text(raw):
            yield Rejected(CONSENTS_SOURCE, ref, INVALID_TEXT_REASON, raw)
            continue
        try:
            yield consent_from_row(row, known_customers)
        except ValueError as error:
            customer_id = row["customer_id"].strip() or None
            yield Rejected(CONSENTS_SOURCE, ref, _reason(error), raw, customer_id=customer_id)


class CustomersCsv(Connector):
    """CRM customers from a CSV export."""

    type_name: ClassVar[str] = "crm_customers_csv"
    kind: ClassVar[SourceKind] = SourceKind.CUSTOMERS
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[CustomerRecord | Rejected]:
        state.full_listing = False
        return read_customers(self.options.resolve(ctx.input_dir))


class ConsentsCsv(Connector):
    """Consents of CRM customers from a CSV export; rows naming an unknown customer are rejected."""

    type_name: ClassVar[str] = "crm_consents_csv"
    kind: ClassVar[SourceKind] = SourceKind.CONSENTS
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[ConsentRecord | Rejected]:
        state.full_listing = False
        return read_consents(self.options.resolve(ctx.input_dir), ctx.subjects)
