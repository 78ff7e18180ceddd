"""The record of processing activities (GDPR article 30), declared in YAML and validated.

The fields follow the CNIL register model (2019): identification, purposes, categories of data
subjects and of personal data, sensitive data, retention per category, recipients and processors,
transfers outside the EU and security measures, plus the fields that CNIL-oriented templates add
(lawful basis, legitimate-interest assessment, automated decisions, DPIA, exercise of rights,
privacy policy, consent register, breach register, last review).

Every field is mandatory. A field that does not apply is written as `null` or `[]`, so that the
record shows a decision and not an omission. The packaged `activities.yaml` is the default;
`REVIEW_GOV_REGISTER_CONFIG` names a file that replaces it.
"""

from __future__ import annotations

import os
import re
from datetime import date
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from governance.register.retention_periods import RetentionPeriod, retention_periods

PACKAGED_CONFIG = Path(__file__).with_name("activities.yaml")
CONFIG_ENV = "REVIEW_GOV_REGISTER_CONFIG"
LANGUAGES = ("fr", "en")
MAX_SUB_PURPOSES = 5
# A `dags` entry: a DAG id, or `dag_id:task_id` for one task of a DAG that serves several activities.
# Airflow 3.3 validates DAG and task ids against `^[\w.-]+$` (KEY_REGEX), so they never contain a colon.
DAG_LINK_PATTERN = r"[\w.-]+(:[\w.-]+)?"


class RegisterConfigError(ValueError):
    """The register configuration is missing, unreadable or invalid."""


class Strict(BaseModel):
    """A model that rejects unknown keys, so a misspelt field is an error and not a silent gap."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalizedText(Strict):
    """A text in French and English; a plain string in YAML is used for both languages."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"fr": value, "en": value}
        return value

    def text(self, language: str) -> str:
        """Return the text in `language` (fr or en)."""
        return self.en if language == "en" else self.fr


class LawfulBasis(StrEnum):
    """The six lawful bases of GDPR article 6(1)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class DataCategory(StrEnum):
    """The categories of personal data of the CNIL register model."""

    IDENTITY = "identity"
    PRIVATE_LIFE = "private_life"
    PROFESSIONAL_LIFE = "professional_life"
    ECONOMIC_FINANCIAL = "economic_financial"
    CONNECTION = "connection"
    LOCATION = "location"
    INTERNET = "internet"
    OTHER = "other"


class Contact(Strict):
    name: str = Field(min_length=1)
    email: str = Field(min_length=3)
    phone: str | None
    address: str | None


class Organisation(Strict):
    """The register's header: the controller, its EU representative if any, and the DPO."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    email: str = Field(min_length=3)
    eu_representative: Contact | None
    dpo: Contact


class Purposes(Strict):
    main: LocalizedText
    sub: list[LocalizedText] = Field(max_length=MAX_SUB_PURPOSES)


class PersonalDataCategory(Strict):
    """One category of personal data, what it contains, and the retention policy that applies."""

    category: DataCategory
    description: LocalizedText
    retention_policy: str = Field(min_length=1)


class SensitiveData(Strict):
    """Article 9 data, criminal records or the NIR: whether processed, which, and on which condition."""

    processed: bool
    categories: list[LocalizedText]
    article_9_condition: LocalizedText | None

    @model_validator(mode="after")
    def _condition_when_processed(self) -> SensitiveData:
        if self.processed and not self.categories:
            raise ValueError("categories is empty but processed is true: list the sensitive data")
        if self.processed and self.article_9_condition is None:
            raise ValueError("article_9_condition is missing but processed is true: name the condition")
        return self


class Processor(Strict):
    name: str = Field(min_length=1)
    service: LocalizedText
    contract: str = Field(min_length=1, description="Reference or link of the processing agreement.")


class Recipients(Strict):
    internal: list[LocalizedText]
    external: list[LocalizedText]
    processors: list[Processor]


