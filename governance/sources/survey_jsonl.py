"""Reader for the internal survey export: one JSON object per line.

Fields: `response_id, customer_id, submitted_at, rating, comment, language, channel`. A response
whose customer is not in the CRM is rejected, since a review that names no known customer cannot
be tied to a consent.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from governance.sources.base import Connector, FileOptions, PullContext, PullState, Record
from governance.sources.parsing import INVALID_TEXT_REASON, has_invalid_text, parse_date, parse_rating
from governance.sources.records import Rejected, ReviewRecord
from governance.sources.text import clean_text
from governance.sources.trustpilot_csv import _reason

SOURCE = "survey"
TYPE = "survey_jsonl"


def read(path: Path, known_customers: Container[str]) -> Iterator[ReviewRecord | Rejected]:
    """Yield one review per line, or a Rejected row with its reason."""
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for line_number, line in enumerate(handle, start=1):
            ref = f"{path.name}:line {line_number}"
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                if has_invalid_text(line):
                    yield Rejected(SOURCE, ref, INVALID_TEXT_REASON, line)
                    continue
                yield Rejected(SOURCE, ref, f"malformed JSON: {error.msg} at column {error.colno}", line)
                continue
            if not isinstance(item, dict):
                yield Rejected(SOURCE, ref, "malformed row: expected a JSON object", line)
                continue
            if has_invalid_text(line) or has_invalid_text(json.dumps(item, ensure_ascii=False)):
                yield Rejected(SOURCE, ref, INVALID_TEXT_REASON, line)
                continue
            customer_id = str(item.get("customer_id") or "")
            if customer_id not in known_customers:
                yield Rejected(SOURCE, ref, f"unknown customer id {customer_id!r}", line, reader=TYPE)
                continue
            try:
                yield response_from_item(item, known_customers)
            except ValueError as error:
                yield Rejected(SOURCE, ref, _reason(error), line, customer_id=customer_id, reader=TYPE)


def response_from_item(item: Mapping[str, Any], known_customers: Container[str], source: str = SOURCE) -> ReviewRecord:
    """Build a review from one survey response; raise ValueError naming what is invalid."""
    customer_id = str(item.get("customer_id") or "").strip()
    if customer_id not in known_customers:
        raise ValueError(f"unknown customer id {customer_id!r}")
    response_id = str(item.get("response_id") or "")
    if not response_id.strip():
        raise ValueError("missing review id: set response_id in the survey export")
    return ReviewRecord(
        source=source,
        external_id=response_id,
        review_date=parse_date(str(item.get("submitted_at") or "")),
        rating=parse_rating(item.get("rating")),
        text=clean_text(str(item.get("comment") or "")),
        language=item.get("language") or None,
        customer_id=customer_id,
        channel=item.get("channel") or None,
    )


class SurveyJsonl(Connector):
    """Survey responses from a JSONL export; responses of unknown customers are rejected."""

    type_name: ClassVar[str] = TYPE
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[ReviewRecord | Rejected]:
        state.full_listing = False
        return read(self.options.resolve(ctx.input_dir), ctx.subjects)

    def reread(self, payload: str, ctx: PullContext) -> Record:
        """Read a stored line again: only lines that were valid JSON objects are retried."""
        return response_from_item(json.loads(payload), ctx.subjects, source=self.name)
