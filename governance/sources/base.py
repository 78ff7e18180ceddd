"""The interface every review source implements, and what a pull hands back to the loader.

A connector turns one configured source (a file export, a CRM database, a platform location) into
normalised records. It yields records and Rejected rows. The runner loads them, then marks reviews
deleted at the source and moves the source's watermark forward once the load has committed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from governance.sources.records import ConsentRecord, CustomerRecord, Rejected, ReviewRecord

Record = ReviewRecord | CustomerRecord | ConsentRecord


class SourceKind(StrEnum):
    """Kind of records a source loads; customers load first because the other kinds refer to them."""

    CUSTOMERS = "customers"
    CONSENTS = "consents"
    REVIEWS = "reviews"


class SourceConfigError(ValueError):
    """The sources configuration names an unknown type, a bad option or a missing credential."""


@dataclass(frozen=True)
class Credentials:
    """The secret a connector sends to its platform, and an optional login or client id.

    Comes from an Airflow connection (password and login) inside Airflow, or from
    `REVIEW_GOV_SOURCE_<NAME>_SECRET` and `REVIEW_GOV_SOURCE_<NAME>_LOGIN` outside it. The secret
    is left out of `repr()` so that it cannot reach a log by accident.
    """

    secret: str = field(repr=False)
    login: str | None = None

    @staticmethod
    def env_prefix(source: str) -> str:
        return f"REVIEW_GOV_SOURCE_{source.upper().replace('-', '_')}_"

    @classmethod
    def from_env(cls, source: str) -> Credentials | None:
        """Read the source's credentials from the environment; return None when they are unset."""
        prefix = cls.env_prefix(source)
        secret = os.environ.get(f"{prefix}SECRET", "").strip()
        if not secret:
            return None
        return cls(secret=secret, login=os.environ.get(f"{prefix}LOGIN", "").strip() or None)


class SubjectLookup:
    """Links a record to a data subject: a known CRM customer id, or a customer's email address."""

    def customer_id(self, candidate: str | None) -> str | None:
        raise NotImplementedError

    def customer_id_by_email(self, email: str | None) -> str | None:
        raise NotImplementedError

    def __contains__(self, customer_id: object) -> bool:
        return isinstance(customer_id, str) and self.customer_id(customer_id) is not None


@dataclass
class PullContext:
    """Inputs of one pull: the watermark, the credentials and the customer lookup."""

    source: str
    input_dir: Path
    watermark: dict[str, Any] | None
    credentials: Credentials | None
    subjects: SubjectLookup
    known_ids: set[str] = field(default_factory=set)
    sleep: Callable[[float], None] = time.sleep


@dataclass
class PullState:
    """Outcome of one pull, filled in by the connector while its records are consumed.

    `complete` is False when the pull stopped before the end of the listing (request budget spent,
    malformed page). `full_listing` is False when the platform shows only part of the reviews by
    design (Yelp's three excerpts, a listing cut at the watermark). Deletions are only derived from
    a complete, full listing (`listed_ids` set), and the watermark only moves forward after a
    complete pull.
    """

    complete: bool = True
    full_listing: bool = True
    listed_ids: set[str] | None = None
    watermark: dict[str, Any] | None = None
    requests: int = 0
    skipped_by_watermark: int = 0
    stopped_because: str | None = None

    def stop(self, reason: str) -> None:
        self.complete = False
        self.stopped_because = reason


class FileOptions(BaseModel):
    """Options of a file export: its path, relative to the input folder unless absolute."""

    model_config = ConfigDict(extra="forbid")

    path: Path

    def resolve(self, input_dir: Path) -> Path:
        path = self.path if self.path.is_absolute() else input_dir / self.path
        if not path.is_file():
            raise FileNotFoundError(
                f"Export file {path} not found; set REVIEW_GOV_INPUT_DIR or the source's path option."
            )
        return path


class Connector:
    """Base class of the connectors: one subclass per source type, registered by `type_name`."""

    type_name: ClassVar[str]
    kind: ClassVar[SourceKind] = SourceKind.REVIEWS
    needs_credentials: ClassVar[bool] = False

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

    def __init__(self, name: str, options: BaseModel) -> None:
        self.name = name
        self.options = options

    def records(self, ctx: PullContext, state: PullState) -> Iterator[Record | Rejected]:
        """Yield the source's records and rejected rows, updating `state` as the pull goes."""
        raise NotImplementedError

    def reread(self, payload: str, ctx: PullContext) -> Record:
        """Read one quarantined row again with today's rules and store; raise ValueError if still invalid.

        `payload` is the rejected row's `row`, or its `raw` when `row` was not set. Only the source
        name is used, never the options, so a source since removed from the configuration can still
        be retried.
        """
        raise NotImplementedError(f"Connector type {self.type_name} cannot read a quarantined row again.")


def later(first: datetime | None, second: datetime | None) -> datetime | None:
    """Return the later of two optional datetimes."""
    if first is None:
        return second
    if second is None:
        return first
    return max(first, second)
