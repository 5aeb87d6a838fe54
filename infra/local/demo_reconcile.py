"""The demo's reconciliation chapter: the systems compared to the cent, three breaks made by hand, one fixed.

`close2cash reconcile` (the nightly function, invoked now) first runs over what the demo did. Then
three people do what people do: a bookkeeper raises a line of November's invoice in QuickBooks, a
manager approves an hour of November in Productive after that invoice went out, and someone
creates the customer a second time by hand in QuickBooks. The next run finds each, with both
sides and what to do; the duplicate is made inactive by hand and the run after that resolves it.
The run report (`.close2cash/report.html`) shows the breaks that stay open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from infra.local.demo_time import TimeChapter
from infra.local.environment import LocalEnvironment
from infra.reconcile_cli import invoke, report_lines
from shared import bootstrap
from shared.domain.models import SystemName

SINCE = "2026-01-01"
LATE_HOUR = ("2026-11-27", 60)  # approved after November's invoice was posted


@dataclass
class ReconcileChapter:
    """What each run found: breaks, new, resolved, open, and the vendor calls it made."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    fixed: str = ""

    @property
    def found_each(self) -> bool:
        """The second run found the three breaks made by hand, and the third resolved the fixed one."""
        if len(self.runs) != 3:
            return False
        made = " ".join(b["id"] for b in self.runs[1]["breaks"])
        kinds = (":invoice:", ":unbilled:2026-11", ":duplicate:quickbooks")
        return all(kind in made for kind in kinds) and self.runs[2]["resolved"] >= 1


def _qbo(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    connector = bootstrap.services().connector(SystemName.QUICKBOOKS)
    answer: dict[str, Any] = connector.client._send(
        "POST", connector.client._path(entity.lower()), body=body, context=f"by hand: {entity}"
    )
    return dict(answer[entity])


def _read(entity: str, record_id: str) -> dict[str, Any]:
    connector = bootstrap.services().connector(SystemName.QUICKBOOKS)
    answer: dict[str, Any] = connector.client._send(
        "GET", connector.client._path(f"{entity.lower()}/{record_id}"), context=f"read {entity}"
    )
    return dict(answer[entity])


def _run(env: LocalEnvironment, console: Console, chapter: ReconcileChapter, title: str) -> None:
    assert env.runtime is not None
    with console.status(title):
        body = invoke(env.runtime.moto_endpoint, since=SINCE)
    chapter.runs.append(body)
    console.print(f"[bold]{title}[/]")
    for line in report_lines(body):
        console.print(f"  {line}", markup=False, highlight=False)


def run(
    env: LocalEnvironment, console: Console, time_chapter: TimeChapter, *, invoice_id: str, account_id: str
) -> ReconcileChapter:
    chapter = ReconcileChapter()
    _run(env, console, chapter, f"close2cash reconcile --since {SINCE}")

    with console.status(
        "Three breaks made by hand: an invoice edited, an hour approved late, a customer twice"
    ):
        invoice = _read("Invoice", invoice_id)
        lines = [dict(line) for line in invoice["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
        detail = {k: v for k, v in lines[0]["SalesItemLineDetail"].items() if k not in ("Qty", "UnitPrice")}
        lines[0] = {**lines[0], "Amount": lines[0]["Amount"] + 100, "SalesItemLineDetail": detail}
        _qbo("Invoice", {"Id": invoice_id, "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines})
        role, person = next(iter(time_chapter.people.items()))
        day, minutes = LATE_HOUR
        entry = env.productive.add_time_entry(person, time_chapter.services[role], day, minutes)
        env.productive.approve_time_entry(entry)
        name = env.salesforce.account(account_id)["Name"]
        twin = _qbo("Customer", {"DisplayName": f"{name}."})
        env.settle()
    console.print(
        f"  a bookkeeper raised a line of invoice {invoice.get('DocNumber')} by 100.00; {role} {minutes} min "
        f"on {day} approved after it went out; customer {twin['Id']} ({twin['DisplayName']}) created by hand"
    )
    _run(env, console, chapter, "close2cash reconcile (again)")

    with console.status("The duplicate is made inactive by hand, as its break says"):
        twin = _read("Customer", str(twin["Id"]))
        _qbo("Customer", {"Id": twin["Id"], "SyncToken": twin["SyncToken"], "sparse": True, "Active": False})
        env.settle()
    chapter.fixed = str(twin["Id"])
    _run(env, console, chapter, f"close2cash reconcile, after customer {twin['Id']} was made inactive")
    return chapter
