"""Backfill: the domain events the bus archived before the landing existed, landed through it now.

The bus's archive keeps every event of the account (infra/wiring.py's Bus), and a domain event's
EventBridge `time` is when its fact became true (shared/aws/events.py). A backfill replays the
archive's events of [from, to) to the landing's rules only (Destination.FilterArns): each goes to
its delivery stream like a live event, and the transform drops every event id already landed, so
a window that overlaps what is landed lands nothing twice.
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

BACKFILL_NAME_PREFIX = "c2c-backfill-"
DONE = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


class BackfillRefused(ValueError):
    """A backfill that cannot start: a backwards window, no landing rule or no archive on the bus."""


@dataclass(frozen=True)
class BackfillReport:
    """The replay that carried the backfill and how it ended."""

    replay: str
    state: str
    rules: int
    start: datetime
    end: datetime
    reason: str = ""


def landing_rules(events: Any, bus: str) -> list[str]:
    """ARNs of the bus's rules whose target is a Firehose delivery stream (the landing's rules)."""
    found: list[str] = []
    for page in events.get_paginator("list_rules").paginate(EventBusName=bus):
        for rule in page.get("Rules", []):
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus).get("Targets", [])
            if any(":firehose:" in target["Arn"] for target in targets):
                found.append(rule["Arn"])
    return found


def backfill(
    events: Any,
    *,
    bus: str,
    start: datetime,
    end: datetime,
    poll_seconds: float = 5.0,
    max_wait_seconds: float = 3600.0,
) -> BackfillReport:
    """Replay the archive's events of [start, end) to the landing's rules; wait until the replay ends."""
    start, end = start.astimezone(UTC).replace(microsecond=0), end.astimezone(UTC).replace(microsecond=0)
    if not start < end:
        raise BackfillRefused(f"--from {start.isoformat()} is not before --to {end.isoformat()}")
    described = events.describe_event_bus(Name=bus)
    archives = events.list_archives(EventSourceArn=described["Arn"]).get("Archives", [])
    if not archives:
        raise BackfillRefused(f"bus {bus} has no archive to backfill from")
    rules = landing_rules(events, bus)
    if not rules:
        raise BackfillRefused(f"no rule on bus {bus} targets a delivery stream: the landing is not deployed")
    archive_arn = events.describe_archive(ArchiveName=archives[0]["ArchiveName"])["ArchiveArn"]
    name = f"{BACKFILL_NAME_PREFIX}{uuid.uuid4().hex}"
    events.start_replay(
        ReplayName=name,
        Description=f"close2cash analytics backfill of [{start.isoformat()}, {end.isoformat()})",
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": described["Arn"], "FilterArns": rules},
    )
    poll = Retrying(
        retry=retry_if_result(lambda answer: str(answer["State"]) not in DONE),
        wait=wait_fixed(poll_seconds),
        stop=stop_after_delay(max_wait_seconds),
        # Past the wait, the last answer stands (a replay still running is reported as such).
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else {"State": "UNKNOWN"},
    )
    answer = poll(events.describe_replay, ReplayName=name)
    state = str(answer["State"])
    reason = str(answer.get("StateReason", "")) if state != "COMPLETED" else ""
    return BackfillReport(replay=name, state=state, rules=len(rules), start=start, end=end, reason=reason)
