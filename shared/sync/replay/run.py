"""`close2cash replay`: re-derive a window's writes under a landscape, print the diff, apply exactly it.

This is how a corrected mapping table reaches past data: the notices the bus carried between two
instants (its archive) name the records; each flow that can be replayed re-derives what the hub
would write for those records now, under the landscape given, and compares it with what the targets
hold now. A dry run stops there and shows the diff. Otherwise each differing record is written
through the flow's own idempotent write and recorded in the ledger; a record the target refused is
left in the answer's notes and the rest still go. Replaying the same window again finds no
difference and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.domain.errors import PermanentError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import EntityType
from shared.domain.ports import Metrics
from shared.domain.replay_ports import NoticeArchive
from shared.sync.replay.diff import FlowReplay, ReplayReport

# Which flow a notice belongs to (the bus rule that takes it to its worker).
FLOW_OF: Mapping[EntityType, str] = {
    EntityType.ACCOUNT: "customers",
    EntityType.OPPORTUNITY: "engagements",
    EntityType.TIME_ENTRY: "time",
    EntityType.EXPENSE_ENTRY: "time",
    EntityType.INVOICE: "cash",
    EntityType.PAYMENT: "cash",
    EntityType.CREDIT_MEMO: "cash",
}
FLOWS = tuple(dict.fromkeys(FLOW_OF.values()))
# Why a flow's notices are not re-derived: what it writes is not a copy a landscape derives.
NOT_REPLAYED: Mapping[str, str] = {
    "engagements": "engagement setup's writes passed a person's approval; a live engagement's template, "
    "rate card or dimensions change by a person's decision in the PSA and accounting, not by a replay",
    "cash": "cash feedback carries the accounting system's own balances, which no landscape changes",
}
# The longest window one replay takes: the archive keeps 30 days, and a longer window than that
# would be a mistake in the dates rather than a wish.
MAX_WINDOW_DAYS = 31


class ReplayRequestInvalid(ValueError):
    """A replay asked for something it cannot do (a window backwards, a flow it does not know)."""


class Replay:
    """The use case behind the `replay` function."""

    def __init__(
        self,
        *,
        archive: Callable[[], NoticeArchive],
        flows: Sequence[FlowReplay],
        landscape: str,
        metrics: Metrics,
        vendor_calls: Callable[[], dict[str, int]] = dict,
    ) -> None:
        self._archive = archive
        self._flows = {flow.name: flow for flow in flows}
        self._landscape = landscape
        self._metrics = metrics
        self._vendor_calls = vendor_calls

    def run(
        self, start: datetime, end: datetime, *, flow: str | None = None, dry_run: bool = True
    ) -> ReplayReport:
        chosen = self._chosen(start, end, flow)
        before = self._vendor_calls()
        archive = self._archive()
        notices = archive.notices(start, end)
        by_flow = Counter(FLOW_OF.get(n.entity, "other") for n in notices)
        report = ReplayReport(
            start=start,
            end=end,
            landscape=self._landscape,
            dry_run=dry_run,
            notices=len(notices),
            by_flow=dict(sorted(by_flow.items())),
            not_replayed={
                f: n for f, n in sorted(by_flow.items()) if f not in self._flows and (flow in (None, f))
            },
        )
        diffs = []
        aside: list[str] = []
        for replay in chosen:
            mine = [n for n in notices if FLOW_OF.get(n.entity) == replay.name]
            found, notes = replay.diff(mine)
            diffs.extend(found)
            aside.extend(notes)
        applied = []
        if not dry_run:
            for diff in diffs:
                try:
                    applied.append(self._flows[diff.flow].apply(diff))
                except PermanentError as exc:
                    aside.append(f"not applied: {diff.summary}: {exc}")
            self._metrics.count(BusinessMetric.REPLAY_WRITES, len(applied))
        after = self._vendor_calls()
        return report.model_copy(
            update={
                "diffs": tuple(diffs),
                "applied": tuple(applied),
                "left_aside": tuple(aside),
                "vendor_calls": {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)},
                "archive_calls": dict(archive.calls),
            }
        )

    def _chosen(self, start: datetime, end: datetime, flow: str | None) -> list[FlowReplay]:
        if start.tzinfo is None or end.tzinfo is None:
            raise ReplayRequestInvalid("--from and --to must say their time zone (e.g. 2026-11-02T00:00Z)")
        if end <= start:
            raise ReplayRequestInvalid(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise ReplayRequestInvalid(
                f"the window is {(end - start).days} days; a replay takes at most {MAX_WINDOW_DAYS} "
                "(the bus archive keeps 30): replay it in parts"
            )
        if flow is None:
            return list(self._flows.values())
        if flow not in FLOWS:
            raise ReplayRequestInvalid(f"unknown flow {flow!r}; the flows are {', '.join(FLOWS)}")
        if flow not in self._flows:
            why = NOT_REPLAYED.get(flow, "no replay of it is configured")
            raise ReplayRequestInvalid(
                f"the {flow} flow is not replayed ({why}); replayable: {', '.join(self._flows)}; "
                "`close2cash reconcile` finds what differs in it"
            )
        return [self._flows[flow]]
