"""The configured review sources: which connector reads each one, with which options.

The configuration is a YAML file, `sources.yaml` in this package by default (the bundled file
exports), or the file named by `REVIEW_GOV_SOURCES_FILE`. Each entry has a `name` (the `source`
of its rows in the store), a `type` (a connector's `type_name`), optionally `enabled: false` and a
`conn_id` (the Airflow connection holding its credentials; `review_gov_<name>` by default for the
platforms, which need one); every
other key is an option of the connector, checked by its pydantic model.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from governance.sources.amazon_tsv import AmazonTsv
from governance.sources.base import Connector, SourceConfigError, SourceKind
from governance.sources.crm_csv import ConsentsCsv, CustomersCsv
from governance.sources.google_business import GoogleBusinessProfile
from governance.sources.sql import SqlConsents, SqlCustomers, SqlSurvey
from governance.sources.survey_jsonl import SurveyJsonl
from governance.sources.tripadvisor import TripAdvisorContent
from governance.sources.trustpilot_api import TrustpilotApi
from governance.sources.trustpilot_csv import TrustpilotCsv
from governance.sources.yelp_fusion import YelpFusion

DEFAULT_SOURCES_FILE = Path(__file__).with_name("sources.yaml")
SOURCES_FILE_ENV = "REVIEW_GOV_SOURCES_FILE"
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

CONNECTORS: dict[str, type[Connector]] = {
    connector.type_name: connector
    for connector in (
        CustomersCsv, ConsentsCsv, SurveyJsonl, TrustpilotCsv, AmazonTsv,
        SqlCustomers, SqlConsents, SqlSurvey,
        GoogleBusinessProfile, TrustpilotApi, YelpFusion, TripAdvisorContent,
    )
}


class _Entry(BaseModel):
    name: str
    type: str
    enabled: bool = True
    conn_id: str | None = None

    model_config = {"extra": "allow"}


@dataclass(frozen=True)
class ConfiguredSource:
    """One source of the configuration, with its validated options."""

    name: str
    connector_class: type[Connector]
    options: BaseModel
    conn_id: str | None
    enabled: bool = True

    @property
    def kind(self) -> SourceKind:
        return self.connector_class.kind

    @property
    def type_name(self) -> str:
        return self.connector_class.type_name

    def connector(self) -> Connector:
        return self.connector_class(self.name, self.options)


def sources_file() -> Path:
    """Return the configuration file in use: `REVIEW_GOV_SOURCES_FILE`, else the bundled one."""
    configured = os.environ.get(SOURCES_FILE_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_SOURCES_FILE


def load_sources(path: Path | None = None, *, include_disabled: bool = False) -> list[ConfiguredSource]:
    """Read and check the sources configuration; raise SourceConfigError naming the bad entry."""
    path = path or sources_file()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SourceConfigError(f"Sources file {path} not found; fix {SOURCES_FILE_ENV} or unset it.") from None
    except yaml.YAMLError as error:
        raise SourceConfigError(f"Sources file {path} is not valid YAML: {error}") from None
    entries = document.get("sources") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SourceConfigError(f"Sources file {path}: expected a top-level `sources:` list.")

    sources: list[ConfiguredSource] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        source = _parse_entry(path, position, entry)
        if source.name in seen:
            raise SourceConfigError(f"Sources file {path}: source name {source.name!r} is used twice.")
        seen.add(source.name)
        if source.enabled or include_disabled:
            sources.append(source)
    return sources


def _parse_entry(path: Path, position: int, entry: Any) -> ConfiguredSource:
    where = f"Sources file {path}, entry {position}"
    if not isinstance(entry, dict):
        raise SourceConfigError(f"{where}: expected a mapping with name and type.")
    try:
        parsed = _Entry.model_validate(entry)
    except ValidationError as error:
        raise SourceConfigError(f"{where}: {describe_errors(error)}") from None
    if not re.fullmatch(NAME_PATTERN, parsed.name):
        raise SourceConfigError(
            f"{where}: invalid source name {parsed.name!r}; use lower-case letters, digits and _ (at most 40)."
        )
    connector_class = CONNECTORS.get(parsed.type)
    if connector_class is None:
        raise SourceConfigError(
            f"{where} ({parsed.name}): unknown type {parsed.type!r}; known types: {', '.join(sorted(CONNECTORS))}."
        )
    try:
        options = connector_class.Options.model_validate(parsed.model_extra or {})
    except ValidationError as error:
        raise SourceConfigError(
            f"{where} ({parsed.name}, {parsed.type}): invalid options: {describe_errors(error)}"
        ) from None
    return ConfiguredSource(
        name=parsed.name,
        connector_class=connector_class,
        options=options,
        conn_id=parsed.conn_id or (f"review_gov_{parsed.name}" if connector_class.needs_credentials else None),
        enabled=parsed.enabled,
    )


def describe_errors(error: ValidationError) -> str:
    """Return pydantic's errors on one line, naming each field but not its value.

    Pydantic's own text repeats the input, which may be a password or key written into the
    sources file by mistake, and the message reaches task logs.
    """
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "entry"
        parts.append(f"{field}: {item['msg']}")
    return "; ".join(parts)


def get_source(name: str, path: Path | None = None) -> ConfiguredSource:
    """Return the enabled source called `name`; raise SourceConfigError when there is none."""
    sources = {source.name: source for source in load_sources(path)}
    if name not in sources:
        raise SourceConfigError(
            f"No enabled source named {name!r} in {path or sources_file()}; configured: {', '.join(sources) or 'none'}."
        )
    return sources[name]


def plan_source_names(path: Path | None = None) -> dict[str, list[str]]:
    """Split the enabled sources into those loading customers and all the others, in file order."""
    sources = load_sources(path)
    return {
        "customers": [source.name for source in sources if source.kind is SourceKind.CUSTOMERS],
        "others": [source.name for source in sources if source.kind is not SourceKind.CUSTOMERS],
    }
