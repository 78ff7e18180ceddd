"""HTTP access to review platforms: timeouts, retries with backoff, `Retry-After`, a request budget.

Logs name the source, the URL path and the status, never the query string or headers: some
platforms (the TripAdvisor Content API) take their key as a query parameter.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

# httpx logs every request with its full URL at INFO, query string included. Keep it quiet so that
# a key sent as a query parameter never reaches a task log.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


class HttpPolicy(BaseModel):
    """Timeouts, retries and the request budget of one source, settable per source in the config."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(default=30.0, gt=0, description="Connect and read timeout, in seconds.")
    max_retries: int = Field(default=4, ge=0, description="Retries after a 429, a 5xx or a network error.")
    backoff_s: float = Field(default=1.0, ge=0, description="First backoff; it doubles at each retry.")
    max_wait_s: float = Field(
        default=300.0, ge=0, description="Longest wait accepted from Retry-After or backoff, in seconds."
    )
    request_budget: int = Field(default=200, ge=1, description="Most requests one pull may send, retries included.")


class PlatformError(RuntimeError):
    """The platform rejected the request, or kept failing after every retry."""


class RequestBudgetExhausted(RuntimeError):
    """The source spent its request budget for this pull."""


class MalformedResponse(ValueError):
    """A 200 response whose body is not JSON; `body` keeps it for quarantine."""

    def __init__(self, message: str, body: str, path: str) -> None:
        super().__init__(message)
        self.body = body
        self.path = path


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse `Retry-After` as delay seconds or an HTTP date; return None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class PlatformClient:
    """A JSON client for one source, with retries and a request budget shared by the whole pull."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        policy: HttpPolicy,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.source = source
        self.policy = policy
        self.requests = 0
        self.waited_s = 0.0
        self._sleep = sleep
        self._params = dict(params or {})
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Accept": "application/json", **(headers or {})},
            timeout=httpx.Timeout(policy.timeout_s),
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path` and decode its JSON body, retrying 429, 5xx and network errors with backoff.

        Raises RequestBudgetExhausted before a request the budget does not cover, PlatformError on
        another 4xx or once retries are spent, and MalformedResponse when a 200 body is not JSON.
        """
        query = {**self._params, **(params or {})}
        attempt = 0
        while True:
            if self.requests >= self.policy.request_budget:
                raise RequestBudgetExhausted(
                    f"Source {self.source}: request budget of {self.policy.request_budget} spent; "
                    "the pull stops here and resumes from its watermark on the next run. "
                    "Raise request_budget in the sources configuration if this happens every run."
                )
            self.requests += 1
            try:
                response = self._client.get(path, params=query)
            except httpx.TransportError as error:
                wait = self._backoff(attempt)
                self._retry_or_raise(attempt, wait, path, f"network error {type(error).__name__}")
                attempt += 1
                continue

            status = response.status_code
            if status == 200:
                log.debug("Source %s: GET %s -> 200", self.source, path)
                return self._decode(response, path)
            if status == 429 or status >= 500:
                announced = retry_after_seconds(response.headers.get("Retry-After"))
                wait = announced if announced is not None else self._backoff(attempt)
                self._retry_or_raise(attempt, wait, path, f"HTTP {status}")
                attempt += 1
                continue
            raise PlatformError(self._client_error_message(status, path))

    def _decode(self, response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MalformedResponse(
                f"malformed JSON from the platform at {path}: {error}", response.text, path
            ) from None

    def _backoff(self, attempt: int) -> float:
        return self.policy.backoff_s * (2**attempt)

    def _retry_or_raise(self, attempt: int, wait: float, path: str, failure: str) -> None:
        if attempt >= self.policy.max_retries:
            raise PlatformError(
                f"Source {self.source}: GET {path} failed with {failure} after {attempt + 1} attempts; "
                "the platform may be down, rerun the task later."
            )
        if wait > self.policy.max_wait_s:
            raise PlatformError(
                f"Source {self.source}: GET {path} returned {failure} and asks to wait {wait:.0f} s, "
                f"more than max_wait_s={self.policy.max_wait_s:.0f}; rerun the task later."
            )
        log.warning(
            "Source %s: GET %s returned %s; retry %d of %d in %.1f s",
            self.source, path, failure, attempt + 1, self.policy.max_retries, wait,
        )
        self.waited_s += wait
        self._sleep(wait)

    def _client_error_message(self, status: int, path: str) -> str:
        if status in (401, 403):
            hint = (
                "check the source's credentials (Airflow connection password, or "
                "REVIEW_GOV_SOURCE_<NAME>_SECRET outside Airflow) and that the account may read this location"
            )
        elif status == 404:
            hint = "check the location or business id in the sources configuration"
        else:
            hint = "check the source's options in the sources configuration"
        return f"Source {self.source}: GET {path} was rejected with HTTP {status}; {hint}."
