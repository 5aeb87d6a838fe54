"""The reconciliation censuses on Productive: every record once, in Productive's own figures, few calls."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.cash import Applied, InvoiceStanding
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import WorkKind
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus

from .billing_helpers import Engagement, approved_time, invoice_of, line_for


def test_the_connector_answers_all_four_censuses(connector: ProductiveConnector):
    # Given the Productive connector / Then reconciliation can ask it for each census
    for port in (CustomerCensus, EngagementCensus, WorkCensus, InvoiceCensus):
        assert isinstance(connector, port)


def test_every_company_is_counted_once_archived_ones_too_with_the_hubs_stamp(
    connector: ProductiveConnector,
):
    # Given a company the hub created (stamped), one a person made, and one archived
    client = connector.client
    stamped = client.create_company({"name": "Acme GmbH", "company_code": "salesforce-001A"}).id
    own = client.create_company({"name": "Globex"}).id
    archived = client.create_company({"name": "Initech"}).id
    client.archive_company(archived)
    calls = connector.http_calls
    # When the customers are counted
    records = list(connector.census_customers())
    # Then each is there once, the stamped one naming its CRM account, in two listings
    assert sorted(r.ref.id for r in records) == sorted([stamped, own, archived])
    origins = {r.ref.id: r.origin for r in records}
    assert origins[stamped] == SourceRef(system=SystemName.SALESFORCE, type="account", id="001A")
    assert origins[own] is None
    assert connector.http_calls - calls == 2
    # And each reads as read_account reads it
    assert next(r for r in records if r.ref.id == own).view == connector.read_account(own).view


def test_every_project_is_held_with_its_deal_customer_status_and_budget_total(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement
):
    # Given the engagement's project stamped with its deal, its service 10 h at 180.00 EUR
    client = connector.client
    client.update_project(engagement.project, {"project_number": "salesforce-006X"})
    client.update_service(engagement.service, {"quantity": "10"})
    # and a second, archived project with no budget (a draft whose setup was cut short)
    template = sandbox.add_template("Other template")
    draft = client.copy_project(
        {"name": "Draft", "template_id": template, "company_id": engagement.company}
    ).id
    client.archive_project(draft)
    calls = connector.http_calls
    # When the engagements are counted
    held = {e.ref.id: e for e in connector.census_engagements()}
    # Then both projects are there, no template, in three listings (budgets, active, archived)
    assert set(held) == {engagement.project, draft}
    assert connector.http_calls - calls == 3
    project = held[engagement.project]
    assert project.opportunity == SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006X")
    assert project.customer == engagement.company
    assert project.status is EngagementStatus.ACTIVE
    assert project.booked == Money.of("1800.00", "EUR")
    assert project.link == f"https://app.productive.io/4242/projects/{engagement.project}"
    assert held[draft].status is EngagementStatus.DRAFT
    assert held[draft].booked is None and held[draft].opportunity is None


def test_450_time_entries_are_three_pages_of_200_and_expenses_keep_their_amount(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement
):
    # Given 450 time entries from 1 March, one from February, and an approved expense of 123.45 EUR
    since = date(2025, 3, 1)
    entries = [
        sandbox.add_time_entry(
            engagement.person, engagement.service, (since + timedelta(days=i % 28)).isoformat(), 30
        )
        for i in range(450)
    ]
    sandbox.approve_time_entry(entries[0])
    sandbox.add_time_entry(engagement.person, engagement.service, "2025-02-28", 60)
    expense = sandbox.add_expense(engagement.person, engagement.service, "2025-03-05", 12345, "EUR")
    sandbox.approve_expense(expense)
    calls = connector.http_calls
    # When the work since 1 March is counted
    held = list(connector.census_work(since))
    # Then every entry is there once, the February one not, in 3 calls for time and 1 for expenses
    times = [w for w in held if w.kind is WorkKind.TIME]
    assert sorted(w.ref.id for w in times) == sorted(entries)
    assert connector.http_calls - calls == 4
    first = next(w for w in times if w.ref.id == entries[0])
    assert (first.engagement, first.minutes, first.amount, first.service) == (
        engagement.project,
        30,
        None,
        "Consultant",
    )
    assert first.approved and not first.billed
    assert sum(not w.approved for w in times) == 449
    (spent,) = [w for w in held if w.kind is WorkKind.EXPENSE]
    assert spent.ref.id == expense and spent.amount == Money.of("123.45", "EUR") and spent.approved
    assert connector.census_unresolved == []


def test_a_page_larger_than_200_is_refused_like_the_vendor(raw: httpx.Client):
    # Given the sandbox / When a listing asks for 201 per page / Then it is refused, 200 is served
    refused = raw.get("time_entries", params={"page[size]": "201"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["title"] == "Invalid Page Parameter"
    assert raw.get("time_entries", params={"page[size]": "200"}).json()["meta"]["page_size"] == 200


def test_mirrored_invoices_are_held_to_the_cent_with_their_project(
    connector: ProductiveConnector, sandbox: ProductiveSandbox, engagement: Engagement
):
    # Given an invoice of 12.5 h at 180.00 (2,677.50 EUR with 19 % tax) mirrored with 1,000.00 paid
    entries = [
        approved_time(sandbox, engagement, "2025-03-10", 600),
        approved_time(sandbox, engagement, "2025-03-20", 150),
    ]
    invoice = invoice_of(line_for(entries[0], "10"), line_for(entries[1], "2.5", "Consultant, late March"))
    paid = Applied(id="pay-1", amount=Money.of("1000.00", "EUR"), on=date(2025, 4, 10), credit=False)
    standing = InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id=invoice.source.id,
        number=invoice.number,
        customer="58",
        total=invoice.total,
        balance=Money.of(invoice.total.amount - Decimal("1000.00"), "EUR"),
        issued_on=invoice.issue_date,
        due_on=invoice.due_date,
        voided=False,
        applied=(paid,),
        read_at=datetime(2025, 4, 11, tzinfo=UTC),
    )
    invoice_id = connector.mirror_invoice(engagement.project, invoice, standing)
    # When the invoices since March are counted (and since April: none)
    (held,) = connector.census_invoices(date(2025, 3, 1))
    assert list(connector.census_invoices(date(2025, 4, 1))) == []
    # Then the mirror is there with Productive's figures, exact to the cent, and its project
    assert (held.ref.id, held.number, held.engagement, held.issued_on) == (
        invoice_id,
        "1042",
        engagement.project,
        date(2025, 3, 31),
    )
    assert (held.total, held.tax, held.paid, held.credited, held.open) == (
        Money.of("2677.50", "EUR"),
        Money.of("427.50", "EUR"),
        Money.of("1000.00", "EUR"),
        Money.of("0.00", "EUR"),
        Money.of("1677.50", "EUR"),
    )
    assert not held.voided
