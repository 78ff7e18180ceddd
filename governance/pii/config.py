"""Configuration of the personal-data engine: model, entities, threshold, operator and keys."""

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

PSEUDONYM_KEY_ENV = "REVIEW_GOV_PSEUDONYM_KEY"
ENCRYPTION_KEY_ENV = "REVIEW_GOV_ENCRYPTION_KEY"

Operator = Literal["tag", "pseudonym", "encrypt"]

# Entity types detected by default. URLs, towns, dates, organisations and brands are left
# readable on purpose: see docs/pii.md for the policy.
DEFAULT_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "LOCATION",
    "IBAN_CODE",
    "CREDIT_CARD",
    "FR_NIR",
    "FR_SIRET",
    "FR_SIREN",
    "FR_LICENSE_PLATE",
)

SUPPORTED_LANGUAGES: tuple[str, ...] = ("fr", "en")

# spaCy needs about 1 GB of memory per 100,000 characters for NER (spaCy's own guidance for
# ``nlp.max_length``), so longer texts are analysed in chunks of at most this many characters.
DEFAULT_MAX_CHUNK_CHARS = 100_000


class PiiConfig(BaseModel):
    """Settings of a :class:`~governance.pii.PiiEngine`.

    Keys are bytes given by the caller, usually read from the environment with
    :meth:`from_env`. They are excluded from ``repr`` so that they never reach a log.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    spacy_model: str = Field(
        default="fr_core_news_md",
        description="Installed spaCy pipeline used for named-entity recognition in every language",
    )
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    entities: tuple[str, ...] = DEFAULT_ENTITIES
    operator: Operator = "tag"
    pseudonym_key: bytes | None = Field(default=None, repr=False)
    encryption_key: bytes | None = Field(default=None, repr=False)
    batch_size: int = Field(default=64, ge=1, description="Texts per nlp.pipe batch")
    n_process: int = Field(
        default=1,
        ge=1,
        description="Processes that detect in parallel, the calling one included: load() starts "
        "n_process - 1 worker processes, each with its own copy of the model",
    )
    max_chunk_chars: int = Field(default=DEFAULT_MAX_CHUNK_CHARS, ge=1_000)
    allow_list: tuple[str, ...] = Field(
        default=(),
        description="Exact values that are never masked, such as the company's brand names",
    )

    @field_validator("entities")
    @classmethod
    def _check_entities_not_empty(cls, entities: tuple[str, ...]) -> tuple[str, ...]:
        if not entities:
            raise ValueError("entities is empty: list at least one entity type to detect")
        return entities

    @field_validator("encryption_key")
    @classmethod
    def _check_encryption_key_length(cls, key: bytes | None) -> bytes | None:
        if key is not None and len(key) not in (16, 24, 32):
            raise ValueError(
                f"encryption_key is {len(key)} bytes long: AES-GCM needs 16, 24 or 32 bytes "
                f"(set {ENCRYPTION_KEY_ENV} to the base64 of 32 random bytes)"
            )
        return key

    @field_validator("pseudonym_key")
    @classmethod
    def _check_pseudonym_key_length(cls, key: bytes | None) -> bytes | None:
        if key is not None and len(key) < 16:
            raise ValueError(
                f"pseudonym_key is {len(key)} bytes long: use at least 16 bytes "
                f"(set {PSEUDONYM_KEY_ENV} to the base64 of 32 random bytes)"
            )
        return key

    def check_operator_key(self, operator: Operator | None = None) -> None:
        """Raise ``ValueError`` when the key that ``operator`` needs is missing."""
        operator = operator or self.operator
        if operator == "pseudonym" and self.pseudonym_key is None:
            raise ValueError(
                f"operator 'pseudonym' needs a secret key: set {PSEUDONYM_KEY_ENV} "
                "or pass pseudonym_key to PiiConfig"
            )
        if operator == "encrypt" and self.encryption_key is None:
            raise ValueError(
                f"operator 'encrypt' needs a 32-byte AES key: set {ENCRYPTION_KEY_ENV} to the base64 "
                "of 32 random bytes or pass encryption_key to PiiConfig"
            )

    @classmethod
    def from_env(cls, **settings: object) -> "PiiConfig":
        """Build a configuration whose keys come from the environment unless given in ``settings``.

        Both ``REVIEW_GOV_PSEUDONYM_KEY`` and ``REVIEW_GOV_ENCRYPTION_KEY`` are base64 of 32
        random bytes, like every key of this project; an unset variable leaves the key empty.
        """
        from governance.config import read_key

        for field, variable in (("pseudonym_key", PSEUDONYM_KEY_ENV), ("encryption_key", ENCRYPTION_KEY_ENV)):
            if field not in settings and os.environ.get(variable, "").strip():
                settings[field] = read_key(variable.removeprefix("REVIEW_GOV_"))
        return cls(**settings)
