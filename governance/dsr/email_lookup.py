"""Finding the customer behind a request that names only an email address.

Emails are stored encrypted under each customer's own data key (`customers.email_enc`), so no query
can compare them. The lookup decrypts them one chunk of customers at a time, which is acceptable for
a request filed by hand. Neither the address nor a decrypted value is logged or put in an error.
"""

from __future__ import annotations

import logging
import unicodedata

from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from governance.crypto import decrypt_value
from governance.dsr.requests import RequestError
from governance.store import Store
from governance.store.schema import customers, subject_keys

log = logging.getLogger(__name__)

SCAN_CHUNK_SIZE = 500


def normalise_email(value: str) -> str:
    """Return the form two email addresses are compared in: trimmed, NFC-normalised and casefolded."""
    return unicodedata.normalize("NFC", value.strip()).casefold()


def find_customers_by_email(store: Store, email: str, *, chunk_size: int = SCAN_CHUNK_SIZE) -> list[str]:
    """Return the ids of the customers whose stored email is `email`, ignoring case and outer spaces.

    Customers are read in chunks of `chunk_size` by ascending id, and each data key is unwrapped
    without entering the store's key cache, so memory does not grow with the number of customers.
    A customer whose data key was destroyed (crypto-shredded) cannot match, and neither can an
    erased customer, whose row is deleted.

    NOTE: the scan decrypts every stored email, so it takes time in proportion to the number of
    customers. A keyed blind index (an HMAC of the normalised email in an indexed column) would
    find the customer in one query, but it needs a schema migration.
    """
    target = normalise_email(email)
    if not target:
        raise RequestError("The email address is missing: give the address the request came from.")
    query = (
        select(
            customers.c.customer_id,
            customers.c.subject_id,
            customers.c.email_enc,
            subject_keys.c.wrapped_key,
            subject_keys.c.master_key_id,
        )
        .join(subject_keys, subject_keys.c.subject_id == customers.c.subject_id)
        .where(customers.c.email_enc.is_not(None), subject_keys.c.wrapped_key.is_not(None))
        .order_by(customers.c.customer_id)
        .limit(chunk_size)
    )

    matches: list[str] = []
    unreadable = 0
    last_id: str | None = None
    while True:
        chunk_query = query if last_id is None else query.where(customers.c.customer_id > last_id)
        with store.engine.connect() as conn:
            rows = conn.execute(chunk_query).all()
        for row in rows:
            data_key = store.wrapper.unwrap(row.subject_id, row.wrapped_key, stored_key_id=row.master_key_id)
            try:
                stored = decrypt_value(data_key, row.email_enc, f"customers:{row.customer_id}:email")
            except InvalidTag:
                unreadable += 1
                continue
            if normalise_email(stored) == target:
                matches.append(row.customer_id)
        if len(rows) < chunk_size:
            break
        last_id = rows[-1].customer_id

    if unreadable:
        log.warning("Email lookup skipped %d customer emails that did not decrypt under their data key.", unreadable)
    return matches


def customer_for_email(store: Store, email: str) -> str:
    """Return the id of the one customer whose stored email is `email`, or raise RequestError."""
    matches = find_customers_by_email(store, email)
    if not matches:
        raise RequestError(
            "No customer with that email address. Check the address with the CRM, or file the request "
            "with --customer. An erased customer cannot be found: their email was deleted or its key "
            "destroyed."
        )
    if len(matches) > 1:
        raise RequestError(
            f"{len(matches)} customers have that email address: {', '.join(matches)}. "
            "Find out which one made the request and file it with --customer."
        )
    return matches[0]
