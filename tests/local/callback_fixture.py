"""Handlers of the callback spike wiring: the approval request records its task token for the test."""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
tokens: list[dict[str, Any]] = []


def reset() -> None:
    with _lock:
        tokens.clear()


def request(event: dict[str, Any], context: Any) -> None:
    """Stands in for the approval request: keeps the token so the test can answer it."""
    with _lock:
        tokens.append(event)


def latest(case: str) -> str:
    """The newest task token issued for `case`."""
    with _lock:
        found = [t["token"] for t in tokens if t.get("case") == case]
    if not found:
        raise LookupError(f"no task token for {case!r} yet")
    return str(found[-1])


def count(case: str) -> int:
    with _lock:
        return sum(1 for t in tokens if t.get("case") == case)
