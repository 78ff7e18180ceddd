"""A scan for direct identifiers left in a masked text: emails, phone numbers and CRM values.

The analytics extract must hold no direct identifier. The masking engine removes what it detects;
this scan is the independent check run on every row before the extract is written. It looks for
any email address or French phone number by pattern, and for the CRM's own values: customer ids,
phone numbers and full names (first and last name side by side, in either order).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from governance.consent.tone import fold
from governance.store import Store
from governance.store.schema import customers

EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# French numbers: +33 or 0, then nine digits in groups, with spaces, dots or dashes between them.
PHONE_PATTERN = re.compile(r"(?<!\d)(?:\+33\s?\(?0?\)?\s?|0033\s?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
_WORD = re.compile(r"[a-z0-9]+")
_ID_TOKEN = re.compile(r"\b[A-Za-z]*\d[A-Za-z0-9]*\b")

NO_IDENTIFIER = "none"


def _digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits


@dataclass
class IdentifierIndex:
    """The CRM values to look for, normalised: ids, phone digits and folded full names.

    CRM emails need no list of their own: the email pattern finds every address.
    """

    customer_ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    full_names: set[tuple[str, str]] = field(default_factory=set)

    def find(self, text: str | None) -> str:
        """Return the kind of the first direct identifier found in `text`, or `none`."""
        if not text:
            return NO_IDENTIFIER
        if EMAIL_PATTERN.search(text):
            return "email"
        if PHONE_PATTERN.search(text):
            return "phone"
        for token in _ID_TOKEN.findall(text):
            if token.upper() in self.customer_ids:
                return "customer_id"
            if len(_digits(token)) == 10 and _digits(token) in self.phones:
                return "phone"
        words = _WORD.findall(fold(text))
        for first, second in zip(words, words[1:], strict=False):
            if (first, second) in self.full_names:
                return "crm_name"
        return NO_IDENTIFIER


def load_identifier_index(store: Store) -> IdentifierIndex:
    """Decrypt the CRM's identifiers into an in-memory index; nothing is written or logged."""
    index = IdentifierIndex()
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                customers.c.customer_id,
                customers.c.subject_id,
                customers.c.first_name_enc,
                customers.c.last_name_enc,
                customers.c.phone_enc,
            )
        ).all()
        for row in rows:
            context = f"customers:{row.customer_id}"
            index.customer_ids.add(row.customer_id.upper())
            phone = store.decrypt(conn, row.subject_id, row.phone_enc, f"{context}:phone")
            first = store.decrypt(conn, row.subject_id, row.first_name_enc, f"{context}:first_name")
            last = store.decrypt(conn, row.subject_id, row.last_name_enc, f"{context}:last_name")
            if phone:
                index.phones.add(_digits(phone))
            first_words = _WORD.findall(fold(first or ""))
            last_words = _WORD.findall(fold(last or ""))
            if first_words and last_words:
                index.full_names.add((first_words[-1], last_words[0]))
                index.full_names.add((last_words[-1], first_words[0]))
    return index
