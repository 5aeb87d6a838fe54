"""What the sandbox flow tests do to a deal: win it, find its approval request, decide, wait for the CRM."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.domain.billing_runs import BillingPeriod
from shared.domain.models import SourceRef, SystemName
from shared.domain.systems import Role

ROLE_LINE = {"Product": "Consultant", "Quantity": 40, "UnitPrice": 200, "Role__c": "Consultant"}


def won_deal(
    env: LocalEnvironment,
    name: str,
    *,
    account_id: str | None = None,
    line: dict[str, Any] | None = None,
    lines: list[dict[str, Any]] | None = None,
    billing_model: str = "Time and Materials",
    close_date: str = "2026-12-18",
) -> str:
    """A deal (Implementation, T&M unless `billing_model` says otherwise, USD) for a synced account,
    then won; the opportunity id. `lines` are its products (default: the one `line`, else ROLE_LINE)."""
    if account_id is None:
        account_id = env.salesforce.put_account({"Name": f"{name} Inc", "CurrencyIsoCode": "USD"})
        env.settle()
    opportunity_id = env.salesforce.put_opportunity(
        {
            "Name": name,
            "AccountId": account_id,
            "StageName": "Proposal/Price Quote",
            "CloseDate": close_date,
            "Service_Line__c": "Implementation",
            "Billing_Model__c": billing_model,
            "CurrencyIsoCode": "USD",
        },
        line_items=lines or [line or ROLE_LINE],
    )
    env.settle()
    env.salesforce.close_won(opportunity_id)
    return opportunity_id


def approver(env: LocalEnvironment, name: str | None = None) -> dict[str, str]:
    """The approval API's headers for one approver (the demo's, by default), with their own token."""
    return {"Authorization": f"Bearer {env.approver_tokens[name or env.approver]}"}


def pending_for(env: LocalEnvironment, opportunity_id: str) -> dict[str, Any]:
    """The approval request of the deal, once setup has reached its checkpoint."""
    for _ in range(60):
        env.settle()
        pending = httpx.get(f"{env.api_url}/approvals", headers=approver(env), timeout=10).json()
        mine = [p for p in pending if p["opportunity"]["id"] == opportunity_id]
        if mine:
            return dict(mine[0])
    raise AssertionError(f"no approval request for {opportunity_id}")


def decide(env: LocalEnvironment, approval_id: str, *, reject: str | None = None) -> httpx.Response:
    """Approve, or reject with the reason `reject`, through the approval route."""
    verb = "reject" if reject is not None else "approve"
    return httpx.post(
        f"{env.api_url}/approvals/{approval_id}/{verb}",
        headers=approver(env),
        json={"reason": reject} if reject is not None else None,
        timeout=10,
    )


def setup_status(env: LocalEnvironment, opportunity_id: str, wanted: str) -> str | None:
    """The setup status the opportunity shows, once it is `wanted` (or what it is after waiting)."""
    for _ in range(60):
        env.settle()
        if env.salesforce.opportunity(opportunity_id).get("C2C_Setup_Status__c") == wanted:
            return wanted
    status = env.salesforce.opportunity(opportunity_id).get("C2C_Setup_Status__c")
    return None if status is None else str(status)


def staffed(
    env: LocalEnvironment,
    opportunity_id: str,
    *,
    person: tuple[str, str, str],
    accounting_email: str | None = None,
) -> tuple[str, str, str]:
    """The deal's Productive project, its Consultant service, and a consultant (first, last, e-mail)
    in Productive and QuickBooks (under `accounting_email` there, when it is written differently)."""
    [project] = [
        p
        for p in env.productive.projects()
        if p["attributes"].get("project_number") == f"salesforce-{opportunity_id}"
    ]
    [service] = [s for s in env.productive.services(project["id"]) if s["attributes"]["name"] == "Consultant"]
    first, last, email = person
    consultant = env.productive.add_person(first, last, email=email)
    env.quickbooks.add_employee(f"{first} {last}", email=accounting_email or email)
    return str(project["id"]), str(service["id"]), consultant


def sub_customer(env: LocalEnvironment, opportunity_id: str) -> str:
    """The QuickBooks sub-customer (job) the deal's engagement became."""
    [sub] = [c for c in env.quickbooks.customers() if c.get("Job") and opportunity_id in str(c.get("Notes"))]
    return str(sub["Id"])


def engagements(opportunity_id: str) -> dict[Role, Any]:
    """What the PSA and accounting hold for the deal, found by the connectors' own stamps."""
    deal = SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id=opportunity_id)
    services = bootstrap.services()
    return {
        role: services.engagement_target(role).find_engagement(deal) for role in (Role.PSA, Role.ACCOUNTING)
    }


def bookkeeper(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a bookkeeper enters in QuickBooks, through its API (as the app itself would)."""
    connector = bootstrap.services().connector(SystemName.QUICKBOOKS)
    answer = connector.client._send(
        "POST", connector.client._path(entity.lower()), body=body, context=f"bookkeeper: {entity}"
    )
    return dict(answer[entity])


def billed_and_part_paid(
    env: LocalEnvironment, name: str, *, person: tuple[str, str, str], paid: Decimal = Decimal("250.00")
) -> dict[str, str]:
    """A deal won (8,000.00 USD), 14 h at 200.00 approved, posted and invoiced for November, and
    `paid` of it paid in QuickBooks: the ids of the deal, project, service, person, invoice, account."""
    opportunity_id = won_deal(env, name)
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    assert setup_status(env, opportunity_id, "active") == "active"
    project, service, consultant = staffed(env, opportunity_id, person=person)
    for day, minutes in (("2026-11-10", 600), ("2026-11-12", 240)):
        env.productive.approve_time_entry(env.productive.add_time_entry(consultant, service, day, minutes))
    env.settle()
    engagement = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=project)
    bootstrap.services().billing_runs.start(engagement, BillingPeriod(month="2026-11"))
    env.settle()
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    env.settle()
    customer = sub_customer(env, opportunity_id)
    [invoice] = [
        row
        for row in env.quickbooks.company.rows("Invoice")
        if str((row.get("CustomerRef") or {}).get("value")) == customer
    ]
    link = {"TxnId": invoice["Id"], "TxnType": "Invoice"}
    bookkeeper(
        "Payment",
        {
            "CustomerRef": {"value": customer},
            "TotalAmt": paid,
            "Line": [{"Amount": paid, "LinkedTxn": [link]}],
        },
    )
    env.settle()
    return {
        "opportunity": opportunity_id,
        "project": project,
        "service": service,
        "person": consultant,
        "invoice": str(invoice["Id"]),
        "customer": customer,
        "account": str(env.salesforce.opportunity(opportunity_id)["AccountId"]),
    }
