"""Fault injection: the next n requests (all, or those on one path) answer a chosen status."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class InjectedFault:
    """One armed fault: the status to answer, and when it applies.

    `path`: only a request whose path contains it meets the fault. `after`: the request is carried out
    and only its answer is lost (a gateway timeout after the write). `retry_after`: seconds for a
    Retry-After header, where the vendor sends one.
    """

    status: int
    retry_after: int | None = None
    path: str | None = None
    after: bool = False


class FaultSwitch:
    """Thread-safe list of armed faults, taken first-armed first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[InjectedFault] = []

    def arm(
        self,
        n: int,
        status: int,
        *,
        retry_after: int | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> None:
        """The next `n` matching requests answer `status`."""
        if n < 0 or not 100 <= status <= 599:
            raise ValueError("n must be >= 0 and status an HTTP status")
        with self._lock:
            self._armed.extend([InjectedFault(status, retry_after, path, after)] * n)

    def take(self, path: str) -> InjectedFault | None:
        """The first armed fault that applies to a request on `path`, disarmed; None when there is none."""
        with self._lock:
            for index, fault in enumerate(self._armed):
                if fault.path is None or fault.path in path:
                    return self._armed.pop(index)
            return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._armed)
