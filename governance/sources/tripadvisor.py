"""TripAdvisor Content API: `GET /api/v1/location/{id}/reviews`, paged with `offset` and `limit`.

The key goes in the `key` query parameter, so request URLs are never logged. Reviews carry no
edit time: an edit shows up as changed content. The listing ends on an empty page or on a page
shorter than `limit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field

from governance.sources.base import PullContext, PullState
from governance.sources.http import MalformedResponse, PlatformClient
from governance.sources.parsing import parse_rating
from governance.sources.platform import PlatformConnector, PlatformOptions, parse_timestamp
from governance.sources.records import ReviewRecord
from governance.sources.text import clean_text, detect_language, language_code, optional_text

PLATFORM = "tripadvisor"


class TripAdvisorContent(PlatformConnector):
    """The reviews of one TripAdvisor location, read with a Content API key."""

    type_name: ClassVar[str] = "tripadvisor"
    platform: ClassVar[str] = PLATFORM

    class Options(PlatformOptions):
        base_url: str = "https://api.content.tripadvisor.com"
        location_id: str = Field(min_length=1)
        language: str = Field(default="fr", description="Language of the reviews to list.")
        page_size: int = Field(default=5, ge=1, le=100)

    def client(self, ctx: PullContext) -> PlatformClient:
        assert ctx.credentials is not None
        return PlatformClient(
            self.name,
            self.options.base_url,
            policy=self.options.http,
            params={"key": ctx.credentials.secret},
            sleep=ctx.sleep,
        )

    def pages(self, client: PlatformClient, ctx: PullContext, state: PullState) -> Iterator[tuple[str, list[Any]]]:
        path = f"/api/v1/location/{self.options.location_id}/reviews"
        offset = 0
        limit = self.options.page_size
        while True:
            data = client.get_json(path, {"language": self.options.language, "offset": offset, "limit": limit})
            if not isinstance(data, dict):
                raise MalformedResponse(f"malformed JSON from the platform at {path}: expected an object", str(data), path)
            reviews = data.get("data") or []
            yield f"{path} offset {offset}", reviews
            if len(reviews) < limit:
                return
            offset += limit

    def external_id(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value not in (None, "") else None

    def normalise(self, raw: dict[str, Any], ctx: PullContext, customer_id: str | None) -> ReviewRecord:
        user = raw.get("user") or {}
        text = clean_text(raw.get("text"))
        return ReviewRecord(
            source=self.name,
            external_id=str(raw["id"]),
            review_date=parse_timestamp(raw.get("published_date")),
            rating=parse_rating(raw.get("rating")),
            title=optional_text(raw.get("title")),
            text=text,
            language=language_code(raw.get("lang")) or detect_language(text),
            author=optional_text(user.get("username")),
            customer_id=customer_id,
            channel=PLATFORM,
        )
