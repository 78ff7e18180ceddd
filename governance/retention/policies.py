"""Retention policies: how long each category of personal data is kept, and what happens after.

The defaults ship with the package in `policies.yaml`. `REVIEW_GOV_RETENTION_POLICIES` names a YAML
file of the same shape, whose policies replace the default ones of the same name. The retention DAG
and the record of processing activities both read `load_retention_policies()`, so what the register
declares is what the deletion job enforces.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_POLICIES_PATH = Path(__file__).with_name("policies.yaml")
POLICIES_ENV = "REVIEW_GOV_RETENTION_POLICIES"

_DURATION = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?$")


class DataCategory(StrEnum):
    """A category of personal data held by the pipeline."""

    CUSTOMER_IDENTITY = "customer_identity"
    RAW_REVIEW_TEXT = "raw_review_text"
    MASKED_REVIEW = "masked_review"
    CONSENT_PROOF = "consent_proof"
    QUARANTINE = "quarantine"
    EXTRACTS = "extracts"
    ACCESS_EXPORTS = "access_exports"
    SUBJECT_REQUESTS = "subject_requests"


class StartEvent(StrEnum):
    """The event a retention period runs from."""

    COLLECTION = "collection"
    LAST_CONTACT = "last_contact"
    CONSENT_WITHDRAWAL = "consent_withdrawal"
    PURPOSE_END = "purpose_end"


class RetentionAction(StrEnum):
    """The action taken on data past its retention period."""

    DELETE = "delete"
    ANONYMISE = "anonymise"
    CRYPTO_SHRED = "crypto_shred"


class WithdrawalErasure(StrEnum):
    """Data erased when a customer withdraws the consent that was its only lawful basis."""

    CUSTOMER_REVIEWS = "customer_reviews"
    EXTRACT_LINES = "extract_lines"


# The start events and actions each category supports, and the date column of each start event.
SUPPORTED: dict[DataCategory, tuple[set[StartEvent], set[RetentionAction]]] = {
    DataCategory.CUSTOMER_IDENTITY: (
        {StartEvent.LAST_CONTACT, StartEvent.COLLECTION},
        {RetentionAction.DELETE, RetentionAction.ANONYMISE, RetentionAction.CRYPTO_SHRED},
    ),
    DataCategory.RAW_REVIEW_TEXT: (
        {StartEvent.COLLECTION},
        {RetentionAction.DELETE, RetentionAction.ANONYMISE},
    ),
    DataCategory.MASKED_REVIEW: (
        {StartEvent.COLLECTION, StartEvent.PURPOSE_END},
        {RetentionAction.DELETE},
    ),
    DataCategory.CONSENT_PROOF: ({StartEvent.CONSENT_WITHDRAWAL}, {RetentionAction.DELETE}),
    DataCategory.QUARANTINE: ({StartEvent.COLLECTION}, {RetentionAction.DELETE}),
    DataCategory.EXTRACTS: ({StartEvent.COLLECTION, StartEvent.PURPOSE_END}, {RetentionAction.DELETE}),
    # Collection is when the export was written, and when the request was received.
    DataCategory.ACCESS_EXPORTS: ({StartEvent.COLLECTION}, {RetentionAction.DELETE}),
    DataCategory.SUBJECT_REQUESTS: ({StartEvent.COLLECTION}, {RetentionAction.DELETE}),
}


class RetentionPeriod(BaseModel):
    """A calendar duration: years, months and days, written as an ISO 8601 duration (P3Y, P13M)."""

    model_config = ConfigDict(frozen=True)

    years: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0)
    days: int = Field(default=0, ge=0)

    @classmethod
    def parse(cls, text: str) -> RetentionPeriod:
        match = _DURATION.match(text.strip().upper())
        if match is None or not any(match.groupdict().values()):
            raise ValueError(
                f"Invalid retention period {text!r}: write an ISO 8601 duration in years, months "
                "and days, such as P3Y, P13M or P30D."
            )
        return cls(**{unit: int(value) for unit, value in match.groupdict().items() if value})

    def iso(self) -> str:
        parts = [f"{value}{unit}" for value, unit in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if value]
        return "P" + ("".join(parts) or "0D")

    def before(self, moment: datetime) -> datetime:
        """Return `moment` minus this period; a day missing in the target month becomes its last day."""
        total_months = moment.year * 12 + (moment.month - 1) - (self.years * 12 + self.months)
        year, month = divmod(total_months, 12)
        month += 1
        day = min(moment.day, _days_in_month(year, month))
        shifted = moment.replace(year=year, month=month, day=day)
        return shifted - timedelta(days=self.days)

    def after(self, moment: datetime) -> datetime:
        """Return `moment` plus this period, with the same end-of-month rule as `before`."""
        total_months = moment.year * 12 + (moment.month - 1) + self.years * 12 + self.months
        year, month = divmod(total_months, 12)
        month += 1
        day = min(moment.day, _days_in_month(year, month))
        return moment.replace(year=year, month=month, day=day) + timedelta(days=self.days)


def _days_in_month(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - date(year, month, 1)).days


class RetentionPolicy(BaseModel):
    """How long one category of data is kept, from which event, and what happens after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")
    category: DataCategory
    period: RetentionPeriod
    start_event: StartEvent
    action: RetentionAction
    purpose: str | None = Field(default=None, description="The purpose whose end starts the period.")
    extracts: list[str] = Field(
        default_factory=lambda: ["*.parquet"], description="Glob patterns of the extract files covered."
    )
    legal_reference: str = ""
    label: dict[str, str] = Field(default_factory=dict, description="Display name by language (fr, en).")

    @field_validator("period", mode="before")
    @classmethod
    def _parse_period(cls, value: Any) -> Any:
        return RetentionPeriod.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_supported(self) -> RetentionPolicy:
        events, actions = SUPPORTED[self.category]
        if self.start_event not in events:
            raise ValueError(
                f"Policy {self.name!r}: start_event {self.start_event.value!r} is not supported for "
                f"{self.category.value}; use one of {sorted(event.value for event in events)}."
            )
        if self.action not in actions:
            raise ValueError(
                f"Policy {self.name!r}: action {self.action.value!r} is not supported for "
                f"{self.category.value}; use one of {sorted(action.value for action in actions)}."
            )
        if self.start_event is StartEvent.PURPOSE_END and not self.purpose:
            raise ValueError(f"Policy {self.name!r}: start_event purpose_end needs a `purpose`.")
        return self

    def display_name(self, language: str = "fr") -> str:
        return self.label.get(language) or self.label.get("en") or self.name


