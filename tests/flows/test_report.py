"""`close2cash report --html` after a small run on the local runtime, opened in headless Chromium.

One engagement is won, staffed, billed and paid in part, and a break is open.
The page is rendered by Debian's Chromium (installed by the Makefile's test set-up) and the test
reads what a person sees there: the DOM after rendering, and a screenshot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName, utcnow
from shared.domain.ports import ExceptionRecord
from tests.flows.deals import billed_and_part_paid

pytestmark = pytest.mark.flow

CHROMIUM = shutil.which("chromium")
# Set to a path (e.g. docs/report.png) to keep the screenshot the test takes.
SCREENSHOT_ENV = "CLOSE2CASH_REPORT_SCREENSHOT"
BREAK_AGE = timedelta(hours=3, minutes=5)


def chromium(*args: str, profile: Path) -> str:
    """Headless Chromium with nothing of its own on the network (no sync, updates, first-run pages)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: `make test` installs it (Debian package chromium)")
        pytest.skip("chromium is not installed: run `make test` (it installs Debian's chromium)")
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


@pytest.fixture(scope="module")
def page(env: LocalEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of a run: one deal won (8,000.00 USD), 14 h at 200.00 posted and invoiced, 250.00
    paid; and a break opened 3 h 5 min ago."""
    billed = billed_and_part_paid(
        env, "Report Flow Corp rollout", person=("Ada", "Lovelace", "ada@northwind.example")
    )
    services = bootstrap.services()
    invoice = {"Id": billed["invoice"]}
    # A break as reconciliation files it (an exception of kind `reconciliation`), 3 h 5 min old.
    services.ledger.record_exception(
        ExceptionRecord(
            id=f"reconciliation-invoice-{invoice['Id']}",
            kind="reconciliation",
            entity=EntityType.ACCOUNT,
            subject=SourceRef(system=SystemName.QUICKBOOKS, type="Invoice", id=str(invoice["Id"])),
            reason="invoiced 2800.00 USD in the hub's ledger, 2900.00 USD in QuickBooks",
            owner="finance",
            opened_at=utcnow() - BREAK_AGE,
        )
    )
    assert env.runtime is not None
    env.runtime.flush_metrics()
    html = tmp_path_factory.mktemp("report") / "report.html"
    answer = CliRunner().invoke(
        app, ["report", "--html", str(html), "--endpoint-url", env.runtime.moto_endpoint]
    )
    assert answer.exit_code == 0, answer.output
    assert f"report: {html}" in answer.output
    return html


def visible_text(dom: str) -> str:
    """The DOM's text as a person reads it: tags and SVG drawing instructions out, spaces folded."""
    dom = re.sub(r"<style.*?</style>", " ", dom, flags=re.S)
    dom = re.sub(r"<[^>]+>", " ", dom)
    return re.sub(r"\s+", " ", dom.replace("&nbsp;", " ").replace("&amp;", "&"))


def test_the_report_shows_the_money_the_exceptions_and_the_metrics(page: Path, tmp_path: Path) -> None:
    # given the report of the run, when Chromium renders it
    dom = chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    text = visible_text(dom)
    # then the engagement's waterfall reads, to the cent: booked, approved, posted, invoiced, paid, open AR
    row = re.search(r"Report Flow Corp rollout .*? USD (.*?) Report Flow Corp", text + " Report Flow Corp")
    assert row, text[:3000]
    figures = row.group(1).split()
    assert figures[:6] == ["8,000.00", "2,800.00", "2,800.00", "2,800.00", "250.00", "2,550.00"], figures
    # and the break is listed with its kind, reason and age
    assert "breaks (reconciliation): 1" in text
    assert "invoiced 2800.00 USD in the hub's ledger, 2900.00 USD in QuickBooks" in text
    assert re.search(r"\b3 h [5-6] min\b", text), text
    # and each of the eight metrics is there, with a value or "no data"
    for label in (
        "billing cycle time",
        "sync latency",
        "failed transactions",
        "duplicates created / prevented",
        "exception resolution time",
        "project setup turnaround",
        "invoice rejections",
        "reconciliation backlog",
    ):
        assert label in text.lower(), label
    cards = dict(
        re.findall(r'data-metric="(\w+)"><div class="label">[^<]*</div><div class="value[^"]*">([^<]*)<', dom)
    )
    assert cards["ReconciliationBacklog"] == "no data"
    assert "average" in cards["BillingCycleTime"] and "average" in cards["ProjectSetupTurnaround"]
    assert cards["DuplicatesPrevented"].startswith("0 created")
    assert cards["InvoiceRejections"] == "0"  # a count nobody emitted: none happened
    # and the flows' counts: the two workflows ran, records were synced
    assert "billing-run" in text and "close-to-cash" in text
    assert re.search(r"records synced [1-9]", text), text


def test_the_report_is_one_file_that_asks_for_nothing(page: Path, tmp_path: Path) -> None:
    html = page.read_text()
    # no scripts, no stylesheet or image fetched from anywhere: inline CSS and inline SVG only
    assert "<script" not in html
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html)
    assert all(link.startswith("#") for link in links), links
    assert not re.search(r"url\((?!#)", html)
    assert html.count("<svg") >= 3
    # when Chromium takes a screenshot of it, one comes out (kept where SCREENSHOT_ENV says)
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri(), profile=tmp_path / "profile")
    assert shot.stat().st_size > 20_000
    if os.environ.get(SCREENSHOT_ENV):
        target = Path(os.environ[SCREENSHOT_ENV])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)
