"""Yelp Fusion: `GET /v3/businesses/{id}/reviews`, at most three review excerpts per business.

Quirks: `text` is an excerpt, not the whole review; `time_created` is `YYYY-MM-DD HH:MM:SS` in
Pacific time, converted to UTC here; there is no edit time, so an edit shows up as a changed
excerpt. Since Yelp returns only the newest reviews, a review missing from the answer is only
taken as deleted when `total` says the answer held every review of the business.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field

from governance.sources.base import PullContext, PullState
from governance.sources.http import MalformedResponse, PlatformClient
from governance.sources.parsing import parse_rating
from governance.sources.platform import PlatformConnector, PlatformOptions
from governance.sources.records import ReviewRecord
from governance.sources.text import clean_text, detect_language, language_code, optional_text

PLATFORM = "yelp"
YELP_TIME_ZONE = ZoneInfo("America/Los_Angeles")


def parse_yelp_time(value: object) -> datetime:
    """Parse Yelp's `YYYY-MM-DD HH:MM:SS` (Pacific time) into UTC."""
    text = str(value or "").strip()
    try:
        local = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise ValueError(f"unreadable time_created {text!r}: expected YYYY-MM-DD HH:MM:SS") from None
    return local.replace(tzinfo=YELP_TIME_ZONE).astimezone(UTC)


class YelpFusion(PlatformConnector):
    """The review excerpts of one Yelp business, read with a Fusion API key."""

    type_name: ClassVar[str] = "yelp_fusion"
    platform: ClassVar[str] = PLATFORM

    class Options(PlatformOptions):
        base_url: str = "https://api.yelp.com"
        business_id: str = Field(min_length=1)
        locale: str | None = Field(default=None, description="Yelp locale such as fr_FR.")

    def client(self, ctx: PullContext) -> PlatformClient:
        assert ctx.credentials is not None
        headers = {"Authorization": f"Bearer {ctx.credentials.secret}"}
        return PlatformClient(self.name, self.options.base_url, policy=self.options.http, headers=headers, sleep=ctx.sleep)

    def pages(self, client: PlatformClient, ctx: PullContext, state: PullState) -> Iterator[tuple[str, list[Any]]]:
        path = f"/v3/businesses/{self.options.business_id}/reviews"
        params: dict[str, Any] = {"limit": 3, "sort_by": "newest"}
        if self.options.locale:
            params["locale"] = self.options.locale
        data = client.get_json(path, params)
        if not isinstance(data, dict):
            raise MalformedResponse(f"malformed JSON from the platform at {path}: expected an object", str(data), path)
        reviews = data.get("reviews") or []
        languages = data.get("possible_languages") or []
        self._language = language_code(languages[0]) if len(languages) == 1 else None
        total = data.get("total")
        if not isinstance(total, int) or total > len(reviews):
            state.full_listing = False
        yield path, reviews

    def external_id(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value else None

    def normalise(self, raw: dict[str, Any], ctx: PullContext, customer_id: str | None) -> ReviewRecord:
        user = raw.get("user") or {}
        text = clean_text(raw.get("text"))
        return ReviewRecord(
            source=self.name,
            external_id=str(raw["id"]),
            review_date=parse_yelp_time(raw.get("time_created")),
            rating=parse_rating(raw.get("rating")),
            text=text,
            language=getattr(self, "_language", None) or detect_language(text),
            author=optional_text(user.get("name")),
            customer_id=customer_id,
            channel=PLATFORM,
        )
