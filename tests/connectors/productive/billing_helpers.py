"""What the billing tests share: an engagement with a priced service, approved time, a canonical invoice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money


@dataclass
class Engagement:
    project: str
    company: str
    budget: str
    service: str
    person: str


def make_engagement(connector: ProductiveConnector, sandbox: ProductiveSandbox) -> Engagement:
    client = connector.client
    company = client.create_company({"name": "Acme Consulting GmbH"}).id
    template = sandbox.add_template("Advisory template")
    project = client.copy_project(
        {"name": "Acme advisory", "template_id": template, "company_id": company}
    ).id
    budget = client.create_deal(
        {"name": "Acme budget", "budget": True, "date": "2025-03-01", "currency": "EUR"},
        {"company": ("companies", company), "project": ("projects", project)},
    ).id
    kind = client.create_service_type("Consultant").id
    service = client.create_service(
        {"name": "Consultant", "billing_type_id": 2, "unit_id": 1, "price": 18000},
        {"deal": ("deals", budget), "service_type": ("service_types", kind)},
    ).id
    person = sandbox.add_person("Ada", "Lovelace")
    sandbox.add_tax_rate("S", "19")
    return Engagement(project, company, budget, service, person)


def approved_time(sandbox: ProductiveSandbox, engagement: Engagement, day: str, minutes: int) -> str:
    entry = sandbox.add_time_entry(engagement.person, engagement.service, day, minutes)
    sandbox.approve_time_entry(entry)
    return entry


def line_for(entry: str, hours: str, description: str = "Consultant, March") -> InvoiceLine:
    return InvoiceLine(
        description=description,
        quantity=Decimal(hours),
        unit_price=Money.of("180.00", "EUR"),
        tax_code="S",
        tax_rate=19,
        origin=f"productive:time:{entry}",
    )


def invoice_of(*lines: InvoiceLine, number: str = "1042") -> Invoice:
    return Invoice(
        source=SourceRef(system=SystemName.QUICKBOOKS, type="invoice", id="q-1042"),
        number=number,
        customer=SourceRef(system=SystemName.QUICKBOOKS, type="customer", id="58"),
        legal_entity="DE01",
        currency="EUR",
        issue_date=date(2025, 3, 31),
        due_date=date(2025, 4, 30),
        lines=lines,
    )
