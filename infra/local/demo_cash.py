"""The demo's cash chapter: November is billed, approved and posted; the customer disputes a line, pays
part, then the rest; every system shows the same money.

The run for the demo engagement's November (`close2cash billing run --engagement P --period
2026-11`) composes one invoice from the approved, posted time and the billable expense; its total is
above the landscape's approval threshold, so it waits on the approval desk until delivery operations
approves it, then posts to QuickBooks with each time line linked to its TimeActivity. A bookkeeper
then issues a credit memo for the disputed follow-up call and applies it, and two payments arrive.
Each reaches the hub as a QuickBooks webhook; the hub reads the invoice's Balance and pushes the
whole standing to Productive (the invoice mirrored, its payments and the credit note) and to
Salesforce (the deal's and the account's figures). The chapter ends with one table: approved hours
-> billed hours -> invoiced -> credited -> paid -> open, in each of the three systems.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from infra.billing_view import run_lines
from infra.local.demo_time import CURRENCY, TimeChapter
from infra.local.environment import LocalEnvironment
from infra.time_view import hours
from shared import bootstrap
from shared.domain.billing_runs import BillingPeriod, RunState
from shared.domain.models import SourceRef, SystemName

PERIOD = BillingPeriod(month="2026-11")
FIRST_PAYMENT = Decimal("2000.00")
CENT = Decimal("0.01")


@dataclass
class Ledger3:
    """One system's view of the engagement's money."""

    approved_minutes: int | None = None
    billed_minutes: int | None = None
    invoiced: Decimal | None = None
    credited: Decimal | None = None
    paid: Decimal | None = None
    open: Decimal | None = None


@dataclass
class CashChapter:
    """What the chapter did and what each system holds at its end."""

    run: str = ""
    approval: str = ""
    invoice_id: str = ""
    number: str = ""
    disputed: Decimal = Decimal(0)
    systems: dict[str, Ledger3] = field(default_factory=dict)
    listing: list[str] = field(default_factory=list)
    latency: float | None = None  # payment received in QuickBooks -> visible in Salesforce (s)
    dso: list[tuple[str, float]] = field(default_factory=list)  # the customer's DSO after each step
    metrics: dict[str, str] = field(default_factory=dict)  # the billing metrics, as emitted

    @property
    def equal_to_the_cent(self) -> bool:
        views = list(self.systems.values())
        if len(views) != 3 or any(v.invoiced is None or v.paid is None or v.open is None for v in views):
            return False
        money = {(v.invoiced, v.credited, v.paid, v.open) for v in views}
        minutes = {(v.approved_minutes, v.billed_minutes) for v in views if v.approved_minutes is not None}
        return len(money) == 1 and len(minutes) == 1


def _dso(chapter: CashChapter, after: str) -> None:
    """The customer's days sales outstanding as the hub last emitted it (the dashboard's value)."""
    latest = bootstrap.services().metrics.latest
    values = [v for k, v in latest.items() if k.startswith("DaysSalesOutstanding[")]
    if values:
        chapter.dso.append((after, values[-1]))


def _billing_metrics() -> dict[str, str]:
    """The chapter's billing metrics, as the handlers emitted them (EMF; the dashboard's figures)."""
    totals = bootstrap.services().metrics.totals

    def summed(name: str) -> float:
        return sum(v for k, v in totals.items() if k == name or k.startswith(f"{name}["))

    posted = summed("InvoicesPosted") or 1
    return {
        "BillingCycleTime": f"{summed('BillingCycleTime') / posted / 86400:.1f} days (period end → posted)",
        "BillingCycleTimeFromApproval": (
            f"{summed('BillingCycleTimeFromApproval') / posted / 3600:.1f} h (last entry approved → posted)"
        ),
        "InvoiceRejections": f"{summed('InvoiceRejections'):.0f}",
        "CashCollected": f"{Decimal(str(summed('CashCollected'))).quantize(CENT)} {CURRENCY}",
    }


def _qbo(env: LocalEnvironment, entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a bookkeeper enters in QuickBooks (through its API, as the app itself would)."""
    connector = bootstrap.services().connector(SystemName.QUICKBOOKS)
    answer: dict[str, Any] = connector.client._send(
        "POST", connector.client._path(entity.lower()), body=body, context=f"bookkeeper: {entity}"
    )
    return dict(answer[entity])


