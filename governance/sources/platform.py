"""What the review-platform connectors share: paging, the watermark, rejected reviews, deletions.

A platform connector lists the reviews of one location page by page. Every review id seen goes to
`listed_ids`, so that once the listing is complete the runner can mark deleted the stored reviews
that the platform no longer lists. A review already stored whose update time is not after the
watermark is skipped before normalisation; a review not yet stored is always loaded, whatever its
date, so a review published late (after moderation) is never lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from governance.sources.base import Connector, PullContext, PullState, Record, later
from governance.sources.http import (
    HttpPolicy,
    MalformedResponse,
    PlatformClient,
    RequestBudgetExhausted,
)
from governance.sources.records import Rejected, ReviewRecord
from governance.sources.trustpilot_csv import _reason

# RFC 3339 allows any number of fractional digits; Google sends up to 9 (nanoseconds), and
# datetime.fromisoformat accepts at most 6.
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_timestamp(value: object) -> datetime:
    """Parse an RFC 3339 timestamp (nanoseconds allowed) into an aware UTC datetime."""
    text = str(value or "").strip()
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"unreadable timestamp {text!r}: expected RFC 3339 such as 2024-05-13T09:30:00Z")
    base, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]
    zone = "+00:00" if zone in (None, "Z") else zone
    parsed = datetime.fromisoformat(f"{base}{fraction}{zone}")
    return parsed.astimezone(UTC)


class PlatformOptions(BaseModel):
    """Options every platform source takes, besides its own ids."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="Root URL of the platform API; tests and the demo point it at a local server.")
    http: HttpPolicy = Field(default_factory=HttpPolicy)


class PlatformConnector(Connector):
    """Base of the platform connectors; subclasses define the pages and the normalisation."""

    needs_credentials: ClassVar[bool] = True
    platform: ClassVar[str]
    options: Any

    def client(self, ctx: PullContext) -> PlatformClient:
        raise NotImplementedError

    def pages(self, client: PlatformClient, ctx: PullContext, state: PullState) -> Iterator[tuple[str, list[Any]]]:
        """Yield (page reference, reviews of the page) until the listing ends."""
        raise NotImplementedError

    def external_id(self, raw: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def updated_at(self, raw: dict[str, Any]) -> datetime | None:
        """Return the review's last edit time on the platform, when the platform gives one."""
        return None

    def customer_of(self, raw: dict[str, Any], ctx: PullContext) -> str | None:
        """Return the CRM customer id the review belongs to, when the platform lets us know it."""
        return None

    def normalise(self, raw: dict[str, Any], ctx: PullContext, customer_id: str | None) -> ReviewRecord:
        raise NotImplementedError

    def since(self, ctx: PullContext) -> datetime | None:
        value = (ctx.watermark or {}).get("updated_since")
        return parse_timestamp(value) if value else None

    def records(self, ctx: PullContext, state: PullState) -> Iterator[ReviewRecord | Rejected]:
        since = self.since(ctx)
        listed: set[str] = set()
        newest: datetime | None = None
        pages_read = 0
        with self.client(ctx) as client:
            try:
                for page_ref, items in self.pages(client, ctx, state):
                    pages_read += 1
                    for raw in items:
                        for item in self._review(raw, page_ref, ctx, since, state, listed):
                            yield item
                        newest = later(newest, self._safe_updated_at(raw))
            except RequestBudgetExhausted as error:
                state.stop(str(error))
            except MalformedResponse as error:
                state.stop(str(error))
                ref = f"{error.path} page {pages_read + 1}"
                yield Rejected(self.name, ref, "malformed JSON page from the platform", error.body)
            finally:
                state.requests = client.requests
        if state.complete:
            if state.full_listing:
                state.listed_ids = listed
            newest = later(newest, since)
            state.watermark = {"updated_since": newest.isoformat()} if newest else None

    def _safe_updated_at(self, raw: Any) -> datetime | None:
        if not isinstance(raw, dict):
            return None
        try:
            return self.updated_at(raw)
        except ValueError:
            return None

    def _review(
        self,
        raw: Any,
        page_ref: str,
        ctx: PullContext,
        since: datetime | None,
        state: PullState,
        listed: set[str],
    ) -> Iterator[ReviewRecord | Rejected]:
        raw_text = json.dumps(raw, ensure_ascii=False, sort_keys=True)
        if not isinstance(raw, dict):
            yield Rejected(self.name, page_ref, "malformed review: expected a JSON object", raw_text)
            return
        external_id = self.external_id(raw)
        if not external_id:
            yield Rejected(self.name, page_ref, "missing review id", raw_text)
            return
        listed.add(external_id)
        updated_at = self._safe_updated_at(raw)
        if since is not None and updated_at is not None and updated_at <= since and external_id in ctx.known_ids:
            state.skipped_by_watermark += 1
            return
        customer_id = self.customer_of(raw, ctx)
        try:
            yield self.normalise(raw, ctx, customer_id)
        except ValueError as error:
            ref = f"{self.platform} review {external_id}"
            yield Rejected(self.name, ref, _reason(error), raw_text, customer_id=customer_id, reader=self.type_name)

    def reread(self, payload: str, ctx: PullContext) -> Record:
        """Normalise a stored review again: only reviews that were JSON objects with an id are retried."""
        raw = json.loads(payload)
        return self.normalise(raw, ctx, self.customer_of(raw, ctx))
