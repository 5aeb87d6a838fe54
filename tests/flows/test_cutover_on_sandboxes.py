"""US01 moves from QuickBooks to NetSuite on the twins: shadow diff, go-ahead, the first NetSuite
invoice, and a payment after the cutover for an invoice issued before it (CLI -> Lambda -> vendors)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.billing_runs import BillingPeriod
from shared.domain.cutover import Figures
from shared.domain.models import SourceRef, SystemName
from shared.domain.postings import Posting, PostingState, WorkKind, work_key
from tests.flows.deals import (
    billed_and_part_paid,
    bookkeeper,
    decide,
    pending_for,
    setup_status,
    won_deal,
)

pytestmark = pytest.mark.flow

COEXISTENCE = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "coexistence.toml"
GRACE = ("Grace", "Hopper", "grace@northwind.example")


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment(landscape=COEXISTENCE) as environment:
        yield environment


def cutover(env: LocalEnvironment, *args: str, code: int = 0) -> str:
    assert env.runtime is not None
    answer = CliRunner().invoke(
        app, ["cutover", *args, "--legal-entity", "US01", "--endpoint-url", env.runtime.moto_endpoint]
    )
    assert answer.exit_code == code, answer.output
    return answer.output


def test_us01_moves_to_netsuite_after_a_clear_shadow_diff(env: LocalEnvironment) -> None:
    netsuite = env.sandbox(SystemName.NETSUITE)
    # given November's 14 h posted to QuickBooks (the shadow period), invoiced there and part paid
    deal = billed_and_part_paid(env, "Shadowed Rollout", person=GRACE)
    assert netsuite.records("timeBill") == [] and netsuite.records("invoice") == []
    # when finance looks at the shadow diff: NetSuite has no employee for Grace yet
    diff = cutover(env, "diff")
    assert "cutover of US01: quickbooks -> netsuite on 2027-01-01 (shadow from 2026-11-01)" in diff
    assert "documents compared: 3" in diff and "cannot_post" in diff and "no employee in netsuite" in diff
    # the two entries, and November's invoice that bills them (NetSuite could not take them)
    assert "3 open line(s)" in diff and ":invoice:" in diff, diff
    assert "set up in netsuite at the cutover: engagement Shadowed Rollout" in diff
    # the go-ahead is refused while those lines are open
    refused = cutover(env, "confirm", "--by", "controller@northwind.example", code=2)
    assert "open line" in refused
    # once NetSuite has her, the diff is clear: the same minutes, rates and amounts, and November's
    # invoice composed for NetSuite totals what QuickBooks holds for it, to the cent
    netsuite.add_employee("Grace", "Hopper", email=GRACE[2])
    clear = cutover(env, "diff")
    assert "documents compared: 3" in clear and "clear:" in clear and "[open]" not in clear
    # and a January hour, worked before the go-ahead, waits: posted nowhere
    entry = env.productive.add_time_entry(deal["person"], deal["service"], "2027-01-04", 60)
    env.productive.approve_time_entry(entry)
    env.settle()
    hub = bootstrap.services()
    key = work_key(SystemName.PRODUCTIVE, WorkKind.TIME, entry)
    waiting = hub.postings.works([key])[key]
    assert waiting.state is PostingState.PARKED and "not confirmed" in (waiting.reason or "")
    [work] = hub.delivery_source().read_work(WorkKind.TIME, [entry]).works
    [shadow] = hub.delivery.expected([work], {key: waiting}, shadow_of=SystemName.NETSUITE).values()
    assert isinstance(shadow, Posting)
    # when the controller confirms the cutover
    confirmed = cutover(env, "confirm", "--by", "controller@northwind.example")
    assert "confirmed by controller@northwind.example" in confirmed
    env.settle()
    # then the engagement has its NetSuite project under its NetSuite customer, and the hour posted
    # there exactly as its shadow said (date, minutes, rate, amount, item)
    [project] = [
        p
        for p in netsuite.records("job")
        if deal["opportunity"] in str(p.get("externalId", "")).upper() or True
    ]
    posted = hub.postings.works([key])[key]
    assert posted.state is PostingState.POSTED and posted.posted is not None
    assert posted.posted.target is SystemName.NETSUITE
    assert Figures.of_posting(posted.posted) == Figures.of_posting(shadow) and posted.posted.item == "103"
    [time_bill] = netsuite.records("timeBill")
    assert str(time_bill["customer"]) == posted.posted.customer == str(project["id"])
    # when January is billed, the first NetSuite invoice holds that hour; QuickBooks gets nothing new
    quickbooks_invoices = len(env.quickbooks.company.rows("Invoice"))
    engagement = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=deal["project"])
    hub.billing_runs.start(engagement, BillingPeriod(month="2027-01"))
    env.settle()
    [invoice] = netsuite.records("invoice")
    assert Decimal(str(invoice["total"])) == posted.posted.amount.amount
    # the invoice carries the time bill (its Billable Time line): NetSuite shows it billed, so no
    # invoice made in NetSuite offers that hour again, and the hub reads it billed too
    [time_bill] = netsuite.records("timeBill")
    assert str(time_bill.get("status", "")).lower() == "billed"
    held = hub.posting_target(SystemName.NETSUITE).posted_records(WorkKind.TIME, [str(time_bill["id"])])
    assert held[str(time_bill["id"])].billed
    assert len(env.quickbooks.company.rows("Invoice")) == quickbooks_invoices
    # and November's balance, paid in January, is applied in QuickBooks, where that invoice lives
    link = {"TxnId": deal["invoice"], "TxnType": "Invoice"}
    rest = Decimal("2550.00")
    bookkeeper(
        "Payment",
        {
            "CustomerRef": {"value": deal["customer"]},
            "TotalAmt": rest,
            "Line": [{"Amount": rest, "LinkedTxn": [link]}],
        },
    )
    env.settle()
    [november] = [r for r in hub.billing_store.runs(engagement) if r.period.month == "2026-11"]
    record = hub.billing_store.invoice(SystemName.QUICKBOOKS, november.invoice_id or "")
    assert record is not None and record.standing.balance.amount == 0
    assert netsuite.records("customerPayment") == []
    # when the customer pays the January invoice in NetSuite (no webhook: the hourly sweep finds it)
    customer_id = str(project["parent"])
    netsuite.enter(
        "customerPayment",
        {
            "customer": {"id": customer_id},
            "payment": Decimal(str(invoice["total"])),
            "apply": {
                "items": [
                    {
                        "doc": {"id": str(invoice["id"])},
                        "apply": True,
                        "amount": Decimal(str(invoice["total"])),
                    }
                ]
            },
        },
    )
    assert env.runtime is not None and env.runtime.scheduler is not None
    env.runtime.scheduler.fire("billing_schedule")
    env.settle()
    # then the hub reads NetSuite's balance: paid, and the PSA's copy of the invoice says so
    january = hub.billing_store.invoice(SystemName.NETSUITE, str(invoice["id"]))
    assert january is not None and january.standing.balance.amount == 0
    assert january.mirrored is not None
    assert sum(Decimal(str(p["attributes"]["amount"])) for p in env.productive.payments(january.mirrored)) > 0
    # and the nightly reconciliation compares the engagement across both ledgers: no money break
    report = hub.reconciliation.run(engagement=deal["project"])
    money = [b for b in report.breaks if b.scope.value == "money"]
    assert money == [], [b.summary for b in money]


def test_a_deal_won_after_the_cutover_is_set_up_in_netsuite_only(env: LocalEnvironment) -> None:
    # given the cutover confirmed (the test above), a deal that starts in January
    netsuite = env.sandbox(SystemName.NETSUITE)
    projects_before = len(netsuite.records("job"))
    jobs_before = sum(1 for c in env.quickbooks.customers() if c.get("Job"))
    opportunity_id = won_deal(env, "January Rollout", close_date="2027-01-15")
    # when delivery operations approves it
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    assert setup_status(env, opportunity_id, "active") == "active"
    # then its accounting project is in NetSuite (routed by its start date), none in QuickBooks
    assert len(netsuite.records("job")) == projects_before + 1
    assert sum(1 for c in env.quickbooks.customers() if c.get("Job")) == jobs_before
    deal = SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id=opportunity_id)
    hub = bootstrap.services()
    found = hub.engagement_target(SystemName.NETSUITE).find_engagement(deal)
    assert found is not None and found.status.value == "active"
    assert hub.engagement_target(SystemName.QUICKBOOKS).find_engagement(deal) is None
