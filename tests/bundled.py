"""Loading of the bundled sample data into a test store: the internal exports and a slice of Trustpilot."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from governance.ingest import load_consents, load_customers, load_reviews
from governance.sources import crm_csv, survey_jsonl, trustpilot_csv
from governance.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
INTERNAL = EXAMPLES / "internal"
TRUSTPILOT_ROWS = 300


def _of_customers(items: Iterable[Any], known: set[str]) -> Iterator[Any]:
    return (item for item in items if item.customer_id in known)


def load_bundled(store: Store, customers_limit: int | None = None) -> None:
    """Load the CRM customers (all, or the first `customers_limit`), their consents and survey
    responses, and the first Trustpilot reviews."""
    rows = crm_rows()[:customers_limit]
    known = {row["customer_id"] for row in rows}
    customer_items = crm_csv.read_customers(INTERNAL / "crm_customers.csv")
    consents = crm_csv.read_consents(INTERNAL / "consents.csv", known)
    surveys = survey_jsonl.read(INTERNAL / "survey_responses.jsonl", known)
    if customers_limit is not None:
        customer_items, consents, surveys = (
            _of_customers(items, known) for items in (customer_items, consents, surveys)
        )
    load_customers(store, customer_items, crm_csv.CUSTOMERS_SOURCE)
    load_consents(store, consents, crm_csv.CONSENTS_SOURCE)
    load_reviews(store, surveys, survey_jsonl.SOURCE)
    trustpilot = islice(trustpilot_csv.read(EXAMPLES / "reviews" / "trustpilot_fr_export.csv"), TRUSTPILOT_ROWS)
    load_reviews(store, trustpilot, trustpilot_csv.SOURCE)


def crm_rows() -> list[dict[str, str]]:
    with (INTERNAL / "crm_customers.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def crm_values() -> dict[str, set[str]]:
    """Return the CRM export's identifying values: ids and contacts, full names and last names."""
    values: dict[str, set[str]] = {"exact": set(), "full_name": set(), "last_name": set()}
    for row in crm_rows():
        for column in ("customer_id", "email", "phone", "postal_address"):
            if row.get(column):
                values["exact"].add(row[column].strip())
        if row.get("first_name") and row.get("last_name"):
            values["full_name"].add(f"{row['first_name']} {row['last_name']}".strip())
            values["last_name"].add(row["last_name"].strip())
    return values


def crm_leaks(text: str, values: dict[str, set[str]], ordinary_words: set[str]) -> dict[str, list[str]]:
    """Return the CRM values found in `text`, by kind.

    A last name alone counts only as a whole word that is not one of `ordinary_words`, the words
    of the text's own template (a last name such as "Martin" or "Petit" is also an ordinary word).
    """
    words = set(re.findall(r"\w+", text))
    return {
        "exact": sorted(value for value in values["exact"] if value in text),
        "full_name": sorted(value for value in values["full_name"] if value in text),
        "last_name": sorted((words & values["last_name"]) - ordinary_words),
    }
