"""Warm containers for in-process handlers: one invocation at a time in each, as in Lambda.

A Lambda container runs one invocation at a time, so a handler module's globals (a BatchProcessor's
records, a resolver object) belong to the invocation running there, and code written for Lambda
rightly relies on it. In one interpreter, two threads calling the same handler would share them:
two SQS batches of one consumer (ESM maximum concurrency) processed as one. So each function gets
a pool of containers, created on demand as Lambda scales out: the first runs the handler module as
imported, every further one a private copy of that module (its code run again, not registered in
sys.modules), so no two invocations running at once share the module's state. Modules the handler
imports (the composition root, clients, the logger) are shared, and so is state a library keeps on
a class: Powertools' event handler keeps the current request on its BaseRouter class, which is why
the local API front lets one request at a time through (infra/local/api_front.py).
https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Handler = Callable[[Any, Any], Any]

# Containers per function at most; further invocations wait for one to be free (as with reserved
# concurrency). Queue consumers ask for no more than their ESM maximum concurrency anyway.
MAX_CONTAINERS = 16

# Private copies are loaded one at a time. Loading may compile the module (and pytest's loader
# rewrites a test module's AST), and CPython 3.11 compiling in two threads at once can fail with
# "SystemError: AST constructor recursion depth mismatch" (seen once in the suite); the import
# system's own lock does not cover a module that is never registered in sys.modules.
_LOADING = threading.Lock()


def private_copy(dotted: str) -> Handler:
    """The handler at `module.attribute`, from a fresh copy of its module (its own globals)."""
    module_name, _, attribute = dotted.rpartition(".")
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module {module_name!r}")
    module = importlib.util.module_from_spec(spec)
    with _LOADING:
        spec.loader.exec_module(module)
    handler: Handler = getattr(module, attribute)
    return handler


class ContainerPool:
    """The warm containers of one function; `checkout` lends one to a single invocation."""

    def __init__(
        self, first: Callable[[], Handler], more: Callable[[], Handler], limit: int = MAX_CONTAINERS
    ) -> None:
        self._first = first
        self._more = more
        self._limit = limit
        self._idle: list[Handler] = []
        self._created = 0
        self._free = threading.Condition()

    @property
    def created(self) -> int:
        """Containers started so far (cold starts)."""
        return self._created

    @contextmanager
    def checkout(self) -> Iterator[Handler]:
        load: Callable[[], Handler] | None = None
        with self._free:
            while not self._idle and self._created >= self._limit:
                self._free.wait()
            if self._idle:
                handler = self._idle.pop()
            else:
                load = self._first if self._created == 0 else self._more
                self._created += 1
        if load is not None:
            try:
                handler = load()  # a cold start
            except BaseException:
                with self._free:
                    self._created -= 1
                    self._free.notify()
                raise
        try:
            yield handler
        finally:
            with self._free:
                self._idle.append(handler)
                self._free.notify()
