"""The demo's last chapter: what the run published, landed and answered as the analytics report.

Everything the hub published during the run went through the landing (the local Firehose twin) to
the runtime's S3; this chapter delivers what is still buffered, syncs the landed files to a local
folder and runs `close2cash analytics report` over them, as a user would with `--endpoint-url`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infra.analytics.landed import bucket_of, sync
from infra.analytics_cli import write
from infra.local.environment import LocalEnvironment
from infra.wiring import WIRING

ANALYTICS_FILE = Path(".close2cash/analytics.html")
CACHE = Path(".close2cash/analytics-demo")


@dataclass
class AnalyticsChapter:
    """The report's lines and where its page is."""

    lines: list[str] = field(default_factory=list)
    page: Path | None = None


# What an hour of each of the firm's people costs (Productive: cents, hourly), from the year's start.
COST_CENTS = 9000
COST_CURRENCY = "USD"


def run(env: LocalEnvironment) -> AnalyticsChapter:
    """Read the people's capacity, deliver the landing's buffers, sync the bucket, write the report."""
    runtime = env.runtime
    assert runtime is not None
    # Operations set each person's cost rate on their Productive profile (40 h a week); the daily
    # capacity read (the `capacity_sync` schedule) then states capacity and cost for utilization
    # and margin. The demo runs it once now, as its schedule would.
    for person in env.productive.person_ids():
        env.productive.add_salary(
            person, started_on="2026-01-01", cost=COST_CENTS, currency=COST_CURRENCY, salary_type_id=2
        )
    runtime.invoker.invoke("capacity_sync", {})
    runtime.drain()
    runtime.flush_landing(force=True)
    s3 = runtime.clients.s3()
    landing = WIRING.landings[0]
    bucket = bucket_of(s3, landing.bucket)
    synced = sync(s3, bucket, landing, CACHE)
    lines = [f"landed files: {synced.listed} in s3://{bucket}"]
    lines += write(
        CACHE, as_of=runtime.clock.now(), html=ANALYTICS_FILE, source="the local runtime (make demo)"
    )
    return AnalyticsChapter(lines=lines, page=ANALYTICS_FILE)
