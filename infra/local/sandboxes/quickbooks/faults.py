"""Intuit's Fault answers: the body shapes QBO returns for validation, service, auth and throttle errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
BUSINESS_VALIDATION = "A business validation error has occurred while processing your request"
REQUIRED_MISSING = "Required param missing, need to supply the required value for the API"
INVALID_PROPERTY = "Request has invalid or unsupported property"


class Fault(Exception):
    """A Fault answer raised inside request handling; `body` lacks the "time" the app adds when it answers."""

    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The Error list (upper- or lower-case keys, as the body has them)."""
        outer = self.body.get("Fault") or self.body.get("fault") or {}
        return list(outer.get("Error") or outer.get("error") or [])

    @property
    def fault_object(self) -> dict[str, Any]:
        """The `Fault` object alone, as a batch item carries it."""
        outer = self.body.get("Fault") or self.body.get("fault") or {}
        return {"Error": self.errors, "type": outer.get("type", "")}

    def rendered(self, time_text: str) -> dict[str, Any]:
        """The whole body with the company-time `time` stamp QBO adds to every answer."""
        return {**self.body, "time": time_text}


def fault(
    status: int,
    code: str,
    message: str,
    detail: str,
    fault_type: str = "ValidationFault",
    element: str = "",
) -> Fault:
    """`{"Fault": {"Error": [{Message, Detail, code, element}], "type": ...}}` with `status`."""
    error = {"Message": message, "Detail": detail, "code": code, "element": element}
    return Fault(status, {"Fault": {"Error": [error], "type": fault_type}})


def not_found(entity: str, record_id: str, detail: str | None = None) -> Fault:
    """610 Object Not Found: QBO's answer for a missing (or inactive, or deleted) object."""
    return fault(400, "610", "Object Not Found", detail or f"Object Not Found : {entity} {record_id}")


def invalid_property(detail: str, element: str = "") -> Fault:
    """2010 Request has invalid or unsupported property."""
    return fault(400, "2010", INVALID_PROPERTY, detail, "ValidationFault", element)


def required_missing(detail: str, element: str) -> Fault:
    """2020 Required param missing."""
    return fault(400, "2020", REQUIRED_MISSING, detail, "ValidationFault", element)


def invalid_enumeration(value: object, what: str, allowed: str, element: str) -> Fault:
    """2170 Invalid Enumeration: a value outside the documented set (`allowed` lists it)."""
    return fault(
        400,
        "2170",
        "Invalid Enumeration",
        f"Invalid Enumeration : {value} is not a valid {what} ({allowed})",
        "ValidationFault",
        element,
    )


def business_rule(detail: str, element: str = "") -> Fault:
    """6000 A business validation error (the Detail says which rule)."""
    return fault(
        400, "6000", BUSINESS_VALIDATION, f"Business Validation Error: {detail}", "ValidationFault", element
    )


def auth_fault() -> Fault:
    """401 with Intuit's lowercase body (fault/error/message), unlike other Faults."""
    return Fault(
        401,
        {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": "Token expired or invalid",
                        "code": "3200",
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            },
        },
        {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
    )


def throttle_fault(retry_after: int | None = None) -> Fault:
    """429 ThrottleExceeded (https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles)."""
    answer = fault(
        429,
        "003001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.",
        "SERVICE",
    )
    if retry_after is not None:
        answer.headers["Retry-After"] = str(retry_after)
    return answer


def injected_fault(status: int, retry_after: int | None = None) -> Fault:
    """The Fault a switched-on failure answers: throttle, auth, or a system failure of that status."""
    if status == 429:
        return throttle_fault(retry_after)
    if status == 401:
        return auth_fault()
    return fault(
        status,
        "10000",
        "An application error has occurred while processing your request",
        f"System Failure Error: injected HTTP {status}",
        "SystemFault",
    )
