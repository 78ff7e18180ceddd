"""Readers for the internal CRM export: customers and their consents, as CSV files."""

from __future__ import annotations

import csv
from collections.abc import Container, Iterator
from pathlib import Path

from governance.sources.parsing import parse_date
from governance.sources.records import PURPOSES, ConsentRecord, CustomerRecord, Rejected
from governance.sources.trustpilot_csv import _reason

CUSTOMERS_SOURCE = "crm_customers"
CONSENTS_SOURCE = "crm_consents"


def _rows(path: Path, required: list[str]) -> Iterator[tuple[str, dict[str, str], str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [column for column in required if column not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing columns {missing}; found {reader.fieldnames}.")
        for row in reader:
            raw = ",".join(str(value) for value in row.values())
            yield f"{path.name}:line {reader.line_num}", row, raw


def read_customers(path: Path) -> Iterator[CustomerRecord | Rejected]:
    required = ["customer_id", "first_name", "last_name", "email", "phone", "postal_address",
                "created_at", "last_contact_at", "channel"]
    for ref, row, raw in _rows(path, required):
        try:
            yield CustomerRecord(
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
        except ValueError as error:
            yield Rejected(CUSTOMERS_SOURCE, ref, _reason(error), raw, customer_id=row.get("customer_id"))


def read_consents(path: Path, known_customers: Container[str]) -> Iterator[ConsentRecord | Rejected]:
    required = ["consent_id", "customer_id", "purpose", "granted_at", "withdrawn_at", "source",
                "policy_version"]
    for ref, row, raw in _rows(path, required):
        customer_id = row["customer_id"].strip()
        purpose = row["purpose"].strip()

        def reject(reason: str) -> Rejected:
            return Rejected(CONSENTS_SOURCE, ref, reason, raw, customer_id=customer_id or None)

        if customer_id not in known_customers:
            yield reject(f"unknown customer id {customer_id!r}")
            continue
        if purpose not in PURPOSES:
            yield reject(f"unknown purpose {purpose!r}; expected one of {', '.join(PURPOSES)}")
            continue
        try:
            granted_at = parse_date(row["granted_at"])
            withdrawn_at = parse_date(row["withdrawn_at"]) if row["withdrawn_at"].strip() else None
        except ValueError as error:
            yield reject(_reason(error))
            continue
        if withdrawn_at is not None and withdrawn_at < granted_at:
            yield reject("withdrawal is dated before its grant")
            continue
        yield ConsentRecord(
            consent_id=row["consent_id"].strip(),
            customer_id=customer_id,
            purpose=purpose,
            granted_at=granted_at,
            withdrawn_at=withdrawn_at,
            source=row["source"] or None,
            policy_version=row["policy_version"] or None,
            proof_ref=row.get("privacy_policy_url") or None,
        )