class Transfers(Strict):
    """Transfers outside the EU: countries, safeguards (adequacy, SCCs...) and documentation."""

    outside_eu: bool
    countries: list[str]
    safeguards: LocalizedText | None
    documentation: str | None

    @model_validator(mode="after")
    def _details_when_transferred(self) -> Transfers:
        if self.outside_eu and not self.countries:
            raise ValueError("countries is empty but outside_eu is true: list the countries")
        if self.outside_eu and self.safeguards is None:
            raise ValueError("safeguards is missing but outside_eu is true: name the safeguards")
        return self


class SecurityMeasures(Strict):
    """The security measures of the CNIL model; `other` may be null."""

    access_control: LocalizedText
    traceability: LocalizedText
    software_protection: LocalizedText
    backups: LocalizedText
    encryption: LocalizedText
    processor_control: LocalizedText
    other: LocalizedText | None


class AutomatedDecisions(Strict):
    used: bool
    detail: LocalizedText | None

    @model_validator(mode="after")
    def _detail_when_used(self) -> AutomatedDecisions:
        if self.used and self.detail is None:
            raise ValueError("detail is missing but used is true: describe the decision or profiling")
        return self


class Dpia(Strict):
    """Data protection impact assessment: whether required, whether done, and why."""

    required: bool
    done: bool
    done_on: date | None
    reason: LocalizedText

    @model_validator(mode="after")
    def _date_when_done(self) -> Dpia:
        if self.done and self.done_on is None:
            raise ValueError("done_on is missing but done is true: give the date of the DPIA")
        return self


class Review(Strict):
    reviewed_on: date
    reviewer: str = Field(min_length=1)


class Activity(Strict):
    """One sheet of the record of activities."""

    reference: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Key used by the journal.")
    number: str = Field(min_length=1, description="Reference number shown in the register.")
    name: LocalizedText
    created_on: date
    updated_on: date
    joint_controller: str | None
    software: list[str] = Field(min_length=1)
    dags: list[str] = Field(
        description="Airflow DAGs, or single tasks written `dag_id:task_id`, that carry out this activity."
    )
    purposes: Purposes
    journal_purpose: str = Field(min_length=1, description="Purpose key written in journal entries.")
    lawful_basis: LawfulBasis
    lawful_basis_detail: LocalizedText
    legitimate_interest_assessment: str | None
    consent_purpose: str | None
    consent_register: LocalizedText | None
    data_subjects: list[LocalizedText] = Field(min_length=1)
    data_categories: list[PersonalDataCategory] = Field(min_length=1)
    sensitive_data: SensitiveData
    recipients: Recipients
    transfers: Transfers
    security_measures: SecurityMeasures
    automated_decisions: AutomatedDecisions
    dpia: Dpia
    data_subject_rights: LocalizedText
    privacy_policy_url: str = Field(min_length=1)
    breach_register: LocalizedText = Field(description="Where personal data breaches are documented (GDPR article 33(5)).")
    last_review: Review

    @field_validator("dags")
    @classmethod
    def _dag_links(cls, links: list[str]) -> list[str]:
        for link in links:
            if not re.fullmatch(DAG_LINK_PATTERN, link):
                raise ValueError(f"invalid link {link!r}: write a DAG id, or dag_id:task_id for a single task")
        return links

    @model_validator(mode="after")
    def _basis_has_its_proof(self) -> Activity:
        if self.lawful_basis is LawfulBasis.LEGITIMATE_INTERESTS and not self.legitimate_interest_assessment:
            raise ValueError(
                "legitimate_interest_assessment is missing but lawful_basis is legitimate_interests: "
                "link the balancing test"
            )
        if self.lawful_basis is LawfulBasis.CONSENT and not (self.consent_purpose and self.consent_register):
            raise ValueError(
                "consent_purpose or consent_register is missing but lawful_basis is consent: "
                "name the consent purpose and where consents are recorded"
            )
        if self.updated_on < self.created_on:
            raise ValueError(f"updated_on {self.updated_on} is before created_on {self.created_on}")
        return self


