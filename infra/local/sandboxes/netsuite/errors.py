"""NetSuite's REST error body: `type`, `title`, `status` and `o:errorDetails` ({detail, o:errorCode, ...}).

Every refusal of the record, query, async and system services answers this shape, whatever the cause.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.local.sandboxes.kit.answers import VendorError

# `type` points at the HTTP status's section of RFC 2616, as the documented examples do (a 400 is
# "...#sec10.4.1"; the 401 example has no anchor); 429 is not in RFC 2616, so RFC 6585 names it.
# (Live accounts have been seen to answer RFC 9110 links instead: a client must not depend on it.)
_RFC2616 = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
_TYPES = {
    400: _RFC2616 + "#sec10.4.1",
    401: _RFC2616,
    403: _RFC2616 + "#sec10.4.4",
    404: _RFC2616 + "#sec10.4.5",
    405: _RFC2616 + "#sec10.4.6",
    409: _RFC2616 + "#sec10.4.10",
    415: _RFC2616 + "#sec10.4.16",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: _RFC2616 + "#sec10.5.1",
    502: _RFC2616 + "#sec10.5.3",
    503: _RFC2616 + "#sec10.5.4",
    504: _RFC2616 + "#sec10.5.5",
}
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
# The 401 detail of the documented "Invalid Login Information" example.
INVALID_LOGIN_DETAIL = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)


class NetSuiteError(VendorError):
    """A refusal answered with NetSuite's error body (one error detail) and optional headers.

    `error_path` (o:errorPath) points into the request body, `url_path` (o:urlPath) into the URL,
    `header` (o:errorHeader) and `query_param` (o:errorQueryParam) name the culprit header or parameter.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        error_path: str | None = None,
        url_path: str | None = None,
        header: str | None = None,
        query_param: str | None = None,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.title = title or _TITLES.get(status, "Error")
        self.headers = dict(headers or {})
        self._extra = {
            key: value
            for key, value in (
                ("o:errorPath", error_path),
                ("o:urlPath", url_path),
                ("o:errorHeader", header),
                ("o:errorQueryParam", query_param),
            )
            if value is not None
        }

    content_type = "application/vnd.oracle.resource+json; type=error; charset=utf-8"

    def body(self) -> dict[str, Any]:
        """The JSON body NetSuite answers."""
        detail = {"detail": self.detail, "o:errorCode": self.code, **self._extra}
        return {
            "type": _TYPES.get(self.status, _RFC2616),
            "title": self.title,
            "status": self.status,
            "o:errorDetails": [detail],
        }


def invalid_login(account_id: str) -> NetSuiteError:
    """401 INVALID_LOGIN: no live bearer token (expired, unknown, or without the REST scope).

    The WWW-Authenticate header carries `invalid_token` and the account as realm:
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_158521885412.html
    """
    challenge = (
        f'Bearer realm="{account_id}", error="invalid_token", error_description="Invalid login attempt."'
    )
    return NetSuiteError(401, "INVALID_LOGIN", INVALID_LOGIN_DETAIL, headers={"WWW-Authenticate": challenge})


def nonexistent_id(record_type: str, record_id: str) -> NetSuiteError:
    """404 NONEXISTENT_ID: no record of that type with that internal or external id."""
    return NetSuiteError(
        404,
        "NONEXISTENT_ID",
        "The record instance does not exist. Provide a valid record instance ID.",
        url_path=f"{record_type}/{record_id}",
    )


def unknown_record_type(record_type: str) -> NetSuiteError:
    """404 for a record type the account does not have (or the sandbox does not serve)."""
    return NetSuiteError(
        404,
        "NONEXISTENT_ID",
        f"Record type '{record_type}' does not exist.",
        url_path=record_type,
    )


def user_error(detail: str, *, error_path: str | None = None) -> NetSuiteError:
    """400 USER_ERROR: a business rule the record refuses (a missing value, a forbidden change)."""
    return NetSuiteError(
        400, "USER_ERROR", f"Error while accessing a resource. {detail}", error_path=error_path
    )


def required(label: str, error_path: str) -> NetSuiteError:
    """400 USER_ERROR with NetSuite's "Please enter value(s) for: ..." for a missing required field."""
    return user_error(f"Please enter value(s) for: {label}.", error_path=error_path)


def invalid_reference(value: object, field: str, error_path: str) -> NetSuiteError:
    """400 INVALID_CONTENT with o:errorPath: a reference to a record that does not exist (or is of
    the wrong type), worded as the documented "Request with an Invalid Body" example."""
    return NetSuiteError(
        400,
        "INVALID_CONTENT",
        f"Error while accessing resource: You have entered an Invalid Field Value {value} "
        f"for the following field: {field}",
        error_path=error_path,
    )


def invalid_content(detail: str, *, error_path: str | None = None) -> NetSuiteError:
    """400 INVALID_CONTENT: a body that is not JSON, not an object, or has a value of the wrong type."""
    return NetSuiteError(400, "INVALID_CONTENT", detail, error_path=error_path)


def invalid_parameter(detail: str, *, query_param: str | None = None) -> NetSuiteError:
    """400 INVALID_PARAMETER: a query parameter (or a SuiteQL statement) the service cannot use."""
    return NetSuiteError(400, "INVALID_PARAMETER", detail, query_param=query_param)


def invalid_header(header: str, detail: str) -> NetSuiteError:
    """400 INVALID_HEADER with o:errorHeader naming the header."""
    return NetSuiteError(400, "INVALID_HEADER", detail, header=header)


def not_found_url(path: str) -> NetSuiteError:
    """404 for a URL no REST service answers."""
    return NetSuiteError(404, "INVALID_URL", f"Invalid URL: {path}", url_path=path)


def method_not_allowed(method: str, path: str) -> NetSuiteError:
    """405 for a method the resource does not serve."""
    return NetSuiteError(405, "METHOD_NOT_ALLOWED", f"The {method} method is not allowed on {path}.")


def injected(status: int) -> NetSuiteError:
    """The body a switched-on failure answers: NetSuite's shape with the status's title."""
    code = "UNEXPECTED_ERROR" if status >= 500 else "USER_ERROR"
    return NetSuiteError(status, code, f"An unexpected error occurred (injected HTTP {status}).")
