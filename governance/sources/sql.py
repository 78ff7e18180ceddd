"""Connectors that read customers, consents and survey responses from a CRM database.

Each source gives a SQLAlchemy URL and a query whose columns are named like the CSV exports'
(`customer_id, first_name, ...`). The password can stay out of the URL: the source's credentials
(Airflow connection, or `REVIEW_GOV_SOURCE_<NAME>_SECRET` and `_LOGIN`) fill it in. A query may use
the bind parameter `:since`; it then receives the largest `watermark_column` value of the last
complete pull (or `since_default` on the first), so that each run reads only new or changed rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from governance.sources.base import Connector, Credentials, PullContext, PullState, Record, SourceKind
from governance.sources.crm_csv import (
    CONSENT_COLUMNS,
    CUSTOMER_COLUMNS,
    consent_from_row,
    customer_from_row,
)
from governance.sources.records import Rejected
from governance.sources.survey_jsonl import response_from_item
from governance.sources.trustpilot_csv import _reason

SURVEY_COLUMNS = ["response_id", "customer_id", "submitted_at", "rating", "comment", "language", "channel"]


class SqlOptions(BaseModel):
    """Where the rows come from and which query reads them."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="SQLAlchemy URL of the CRM database, without its password.")
    query: str = Field(min_length=1, description="SELECT returning the expected columns; may use :since.")
    watermark_column: str | None = Field(
        default=None, description="Column whose largest value becomes the next :since."
    )
    since_default: str = Field(default="1970-01-01 00:00:00", description=":since on the first pull.")


def database_url(url: str, credentials: Credentials | None) -> URL:
    """Return the URL with the credentials' login and secret as username and password."""
    parsed = make_url(url)
    if credentials is None:
        return parsed
    return parsed.set(username=credentials.login or parsed.username, password=credentials.secret)


def as_text(value: Any) -> str:
    """Turn a database value into the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def watermark_value(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


class SqlConnector(Connector):
    """Base of the SQL connectors: runs the query and turns each row into a record."""

    Options = SqlOptions
    columns: ClassVar[list[str]]
    options: SqlOptions

    def build(self, row: Mapping[str, str], ctx: PullContext) -> Any:
        raise NotImplementedError

    def reread(self, payload: str, ctx: PullContext) -> Record:
        return self.build(json.loads(payload), ctx)  # type: ignore[no-any-return]

    def records(self, ctx: PullContext, state: PullState) -> Iterator[Any]:
        state.full_listing = False
        engine = create_engine(database_url(self.options.url, ctx.credentials))
        params = {}
        if ":since" in self.options.query:
            params["since"] = (ctx.watermark or {}).get("since", self.options.since_default)
        newest: Any = None
        try:
            with engine.connect() as conn:
                result = conn.execute(text(self.options.query), params)
                missing = [column for column in self.columns if column not in result.keys()]
                if missing:
                    raise ValueError(
                        f"Source {self.name}: the query returns no column {missing}; "
                        f"name the columns {', '.join(self.columns)}."
                    )
                for number, mapping in enumerate(result.mappings(), start=1):
                    row = {key: as_text(value) for key, value in mapping.items()}
                    if self.options.watermark_column:
                        value = mapping.get(self.options.watermark_column)
                        if value is not None and (newest is None or value > newest):
                            newest = value
                    try:
                        yield self.build(row, ctx)
                    except ValueError as error:
                        raw = "\x1f".join(f"{key}={value}" for key, value in row.items())
                        customer_id = row.get("customer_id") or None
                        yield Rejected(
                            self.name, f"query row {number}", _reason(error), raw, customer_id=customer_id,
                            reader=self.type_name, row=json.dumps(row, ensure_ascii=False),
                        )
        except SQLAlchemyError as error:
            # The driver's message may quote the URL; SQLAlchemy hides its password as ***.
            raise RuntimeError(f"Source {self.name}: reading the CRM database failed: {error}") from error
        finally:
            engine.dispose()
        if newest is not None:
            state.watermark = {"since": watermark_value(newest)}
        elif ctx.watermark:
            state.watermark = ctx.watermark


class SqlCustomers(SqlConnector):
    """CRM customers from a database query."""

    type_name: ClassVar[str] = "sql_customers"
    kind: ClassVar[SourceKind] = SourceKind.CUSTOMERS
    columns: ClassVar[list[str]] = CUSTOMER_COLUMNS

    def build(self, row: Mapping[str, str], ctx: PullContext) -> Any:
        return customer_from_row(row)


class SqlConsents(SqlConnector):
    """Consents of CRM customers from a database query."""

    type_name: ClassVar[str] = "sql_consents"
    kind: ClassVar[SourceKind] = SourceKind.CONSENTS
    columns: ClassVar[list[str]] = CONSENT_COLUMNS

    def build(self, row: Mapping[str, str], ctx: PullContext) -> Any:
        return consent_from_row(row, ctx.subjects)


class SqlSurvey(SqlConnector):
    """Survey responses from a database query; responses of unknown customers are rejected."""

    type_name: ClassVar[str] = "sql_survey"
    columns: ClassVar[list[str]] = SURVEY_COLUMNS

    def build(self, row: Mapping[str, str], ctx: PullContext) -> Any:
        return response_from_item(row, ctx.subjects, source=self.name)
