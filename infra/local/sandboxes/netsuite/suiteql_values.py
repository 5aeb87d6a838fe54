"""SuiteQL values: Oracle date format models, comparing mixed types, and rendering results as text.

Date filters are written the Oracle way SuiteQL inherits: `TO_DATE('2026-12-01', 'YYYY-MM-DD')`,
`TO_TIMESTAMP('2026-12-01 08:00:00', 'YYYY-MM-DD HH24:MI:SS')`, a text literal in the user's date
format (`'12/1/2026'`), or ANSI `DATE '2026-12-01'`; `TO_CHAR(lastmodifieddate, 'YYYY-MM-DD
HH24:MI:SS')` reads a date-time back with its time. A result value is text (numbers too), a date
in the user's date format (M/D/YYYY here), without its time; a null column is left out of the row.
The account's time zone is UTC (the integration user's preference).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# Oracle format elements -> strftime; longest first so HH24 is not read as HH then 24.
_ELEMENTS = (
    ("YYYY", "%Y"),
    ("HH24", "%H"),
    ("HH12", "%I"),
    ("MONTH", "%B"),
    ("MON", "%b"),
    ("DAY", "%A"),
    ("DY", "%a"),
    ("YY", "%y"),
    ("MM", "%m"),
    ("DD", "%d"),
    ("HH", "%I"),
    ("MI", "%M"),
    ("SS", "%S"),
    ("AM", "%p"),
    ("PM", "%p"),
)
_SEPARATORS = set(" -/:.,;T")


class FormatError(ValueError):
    """A format model or a value that does not match its model (ORA-01821 / ORA-01861 in Oracle)."""


def strftime_pattern(model: str) -> str:
    """The strftime pattern of an Oracle format model (`"T"` quotes a literal)."""
    out: list[str] = []
    index = 0
    upper = model.upper()
    while index < len(model):
        char = model[index]
        if char == '"':
            end = model.find('"', index + 1)
            if end < 0:
                raise FormatError(f"unterminated literal in format {model!r}")
            out.append(model[index + 1 : end].replace("%", "%%"))
            index = end + 1
            continue
        for element, pattern in _ELEMENTS:
            if upper.startswith(element, index):
                out.append(pattern)
                index += len(element)
                break
        else:
            if char not in _SEPARATORS:
                raise FormatError(f"date format not recognized: {model!r}")
            out.append(char)
            index += 1
    return "".join(out)


def to_datetime(text: str, model: str | None) -> datetime:
    """TO_DATE / TO_TIMESTAMP: `text` read by `model` (by the user's or ISO format when None), in UTC."""
    if model is None:
        parsed = parse_date_text(text)
        if parsed is None:
            raise FormatError(f"literal does not match format string: {text!r}")
        return parsed
    try:
        return datetime.strptime(text, strftime_pattern(model)).replace(tzinfo=UTC)
    except ValueError:
        raise FormatError(f"literal does not match format string: {text!r} for {model!r}") from None


def parse_date_text(text: str) -> datetime | None:
    """A text literal compared with a date column: the user's format (M/D/YYYY) or ISO, else None."""
    stripped = text.strip()
    if found := re.fullmatch(
        r"(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]m)?)?", stripped, re.I
    ):
        month, day, year = int(found.group(1)), int(found.group(2)), int(found.group(3))
        hour, minute, second = int(found.group(4) or 0), int(found.group(5) or 0), int(found.group(6) or 0)
        meridiem = (found.group(7) or "").lower()
        if meridiem == "pm" and hour < 12:
            hour += 12
        if meridiem == "am" and hour == 12:
            hour = 0
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def as_datetime(value: date | datetime) -> datetime:
    """A date as midnight UTC; a date-time as itself in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides of a comparison in one type (Oracle's implicit conversions), or None when either
    is null. Raises FormatError when a text cannot be read as the other side's date or number."""
    if left is None or right is None:
        return None
    if isinstance(left, date) or isinstance(right, date):
        return _as_moment(left), _as_moment(right)
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return _as_number(left), _as_number(right)
    return str(left), str(right)


def _as_moment(value: Any) -> datetime:
    if isinstance(value, date):
        return as_datetime(value)
    parsed = parse_date_text(str(value))
    if parsed is None:
        raise FormatError(f"literal does not match format string: {value!r}")
    return parsed


def _as_number(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise FormatError(f"invalid number: {value!r}") from None


def to_char(value: Any, model: str | None) -> str | None:
    """TO_CHAR: a date by its format model, a number or text as text."""
    if value is None:
        return None
    if isinstance(value, date):
        if model is None:
            return render(value)
        return as_datetime(value).strftime(strftime_pattern(model))
    return render(value)


def render(value: Any) -> str | None:
    """A result value as the REST answer carries it: text; dates as M/D/YYYY (no time)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, date):
        moment = value.astimezone(UTC) if isinstance(value, datetime) else value
        return f"{moment.month}/{moment.day}/{moment.year}"
    if isinstance(value, bool):
        return "T" if value else "F"
    return str(value)


def like(text: str, pattern: str) -> bool:
    """Oracle LIKE: % any run, _ one character, case-sensitive."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None