def run(
    env: LocalEnvironment, console: Console, time_chapter: TimeChapter, *, opportunity_id: str
) -> CashChapter:
    chapter = CashChapter()
    services = bootstrap.services()
    project = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=time_chapter.project_id)
    auth = {"Authorization": f"Bearer {env.approver_token}"}
    with console.status(
        f"Billing run for November: close2cash billing run --engagement {project.id} --period 2026-11"
    ):
        chapter.run, _ = services.billing_runs.start(project, PERIOD)
        env.settle()
        pending = [
            a
            for a in httpx.get(f"{env.api_url}/approvals", headers=auth, timeout=10).json()
            if a["id"] == chapter.run
        ]
    if pending:
        console.print(f"  invoice waits for approval ({pending[0]['engagement']}, {pending[0]['budget']})")
        answer = httpx.post(f"{env.api_url}/approvals/{chapter.run}/approve", headers=auth, timeout=10)
        answer.raise_for_status()
        chapter.approval = env.approver
        env.settle()
        console.print(f"  approved by {env.approver} on the approval desk; posted to QuickBooks")
    _report_execution(env, console, chapter.run)
    [billing] = services.billing_store.runs(project)
    if billing.state is not RunState.POSTED or billing.invoice is None or billing.invoice_id is None:
        console.print(f"  [red]the run did not post[/]: {billing.state} {billing.reason or ''}")
        return chapter
    chapter.invoice_id, chapter.number = billing.invoice_id, billing.invoice.number
    invoice = billing.invoice
    customer = invoice.customer.id
    _, started = services.billing_runs.start(project, PERIOD)
    console.print(f"  the same run asked for again: {'started (WRONG)' if started else 'nothing new'}")
    _dso(chapter, "posted")

    disputed = next(
        (line for line in invoice.lines if "Follow-up call" in line.description), invoice.lines[0]
    )
    chapter.disputed = disputed.net.amount
    with console.status("The customer disputes the follow-up call: a credit memo, applied to the invoice"):
        line = {
            "DetailType": "SalesItemLineDetail",
            "Amount": chapter.disputed,
            "Description": f"Credit: {disputed.description[:200]}",
            "SalesItemLineDetail": {
                "ItemRef": {"value": disputed.item},
                "TaxCodeRef": {"value": disputed.tax_code},
            },
        }
        memo = _qbo(env, "CreditMemo", {"CustomerRef": {"value": customer}, "Line": [line]})
        _qbo(
            env,
            "Payment",
            {
                "CustomerRef": {"value": customer},
                "TotalAmt": Decimal(0),
                "Line": [
                    {
                        "Amount": chapter.disputed,
                        "LinkedTxn": [{"TxnId": chapter.invoice_id, "TxnType": "Invoice"}],
                    },
                    {
                        "Amount": chapter.disputed,
                        "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}],
                    },
                ],
            },
        )
        env.settle()
    console.print(f"  credit memo {memo['Id']} of {chapter.disputed} {CURRENCY} applied with a zero payment")
    _dso(chapter, "credit memo")
    rest = invoice.total.amount - chapter.disputed - FIRST_PAYMENT
    for amount in (FIRST_PAYMENT, rest):
        with console.status(f"The customer pays {amount} {CURRENCY} in QuickBooks"):
            started_at = time.monotonic()
            _qbo(
                env,
                "Payment",
                {
                    "CustomerRef": {"value": customer},
                    "TotalAmt": amount,
                    "Line": [
                        {"Amount": amount, "LinkedTxn": [{"TxnId": chapter.invoice_id, "TxnType": "Invoice"}]}
                    ],
                },
            )
            env.settle()
            chapter.latency = time.monotonic() - started_at
        console.print(f"  payment of {amount} {CURRENCY} received; Productive and Salesforce told")
        _dso(chapter, f"paid {amount}")
    tally(env, chapter, time_chapter, opportunity_id=opportunity_id)
    chapter.metrics = _billing_metrics()
    store = services.billing_store
    runs = store.runs(project)
    chapter.listing = run_lines(
        runs, [r for r in [store.invoice(SystemName.QUICKBOOKS, chapter.invoice_id)] if r]
    )
    return chapter


