"""How values and bodies travel: Salesforce's dateTime form, exact numbers, JSON requests and responses."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.kit.answers import json_answer
from infra.local.sandboxes.salesforce.errors import SalesforceApiError

Clock = Callable[[], datetime]


def sf_datetime(value: datetime) -> str:
    """Salesforce's JSON dateTime form: 2013-05-20T20:49:32.000+0000.

    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm
    """
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


# Currency fields have 2 decimal places, Quantity too (field reference: precision 18/12, scale 2).
SCALE = Decimal("0.01")
_NUMBER_MARK = "\u0000num:"


def to_number(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of double from {value!r}", [name]
        )
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of double from {value!r}", [name]
        ) from exc
    if not number.is_finite():
        raise SalesforceApiError(
            400, "NUMBER_OUTSIDE_VALID_RANGE", f"{name}: value outside of valid range", [name]
        )
    return number.quantize(SCALE)


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{_NUMBER_MARK}{format(value, 'f')}"
    return value


def dumps(body: Any) -> str:
    """JSON as Salesforce writes it: currency and quantity fields as JSON numbers (exact digits)."""
    text = json.dumps(body)
    # Decimals travel as marked strings through json.dumps, then lose their quotes: a float would
    # round 1234567.10 on the way.
    return re.sub(r'"\\u0000num:(-?[0-9.]+)"', r"\1", text)


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response as the REST API sends it."""
    return json_answer(body, status=status, content_type="application/json;charset=UTF-8", dumps=dumps)


def error_response(error: SalesforceApiError) -> Response:
    """The error array Salesforce answers with, under the error's HTTP status."""
    return error.response()


def read_record(request: Request) -> dict[str, Any]:
    """A request's JSON object (numbers as floats: Account's fields are all text)."""
    return _read_object(request, exact=False)


def read_record_exact(request: Request) -> dict[str, Any]:
    """A request's JSON object, its numbers read as exact Decimals."""
    return _read_object(request, exact=True)


def _read_object(request: Request, *, exact: bool) -> dict[str, Any]:
    try:
        text = request.get_data(as_text=True) or "null"
        body = json.loads(text, parse_float=Decimal) if exact else json.loads(text)
    except json.JSONDecodeError as exc:
        raise SalesforceApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc.msg}") from exc
    if not isinstance(body, dict):
        raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
    return body
