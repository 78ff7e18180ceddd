"""Parsers for the value formats found in review exports: French dates, decimal commas, `5/5`.

Each parser raises ValueError with a message that names the problem but never the value itself
when the value may be personal; dates and ratings are not, so they are quoted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

FRENCH_MONTHS = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
}

_FRENCH_TEXT_DATE = re.compile(r"^(\d{1,2})(?:er)?\s+([a-zéèûô]+)\s+(\d{4})$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_OUT_OF_FIVE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*/\s*5$")

MIN_RATING = 1.0
MAX_RATING = 5.0


def _checked_date(year: int, month: int, day: int, original: str) -> datetime:
    try:
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError as error:
        raise ValueError(f"impossible date {original!r} ({error})") from None


def parse_date(value: str) -> datetime:
    """Parse a date as exports write it; return midnight UTC for date-only values.

    Accepted forms: ISO 8601 (`2024-05-13T00:00:00Z`), French text (` 17 juillet 2023`,
    `1er mai 2024`) and day-first numbers (`13/05/2024`).
    """
    text = (value or "").strip()
    if not text:
        raise ValueError("missing date")
    match = _FRENCH_TEXT_DATE.match(text.lower())
    if match:
        day, month_name, year = match.groups()
        month = FRENCH_MONTHS.get(month_name)
        if month is None:
            raise ValueError(f"unknown French month in date {text!r}")
        return _checked_date(int(year), month, int(day), text)
    match = _NUMERIC_DATE.match(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        return _checked_date(year, month, day, text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"unreadable date {text!r}: expected ISO 8601, '17 juillet 2023' or 'DD/MM/YYYY'") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_rating(value: object) -> float:
    """Parse a 1-5 rating written as a number, a decimal comma (`3,5`) or out of five (`4/5`).

    `N/5` is repaired to `N`, since it states the same scale; any other text or a value outside
    1-5 raises ValueError.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"missing or non-numeric rating {value!r}")
    if isinstance(value, int | float):
        rating = float(value)
    else:
        text = str(value).strip()
        match = _OUT_OF_FIVE.match(text)
        if match:
            text = match.group(1)
        try:
            rating = float(text.replace(",", "."))
        except ValueError:
            raise ValueError(f"rating is not a number from 1 to 5: {text!r}") from None
    if not MIN_RATING <= rating <= MAX_RATING:
        raise ValueError(f"rating out of range 1 to 5: {value!r}")
    return rating


INVALID_TEXT_REASON = "invalid UTF-8 bytes or lone surrogates in the row: re-export the file as UTF-8"
_SURROGATES = re.compile("[\ud800-\udfff]")


def has_invalid_text(text: str) -> bool:
    """Return True if `text` holds bytes that were not valid UTF-8 (read with surrogateescape)
    or lone surrogates decoded from JSON escapes: such text cannot be stored or encrypted."""
    return _SURROGATES.search(text) is not None
