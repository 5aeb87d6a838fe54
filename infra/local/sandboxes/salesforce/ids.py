"""Record ids: key prefixes, sequential ids per prefix, and the case-safe 18-character form."""

from __future__ import annotations

import itertools
import threading

# Record ids: 3-character key prefix (001 Account, 00D Organization, 04l outbound notification,
# 04k outbound message action), then pod and sequence; 18-character forms add a case-safe suffix.
# (3p) https://salesforce.stackexchange.com/questions/1653/what-are-salesforce-ids-composed-of
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ACCOUNT_PREFIX = "001"
NOTIFICATION_PREFIX = "04l"
OPPORTUNITY_PREFIX = "006"
LINE_ITEM_PREFIX = "00k"
PRODUCT_PREFIX = "01t"
PRICEBOOK_PREFIX = "01s"
PRICEBOOK_ENTRY_PREFIX = "01u"


def to_18(id15: str) -> str:
    """The case-safe 18-character form of a 15-character id."""
    suffix = ""
    for start in (0, 5, 10):
        flags = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if char.isupper())
        suffix += _SUFFIX[flags]
    return id15 + suffix


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))


class IdFactory:
    """Sequential ids per key prefix, like an org hands them out (pod "8d", then a sequence)."""

    def __init__(self) -> None:
        self._sequences: dict[str, itertools.count[int]] = {}
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        with self._lock:
            sequence = self._sequences.setdefault(prefix, itertools.count(10_000_000_000))
            number = next(sequence) * 7_919  # spread ids so upper and lower case both occur
        return to_18(f"{prefix}8d0{_base62(number, 9)}")
