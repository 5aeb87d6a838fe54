"""EventBridge replays on moto as AWS runs them (moto 5.2.5).

moto's `Replay.replay_events` sends every archived event to every rule of the bus, whatever the
replay's window and Destination.FilterArns. AWS replays only the events whose time is in the window
(`EventStartTime` <= time < `EventEndTime`), and, when FilterArns is given, only to those rules:
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ReplayDestination.html
Installed once per process (it only makes moto closer to AWS); `install` fails loudly if the
patched internal moved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from moto.core.utils import unix_time
from moto.events import models as events_models
from moto.events.utils import EventMessageType
from moto.moto_api._internal import mock_random

_MARK = "_close2cash_replay"


def _epoch(value: Any) -> float:
    """An event's `time` or a replay's start/end as moto keeps them: epoch seconds (a number, or a
    numeric string from a query protocol), or an ISO 8601 string."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def replay_events(self: Any, archive: Any) -> None:
    """moto's `Replay.replay_events`, with the window and the FilterArns AWS applies."""
    bus_name = self.destination["Arn"].split("/")[-1]
    bus = events_models.events_backends[self.account_id][self.region].describe_event_bus(bus_name)
    filter_arns = self.destination.get("FilterArns")
    rules = [r for r in bus.rules.values() if not filter_arns or r.arn in filter_arns]
    start, end = _epoch(self.event_start_time), _epoch(self.event_end_time)
    for event in list(archive.events):
        # An event's `time` is whole seconds in EventBridge ("2026-12-03T05:40:00Z"); moto keeps
        # the float it was put at.
        if not start <= int(_epoch(event["time"])) < end:
            continue
        for rule in rules:
            replayed = dict(event, **{"id": str(mock_random.uuid4()), "replay-name": self.name})
            rule.send_to_targets(cast(EventMessageType, replayed), transform_input=False)
    self.state = events_models.ReplayState.COMPLETED
    self.end_time = unix_time()


def install() -> None:
    """Replace moto's `Replay.replay_events` (idempotent)."""
    replay = events_models.Replay
    current = vars(replay).get("replay_events")
    if current is None:
        raise RuntimeError(
            "moto.events.models.Replay no longer defines replay_events: infra/local/moto_replay.py "
            "was written against moto 5.2.5"
        )
    if not getattr(current, _MARK, False):
        setattr(replay_events, _MARK, True)
        replay.replay_events = replay_events  # type: ignore[method-assign]


def installed() -> bool:
    return bool(getattr(vars(events_models.Replay).get("replay_events"), _MARK, False))
