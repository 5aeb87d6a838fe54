"""The demo's replay chapter: the demo's own window of notices re-derived under two landscape versions.

A bookkeeper gives one customer QuickBooks' Net 30 term; the hub passes it on (30 due days in
Productive). Then `close2cash replay --dry-run` over everything the demo's notices named, under a
landscape version that would make Net 30 35 days in Productive, shows the one company that version
would change, and writes nothing. The same window replayed (not a dry run) under the landscape in
force finds nothing to write: every copy is what the hub would write now; the customer renamed by
hand in QuickBooks is drift, named in the notes and left to its exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from infra.local.environment import LocalEnvironment
from infra.replay_cli import invoke, report_lines

ROW = '{ source = "3", target = "30",     source_system = "quickbooks", target_system = "productive" }'


@dataclass
class ReplayChapter:
    """Each replay's answer: the dry run under the new version, then the run under the one in force."""

    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def diffed_and_idempotent(self) -> bool:
        """The dry run found the one company the new version changes; the real run found nothing to write."""
        if len(self.runs) != 2:
            return False
        dry, real = self.runs
        return (
            dry.get("found") == 1
            and dry.get("written") == 0
            and real.get("found") == 0
            and real.get("written") == 0
        )


def run(
    env: LocalEnvironment,
    console: Console,
    *,
    since: datetime,
    customer_id: str,
    landscape: Path,
    scratch: Path,
) -> ReplayChapter:
    assert env.runtime is not None
    chapter = ReplayChapter()
    with console.status("A bookkeeper gives a customer QuickBooks' Net 30 term"):
        env.quickbooks.put_customer({"Id": customer_id, "SalesTermRef": {"value": "3"}})
        env.settle()
    console.print(
        f"  QuickBooks customer {customer_id}: Net 30 "
        "(accounting owns payment terms: Productive gets 30 days)"
    )
    text = landscape.read_text(encoding="utf-8")
    version = scratch / "landscape-net30-35-days.toml"
    # A new version of the file: the row changed, and its version bumped as the file asks.
    changed = re.sub(
        r'(?m)^version = "([^"]+)"',
        r'version = "\1-net30-35"',
        text.replace(ROW, ROW.replace('"30"', '"35"')),
        count=1,
    )
    version.write_text(changed, encoding="utf-8")
    until = datetime.now(UTC) + timedelta(seconds=1)
    window = f"--from {since.isoformat(timespec='seconds')} --to {until.isoformat(timespec='seconds')}"
    for title, chosen, dry_run in (
        (
            f"close2cash replay {window} --landscape {version.name} --dry-run",
            version.read_text(encoding="utf-8"),
            True,
        ),
        (f"close2cash replay {window} (the landscape in force)", None, False),
    ):
        with console.status(title):
            body = invoke(env.runtime.moto_endpoint, since, until, landscape=chosen, dry_run=dry_run)
        chapter.runs.append(body)
        console.print(f"[bold]{title}[/]")
        for line in report_lines(body):
            console.print(f"  {line}", markup=False, highlight=False)
    return chapter
