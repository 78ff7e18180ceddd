"""Processing purposes declared in configuration: lawful basis, datasets and consent validity.

The default purposes ship with the package in `purposes.yaml`; `REVIEW_GOV_PURPOSES_FILE` points
at another file with the same layout. A file is validated when it is loaded, so a typo in a lawful
basis or an extract claimed by two purposes fails at start-up instead of during an extract.
"""

from __future__ import annotations

import os
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PURPOSES_FILE = Path(__file__).with_name("purposes.yaml")
PURPOSES_FILE_ENV = "REVIEW_GOV_PURPOSES_FILE"

# The extracts this package builds. Each one must be listed in the datasets of exactly one purpose.
EXTRACTS = ("analytics", "publication", "recontact", "ambassadors")


class LawfulBasis(StrEnum):
    """The six lawful bases of GDPR Art. 6(1), points (a) to (f)."""

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"


class LocalizedText(BaseModel):
    """A text a DPO reads, in French and English."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def in_language(self, language: str) -> str:
        return self.en if language == "en" else self.fr


class Purpose(BaseModel):
    """One processing purpose and the rules that bind the datasets built for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    description: LocalizedText
    lawful_basis: LawfulBasis
    datasets: tuple[str, ...] = ()
    validity_months: int | None = Field(default=None, ge=1, le=240)
    public_platform_basis: LawfulBasis | None = None

    def expires_at(self, granted_at: datetime) -> datetime | None:
        """Return when a grant given at `granted_at` stops being valid, None when it never does."""
        if self.validity_months is None:
            return None
        month_index = granted_at.month - 1 + self.validity_months
        year, month = granted_at.year + month_index // 12, month_index % 12 + 1
        day = min(granted_at.day, _days_in_month(year, month))
        return granted_at.replace(year=year, month=month, day=day)


class PurposeCatalog(BaseModel):
    """All declared purposes, and which review sources are our own (the others are platforms)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    internal_sources: tuple[str, ...] = Field(min_length=1)
    purposes: dict[str, Purpose]

    @model_validator(mode="before")
    @classmethod
    def _name_purposes(cls, data: object) -> object:
        """Fill each purpose's `name` from its key, so the file does not repeat it."""
        if isinstance(data, dict) and isinstance(data.get("purposes"), dict):
            named = {}
            for key, value in data["purposes"].items():
                named[key] = {"name": key, **value} if isinstance(value, dict) else value
            data = {**data, "purposes": named}
        return data

    @model_validator(mode="after")
    def _check_datasets(self) -> PurposeCatalog:
        owners: dict[str, list[str]] = {extract: [] for extract in EXTRACTS}
        for purpose in self.purposes.values():
            for dataset in purpose.datasets:
                if dataset not in owners:
                    raise ValueError(
                        f"purpose {purpose.name!r} lists unknown dataset {dataset!r}; "
                        f"the datasets are {', '.join(EXTRACTS)}"
                    )
                owners[dataset].append(purpose.name)
        for extract, names in owners.items():
            if len(names) != 1:
                claimed = ", ".join(names) if names else "no purpose"
                raise ValueError(
                    f"dataset {extract!r} must belong to exactly one purpose, but {claimed} list it"
                )
        return self

    def names(self) -> tuple[str, ...]:
        return tuple(self.purposes)

    def for_extract(self, extract: str) -> Purpose:
        """Return the purpose whose datasets include `extract`."""
        for purpose in self.purposes.values():
            if extract in purpose.datasets:
                return purpose
        raise KeyError(f"No purpose lists the dataset {extract!r}.")

    def is_internal(self, source: str) -> bool:
        return source in self.internal_sources


def load_purposes(path: Path | None = None) -> PurposeCatalog:
    """Read and validate a purposes file; raise ValueError naming the file and what to fix."""
    path = path or purposes_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ValueError(
            f"Purposes file {path} not found. Fix {PURPOSES_FILE_ENV} or unset it to use the defaults."
        ) from error
    except yaml.YAMLError as error:
        raise ValueError(f"Purposes file {path} is not valid YAML: {error}") from error
    try:
        return PurposeCatalog.model_validate(raw)
    except ValidationError as error:
        raise ValueError(f"Purposes file {path} is invalid:\n{error}") from error


def purposes_file() -> Path:
    configured = os.environ.get(PURPOSES_FILE_ENV, "").strip()
    return Path(configured).expanduser().resolve() if configured else DEFAULT_PURPOSES_FILE


@lru_cache(maxsize=8)
def _cached(path: Path, mtime_ns: int) -> PurposeCatalog:
    return load_purposes(path)


def current_purposes() -> PurposeCatalog:
    """Return the purposes of the configured file, re-read when the file changes."""
    path = purposes_file()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        return load_purposes(path)
    return _cached(path, mtime_ns)


def _days_in_month(year: int, month: int) -> int:
    import calendar

    return calendar.monthrange(year, month)[1]
