"""Function timeouts for in-process handlers: past `timeout_seconds` the invocation fails as Lambda's does.

Lambda stops an invocation at its timeout and reports "Task timed out after N seconds"; an SQS
batch then fails as a whole and its messages return after the visibility timeout, and Step
Functions sees the error `Sandbox.Timedout`. Here the handler runs in its own thread; when the
timeout passes (real time, as the context's remaining time counts it) the caller gets
`TaskTimedOut` at once, and the handler's thread is stopped at its next Python instruction, so
nothing it would have done after the deadline happens (a thread blocked in a C call stops when
that call returns).
https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any


class TaskTimedOut(Exception):
    """The invocation ran past its function's timeout (Lambda's own wording and error type)."""

    error_type = "Sandbox.Timedout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Task timed out after {seconds:.2f} seconds")
        self.seconds = seconds


class _Stopped(BaseException):
    """Raised inside a handler thread past its deadline; a BaseException so `except Exception` lets it go."""


def _stop(thread: threading.Thread) -> None:
    # CPython's documented hook for raising an exception in another thread.
    # https://docs.python.org/3/c-api/init.html#c.PyThreadState_SetAsyncExc
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stopped))


def call_with_timeout(
    handler: Callable[[Any, Any], Any], event: Any, context: Any, timeout_seconds: float
) -> Any:
    """`handler(event, context)`, or TaskTimedOut once `timeout_seconds` have passed without an answer."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = handler(event, context)
        except _Stopped:
            outcome["stopped"] = True
        except BaseException as exc:  # handed to the caller's thread as is
            outcome["error"] = exc

    name = getattr(context, "function_name", "handler")
    thread = threading.Thread(target=run, name=f"lambda:{name}", daemon=True)
    thread.start()
    thread.join(timeout_seconds)
    if thread.is_alive():
        _stop(thread)
        raise TaskTimedOut(timeout_seconds)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