class ConsentPurposeRule(BaseModel):
    """The data that a withdrawal of consent for one purpose erases."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    erase_on_withdrawal: list[WithdrawalErasure] = Field(default_factory=list)
    extracts: list[str] = Field(default_factory=list, description="Glob patterns of the purpose's extracts.")


class RetentionConfig(BaseModel):
    """The retention policies, the withdrawal rules per purpose and the end dates of purposes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    policies: list[RetentionPolicy]
    consent_purposes: dict[str, ConsentPurposeRule] = Field(default_factory=dict)
    purpose_end_dates: dict[str, date] = Field(default_factory=dict)
    source: str = Field(default=str(DEFAULT_POLICIES_PATH), description="Files the configuration came from.")

    @model_validator(mode="after")
    def _check_names(self) -> RetentionConfig:
        names = [policy.name for policy in self.policies]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"Duplicate retention policy names {duplicates}: each name must be unique.")
        return self

    @cached_property
    def by_name(self) -> dict[str, RetentionPolicy]:
        return {policy.name: policy for policy in self.policies}

    def policy_for(self, category: DataCategory) -> RetentionPolicy | None:
        """Return the first policy of a category, or None when the category has none."""
        return next((policy for policy in self.policies if policy.category is category), None)

    def purpose_end(self, purpose: str) -> datetime | None:
        """Return the end of a purpose as midnight UTC, or None while the purpose runs."""
        ended_on = self.purpose_end_dates.get(purpose)
        return None if ended_on is None else datetime.combine(ended_on, time.min, tzinfo=UTC)


class RetentionConfigError(ValueError):
    """The retention configuration file is missing or invalid."""


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RetentionConfigError(
            f"Retention policy file {path} not found: fix {POLICIES_ENV} or unset it to use the defaults."
        ) from error
    except yaml.YAMLError as error:
        raise RetentionConfigError(f"Retention policy file {path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise RetentionConfigError(f"Retention policy file {path} must contain a mapping at the top level.")
    return data


def merge_policies(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge an override into the defaults: policies by name, purposes and end dates by key."""
    merged = dict(base)
    policies = {policy["name"]: policy for policy in base.get("policies", [])}
    for policy in override.get("policies", []):
        policies[policy["name"]] = policy
    merged["policies"] = list(policies.values())
    for section in ("consent_purposes", "purpose_end_dates"):
        merged[section] = {**(base.get(section) or {}), **(override.get(section) or {})}
    return merged


def load_retention_policies(path: Path | str | None = None) -> RetentionConfig:
    """Load the shipped policies, overridden by `path` or by the file named in `REVIEW_GOV_RETENTION_POLICIES`.

    Raises RetentionConfigError naming the file and the invalid field.
    """
    data = _read_yaml(DEFAULT_POLICIES_PATH)
    sources = [str(DEFAULT_POLICIES_PATH)]
    override_path = path or os.environ.get(POLICIES_ENV)
    if override_path:
        data = merge_policies(data, _read_yaml(Path(override_path)))
        sources.append(str(override_path))
    try:
        return RetentionConfig(**data, source=", ".join(sources))
    except (ValidationError, TypeError) as error:
        raise RetentionConfigError(f"Invalid retention policies in {', '.join(sources)}: {error}") from error
