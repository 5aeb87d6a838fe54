"""`close2cash analytics backfill` and `report` on the local runtime, the page opened in headless Chromium.

The January-March history is published while the landing is not yet listening (its rules
disabled), as events published before the layer existed: the bus archive has them, the bucket
does not. A backfill lands them; a second backfill lands nothing twice; the report answers every
measure to the cent as of a date, and as of an earlier date shows the facts as they stood then.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.analytics.backfill import landing_rules
from infra.cli import app
from infra.local.runtime import LocalRuntime
from infra.wiring import EVENTS_LANDING, WIRING
from shared.aws.events import EventBridgePublisher
from shared.domain.commercial import OpportunityStatus
from tests.analytics.fixtures import ACME, GLOBEX, deal, engagement, history
from tests.flows.test_report import chromium, visible_text

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(WIRING, secrets={}, mode="server") as rt:
        events = rt.clients.events()
        bus = rt.resources.bus_name
        rules = [arn.rpartition("/")[2] for arn in landing_rules(events, bus)]
        for rule in rules:
            events.disable_rule(Name=rule, EventBusName=bus)
        # The history, the activation of the engagement its hours are booked to (acme's), and an
        # open deal of globex's at 50 % on 10 March.
        extra = [
            engagement(ACME, "2026-01-06"),
            deal(
                "o-9",
                GLOBEX,
                "8000.00",
                "2026-04-30",
                status=OpportunityStatus.OPEN,
                probability="50",
                at_="2026-03-10",
            ),
        ]
        EventBridgePublisher(bus, client=events).publish_events([*history(), *extra])
        rt.drain()
        for rule in rules:
            events.enable_rule(Name=rule, EventBusName=bus)
        yield rt


def cli(runtime: LocalRuntime, *args: str) -> str:
    answer = CliRunner().invoke(app, [*args, "--endpoint-url", runtime.moto_endpoint])
    assert answer.exit_code == 0, answer.output
    return answer.output


def report(runtime: LocalRuntime, cache: Path, *options: str) -> str:
    """`close2cash analytics report` over the runtime's bucket, its files mirrored in `cache`."""
    return cli(runtime, "analytics", "report", *options, "--cache", str(cache))


def landed(runtime: LocalRuntime) -> int:
    listed = runtime.clients.s3().list_objects_v2(Bucket="close2cash-analytics", Prefix="events/")
    return len(listed.get("Contents", []))


def test_backfill_lands_the_archived_history_once_and_the_report_answers_from_it(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    # Given the history published before the landing listened: nothing is landed
    assert landed(runtime) == 0
    empty = report(runtime, tmp_path / "cache")
    assert "landed events: 0" in empty
    # When the archive is backfilled from the start of the year
    done = cli(runtime, "analytics", "backfill", "--from", "2026-01-01")
    runtime.drain()
    # Then the replay completed to every landing rule and the events are landed
    rules = len(EVENTS_LANDING.streams)  # one landing rule per landed event type
    assert re.search(
        rf"backfill c2c-backfill-\w+: COMPLETED over \[2026-01-01 00:00:00, .*\) to {rules} landing rules",
        done,
    )
    files = landed(runtime)
    assert files > 0
    # And a second backfill over the same window lands nothing again
    cli(runtime, "analytics", "backfill", "--from", "2026-01-01")
    runtime.drain()
    assert landed(runtime) == files
    # And the report as of the end of March answers each measure as the hand computation does
    page = tmp_path / "analytics.html"
    out = report(runtime, tmp_path / "cache", "--as-of", "2026-03-31", "--html", str(page))
    assert "landed events: 13, current records: 11" in out  # t-1 once, t-2 and inv-2 superseded
    assert (
        "USD: Pipeline 4,000.00, Bookings 15,000.00, Delivered 2,033.31, Backlog 12,966.69, Billed 1,320.00,"
        " Collected 1,000.00, Open AR 320.00, Cash realization 49.2 %, DSO 21.8 days" in out
    ), out
    assert (
        "customer acme (USD): Pipeline 0.00, Bookings 10,000.00, Billed 1,320.00, Collected 1,000.00" in out
    )
    assert "customer globex (USD): Pipeline 4,000.00, Bookings 5,000.00, Billed 0.00" in out
    # And as of the end of January, t-2 still has the hours first approved and nothing is billed
    january = report(runtime, tmp_path / "cache", "--as-of", "2026-01-31")
    assert "Delivered 2,199.98" in january and "Billed 0.00" in january, january


def test_the_page_reads_in_chromium(runtime: LocalRuntime, tmp_path: Path) -> None:
    # Given the report page as of the end of March
    page = tmp_path / "analytics.html"
    cli(runtime, "analytics", "backfill", "--from", "2026-01-01")
    runtime.drain()
    report(runtime, tmp_path / "cache", "--as-of", "2026-03-31", "--html", str(page))
    # When Chromium renders it
    text = visible_text(chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile"))
    # Then the headline tiles, the slices and the definitions read as a person sees them
    assert "As of 2026-03-31 23:59 UTC" in text
    for tile in (
        "PIPELINE 4,000.00",
        "BOOKINGS 15,000.00",
        "DELIVERED 2,033.31",
        "OPEN AR 320.00",
        "CASH REALIZATION 49.2 %",
    ):
        assert tile.lower() in text.lower(), text[:2000]
    # acme: bookings, pipeline, open deals, delivered (through its engagement), invoiced, credited,
    # collected, backlog, billed, open AR, cash realization
    assert (
        "acme 10,000.00 0.00 0.00 2,033.31 1,440.00 120.00 1,000.00 7,966.69 1,320.00 320.00 49.2 %" in text
    ), text
    # February: bookings, pipeline, open deals, delivered, cost, invoiced, credited, collected,
    # billed, margin, cash realization (balances are not summed per month)
    assert "2026-02 0.00 0.00 0.00 0.00 0.00 1,440.00 120.00 0.00 1,320.00 0.00 -" in text
    assert "Days sales outstanding" in text
    # and every chart is drawn: each slice in USD, and in hours per engagement, worker and month
    dom = page.read_text(encoding="utf-8")
    assert dom.count('class="chart"') == 4 + 3  # the USD slices; hours per engagement, worker, month
    shot = tmp_path / "analytics.png"
    chromium("--window-size=1280,2400", f"--screenshot={shot}", page.as_uri(), profile=tmp_path / "profile")
    assert shot.stat().st_size > 20_000