def tally(
    env: LocalEnvironment, chapter: CashChapter, time_chapter: TimeChapter, *, opportunity_id: str
) -> None:
    """Each system's own figures for the engagement, as its API answers them."""
    cents = Decimal(100)
    # Productive: approved billable entries, those invoiced, and its mirror of the invoice.
    services = {s["id"] for s in env.productive.services(time_chapter.project_id)}
    entries = [
        e for e in env.productive.time_entries() if e["relationships"]["service"]["data"]["id"] in services
    ]
    approved = [
        e for e in entries if e["attributes"].get("approved") and e["attributes"].get("billable_time")
    ]
    psa = Ledger3(
        approved_minutes=sum(int(e["attributes"]["billable_time"]) for e in approved),
        billed_minutes=sum(
            int(e["attributes"]["billable_time"]) for e in approved if e["attributes"].get("invoiced")
        ),
    )
    mirror = next((i for i in env.productive.invoices() if i["attributes"]["number"] == chapter.number), None)
    if mirror is not None:
        attributes = mirror["attributes"]
        psa.invoiced = (Decimal(int(attributes["amount"])) / cents).quantize(CENT)
        psa.credited = (Decimal(int(attributes.get("amount_credited") or 0)) / cents).quantize(CENT)
        psa.open = (Decimal(int(attributes["amount_unpaid"])) / cents).quantize(CENT)
        psa.paid = (Decimal(int(attributes["amount_paid"])) / cents).quantize(CENT)
    # QuickBooks: its TimeActivities, the invoice's TotalAmt and Balance, the payments applied.
    activities = [
        a
        for a in env.quickbooks.company.rows("TimeActivity")
        if str((a.get("CustomerRef") or {}).get("value")) == time_chapter.sub_customer_id
    ]
    invoice = env.quickbooks.company.visible("Invoice", chapter.invoice_id) or {}
    cash = Decimal(0)
    credit = Decimal(0)
    for payment in env.quickbooks.company.rows("Payment"):
        zero = Decimal(str(payment.get("TotalAmt") or 0)) == 0
        for line in payment.get("Line") or []:
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "Invoice" and str(link.get("TxnId")) == chapter.invoice_id:
                    amount = Decimal(str(line.get("Amount") or 0))
                    credit, cash = (credit + amount, cash) if zero else (credit, cash + amount)
    qbo = Ledger3(
        approved_minutes=sum(int(a.get("Hours", 0)) * 60 + int(a.get("Minutes", 0)) for a in activities),
        billed_minutes=sum(
            int(a.get("Hours", 0)) * 60 + int(a.get("Minutes", 0))
            for a in activities
            if a.get("BillableStatus") == "HasBeenBilled"
        ),
        invoiced=Decimal(str(invoice.get("TotalAmt", 0))).quantize(CENT),
        credited=credit.quantize(CENT),
        paid=cash.quantize(CENT),
        open=Decimal(str(invoice.get("Balance", 0))).quantize(CENT),
    )
    deal = env.salesforce.opportunity(opportunity_id)
    crm = Ledger3(
        invoiced=Decimal(str(deal.get("Invoiced_To_Date__c") or 0)).quantize(CENT),
        credited=Decimal(str(deal.get("Credited_To_Date__c") or 0)).quantize(CENT),
        paid=Decimal(str(deal.get("Paid_To_Date__c") or 0)).quantize(CENT),
        open=Decimal(str(deal.get("Open_AR__c") or 0)).quantize(CENT),
    )
    chapter.systems = {"Productive": psa, "QuickBooks": qbo, "Salesforce": crm}


def print_chapter(console: Console, chapter: CashChapter) -> None:
    table = Table(title=f"Invoice {chapter.number}: approved → billed → invoiced → credited → paid → open")
    for column in ("system", "approved h", "billed h", "invoiced", "credited", "paid", "open AR"):
        table.add_column(column)

    def shown(minutes: int | None) -> str:
        return "-" if minutes is None else hours(minutes)

    for name, view in chapter.systems.items():
        table.add_row(
            name,
            shown(view.approved_minutes),
            shown(view.billed_minutes),
            *(
                f"{value} {CURRENCY}" if value is not None else "missing"
                for value in (view.invoiced, view.credited, view.paid, view.open)
            ),
        )
    console.print(table)
    console.print("close2cash billing list:")
    for line in chapter.listing:
        console.print(f"  {line}", markup=False, highlight=False)
    if chapter.latency is not None:
        console.print(
            f"payment received in QuickBooks → visible in Salesforce: {chapter.latency:.2f}s (local runtime)"
        )
    if chapter.metrics:
        console.print(
            "billing metrics (dashboard): "
            + " · ".join(f"{name} {value}" for name, value in chapter.metrics.items())
        )
    if chapter.dso:
        console.print(
            "days sales outstanding of the customer (open AR / 90 days' invoicing x 90): "
            + " → ".join(f"{value:.1f} ({after})" for after, value in chapter.dso)
        )


def _report_execution(env: LocalEnvironment, console: Console, name: str) -> None:
    """The billing workflow's end, as `close2cash workflow show` would tell it."""
    assert env.runtime is not None
    sfn = env.runtime.clients.stepfunctions()
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if "billing-run" in m["name"])
    arn = machine["stateMachineArn"].replace(":stateMachine:", ":execution:") + f":{name}"
    described = sfn.describe_execution(executionArn=arn)
    if described["status"] != "SUCCEEDED":
        events = sfn.get_execution_history(executionArn=arn, reverseOrder=True)["events"][:6]
        console.print(f"  [red]billing workflow {described['status']}[/]: {events}")
