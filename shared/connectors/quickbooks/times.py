"""QuickBooks Online timestamps as Intuit sends them, read as aware UTC instants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_QBO_TIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_qbo_time(value: str | None) -> datetime | None:
    """A QBO timestamp as aware UTC, or None when absent or unreadable.

    Accepts what Intuit actually sends: `...000Z`, offsets without a colon (`-0700`, the Java SDK
    webhook sample) and CloudEvents nanoseconds (`.034359333Z`, more digits than `fromisoformat`
    takes before Python 3.11's wider parser, and more than datetime holds).
    """
    if not value:
        return None
    match = _QBO_TIME.match(value.strip())
    if match is None or match["tz"] is None:
        # Without an offset the instant is ambiguous; guessing would misplace events by hours.
        return None
    frac = (match["frac"] or "0")[:6].ljust(6, "0")
    tz_text = match["tz"]
    try:
        if tz_text in ("Z", "z"):
            tz = UTC
        else:
            sign = -1 if tz_text[0] == "-" else 1
            digits = tz_text[1:].replace(":", "")
            # ValueError for an offset of 24 h or more (`+2399`)
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        parsed = datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}").replace(tzinfo=tz)
        # OverflowError when the instant falls outside what datetime holds once in UTC
        # (`9999-12-31T23:59:59-23:59`)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
