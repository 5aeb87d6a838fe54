"""Issue 12's replay figures: a window of 1,000 customers' notices replayed (dry run) on the sandboxes.

1,000 accounts are seeded as agreeing copies (the reconciliation bench's seeding: Salesforce,
Productive and QuickBooks through their control APIs, the ledger's cross-references as the hub
records them). Salesforce then delivers the accounts' outbound messages and the hub settles them,
so the bus archive holds the window's notices as it would in AWS. `close2cash replay --dry-run` over
that window (the replay function, invoked on the local runtime) is measured: notices read from the
archive, differences (0 on agreeing data), vendor and AWS calls, wall time; the vendor calls are
set beside the least the vendors' page sizes allow.

One run: `python -m tests.benchmarks.replay` (optionally a size: `python -m tests.benchmarks.replay 100`).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra.replay_cli import invoke
from tests.benchmarks.calls import counting_aws_calls
from tests.benchmarks.logs import environment_logged_to
from tests.benchmarks.reconcile import (
    PRODUCTIVE_PAGE,
    QUICKBOOKS_PAGE,
    SALESFORCE_PAGE,
    Seeded,
    _pages,
    seed_customers,
)

CUSTOMERS = 1_000


@dataclass
class ReplayFigures:
    customers: int
    settle_seconds: float
    answer: dict[str, Any]
    aws_calls: Counter[str]
    seconds: float

    def bound(self) -> dict[str, int]:
        """The least each vendor allows for reading every account and copy once: its census pages
        (QuickBooks pages until a page comes back short, so a full last page costs one more call;
        Productive lists archived companies apart, one more call when there are none)."""
        return {
            "salesforce": _pages(self.customers, SALESFORCE_PAGE),
            "quickbooks": self.customers // QUICKBOOKS_PAGE + 1,
            "productive": _pages(self.customers, PRODUCTIVE_PAGE) + 1,
        }


def measure(customers: int = CUSTOMERS, *, say: Callable[[str], None] = print) -> ReplayFigures:
    with environment_logged_to(Path(".close2cash/bench-replay.log")) as env:
        assert env.runtime is not None
        start = datetime.now(UTC) - timedelta(seconds=1)
        seeded = Seeded()
        seed_customers(env, seeded, customers)
        say(f"  seeded {customers} customers")
        started = time.perf_counter()
        settled = env.settle(timeout=900)
        settle_seconds = time.perf_counter() - started
        say(f"  the hub settled their {settled.delivered} notices in {settle_seconds:.1f} s")
        end = datetime.now(UTC) + timedelta(seconds=1)
        with counting_aws_calls() as counts:
            started = time.perf_counter()
            answer = invoke(env.runtime.moto_endpoint, start, end, dry_run=True)
            seconds = time.perf_counter() - started
    return ReplayFigures(customers, settle_seconds, answer, Counter(counts), seconds)


def print_figures(figures: ReplayFigures, say: Callable[[str], None]) -> None:
    answer = figures.answer
    say(f"  notices in the window {answer.get('notices')} ({answer.get('by_flow')})")
    say(f"  differences           {answer.get('found')} (goal 0 on agreeing data)")
    for diff in answer.get("diffs", [])[:5]:
        say(f"    {diff['summary'][:200]}")
    for note in answer.get("left_aside", [])[:5]:
        say(f"    note: {note[:200]}")
    calls = answer.get("vendor_calls", {})
    say("  vendor calls          " + ", ".join(f"{k} {v}" for k, v in sorted(calls.items())))
    say(
        "  archive calls         "
        + ", ".join(f"{k} {v}" for k, v in sorted(answer.get("archive_calls", {}).items()))
    )
    aws = figures.aws_calls
    say(
        f"  AWS calls             {sum(aws.values())} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(aws.items()))
        + ")"
    )
    say(f"  wall time             {figures.seconds:.1f} s (seeding and settling not included)")
    bound = figures.bound()
    say(
        "  lower bound from the vendors' page sizes: "
        + ", ".join(f"{k} {v} (run made {calls.get(k, 0)})" for k, v in bound.items())
    )


def run(sizes: Sequence[int] = (), *, say: Callable[[str], None] = print) -> ReplayFigures:
    customers = sizes[0] if sizes else CUSTOMERS
    say(f"\n== Replay (dry run) of a window of {customers:,} customers' notices on the sandboxes ==")
    figures = measure(customers, say=say)
    print_figures(figures, say)
    return figures


def main(argv: Sequence[str]) -> int:
    say = lambda text: print(text, file=sys.__stdout__, flush=True)  # noqa: E731 - the log takes stdout
    run([int(a) for a in argv], say=say)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
