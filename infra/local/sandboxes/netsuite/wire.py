"""Values on the wire: parsing a body field by its kind, and rendering stored values back as JSON.

Dates are `YYYY-MM-DD`; date-times ISO 8601, answered in UTC with a `Z`; durations (a time bill's
hours) are accepted as a number of hours or `H:MM`. Money and quantities are kept as Decimal.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Response

from infra.local.sandboxes.kit.answers import json_answer
from infra.local.sandboxes.netsuite.errors import NetSuiteError, invalid_content

Clock = Callable[[], datetime]
_DURATION = re.compile(r"(\d+):([0-5]\d)")


def utc_text(moment: datetime) -> str:
    """A date-time as REST answers it: UTC, seconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_scalar(kind: str, value: Any, path: str, label: str) -> Any:
    """The stored form of one body value of `kind` (not a reference), or 400 INVALID_CONTENT."""
    if value is None:
        return None
    wrong = invalid_content(f"Invalid value for the field {label or path}: {value!r}", error_path=path)
    if kind == "text":
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise wrong
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind in ("number", "money"):
        return _decimal(value, wrong)
    if kind == "duration":
        if isinstance(value, str) and (found := _DURATION.fullmatch(value.strip())):
            return Decimal(found.group(1)) + Decimal(found.group(2)) / 60
        hours = _decimal(value, wrong)
        if hours < 0:
            raise wrong
        return hours
    if kind == "date":
        if not isinstance(value, str):
            raise wrong
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            raise wrong from None
    if kind == "datetime":
        if not isinstance(value, str):
            raise wrong
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise wrong from None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    raise ValueError(f"unknown field kind {kind}")


def _decimal(value: Any, wrong: NetSuiteError) -> Decimal:
    if isinstance(value, bool):
        raise wrong
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise wrong from None
    if not number.is_finite():
        raise wrong
    return number


def render_scalar(value: Any) -> Any:
    """A stored value as JSON: numbers as numbers, dates and date-times as text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_body(raw: bytes) -> Any:
    """The JSON body (numbers as Decimal), or 400 INVALID_CONTENT when it is not JSON."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise invalid_content("Invalid content in the request body. The body is not valid JSON.") from None


def _default(value: object) -> Any:
    if isinstance(value, Decimal | date):
        return render_scalar(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer (`application/vnd.oracle.resource+json` is what NetSuite names; JSON either way)."""
    return json_answer(
        body,
        status=status,
        content_type="application/vnd.oracle.resource+json; type=singular; charset=utf-8",
        headers=headers,
        dumps=lambda value: json.dumps(value, default=_default),
    )


def error_response(error: NetSuiteError) -> Response:
    """A NetSuiteError as its answer."""
    return error.response()
