"""How long the current unit of work may still run (a Lambda invocation's remaining time).

A handler opens `time_limit(context.get_remaining_time_in_millis)` around its work; anything that
would wait (a rate budget slot, a Retry-After, a backoff) asks `time_left()` first and, when the
wait would not fit, gives the work back to its queue instead of sleeping past the Lambda timeout.
Outside a handler (CLI, unit tests) there is no limit: `time_left()` is None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# Kept back from the remaining time: after a wait the request itself, the ledger write and
# the batch report must still fit before Lambda stops the invocation.
RESERVE_SECONDS = 5.0

_remaining_ms: ContextVar[Callable[[], int] | None] = ContextVar("remaining_ms", default=None)


@contextmanager
def time_limit(remaining_ms: Callable[[], int]) -> Iterator[None]:
    """Bound every wait inside the block by `remaining_ms()` (Lambda's context method)."""
    token = _remaining_ms.set(remaining_ms)
    try:
        yield
    finally:
        _remaining_ms.reset(token)


def time_left() -> float | None:
    """Seconds that may still be spent waiting (remaining time minus the reserve), or None: no limit."""
    remaining = _remaining_ms.get()
    if remaining is None:
        return None
    return max(0.0, remaining() / 1000.0 - RESERVE_SECONDS)
