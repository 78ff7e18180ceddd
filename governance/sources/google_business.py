"""Google Business Profile: `accounts.locations.reviews.list`, paged with `nextPageToken`.

Quirks: `starRating` is an enum (`ONE` to `FIVE`, or `STAR_RATING_UNSPECIFIED`), not a number;
`displayName` is a real name unless `reviewer.isAnonymous` is true; an edit moves `updateTime`;
timestamps carry up to nine fractional digits; a review may have no `comment` (rating only); a
comment translated by Google holds both texts, `(Translated by Google) ... (Original) ...`, and the
original is kept. The review carries no language, so it is detected from the text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field

from governance.sources.base import PullContext, PullState
from governance.sources.http import MalformedResponse, PlatformClient
from governance.sources.platform import PlatformConnector, PlatformOptions, parse_timestamp
from governance.sources.records import ReviewRecord
from governance.sources.text import clean_text, detect_language, optional_text

PLATFORM = "google_business_profile"
STAR_RATINGS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0}
UNSPECIFIED = "STAR_RATING_UNSPECIFIED"
TRANSLATED = "(Translated by Google)"
ORIGINAL = "(Original)"


def original_comment(comment: str) -> str:
    """Return the reviewer's own words from a comment that Google may have translated."""
    if ORIGINAL in comment:
        return comment.split(ORIGINAL, 1)[1].strip()
    if TRANSLATED in comment:
        return comment.split(TRANSLATED, 1)[0].strip()
    return comment


def star_rating(value: object) -> float | None:
    if value in (None, UNSPECIFIED):
        return None
    if value not in STAR_RATINGS:
        raise ValueError(f"unknown starRating {value!r}: expected ONE to FIVE or {UNSPECIFIED}")
    return STAR_RATINGS[str(value)]


class GoogleBusinessProfile(PlatformConnector):
    """The reviews of one Google Business Profile location, read with an OAuth access token."""

    type_name: ClassVar[str] = PLATFORM
    platform: ClassVar[str] = PLATFORM

    class Options(PlatformOptions):
        base_url: str = "https://mybusiness.googleapis.com"
        account_id: str = Field(min_length=1)
        location_id: str = Field(min_length=1)
        page_size: int = Field(default=50, ge=1, le=50, description="Reviews per page; Google allows 50.")
        full_listing: bool = Field(
            default=True,
            description=(
                "List every page on each run, so that deleted reviews are found. When false, paging "
                "stops at the first page older than the watermark and deletions are not detected."
            ),
        )

    def client(self, ctx: PullContext) -> PlatformClient:
        assert ctx.credentials is not None
        return PlatformClient(
            self.name,
            self.options.base_url,
            policy=self.options.http,
            headers={"Authorization": f"Bearer {ctx.credentials.secret}"},
            sleep=ctx.sleep,
        )

    def pages(self, client: PlatformClient, ctx: PullContext, state: PullState) -> Iterator[tuple[str, list[Any]]]:
        path = f"/v4/accounts/{self.options.account_id}/locations/{self.options.location_id}/reviews"
        since = self.since(ctx)
        token: str | None = None
        page = 0
        while True:
            page += 1
            params = {"pageSize": self.options.page_size, "orderBy": "updateTime desc"}
            if token:
                params["pageToken"] = token
            data = client.get_json(path, params)
            if not isinstance(data, dict):
                raise MalformedResponse(f"malformed JSON from the platform at {path}: expected an object", str(data), path)
            reviews = data.get("reviews") or []
            yield f"{path} page {page}", reviews
            token = data.get("nextPageToken")
            if not reviews or not token:
                return
            if not self.options.full_listing and since is not None and self._page_older_than(reviews, since):
                state.full_listing = False
                return

    def _page_older_than(self, reviews: list[Any], since: datetime) -> bool:
        times = [self._safe_updated_at(review) for review in reviews]
        return all(time is not None and time <= since for time in times)

    def external_id(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("reviewId")
        return str(value) if value else None

    def updated_at(self, raw: dict[str, Any]) -> datetime | None:
        value = raw.get("updateTime")
        return parse_timestamp(value) if value else None

    def normalise(self, raw: dict[str, Any], ctx: PullContext, customer_id: str | None) -> ReviewRecord:
        reviewer = raw.get("reviewer") or {}
        text = clean_text(original_comment(str(raw.get("comment") or "")))
        return ReviewRecord(
            source=self.name,
            external_id=str(raw["reviewId"]),
            review_date=parse_timestamp(raw.get("createTime")),
            updated_at=self.updated_at(raw),
            rating=star_rating(raw.get("starRating")),
            text=text,
            language=detect_language(text),
            author=None if reviewer.get("isAnonymous") else optional_text(reviewer.get("displayName")),
            customer_id=customer_id,
            channel=PLATFORM,
        )
