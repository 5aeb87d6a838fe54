"""Where the handlers' log lines go while a bench section runs: its own file, then back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from shared.observability import logger


@contextmanager
def handler_output(stream: TextIO) -> Iterator[None]:
    """Point the Powertools logger's handler at `stream` for the block, then back where it was.

    The stream is swapped without `setStream`, which flushes the old one: an earlier section's
    file is closed by then.
    """
    handler = logger.registered_handler
    if not isinstance(handler, logging.StreamHandler):
        yield
        return
    previous = handler.stream
    handler.acquire()
    handler.stream = stream
    handler.release()
    try:
        yield
    finally:
        handler.acquire()
        handler.stream = previous
        handler.release()
