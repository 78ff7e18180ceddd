"""Loading of the bundled sample data into a test store: the internal exports and a slice of Trustpilot."""

from __future__ import annotations

import csv
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
