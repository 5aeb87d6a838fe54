"""The demo's cutover chapter: US01 moves from QuickBooks to NetSuite (the coexistence landscape).

It runs when the landscape plans a cutover with a shadow period for the demo engagement's legal
entity. Everything the demo posted so far lies in the shadow period: it went to QuickBooks and is
compared, document by document, with what NetSuite would hold. The first diff names what NetSuite
lacks (the consultants as employees there); once an administrator adds them only November's
invoice differs (a bookkeeper raised a line of it by hand in QuickBooks), the controller
acknowledges that line, the diff is clear, the controller confirms, the engagement gets its
NetSuite project, and January's work posts to NetSuite and is billed on the first NetSuite invoice.
The chapter fails unless that is what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console

from infra.cutover_cli import diff_lines
from infra.lambda_invoke import invoke
from infra.local.demo_time import CONSULTANTS, TimeChapter
from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.domain.billing_runs import BillingPeriod
from shared.domain.models import SourceRef, SystemName
from shared.governance.routing import Cutover, Routing

CONTROLLER = "controller@northwind.example"
ACKNOWLEDGED = "the line added by hand in QuickBooks stays there; NetSuite starts from the hub's figures"


@dataclass
class CutoverChapter:
    """What the chapter saw: the diffs, the confirmation, and what each ledger holds at its end."""

    ran: bool = False
    diffs: list[dict[str, Any]] = field(default_factory=list)
    confirmed: dict[str, Any] = field(default_factory=dict)
    invoice: dict[str, Any] = field(default_factory=dict)
    billed_hours: Decimal = Decimal(0)
    quickbooks_invoices: int = 0

    @property
    def cut_over(self) -> bool:
        """The first diff had lines, the last was clear, the cutover was confirmed, and NetSuite's
        first invoice bills January's hours (QuickBooks got none for January)."""
        if not self.ran:
            return True  # the landscape plans no cutover: nothing to show
        first, last = self.diffs[0], self.diffs[-1]
        return (
            bool(first.get("lines"))
            and last.get("clear") is True
            and bool(self.confirmed.get("confirmed"))
            and Decimal(str(self.invoice.get("total", "0"))) > 0
        )


def planned(env: LocalEnvironment, legal_entity: str) -> Cutover | None:
    """The entity's cutover with a shadow period whose new ledger the demo runs, if the landscape has one."""
    for cutover in Routing(env.landscape).cutovers(legal_entity):
        if cutover.shadow_from is not None and cutover.new in env.twins:
            return cutover
    return None


def run(env: LocalEnvironment, console: Console, time: TimeChapter) -> CutoverChapter:
    """The cutover of the demo engagement's legal entity, when the landscape plans one."""
    chapter = CutoverChapter()
    booked = (
        bootstrap.services().postings.engagement(SystemName.PRODUCTIVE, time.project_id)
        if time.project_id
        else None
    )
    cutover = planned(env, booked.legal_entity) if booked is not None else None
    if cutover is None or booked is None:
        return chapter
    legal_entity = booked.legal_entity
    assert env.runtime is not None
    chapter.ran = True
    new = env.sandbox(cutover.new)

    def ask(action: str, **extra: str) -> dict[str, Any]:
        payload = {"action": action, "legal_entity": legal_entity, **extra}
        assert env.runtime is not None
        body: dict[str, Any] = invoke(env.runtime.moto_endpoint, "cutover", payload, what="cutover")
        shown = body.get("diff", body)
        console.print(f"[bold]close2cash cutover {action} --legal-entity {legal_entity}[/]")
        for line in diff_lines(shown):
            console.print(f"  {line}", markup=False, highlight=False)
        if "refused" in body:
            console.print(f"  refused: {body['refused']}", markup=False, highlight=False)
        return body

    with console.status(f"Shadow diff of {legal_entity}'s move to {cutover.new}"):
        chapter.diffs.append(ask("diff"))
        ask("confirm", by=CONTROLLER)  # refused while lines are open
    with console.status(f"An administrator adds the consultants as employees in {cutover.new}"):
        for first, last, email, _role in CONSULTANTS:
            new.add_employee(first, last, email=email)
        left = ask("diff")
        chapter.diffs.append(left)
    # What is left is November's invoice: the bookkeeper's hand-added line makes QuickBooks hold
    # more than the hub composed (reconciliation named it too). The controller accepts it as it is.
    open_lines = [line for line in left.get("lines", []) if not line.get("acknowledged")]
    if open_lines:
        with console.status("The controller acknowledges what stays as QuickBooks holds it"):
            for line in open_lines:
                ask("acknowledge", line=line["id"], by=CONTROLLER, note=ACKNOWLEDGED)
            chapter.diffs.append(ask("diff"))
    with console.status("The controller confirms the cutover"):
        chapter.confirmed = ask("confirm", by=CONTROLLER)
        env.settle()
    with console.status(f"January: the Partner's first hours after the cutover, billed from {cutover.new}"):
        chapter.quickbooks_invoices = len(env.quickbooks.company.rows("Invoice"))
        day = cutover.on.replace(day=min(cutover.on.day + 4, 28)).isoformat()
        entry = env.productive.add_time_entry(time.people["Partner"], time.services["Partner"], day, 90)
        env.productive.approve_time_entry(entry)
        env.settle()
        engagement = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=time.project_id)
        bootstrap.services().billing_runs.start(engagement, BillingPeriod.containing(cutover.on))
        env.settle()
    invoices = new.records("invoice")
    chapter.invoice = invoices[-1] if invoices else {}
    chapter.billed_hours = Decimal(sum(Decimal(str(t.get("hours", 0))) for t in new.records("timeBill")))
    after = len(env.quickbooks.company.rows("Invoice"))
    console.print(
        f"  {cutover.new} invoice {chapter.invoice.get('tranId', '-')}: total "
        f"{chapter.invoice.get('total', '-')} for {chapter.billed_hours} h "
        f"(QuickBooks invoices before and after January: {chapter.quickbooks_invoices} -> {after})"
    )
    chapter.quickbooks_invoices = after - chapter.quickbooks_invoices
    return chapter


def print_chapter(console: Console, env: LocalEnvironment, chapter: CutoverChapter) -> None:
    """Both ledgers side by side: customers and invoices each holds."""
    if not chapter.ran:
        return
    ledgers = {
        SystemName.QUICKBOOKS.value: (
            len(env.quickbooks.customers()),
            len(env.quickbooks.company.rows("Invoice")),
        )
    }
    netsuite = env.sandbox(SystemName.NETSUITE)
    ledgers[SystemName.NETSUITE.value] = (len(netsuite.records("customer")), len(netsuite.records("invoice")))
    console.print(
        "both ledgers: "
        + " · ".join(
            f"{name}: {customers} customers, {invoices} invoices"
            for name, (customers, invoices) in ledgers.items()
        )
    )
