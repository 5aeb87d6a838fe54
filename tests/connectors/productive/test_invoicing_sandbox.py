"""The Productive twin's invoicing: what it refuses, the figures it computes, the webhooks it sends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.cash import Applied, InvoiceStanding
from shared.domain.models import SystemName
from shared.domain.money import Money

from .billing_helpers import Engagement, invoice_of, line_for
from .test_webhooks import Inbox


def _draft(raw: httpx.Client, company: str, number: str = "D-1") -> str:
    body = {
        "data": {
            "type": "invoices",
            "attributes": {"number": number, "currency": "EUR", "invoiced_on": "2025-03-31"},
            "relationships": {"company": {"data": {"type": "companies", "id": company}}},
        }
    }
    response = raw.post("invoices", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _line_body(invoice_id: str, unit_price: object = 5000, quantity: object = "3.0") -> dict[str, object]:
    return {
        "data": {
            "type": "line_items",
            "attributes": {
                "description": "test name",
                "quantity": quantity,
                "unit_price": unit_price,
                "unit_id": 2,
            },
            "relationships": {"invoice": {"data": {"type": "invoices", "id": invoice_id}}},
        }
    }


def test_line_figures_follow_the_documented_sample(raw: httpx.Client, sandbox, engagement: Engagement):
    # Given a draft and a 25 % tax rate
    invoice_id = _draft(raw, engagement.company)
    rate = sandbox.add_tax_rate("VAT", "25")
    body = _line_body(invoice_id, unit_price="5000.0", quantity=3)
    body["data"]["relationships"]["tax_rate"] = {"data": {"type": "tax_rates", "id": rate}}  # type: ignore[index]
    # When the documented sample line is added (unit_price 5000 x quantity 3)
    line = raw.post("line_items", json=body).json()["data"]["attributes"]
    # Then it reads as the docs' sample: amount 15000, tax 3750, 18750 with tax
    assert (line["unit_price"], line["amount"], line["amount_tax"], line["amount_with_tax"]) == (
        5000,
        15000,
        3750,
        18750,
    )


def test_a_finalized_invoice_refuses_new_lines_a_second_finalize_and_a_payment_on_a_draft(
    raw: httpx.Client,
    engagement: Engagement,
):
    # Given a draft with one line
    invoice_id = _draft(raw, engagement.company)
    # When a payment is recorded on the draft, Then it is refused
    payment = {
        "data": {
            "type": "payments",
            "attributes": {"amount": 100, "paid_on": "2025-04-01"},
            "relationships": {"invoice": {"data": {"type": "invoices", "id": invoice_id}}},
        }
    }
    assert raw.post("payments", json=payment).status_code == 422
    # And an empty invoice cannot be finalized
    assert raw.patch(f"invoices/{invoice_id}/finalize").status_code == 422
    assert raw.post("line_items", json=_line_body(invoice_id)).status_code == 201
    assert raw.patch(f"invoices/{invoice_id}/finalize").status_code == 200
    # When it is finalized, Then lines can no longer be added and it cannot be finalized again
    assert raw.post("line_items", json=_line_body(invoice_id)).status_code == 422
    assert raw.patch(f"invoices/{invoice_id}/finalize").status_code == 422
    # And a cents amount that is not whole is refused, an unknown attribute too
    assert (
        raw.post("line_items", json=_line_body(_draft(raw, engagement.company, "D-2"), 12.5)).status_code
        == 422
    )
    payment["data"]["attributes"]["amount_cents"] = 1  # type: ignore[index]
    assert raw.post("payments", json=payment).status_code == 400


def test_invoices_refuse_a_taken_number_a_missing_company_and_an_orphan_credit_note(
    raw: httpx.Client,
    engagement: Engagement,
):
    _draft(raw, engagement.company, "N-1")
    taken = {"data": {"type": "invoices", "attributes": {"number": "N-1", "currency": "EUR"}}}
    taken["data"]["relationships"] = {"company": {"data": {"type": "companies", "id": engagement.company}}}  # type: ignore[index]
    assert raw.post("invoices", json=taken).status_code == 422
    no_company = {"data": {"type": "invoices", "attributes": {"currency": "EUR"}}}
    assert raw.post("invoices", json=no_company).status_code == 422
    orphan = {"data": {"type": "invoices", "attributes": {"currency": "EUR", "invoice_type_id": 2}}}
    orphan["data"]["relationships"] = taken["data"]["relationships"]
    assert raw.post("invoices", json=orphan).status_code == 422
    # And an unsupported filter is refused as on every endpoint
    assert raw.get("invoices", params={"filter[colour]": "red"}).status_code == 400


def test_mirroring_sends_invoice_and_payment_webhooks_the_hub_ignores(
    connector: ProductiveConnector,
    sandbox: ProductiveSandbox,
    engagement: Engagement,
):
    # Given the hub's webhook endpoint subscribed
    inbox = Inbox()
    sandbox.subscribe("https://hub.example/webhooks/productive", transport=httpx.MockTransport(inbox))
    entry = sandbox.add_time_entry(engagement.person, engagement.service, "2025-03-10", 60)
    sandbox.approve_time_entry(entry)
    invoice = invoice_of(line_for(entry, "1"))
    standing = InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id="q-1042",
        customer="58",
        total=invoice.total,
        balance=Money.of(0, "EUR"),
        issued_on=date(2025, 3, 31),
        applied=(Applied(id="pay-1", amount=invoice.total, on=date(2025, 4, 2)),),
        read_at=datetime(2025, 4, 3, tzinfo=UTC),
    )
    # When the hub mirrors an invoice and its payment, then a payment is deleted by a person
    invoice_id = connector.mirror_invoice(engagement.project, invoice, standing)
    (payment,) = sandbox.payments(invoice_id)
    connector.billing.api.delete_payment(payment["id"])
    sandbox.deliver_pending()
    events = [json.loads(r.body) for r in inbox.requests]
    kinds = {(e["object"]["data"]["type"], e["event_id"]) for e in events}
    # Then invoice (2, 14) and payment (32, 34) events arrived, with the time entry's update (8)
    assert {
        ("invoices", 2),
        ("invoices", 14),
        ("payments", 32),
        ("payments", 34),
        ("time_entries", 8),
    } <= kinds
    # And the hub verifies every one; invoice and payment notices become no notice at all
    for request, event in zip(inbox.requests, events, strict=True):
        received = connector.receive(request)
        if event["object"]["data"]["type"] in {"invoices", "payments", "line_items", "invoice_attributions"}:
            assert received.notices == () and received.reply.status == 200
    assert Decimal(sandbox.invoices()[0]["attributes"]["amount_unpaid"]) > 0


@pytest.mark.parametrize("archived", [True, False])
def test_tax_rates_list_by_name_and_status(raw: httpx.Client, sandbox: ProductiveSandbox, archived: bool):
    sandbox.add_tax_rate("S", "19", archived=archived)
    found = raw.get("tax_rates", params={"filter[name]": "S", "filter[status]": "1"}).json()["data"]
    assert [r["attributes"]["primary_component_value"] for r in found] == ([] if archived else ["19"])
