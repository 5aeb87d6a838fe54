"""Errors as Salesforce answers them: an HTTP status and a JSON array of {message, errorCode, fields}."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.local.sandboxes.kit.answers import VendorError


class SalesforceApiError(VendorError):
    """An error answered as Salesforce does: HTTP status plus a JSON array of {message, errorCode, fields}."""

    def __init__(self, status: int, code: str, message: str, fields: Iterable[str] | None = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        # None: an error whose body has no "fields" key (REQUEST_LIMIT_EXCEEDED answers without one).
        self.fields = list(fields) if fields is not None else None

    content_type = "application/json;charset=UTF-8"

    def body(self) -> list[dict[str, Any]]:
        if self.fields is None:
            return [{"message": self.message, "errorCode": self.code}]
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


# Error bodies for `fail_next(n, status)`, by status.
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
FAULTS = {
    400: ("MALFORMED_QUERY", "Bad request"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("INSUFFICIENT_ACCESS", "Insufficient access"),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    500: (
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support",
    ),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server unavailable"),
}


def malformed(message: str) -> SalesforceApiError:
    return SalesforceApiError(400, "MALFORMED_QUERY", message)
