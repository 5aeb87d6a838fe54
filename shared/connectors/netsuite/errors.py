"""NetSuite's documented error body read into the hub's errors, and the small readers of an answer.

An error answer carries `type`, `title`, `status` and `o:errorDetails` (each with `detail`,
`o:errorCode` and where it happened: `o:errorPath`, `o:urlPath`, `o:errorHeader`, `o:errorQueryParam`).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.connectors.netsuite.auth import oauth_error
from shared.connectors.netsuite.schemas import ErrorBody, parse_error
from shared.domain.errors import (
    ConfigurationError,
    PermanentError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

# What a RESTlet answers when the concurrency limit is exceeded (400 with this code): treated as a
# throttle as well, should REST answer it the same way.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/bridgehead_1525252812.html
CONCURRENCY_EXCEEDED = "SSS_REQUEST_LIMIT_EXCEEDED"
CONCURRENCY_PAUSE_SECONDS = 1.0


class NetSuiteRecordError(ValidationFailed):
    """NetSuite refused the request (4xx); `details` holds each `o:errorDetails` entry."""

    def __init__(self, message: str, body: ErrorBody | None = None) -> None:
        super().__init__(message)
        self.details = body.details if body is not None else []

    @property
    def codes(self) -> set[str]:
        """The `o:errorCode` of every detail."""
        return {detail.error_code for detail in self.details if detail.error_code}


def describe_error(response: httpx.Response) -> str:
    """A one-line summary of a NetSuite error answer (the documented body, or OAuth error JSON)."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return response.text[:300]
    parsed = parse_error(body)
    if parsed is not None and parsed.details:
        return "; ".join(str(detail) for detail in parsed.details)
    if parsed is not None and parsed.title:
        return parsed.title
    return oauth_error(response)


def error_for(response: httpx.Response, context: str) -> Exception:
    """The hub's error for a 4xx answer NetSuite gave (the caller handles 2xx, 404, 429 and 5xx)."""
    body = parse_error(json_or_none(response))
    summary = f"netsuite: {context}: {response.status_code} {describe_error(response)}"
    codes = {detail.error_code for detail in body.details} if body is not None else set()
    if CONCURRENCY_EXCEEDED in codes:
        return RateLimitedError(summary, retry_after=CONCURRENCY_PAUSE_SECONDS)
    if response.status_code in (401, 403):
        # A fresh token was refused too (VendorHttp renews once after a 401): the integration,
        # its role or the role's permissions are what is wrong, not the request.
        return ConfigurationError(
            f"{summary}; check the role mapped to the integration's certificate and its permissions"
        )
    if 400 <= response.status_code < 500:
        return NetSuiteRecordError(summary, body)
    return PermanentError(summary)


def json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def read_json(response: httpx.Response, context: str) -> Any:
    """The JSON body of an answer, numbers with a fraction as Decimal (money never passes through float)."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise TransientError(f"netsuite: {context}: response is not JSON") from exc


def location_id(response: httpx.Response) -> str | None:
    """The last path segment of the Location header (a new record's, or an async job's, id)."""
    location = response.headers.get("location")
    if not location:
        return None
    segment = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    return segment or None
