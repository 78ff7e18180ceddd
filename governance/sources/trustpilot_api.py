"""Trustpilot business-unit reviews, from the public endpoint or the private (authenticated) one.

The public endpoint (`/v1/business-units/{id}/reviews`) takes the API key in an `apikey` header.
The private endpoint (`/v1/private/business-units/{id}/reviews`) takes an OAuth access token and
adds `consumer.email` and `referenceId`: personal data by design. They are used only to link the
review to a CRM customer (`referenceId` first, since businesses set it to their own customer or
order id when they invite a review, then the email) and are never stored.
Paging is by `page` and `perPage`; the listing ends on an empty page or when `links` has no
`next-page`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from governance.sources.base import PullContext, PullState
from governance.sources.http import MalformedResponse, PlatformClient
from governance.sources.parsing import parse_rating
from governance.sources.platform import PlatformConnector, PlatformOptions, parse_timestamp
from governance.sources.records import ReviewRecord
from governance.sources.text import clean_text, language_code, optional_text

PLATFORM = "trustpilot"


class TrustpilotApi(PlatformConnector):
    """The reviews of one Trustpilot business unit."""

    type_name: ClassVar[str] = "trustpilot_api"
    platform: ClassVar[str] = PLATFORM

    class Options(PlatformOptions):
        base_url: str = "https://api.trustpilot.com"
        business_unit_id: str = Field(min_length=1)
        endpoint: Literal["private", "public"] = Field(
            default="private", description="private: OAuth token, adds consumer email; public: API key."
        )
        per_page: int = Field(default=100, ge=1, le=100)

    def client(self, ctx: PullContext) -> PlatformClient:
        assert ctx.credentials is not None
        if self.options.endpoint == "public":
            headers = {"apikey": ctx.credentials.secret}
        else:
            headers = {"Authorization": f"Bearer {ctx.credentials.secret}"}
            if ctx.credentials.login:
                headers["apikey"] = ctx.credentials.login
        return PlatformClient(self.name, self.options.base_url, policy=self.options.http, headers=headers, sleep=ctx.sleep)

    def pages(self, client: PlatformClient, ctx: PullContext, state: PullState) -> Iterator[tuple[str, list[Any]]]:
        prefix = "/v1/private" if self.options.endpoint == "private" else "/v1"
        path = f"{prefix}/business-units/{self.options.business_unit_id}/reviews"
        page = 0
        while True:
            page += 1
            data = client.get_json(path, {"page": page, "perPage": self.options.per_page, "orderBy": "createdat.desc"})
            if not isinstance(data, dict):
                raise MalformedResponse(f"malformed JSON from the platform at {path}: expected an object", str(data), path)
            reviews = data.get("reviews") or []
            yield f"{path} page {page}", reviews
            links = data.get("links") or []
            has_next = any(isinstance(link, dict) and link.get("rel") == "next-page" for link in links)
            if not reviews or not has_next:
                return

    def external_id(self, raw: dict[str, Any]) -> str | None:
        value = raw.get("id")
        return str(value) if value else None

    def updated_at(self, raw: dict[str, Any]) -> datetime | None:
        value = raw.get("updatedAt") or raw.get("createdAt")
        return parse_timestamp(value) if value else None

    def customer_of(self, raw: dict[str, Any], ctx: PullContext) -> str | None:
        reference = raw.get("referenceId")
        customer_id = ctx.subjects.customer_id(str(reference).strip()) if reference else None
        if customer_id is None:
            consumer = raw.get("consumer") or {}
            customer_id = ctx.subjects.customer_id_by_email(consumer.get("email"))
        return customer_id

    def normalise(self, raw: dict[str, Any], ctx: PullContext, customer_id: str | None) -> ReviewRecord:
        consumer = raw.get("consumer") or {}
        updated = raw.get("updatedAt")
        return ReviewRecord(
            source=self.name,
            external_id=str(raw["id"]),
            review_date=parse_timestamp(raw.get("createdAt")),
            experience_date=parse_timestamp(raw["experiencedAt"]) if raw.get("experiencedAt") else None,
            updated_at=parse_timestamp(updated) if updated else None,
            rating=parse_rating(raw.get("stars")),
            title=optional_text(raw.get("title")),
            text=clean_text(raw.get("text")),
            language=language_code(raw.get("language")),
            author=optional_text(consumer.get("displayName")),
            customer_id=customer_id,
            channel=PLATFORM,
        )
