"""Reader for Trustpilot CSV exports made by hand from the business portal.

The export is `;`-separated with columns `auteur;opinion;commentaire;note;date`, ratings with a
decimal comma (`3,5`) and French dates with a leading space (` 17 juillet 2023`). It carries no
review id, so the external id is a hash of the author, date, title and text: the same row always
gets the same id, and an identical duplicate row collapses into one review.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from pydantic import ValidationError

from governance.sources.base import Connector, FileOptions, PullContext, PullState, Record
from governance.sources.parsing import INVALID_TEXT_REASON, has_invalid_text, parse_date, parse_rating
from governance.sources.records import Rejected, ReviewRecord
from governance.sources.text import clean_text, optional_text

SOURCE = "trustpilot_csv"
TYPE = "trustpilot_csv"
COLUMNS = ["auteur", "opinion", "commentaire", "note", "date"]


def read(path: Path) -> Iterator[ReviewRecord | Rejected]:
    """Yield one review per data row, or a Rejected row with the reason it could not be read."""
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        header = next(reader, None)
        if header != COLUMNS:
            raise ValueError(
                f"{path.name}: unexpected header {header!r}; expected {';'.join(COLUMNS)} "
                "(a Trustpilot CSV export)."
            )
        for row in reader:
            ref = f"{path.name}:line {reader.line_num}"
            raw = ";".join(row)
            if has_invalid_text(raw):
                yield Rejected(SOURCE, ref, INVALID_TEXT_REASON, raw)
                continue
            if len(row) != len(COLUMNS):
                yield Rejected(SOURCE, ref, f"expected {len(COLUMNS)} fields, found {len(row)}", raw)
                continue
            try:
                yield review_from_fields(row)
            except ValueError as error:
                yield Rejected(SOURCE, ref, _reason(error), raw, reader=TYPE, row=json.dumps(row, ensure_ascii=False))


def review_from_fields(row: list[str], source: str = SOURCE) -> ReviewRecord:
    """Build a review from the five fields of a data row; raise ValueError naming what is invalid.

    The external id hashes the fields as exported, so decoding HTML in the title and text does not
    change the ids of reviews already stored.
    """
    author, title, text, rating, date = row
    review_date = parse_date(date)
    external_id = hashlib.sha256(
        "\x1f".join([author, date.strip(), title, text]).encode("utf-8")
    ).hexdigest()[:40]
    return ReviewRecord(
        source=source,
        external_id=external_id,
        review_date=review_date,
        rating=parse_rating(rating),
        title=optional_text(title),
        text=clean_text(text),
        author=author or None,
    )


class TrustpilotCsv(Connector):
    """A Trustpilot CSV export made by hand; it has no review id, so deletions cannot be seen."""

    type_name: ClassVar[str] = TYPE
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[ReviewRecord | Rejected]:
        state.full_listing = False
        return read(self.options.resolve(ctx.input_dir))

    def reread(self, payload: str, ctx: PullContext) -> Record:
        return review_from_fields(json.loads(payload), self.name)


def _reason(error: ValueError) -> str:
    """Turn a parsing or pydantic error into one line that quotes no field value.

    The records' own validators write whole reasons (`empty review text`). Pydantic's built-in
    messages do not name the field, so the field name goes in front of them.
    """
    if not isinstance(error, ValidationError):
        return str(error)
    reasons = []
    for item in error.errors():
        if item["type"] == "value_error":
            reasons.append(item["msg"].removeprefix("Value error, "))
            continue
        field = ".".join(str(part) for part in item["loc"])
        reasons.append(f"invalid {field}: {item['msg']}" if field else item["msg"])
    return "; ".join(reasons)
