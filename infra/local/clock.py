"""A clock that can fast-forward: Step Functions Wait/Retry, SQS redelivery and schedules read it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class Clock:
    """Virtual time = wall time + an offset that only grows.

    With `fast_forward`, `sleep(s)` does not block: it moves virtual time on by `s` at once, so a
    Step Functions Retry with a 30 s interval or a 6-minute visibility timeout costs microseconds in
    tests and demos. Without it, `sleep` really sleeps (what `close2cash local up` wants by default).
    `advance(s)` always jumps, whatever the mode (tests use it to make a schedule come due).
    """

    def __init__(self, *, fast_forward: bool = True) -> None:
        self.fast_forward = fast_forward
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset_seconds(self) -> float:
        """How far virtual time is ahead of the wall clock."""
        return self._offset

    def time(self) -> float:
        """Virtual POSIX timestamp in seconds."""
        return time.time() + self._offset

    def now(self) -> datetime:
        """Virtual time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    def advance(self, seconds: float) -> None:
        """Jump virtual time forward (never backward: timers already due must stay due)."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward, not by {seconds} s")
        with self._lock:
            self._offset += seconds

    def advance_to(self, timestamp: float) -> None:
        """Jump virtual time to `timestamp` if it lies in the future."""
        with self._lock:
            gap = timestamp - (time.time() + self._offset)
            if gap > 0:
                self._offset += gap

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of virtual time: instantly when fast-forwarding, for real otherwise."""
        if seconds <= 0:
            return
        if self.fast_forward:
            self.advance(seconds)
            # Yield the GIL so that other threads (pollers, executions) still make progress.
            time.sleep(0)
        else:
            time.sleep(seconds)
