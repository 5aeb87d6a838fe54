"""A month of approved time invoiced in QuickBooks, and its cash seen in Productive and Salesforce, on the
local runtime against the vendor sandboxes (Step Functions billing run, QuickBooks webhooks)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.billing_runs import BillingPeriod, RunState
from shared.domain.models import SourceRef, SystemName
from tests.flows.deals import decide, pending_for, setup_status, staffed, sub_customer, won_deal

pytestmark = pytest.mark.flow

NOVEMBER = BillingPeriod(month="2026-11")


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


@pytest.fixture(scope="module")
def engagement(env: LocalEnvironment) -> dict[str, str]:
    """An active engagement (a Consultant at 200.00 USD) with 14 h of approved November time posted."""
    opportunity_id = won_deal(env, "Billing Flow Corp rollout")
    request = pending_for(env, opportunity_id)
    assert decide(env, request["id"]).status_code == 200
    assert setup_status(env, opportunity_id, "active") == "active"
    project, service, person = staffed(
        env,
        opportunity_id,
        person=("Grace", "Hopper", "grace@northwind.example"),
        accounting_email="Grace@Northwind.example",
    )
    for day, minutes in (("2026-11-10", 600), ("2026-11-12", 240)):
        entry = env.productive.add_time_entry(person, service, day, minutes)
        env.productive.approve_time_entry(entry)
    env.settle()
    return {"opportunity": opportunity_id, "project": project, "customer": sub_customer(env, opportunity_id)}


def invoices_of(env: LocalEnvironment, customer: str) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in env.quickbooks.company.rows("Invoice")
        if str((row.get("CustomerRef") or {}).get("value")) == customer
    ]


def test_a_billing_run_posts_one_invoice_and_cash_reaches_the_psa_and_the_crm(
    env: LocalEnvironment, engagement: dict[str, str]
) -> None:
    services = bootstrap.services()
    project = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=engagement["project"])
    # when November is billed (14 h at 200.00: 2,800.00, over the 2,500.00 USD approval threshold)
    name, started = services.billing_runs.start(project, NOVEMBER)
    assert started
    env.settle()
    # then it waits on the approval desk, nothing posted yet
    assert invoices_of(env, engagement["customer"]) == []
    request = pending_for(env, engagement["opportunity"])
    assert request["id"] == name
    assert request["budget"].startswith("2800.00")
    assert decide(env, request["id"]).status_code == 200
    env.settle()
    # and asked for again, nothing new starts
    again, started_again = services.billing_runs.start(project, NOVEMBER)
    env.settle()
    # then QuickBooks holds one invoice of 2,800.00 on the sub-customer, its time billed
    assert not started_again and again == name
    assert env.runtime is not None
    sfn = env.runtime.clients.stepfunctions()
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if "billing-run" in m["name"])
    [execution] = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert execution["status"] == "SUCCEEDED", sfn.get_execution_history(
        executionArn=execution["executionArn"]
    )
    [invoice] = invoices_of(env, engagement["customer"])
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("2800.00")
    assert len(invoice["DocNumber"]) <= 21
    billed = [
        row
        for row in env.quickbooks.company.rows("TimeActivity")
        if str((row.get("CustomerRef") or {}).get("value")) == engagement["customer"]
    ]
    assert billed and all(row["BillableStatus"] == "HasBeenBilled" for row in billed)
    [run] = services.billing_store.runs(project)
    assert run.state is RunState.POSTED and run.invoice_id == invoice["Id"]
    # and Productive mirrors it, Salesforce shows it open
    [mirror] = [i for i in env.productive.invoices() if i["attributes"]["number"] == invoice["DocNumber"]]
    deal = env.salesforce.opportunity(engagement["opportunity"])
    assert Decimal(str(deal["Invoiced_To_Date__c"])) == Decimal("2800.00")
    assert Decimal(str(deal["Open_AR__c"])) == Decimal("2800.00")

    # when the customer pays 250.00 in QuickBooks (its webhook reaches the hub)
    connector = services.connector(SystemName.QUICKBOOKS)
    connector.client._send(
        "POST",
        connector.client._path("payment"),
        body={
            "CustomerRef": {"value": engagement["customer"]},
            "TotalAmt": Decimal("250.00"),
            "Line": [
                {"Amount": Decimal("250.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            ],
        },
        context="a bookkeeper records a payment",
    )
    env.settle()
    # then Salesforce and Productive show it paid in part, to the cent
    deal = env.salesforce.opportunity(engagement["opportunity"])
    assert Decimal(str(deal["Paid_To_Date__c"])) == Decimal("250.00")
    assert Decimal(str(deal["Open_AR__c"])) == Decimal("2550.00")
    assert deal["Last_Payment_Date__c"] is not None
    [payment] = env.productive.payments(mirror["id"])
    assert Decimal(str(payment["attributes"]["amount"])) in (Decimal("250.00"), Decimal(25000))


# A fixed fee of 2,500.00 USD sold as two products: each becomes a milestone (M1, M2) at its amount.
FIXED_FEE_LINES = [
    {
        "Product": "Discovery",
        "Quantity": 5,
        "UnitPrice": 200,
        "Role__c": "Consultant",
        "Description": "Discovery",
    },
    {"Product": "Build", "Quantity": 6, "UnitPrice": 250, "Role__c": "Architect", "Description": "Build"},
]


def test_a_fixed_fee_deal_bills_each_milestone_in_the_period_it_is_completed(env: LocalEnvironment) -> None:
    # given a fixed-fee deal of two lines, won and approved
    opportunity_id = won_deal(
        env, "Milestone Flow Corp rollout", lines=FIXED_FEE_LINES, billing_model="Fixed Fee"
    )
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    assert setup_status(env, opportunity_id, "active") == "active"
    # then its Productive project holds one milestone task per line, titled by code
    [project] = [
        p["id"]
        for p in env.productive.projects()
        if p["attributes"].get("project_number") == f"salesforce-{opportunity_id}"
    ]
    titles = [t["attributes"]["title"] for t in env.productive.tasks(project)]
    assert titles == ["M1: Discovery", "M2: Build"]
    [sub] = [c for c in env.quickbooks.customers() if c.get("Job") and opportunity_id in str(c.get("Notes"))]
    services = bootstrap.services()
    engagement = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=project)

    # when the project manager completes M1 in December and December is billed
    env.productive.complete_milestone(project, "M1", on=date(2026, 12, 21))
    _, started = services.billing_runs.start(engagement, BillingPeriod(month="2026-12"))
    assert started
    env.settle()
    # then QuickBooks holds one invoice, of M1's 1,000.00 (under the approval threshold: no approval)
    [december] = invoices_of(env, str(sub["Id"]))
    assert Decimal(str(december["TotalAmt"])) == Decimal("1000.00")
    assert [line.get("Description") for line in december["Line"] if line.get("Description")] == [
        "Milestone M1: Discovery"
    ]

    # when M2 is completed in January and January is billed
    env.productive.complete_milestone(project, "M2", on=date(2027, 1, 12))
    _, started = services.billing_runs.start(engagement, BillingPeriod(month="2027-01"))
    assert started
    env.settle()
    # then the second invoice bills M2 alone: 1,500.00, and the fee is billed in full, once
    invoices = invoices_of(env, str(sub["Id"]))
    [january] = [i for i in invoices if i["Id"] != december["Id"]]
    assert Decimal(str(january["TotalAmt"])) == Decimal("1500.00")
    assert sum(Decimal(str(i["TotalAmt"])) for i in invoices) == Decimal("2500.00")
    runs = {run.period.month: run.state for run in services.billing_store.runs(engagement)}
    assert runs == {"2026-12": RunState.POSTED, "2027-01": RunState.POSTED}
