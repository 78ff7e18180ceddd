"""Masking operators: type tag, keyed pseudonym and reversible AES-GCM encryption.

Every operator replaces a whole span. The replacement never contains the original value in
clear: a pseudonym is an HMAC-SHA256 digest, an encrypted value is AES-GCM ciphertext.
"""

import base64
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from governance.pii.types import Detection

# Hexadecimal characters of the HMAC kept in a pseudonym. 8 characters (32 bits) keep pseudonyms
# short. Two distinct values of one type share a pseudonym with probability about n² / 2³³, so
# for 10,000 distinct names of one type the chance of a single collision is about 1 %.
PSEUDONYM_HEX_CHARS = 8

ENCRYPTED_TOKEN_PATTERN = re.compile(r"<(?P<entity>[A-Z_]+):(?P<payload>[A-Za-z0-9_-]+)>")

_IDENTIFIER_TYPES = frozenset(
    {"PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "FR_NIR", "FR_SIRET", "FR_SIREN", "FR_LICENSE_PLATE"}
)

Replacer = Callable[[str, str], str]


def normalize_value(entity_type: str, value: str) -> str:
    """Return the form of ``value`` that is pseudonymised, so that spellings of one value agree.

    Identifiers keep only their letters and digits (``06 12 34 56 78`` and ``0612345678`` give
    one pseudonym). Other values are NFC-normalised, case-folded, with runs of whitespace
    collapsed (``CLAIRE DUMONT`` and ``Claire  Dumont`` give one pseudonym).
    """
    value = unicodedata.normalize("NFC", value)
    if entity_type in _IDENTIFIER_TYPES:
        return "".join(character for character in value if character.isalnum()).upper()
    return " ".join(value.casefold().split())


def tag(entity_type: str, value: str) -> str:
    """Replace a value with its type, such as ``<PERSON>``."""
    return f"<{entity_type}>"


def make_pseudonymizer(key: bytes) -> Replacer:
    """Return an operator that replaces a value with ``<TYPE_xxxxxxxx>``, an HMAC-SHA256 of it."""

    def pseudonymize(entity_type: str, value: str) -> str:
        message = f"{entity_type}\x00{normalize_value(entity_type, value)}".encode("utf-8")
        digest = hmac.new(key, message, hashlib.sha256).hexdigest()
        return f"<{entity_type}_{digest[:PSEUDONYM_HEX_CHARS]}>"

    return pseudonymize


def make_encryptor(key: bytes) -> Replacer:
    """Return an operator that replaces a value with ``<TYPE:ciphertext>`` (AES-GCM).

    The ciphertext is URL-safe base64 of a random 12-byte nonce followed by the AES-GCM output.
    The entity type is authenticated as associated data, so a token moved to another type fails
    to decrypt.
    """
    cipher = AESGCM(key)

    def encrypt(entity_type: str, value: str) -> str:
        nonce = os.urandom(12)
        ciphertext = cipher.encrypt(nonce, value.encode("utf-8"), entity_type.encode("ascii"))
        payload = base64.urlsafe_b64encode(nonce + ciphertext).decode("ascii").rstrip("=")
        return f"<{entity_type}:{payload}>"

    return encrypt


def decrypt_value(token: str, key: bytes) -> str:
    """Return the original value of one ``<TYPE:ciphertext>`` token made by the encrypt operator.

    Raises ``ValueError`` when the token is malformed or was not encrypted with ``key``.
    """
    match = ENCRYPTED_TOKEN_PATTERN.fullmatch(token)
    if match is None:
        raise ValueError(f"invalid encrypted token {token!r}: expected <TYPE:base64 payload>")
    return _decrypt_match(match, AESGCM(key))


def decrypt_text(masked_text: str, key: bytes) -> str:
    """Replace every encrypted token in ``masked_text`` with its original value.

    Only for a role that is allowed to see personal data. Raises ``ValueError`` when a token
    was not encrypted with ``key``.
    """
    cipher = AESGCM(key)
    return ENCRYPTED_TOKEN_PATTERN.sub(lambda match: _decrypt_match(match, cipher), masked_text)


def _decrypt_match(match: re.Match[str], cipher: AESGCM) -> str:
    entity_type = match.group("entity")
    payload = match.group("payload")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    try:
        plaintext = cipher.decrypt(raw[:12], raw[12:], entity_type.encode("ascii"))
    except InvalidTag as error:
        raise ValueError(
            f"failed to decrypt a {entity_type} token: wrong key or altered ciphertext"
        ) from error
    return plaintext.decode("utf-8")


def apply_operator(text: str, detections: list[Detection], replace: Replacer) -> str:
    """Replace each span of ``detections`` in ``text``; the spans must not overlap."""
    pieces: list[str] = []
    position = 0
    for detection in sorted(detections, key=lambda item: item.start):
        pieces.append(text[position : detection.start])
        value = text[detection.start : detection.end]
        pieces.append(replace(detection.entity_type, value))
        position = detection.end
    pieces.append(text[position:])
    return "".join(pieces)
