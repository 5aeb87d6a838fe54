"""Where the handlers' log lines go while a bench section runs: its own file, then back."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from shared.observability import logger

if TYPE_CHECKING:
    from infra.local.environment import LocalEnvironment


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


@contextmanager
def environment_logged_to(log: Path, mode: Literal["w", "a"] = "w") -> Iterator[LocalEnvironment]:
    """A started local environment whose handlers (stdout, the Powertools logger) write to `log`
    (`mode` "a": after what earlier runs wrote)."""
    from infra.local.environment import local_environment

    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open(mode) as stream,
        contextlib.redirect_stdout(stream),
        handler_output(stream),
        local_environment() as env,
    ):
        yield env
