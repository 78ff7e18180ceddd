"""CSV files for spreadsheets, written in the conventions of the reader's language.

Excel (2007 and later, on Windows) splits a CSV file it opens into columns at the list separator of
the regional settings. That separator is `;` in a French locale, where `,` is the decimal separator,
so a comma-separated file shows every row in one column. Excel reads a CSV file as UTF-8 only when
it starts with the UTF-8 byte-order mark, and otherwise in the locale's code page, which garbles
accents (SAP wiki, "Excel files - CSV format"). French files therefore get `;`, a BOM and decimal
commas. English files keep `,`, plain UTF-8 and decimal points.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CsvFormat:
    """The delimiter, encoding and decimal separator of the CSV files of one language."""

    delimiter: str
    encoding: str
    decimal_separator: str

    def cell(self, value: Any) -> Any:
        """Return `value` as the file writes it: None empty, and decimals with `decimal_separator`."""
        if value is None:
            return ""
        if isinstance(value, float | Decimal):
            return str(value).replace(".", self.decimal_separator)
        return value

    def write(self, path: Path, header: list[str], rows: list[list[Any]]) -> Path:
        """Write the header and rows to `path` and return `path`."""
        with path.open("w", newline="", encoding=self.encoding) as handle:
            writer = csv.writer(handle, delimiter=self.delimiter)
            writer.writerow(header)
            writer.writerows([self.cell(value) for value in row] for row in rows)
        return path


CSV_FORMATS = {
    "fr": CsvFormat(delimiter=";", encoding="utf-8-sig", decimal_separator=","),
    "en": CsvFormat(delimiter=",", encoding="utf-8", decimal_separator="."),
}


def csv_format(language: str) -> CsvFormat:
    """Return the CSV conventions of `language`, or raise ValueError naming the supported languages."""
    try:
        return CSV_FORMATS[language]
    except KeyError:
        raise ValueError(
            f"No CSV format for language {language!r}: use one of {', '.join(CSV_FORMATS)}."
        ) from None
