"""Reader for Amazon Customer Reviews TSV exports (the public dataset's header).

Bodies and headlines hold HTML entities (`&#34;`, `&eacute;`) and `<br />` line breaks; both are
decoded here. The `customer_id` column is Amazon's own reviewer id, not a CRM customer, so it is
not linked to a data subject and not stored. The export has no reviewer name.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from governance.sources.base import Connector, FileOptions, PullContext, PullState, Record
from governance.sources.parsing import INVALID_TEXT_REASON, has_invalid_text, parse_date, parse_rating
from governance.sources.records import Rejected, ReviewRecord
from governance.sources.text import clean_text, optional_text
from governance.sources.trustpilot_csv import _reason

SOURCE = "amazon_tsv"
TYPE = "amazon_tsv"
COLUMNS = [
    "marketplace", "customer_id", "review_id", "product_id", "product_parent", "product_title",
    "product_category", "star_rating", "helpful_votes", "total_votes", "vine", "verified_purchase",
    "review_headline", "review_body", "review_date",
]
# The dataset's marketplaces and the language their reviews are written in.
MARKETPLACE_LANGUAGES = {"FR": "fr", "DE": "de", "UK": "en", "US": "en", "JP": "ja"}


def read(path: Path, source: str = SOURCE) -> Iterator[ReviewRecord | Rejected]:
    """Yield one review per data row, or a Rejected row with the reason it could not be read."""
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        # The bodies contain raw double quotes: read the file as plain tab-separated values.
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header != COLUMNS:
            raise ValueError(
                f"{path.name}: unexpected header {header!r}; expected the Amazon Customer Reviews "
                f"columns {', '.join(COLUMNS)}."
            )
        for row in reader:
            ref = f"{path.name}:line {reader.line_num}"
            raw = "\t".join(row)
            if has_invalid_text(raw):
                yield Rejected(source, ref, INVALID_TEXT_REASON, raw)
                continue
            if len(row) != len(COLUMNS):
                yield Rejected(source, ref, f"expected {len(COLUMNS)} fields, found {len(row)}", raw)
                continue
            try:
                yield review_from_fields(row, source)
            except ValueError as error:
                # Fields never contain a tab, so `raw` splits back into the same fields on a retry.
                yield Rejected(source, ref, _reason(error), raw, reader=TYPE)


def review_from_fields(row: list[str], source: str = SOURCE) -> ReviewRecord:
    """Build a review from the fields of a data row; raise ValueError naming what is invalid."""
    if len(row) != len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} fields, found {len(row)}")
    values = dict(zip(COLUMNS, row, strict=True))
    if not values["review_id"].strip():
        raise ValueError("missing review id: the row has no review_id")
    return ReviewRecord(
        source=source,
        external_id=values["review_id"].strip(),
        review_date=parse_date(values["review_date"]),
        rating=parse_rating(values["star_rating"]),
        title=optional_text(values["review_headline"]),
        text=clean_text(values["review_body"]),
        language=MARKETPLACE_LANGUAGES.get(values["marketplace"].strip().upper()),
        channel="amazon",
    )


class AmazonTsv(Connector):
    """An Amazon Customer Reviews TSV export."""

    type_name: ClassVar[str] = TYPE
    Options = FileOptions

    def records(self, ctx: PullContext, state: PullState) -> Iterator[ReviewRecord | Rejected]:
        state.full_listing = False
        return read(self.options.resolve(ctx.input_dir), self.name)

    def reread(self, payload: str, ctx: PullContext) -> Record:
        return review_from_fields(payload.split("\t"), self.name)
