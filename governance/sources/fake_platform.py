"""A local stand-in for the review platforms, serving recorded-shape fixtures on 127.0.0.1.

The tests and the demo use it. It pages like each platform (Google page tokens, Trustpilot pages,
TripAdvisor offsets) and checks credentials. It can inject faults on a given page: a 429 with
`Retry-After`, a 500, malformed JSON. Its `later` state has one review per platform edited and
one deleted. Every personal value in the fixtures is invented.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).with_name("fixtures") / "platform_reviews.json"
PLATFORMS = ("google", "trustpilot", "yelp", "tripadvisor")
DEMO_SECRETS = {
    "google": "fake-google-oauth-token",
    "trustpilot": "fake-trustpilot-access-token",
    "yelp": "fake-yelp-api-key",
    "tripadvisor": "fake-tripadvisor-key",
}


@dataclass
class Fault:
    """A faulty response served to the next `times` requests for one page of one platform."""

    platform: str
    page: int
    kind: str  # "429", "500" or "malformed"
    times: int = 1
    retry_after: str = "1"


@dataclass
class Served:
    """One served request: platform, page and status only, never a header or a key."""

    platform: str
    page: int
    status: int


class FakePlatformServer:
    """Serves the fixtures over HTTP on a free loopback port, in a background thread."""

    def __init__(self, fixtures: Path = FIXTURES, secrets: dict[str, str] | None = None) -> None:
        self._initial = json.loads(fixtures.read_text(encoding="utf-8"))
        self.data = copy.deepcopy(self._initial)
        self.secrets = dict(secrets or DEMO_SECRETS)
        self.faults: list[Fault] = []
        self.served: list[Served] = []
        self.state = "initial"
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("The fake platform server is not started; call start() first.")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakePlatformServer:
        handler = type("Handler", (_Handler,), {"platforms": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-platforms", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakePlatformServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def add_fault(self, platform: str, page: int, kind: str, times: int = 1, retry_after: str = "1") -> None:
        with self._lock:
            self.faults.append(Fault(platform, page, kind, times, retry_after))

    def set_state(self, state: str) -> None:
        """Switch to `initial` or to `later` (one review edited and one deleted per platform)."""
        if state not in ("initial", "later"):
            raise ValueError(f"Unknown state {state!r}; expected initial or later.")
        data = copy.deepcopy(self._initial)
        if state == "later":
            for platform in PLATFORMS:
                _apply_later(data[platform])
        with self._lock:
            self.data = data
            self.state = state

    def reviews(self, platform: str) -> list[dict[str, Any]]:
        return self.data[platform]["reviews"]

    def source_options(self, platform: str) -> dict[str, Any]:
        """Return the options of a source that reads this platform from this server."""
        fixture = self.data[platform]
        ids = {
            "google": {"account_id": fixture.get("account_id"), "location_id": fixture.get("location_id"), "page_size": 3},
            "trustpilot": {"business_unit_id": fixture.get("business_unit_id"), "per_page": 2},
            "yelp": {"business_id": fixture.get("business_id")},
            "tripadvisor": {"location_id": fixture.get("location_id"), "page_size": 3},
        }[platform]
        return {"base_url": self.url, **ids}

    def take_fault(self, platform: str, page: int) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.platform == platform and fault.page == page and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def record(self, platform: str, page: int, status: int) -> None:
        with self._lock:
            self.served.append(Served(platform, page, status))


def _apply_later(fixture: dict[str, Any]) -> None:
    later = fixture.get("later") or {}
    deleted = set(later.get("delete", []))
    remaining = []
    for review in fixture["reviews"]:
        review_id = str(review.get("reviewId") or review.get("id"))
        if review_id in deleted:
            continue
        review.update(later.get("edit", {}).get(review_id, {}))
        remaining.append(review)
    fixture["reviews"] = remaining


class _Handler(BaseHTTPRequestHandler):
    platforms: FakePlatformServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Log nothing, because the request line contains the TripAdvisor key."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        segments = [segment for segment in parts.path.split("/") if segment]
        route = self._route(segments, query)
        if route is None:
            self._send(404, {"error": "not found"}, "unknown", 0)
            return
        platform, page, build = route
        if not self._authorised(platform, segments, query):
            self._send(401, {"error": "invalid credentials"}, platform, page)
            return
        fault = self.platforms.take_fault(platform, page)
        if fault is not None:
            self._send_fault(fault, page)
            return
        self._send(200, build(), platform, page)

    def _route(self, segments: list[str], query: dict[str, str]):  # type: ignore[no-untyped-def]
        data = self.platforms.data
        if segments[:1] == ["v4"] and segments[-1:] == ["reviews"] and len(segments) == 6:
            if segments[2] != data["google"]["account_id"] or segments[4] != data["google"]["location_id"]:
                return None
            return self._google(query)
        if segments[-1:] == ["reviews"] and "business-units" in segments:
            if segments[segments.index("business-units") + 1] != data["trustpilot"]["business_unit_id"]:
                return None
            return self._trustpilot(query, private="private" in segments)
        if segments[:2] == ["v3", "businesses"] and segments[-1:] == ["reviews"]:
            if segments[2] != data["yelp"]["business_id"]:
                return None
            return "yelp", 1, self._yelp
        if segments[:3] == ["api", "v1", "location"] and segments[-1:] == ["reviews"]:
            if segments[3] != data["tripadvisor"]["location_id"]:
                return None
            return self._tripadvisor(query)
        return None

    def _google(self, query: dict[str, str]):  # type: ignore[no-untyped-def]
        size = int(query.get("pageSize", 50))
        token = query.get("pageToken", "")
        offset = int(token.removeprefix("after-")) if token.startswith("after-") else 0
        fixture = self.platforms.data["google"]

        def build() -> dict[str, Any]:
            ordered = sorted(fixture["reviews"], key=lambda review: review["updateTime"], reverse=True)
            body: dict[str, Any] = {
                "reviews": ordered[offset : offset + size],
                "averageRating": fixture.get("averageRating"),
                "totalReviewCount": len(ordered),
            }
            if offset + size < len(ordered):
                body["nextPageToken"] = f"after-{offset + size}"
            return body

        return "google", offset // size + 1, build

    def _trustpilot(self, query: dict[str, str], *, private: bool):  # type: ignore[no-untyped-def]
        page = int(query.get("page", 1))
        size = int(query.get("perPage", 20))
        fixture = self.platforms.data["trustpilot"]

        def build() -> dict[str, Any]:
            reviews = copy.deepcopy(fixture["reviews"][(page - 1) * size : page * size])
            if not private:
                for review in reviews:
                    review.get("consumer", {}).pop("email", None)
                    review.pop("referenceId", None)
            links = [{"rel": "self", "href": f"?page={page}"}]
            if page * size < len(fixture["reviews"]):
                links.append({"rel": "next-page", "href": f"?page={page + 1}"})
            return {"reviews": reviews, "links": links}

        return "trustpilot", page, build

    def _yelp(self) -> dict[str, Any]:
        fixture = self.platforms.data["yelp"]
        return {
            "reviews": fixture["reviews"][:3],
            "total": len(fixture["reviews"]),
            "possible_languages": fixture.get("possible_languages", []),
        }

    def _tripadvisor(self, query: dict[str, str]):  # type: ignore[no-untyped-def]
        offset = int(query.get("offset", 0))
        limit = int(query.get("limit", 5))
        fixture = self.platforms.data["tripadvisor"]
        return "tripadvisor", offset // limit + 1, lambda: {"data": fixture["reviews"][offset : offset + limit]}

    def _authorised(self, platform: str, segments: list[str], query: dict[str, str]) -> bool:
        secret = self.platforms.secrets[platform]
        if platform == "tripadvisor":
            return query.get("key") == secret
        if platform == "trustpilot" and "private" not in segments:
            return self.headers.get("apikey") == secret
        return self.headers.get("Authorization") == f"Bearer {secret}"

    def _send_fault(self, fault: Fault, page: int) -> None:
        if fault.kind == "malformed":
            self._send_raw(200, b'{"reviews": [{"reviewId": "truncated', fault.platform, page)
        elif fault.kind == "429":
            self._send(429, {"error": "rate limited"}, fault.platform, page, {"Retry-After": fault.retry_after})
        else:
            self._send(int(fault.kind), {"error": "server error"}, fault.platform, page)

    def _send(
        self, status: int, body: Any, platform: str, page: int, headers: dict[str, str] | None = None
    ) -> None:
        self._send_raw(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), platform, page, headers)

    def _send_raw(
        self, status: int, payload: bytes, platform: str, page: int, headers: dict[str, str] | None = None
    ) -> None:
        self.platforms.record(platform, page, status)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