class ProcessingRegister(Strict):
    """The whole record: the header and one sheet per activity."""

    organisation: Organisation
    activities: list[Activity] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_references_and_dags(self) -> ProcessingRegister:
        seen: set[str] = set()
        owners: dict[str, str] = {}
        for activity in self.activities:
            if activity.reference in seen:
                raise ValueError(f"reference {activity.reference!r} is declared twice: references must be unique")
            seen.add(activity.reference)
            for dag_id in activity.dags:
                if dag_id in owners:
                    raise ValueError(
                        f"DAG {dag_id!r} is declared by {owners[dag_id]!r} and {activity.reference!r}: "
                        "a DAG or a DAG task belongs to one activity"
                    )
                owners[dag_id] = activity.reference
        return self

    @cached_property
    def activity_by_dag(self) -> dict[str, Activity]:
        """Map each `dags` entry (a DAG id or a `dag_id:task_id`) to the activity it carries out."""
        return {dag_id: activity for activity in self.activities for dag_id in activity.dags}

    def activity_of_task(self, dag_id: str, task_id: str | None) -> Activity | None:
        """Return the activity of a task: the one that declares the task, else the one that declares its DAG."""
        if task_id is not None:
            activity = self.activity_by_dag.get(f"{dag_id}:{task_id}")
            if activity is not None:
                return activity
        return self.activity_by_dag.get(dag_id)

    def activity(self, reference: str) -> Activity | None:
        """Return the activity with this reference, or None."""
        return next((item for item in self.activities if item.reference == reference), None)


def config_path() -> Path:
    """Return the register configuration in use: `REVIEW_GOV_REGISTER_CONFIG` or the packaged one."""
    configured = os.environ.get(CONFIG_ENV)
    return Path(configured) if configured else PACKAGED_CONFIG


def _field_path(location: tuple[int | str, ...], raw: Any) -> str:
    """Turn a pydantic error location into `activities[review_collection].purposes.main`."""
    parts: list[str] = []
    node = raw
    for item in location:
        if isinstance(item, int):
            element = node[item] if isinstance(node, list) and item < len(node) else None
            label = element.get("reference") if isinstance(element, dict) else None
            parts[-1] += f"[{label or item}]"
            node = element
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(top level)"


def parse_register(raw: Any, source: str = "<memory>") -> ProcessingRegister:
    """Validate a parsed YAML document; raise RegisterConfigError naming every invalid field.

    Top-level keys that start with `x-` hold YAML anchors shared by activities and are ignored.
    """
    if isinstance(raw, dict):
        raw = {key: value for key, value in raw.items() if not str(key).startswith("x-")}
    try:
        register = ProcessingRegister.model_validate(raw)
    except ValidationError as error:
        lines = [
            f"  {_field_path(tuple(item['loc']), raw)}: {item['msg']}"
            for item in error.errors(include_url=False)
        ]
        raise RegisterConfigError(
            f"Invalid register configuration {source} ({len(lines)} error(s)); fix these fields:\n"
            + "\n".join(lines)
        ) from None
    periods = retention_periods()
    unknown = [
        f"  activities[{activity.reference}].data_categories[{index}].retention_policy: "
        f"unknown policy {category.retention_policy!r}"
        for activity in register.activities
        for index, category in enumerate(activity.data_categories)
        if category.retention_policy not in periods
    ]
    if unknown:
        raise RegisterConfigError(
            f"Invalid register configuration {source}; use one of the retention policies "
            f"{sorted(periods)}:\n" + "\n".join(unknown)
        )
    return register


def load_register(path: Path | None = None) -> ProcessingRegister:
    """Read and validate the register configuration (default: `config_path()`)."""
    path = path or config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegisterConfigError(
            f"Register configuration {path} not found: fix {CONFIG_ENV} or unset it to use the default."
        ) from None
    except yaml.YAMLError as error:
        raise RegisterConfigError(f"Register configuration {path} is not valid YAML: {error}") from None
    return parse_register(raw, str(path))


def retention_for(register: ProcessingRegister) -> dict[str, RetentionPeriod]:
    """Return the retention period of every policy that the register's activities name."""
    periods = retention_periods()
    names = {category.retention_policy for activity in register.activities for category in activity.data_categories}
    return {name: periods[name] for name in sorted(names)}
