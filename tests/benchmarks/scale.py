"""The local runtime at scale: N new Salesforce accounts synced to Productive and QuickBooks.

Each step is its own process with a fresh local environment, so its peak RSS is its own; its time
runs from the first account created until every notice and message is handled. The vendors' rate
limits still hold (QuickBooks 500 calls a minute, 10 a second and 40 batch requests a minute;
Productive 100 per 10 s and 4,000 per 30 minutes): the hub's shared budgets pace every call and the
sandboxes refuse what would overrun them. Both count in the runtime's time, which fast-forwards
a wait for a slot as it does Step Functions waits, so the seconds per account are the local
runtime's own work; a flat curve says it adds no cost per account as the ledger grows. The
vendor-paced time (the runtime's clock) is what those limits alone would take in AWS.

    python -m tests.benchmarks.scale            # 10, 100 and 1,000 accounts (as `make bench`)
    python -m tests.benchmarks.scale 1000       # one step
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.benchmarks.logs import environment_logged_to

CURVE = (10, 100, 1_000)
BENCH_CURVE = CURVE  # what `make bench` runs; the 1,000 step takes ~6 minutes on its own
LOG = Path(".close2cash/bench-scale.log")


@dataclass
class Step:
    """One point of the curve."""

    accounts: int
    seconds: float
    peak_rss_mb: float
    in_productive: int
    in_quickbooks: int
    vendor_paced_seconds: float  # the same span on the runtime's clock: the vendors' limits at work
    throttled: int  # 429s the sandboxes answered for a full window (the budgets should leave none)

    @property
    def seconds_per_account(self) -> float:
        return self.seconds / self.accounts

    def line(self) -> str:
        return (
            f"  {self.accounts:>6,} accounts: {self.seconds_per_account:6.2f} s per account,"
            f" peak RSS {self.peak_rss_mb:7,.0f} MB  (synced: Productive {self.in_productive:,},"
            f" QuickBooks {self.in_quickbooks:,}; {self.seconds:,.0f} s in all; vendor-paced"
            f" {self.vendor_paced_seconds / self.accounts:.2f} s per account, {self.throttled} 429s)"
        )


def sync(accounts: int) -> Step:
    """In this process: a fresh local environment syncs `accounts` new accounts until all is quiet."""
    with environment_logged_to(LOG, "a") as env:
        assert env.runtime is not None
        clock = env.runtime.clock
        env.settle()
        started, paced_from = time.perf_counter(), clock.time()
        for n in range(accounts):
            env.salesforce.put_account(
                {"Name": f"Scale Account {n:05d}", "Phone": f"+1 555 {n % 10_000:04d}"}
            )
        # A full rate budget delays messages (visibility), so one quiet round is not the end:
        # settle until a round finds nothing to do.
        while env.settle(timeout=3_600).rounds > 1:
            pass
        seconds, paced = time.perf_counter() - started, clock.time() - paced_from
        prefix = "Scale Account "
        in_productive = sum(
            1 for c in env.productive.companies() if str(c["attributes"].get("name", "")).startswith(prefix)
        )
        in_quickbooks = sum(
            1 for c in env.quickbooks.customers() if str(c.get("DisplayName", "")).startswith(prefix)
        )
        throttled = env.quickbooks.throttled + env.quickbooks.batch_rate.refused + env.productive.throttled
    return Step(accounts, seconds, _peak_rss_mb(), in_productive, in_quickbooks, paced, throttled)


def _peak_rss_mb() -> float:
    """This process's peak resident set: VmHWM (getrusage's figure keeps the forking parent's peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(steps: tuple[int, ...] = BENCH_CURVE) -> list[Step]:
    """Each step in a fresh interpreter (its own peak RSS), smallest first."""
    results = []
    for accounts in steps:
        done = subprocess.run(
            [sys.executable, "-m", "tests.benchmarks.scale", "--step", str(accounts)],
            check=True,
            capture_output=True,
            text=True,
        )
        results.append(Step(**json.loads(done.stdout.strip().splitlines()[-1])))
    return results


def print_curve(steps: list[Step]) -> None:
    for step in steps:
        print(step.line(), flush=True)
    base = next((s for s in steps if s.accounts == 100), steps[0])
    last = steps[-1]
    if last.accounts > base.accounts:
        ratio = last.seconds_per_account / base.seconds_per_account
        verdict = "meets" if ratio <= 1.2 else "MISSES"
        print(
            f"  time per account at {last.accounts:,} is {ratio:.2f}x that at {base.accounts:,}"
            f" ({verdict} goal <= 1.2x)",
            flush=True,
        )


def main(argv: list[str]) -> int:
    if argv[:1] == ["--step"]:
        print(json.dumps(asdict(sync(int(argv[1])))))
        return 0
    steps = tuple(int(arg) for arg in argv) or CURVE
    print(f"== The local runtime at scale: new accounts synced, {', '.join(f'{n:,}' for n in steps)} ==")
    print_curve(measure(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
