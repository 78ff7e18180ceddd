"""The normalised records every source produces, validated with pydantic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

PURPOSES = ("review_collection", "review_publication", "recontact", "ambassador_program")


class ReviewRecord(BaseModel):
    """One review in the common schema, whatever its source."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(min_length=1, max_length=40)
    external_id: str = Field(min_length=1, max_length=200)
    review_date: datetime
    experience_date: datetime | None = None
    updated_at: datetime | None = None
    rating: float | None = Field(default=None, ge=1, le=5)
    title: str | None = None
    text: str
    language: str | None = None
    author: str | None = None
    customer_id: str | None = None
    channel: str | None = None

    @field_validator("text")
    @classmethod
    def _text_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty review text")
        return value

    @field_validator("review_date", "experience_date", "updated_at")
    @classmethod
    def _to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("date without a time zone: a connector must give review dates in UTC")
        return value.astimezone(UTC)

    @property
    def review_id(self) -> str:
        """Return a stable id derived from the source and the source's own id."""
        return stable_id(self.source, self.external_id)

    def content_hash(self) -> str:
        parts = [self.title or "", self.text, str(self.rating), str(self.updated_at or "")]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class CustomerRecord(BaseModel):
    """One customer of the internal CRM; every field but the dates and channel is personal data."""

    model_config = ConfigDict(frozen=True)

    customer_id: str = Field(min_length=1, max_length=32)
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    postal_address: str | None
    created_at: datetime
    last_contact_at: datetime
    channel: str | None = None


class ConsentRecord(BaseModel):
    """One consent of a customer for one purpose, with its withdrawal if any."""

    model_config = ConfigDict(frozen=True)

    consent_id: str = Field(min_length=1, max_length=40)
    customer_id: str
    purpose: str
    granted_at: datetime
    withdrawn_at: datetime | None = None
    source: str | None = None
    policy_version: str | None = None
    proof_ref: str | None = None


REVIEW_RECORD_READER = "review_record"


@dataclass(frozen=True)
class Rejected:
    """A source row that could not be read, kept for quarantine with its reason.

    `reader` names what reads the row again when the quarantine is retried: a connector type, or
    `review_record` for a normalised review rejected by the loader. It is None when a retry cannot
    change the outcome, for example invalid bytes or a duplicate id in the same export. `row` is
    the row as the reader takes it again, set only when `raw` loses information (a CSV row joined
    without its quoting or its column names).
    """

    source: str
    source_ref: str
    reason: str
    raw: str
    customer_id: str | None = None
    reader: str | None = None
    row: str | None = None


def stable_id(source: str, external_id: str) -> str:
    """Return a 32-hex-digit id that is the same on every run for the same source row."""
    return hashlib.sha256(f"{source}\x1f{external_id}".encode()).hexdigest()[:32]
