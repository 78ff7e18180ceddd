"""Envelope encryption of personal data at rest.

Each data subject gets a random 256-bit data key. Direct identifiers and raw review texts are
encrypted with it (AES-256-GCM), and the data key itself is stored wrapped by the master key, which
comes from the environment. Erasing a subject destroys the wrapped data key (crypto-shredding), so
every copy of the ciphertext, backups included, becomes unreadable. Rotating the master key only
re-wraps the data keys.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12


class KeyShreddedError(LookupError):
    """The data key of a subject was destroyed: its data can no longer be decrypted."""


class MasterKeyMismatchError(ValueError):
    """A wrapped data key does not open with the configured master key."""


def master_key_id(master_key: bytes) -> str:
    """Return a short, non-secret fingerprint that tells master keys apart."""
    return hashlib.sha256(b"review-governance master key id" + master_key).hexdigest()[:16]


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if sealed[:1] != FORMAT_VERSION:
        raise ValueError(f"Unknown ciphertext format version {sealed[:1]!r}.")
    nonce = sealed[1 : 1 + NONCE_BYTES]
    return AESGCM(key).decrypt(nonce, sealed[1 + NONCE_BYTES :], aad)


@dataclass
class KeyWrapper:
    """Wraps and unwraps data keys with the master key."""

    master_key: bytes
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if len(self.master_key) != 32:
            raise ValueError(f"The master key must be 32 bytes, got {len(self.master_key)}.")
        self.key_id = master_key_id(self.master_key)

    def new_data_key(self, subject_id: str) -> tuple[bytes, bytes]:
        """Create a data key for a subject; return it with its wrapped form."""
        data_key = AESGCM.generate_key(bit_length=256)
        return data_key, self.wrap(subject_id, data_key)

    def wrap(self, subject_id: str, data_key: bytes) -> bytes:
        return _seal(self.master_key, data_key, b"data-key:" + subject_id.encode())

    def unwrap(self, subject_id: str, wrapped: bytes, *, stored_key_id: str | None = None) -> bytes:
        """Open a wrapped data key; raise MasterKeyMismatchError when the master key is wrong."""
        try:
            return _open(self.master_key, wrapped, b"data-key:" + subject_id.encode())
        except InvalidTag as error:
            raise MasterKeyMismatchError(
                "The data keys were wrapped with master key "
                f"{stored_key_id or 'unknown'}, but REVIEW_GOV_MASTER_KEY has id {self.key_id}. "
                "Set the master key that wrapped them (or run `review-gov keys rotate` with both keys)."
            ) from error


def encrypt_value(data_key: bytes, value: str, context: str) -> bytes:
    """Encrypt one field; `context` (table, column and row id) is bound as associated data."""
    return _seal(data_key, value.encode("utf-8"), context.encode("utf-8"))


def decrypt_value(data_key: bytes, sealed: bytes, context: str) -> str:
    return _open(data_key, sealed, context.encode("utf-8")).decode("utf-8")
