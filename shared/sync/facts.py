"""Publishing the facts a use case learned: one call per batch, and a failure that loses nothing.

A use case reads records (a notice's hint, a sweep, a redelivery) and states what it learned as
domain events (`DomainEvent.fact`: ids derived from the fact, so a second read is the same event).
It publishes them before it records that it handled the records: if the bus fails, the publisher
raises TransientError, nothing is recorded as handled, and the message (or the next sweep) reads
the records again and publishes the same ids. Published twice is counted once by whoever lands
them; recorded as handled but never published would be lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from shared.domain.ports import EventPublisher

if TYPE_CHECKING:
    from shared.domain.events import DomainEvent

logger = logging.getLogger(__name__)

Publisher = Callable[[], EventPublisher] | None
"""How a use case reaches the bus (None: it publishes nothing, as in a tool that only reads)."""


def publish_facts(events: Publisher, facts: Sequence[DomainEvent[Any]]) -> None:
    """Put `facts` on the bus in one call (the adapter chunks them by PutEvents' limit); none, no call."""
    if events is None or not facts:
        return
    events().publish_events(list(facts))
    logger.info("published %d domain event(s): %s", len(facts), sorted({f.type for f in facts}))
