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


def run(env: LocalEnvironment) -> AnalyticsChapter:
    """Deliver the landing's buffers, sync the bucket, and write the analytics report of the run."""
    runtime = env.runtime
    assert runtime is not None
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
