"""The Salesforce connector as HealthTarget: a deal's and a customer's commercial health in the CRM,
the retainer terms read off the deal, and the one field table the org's metadata is built from."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.salesforce import OBJECT_FIELDS, SalesforceSandbox
from infra.salesforce import metadata
from shared.connectors.salesforce import SalesforceConnector
from shared.connectors.salesforce.health import BILLING_FIELDS, HEALTH_FIELDS
from shared.domain.cash import CommercialHealth
from shared.domain.errors import NotFoundError, PermanentError, ValidationFailed
from shared.domain.money import Money
from shared.domain.notices import ChangeNotice

from .conftest import BASE_URL, FakeClock, as_webhook_request, make_connector, make_sandbox, workflow_start
from .test_opportunities import deal


def health(
    invoiced: str, paid: str, *, currency: str = "USD", overdue: str = "0", **kwargs: Any
) -> CommercialHealth:
    open_ar = Decimal(invoiced) - Decimal(paid)
    return CommercialHealth(
        currency=currency,
        invoiced=Money.of(invoiced, currency),
        credited=Money.of("0", currency),
        paid=Money.of(paid, currency),
        open=Money.of(open_ar, currency),
        overdue=Money.of(overdue, currency),
        last_payment=kwargs.get("last_payment", date(2026, 12, 1)),
        days_sales_outstanding=kwargs.get("dso"),
        invoices=1,
        as_of=kwargs.get("as_of", date(2026, 12, 2)),
    )


def won_deal(sandbox: SalesforceSandbox, **fields: object) -> tuple[str, str]:
    """A won retainer deal (in USD unless `fields` say otherwise) and its account."""
    terms = {"StageName": "Closed Won", "Billing_Model__c": "Retainer", "CurrencyIsoCode": "USD", **fields}
    opportunity_id = deal(sandbox, **terms)
    return opportunity_id, str(sandbox.opportunity(opportunity_id)["AccountId"])


def figures(record: dict[str, Any]) -> dict[str, Any]:
    return {field.name: record[field.name] for field in HEALTH_FIELDS}


# --- writing health ------------------------------------------------------------------------------


def test_health_reaches_the_deal_and_the_account_in_one_api_call(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given a won deal of a customer that has two invoices, one of them the deal's
    opportunity_id, account_id = won_deal(sandbox)
    connector.client.token()  # the token is in hand, as in a warm container
    used, calls = sandbox.api_usage[0], connector.http_calls
    # when the hub writes the figures
    connector.write_health(
        opportunity=opportunity_id,
        deal=health("1200.00", "500.00"),
        account=account_id,
        customer=health("3000.10", "500.00", overdue="1800.10", dso=Decimal("75.0")),
    )
    # then one API call set both records
    assert (connector.http_calls - calls, sandbox.api_usage[0] - used) == (1, 1)
    assert figures(sandbox.opportunity(opportunity_id)) == {
        "Invoiced_To_Date__c": Decimal("1200.00"),
        "Paid_To_Date__c": Decimal("500.00"),
        "Credited_To_Date__c": Decimal("0.00"),
        "Open_AR__c": Decimal("700.00"),
        "Overdue_Amount__c": Decimal("0.00"),
        "Last_Payment_Date__c": "2026-12-01",
        "Days_Sales_Outstanding__c": None,
        "Commercial_Health_As_Of__c": "2026-12-02",
    }
    account = sandbox.account(account_id)
    assert (
        account["Invoiced_To_Date__c"],
        account["Open_AR__c"],
        account["Overdue_Amount__c"],
        account["Days_Sales_Outstanding__c"],
    ) == (Decimal("3000.10"), Decimal("2500.10"), Decimal("1800.10"), Decimal("75.0"))


def test_the_same_figures_twice_leave_the_same_records(
    sandbox: SalesforceSandbox, connector: SalesforceConnector, clock: FakeClock
):
    opportunity_id, account_id = won_deal(sandbox)
    write = {"opportunity": opportunity_id, "deal": health("900", "900"), "account": account_id}
    connector.write_health(**write, customer=health("900", "900"))
    first = (figures(sandbox.opportunity(opportunity_id)), figures(sandbox.account(account_id)))
    clock.advance(minutes=5)
    # when a redelivered payment notice makes the hub write the same figures again
    connector.write_health(**write, customer=health("900", "900"))
    # then nothing differs, and there is still one deal and one account
    assert (figures(sandbox.opportunity(opportunity_id)), figures(sandbox.account(account_id))) == first
    assert (len(sandbox.opportunity_ids()), len(sandbox.account_ids())) == (1, 1)


def test_no_payment_yet_leaves_the_last_payment_date_blank(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id, account_id = won_deal(sandbox)
    unpaid = health("400", "0", last_payment=None)
    connector.write_health(opportunity=opportunity_id, deal=unpaid, account=account_id, customer=unpaid)
    assert sandbox.opportunity(opportunity_id)["Last_Payment_Date__c"] is None
    assert sandbox.account(account_id)["Open_AR__c"] == Decimal("400.00")


def test_a_deleted_account_writes_nothing_on_the_deal_either(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given a deal whose account id names an account deleted since
    opportunity_id, _ = won_deal(sandbox)
    gone = sandbox.put_account({"Name": "Gone Ltd"})
    sandbox.delete_account(gone)
    # when the hub writes health, then the account is not found and the deal keeps its blanks
    with pytest.raises(NotFoundError, match=f"Account {gone}"):
        connector.write_health(
            opportunity=opportunity_id, deal=health("10", "0"), account=gone, customer=health("10", "0")
        )
    assert sandbox.opportunity(opportunity_id)["Invoiced_To_Date__c"] is None


def test_a_figure_too_large_for_the_field_is_refused_whole(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # Currency(16, 2) holds 14 digits before the point
    opportunity_id, account_id = won_deal(sandbox)
    with pytest.raises(PermanentError, match="NUMBER_OUTSIDE_VALID_RANGE"):
        connector.write_health(
            opportunity=opportunity_id,
            deal=health("1", "0"),
            account=account_id,
            customer=health("100000000000000", "0"),
        )
    assert sandbox.opportunity(opportunity_id)["Invoiced_To_Date__c"] is None


def test_a_single_currency_org_refuses_figures_in_another_currency_before_any_call(clock: FakeClock):
    sandbox = make_sandbox(clock, multi_currency=False)
    connector = make_connector(sandbox)
    account_id = sandbox.put_account({"Name": "Contoso"})
    opportunity_id = sandbox.put_opportunity(
        {"Name": "Audit", "AccountId": account_id, "StageName": "Closed Won", "CloseDate": "2026-11-30"}
    )
    calls = connector.http_calls
    with pytest.raises(ValidationFailed, match="EUR"):
        connector.write_health(
            opportunity=opportunity_id,
            deal=health("1", "0", currency="EUR"),
            account=account_id,
            customer=health("1", "0", currency="EUR"),
        )
    assert connector.http_calls == calls
    # and its own currency is written
    dollars = health("1", "0")
    connector.write_health(opportunity=opportunity_id, deal=dollars, account=account_id, customer=dollars)
    assert sandbox.account(account_id)["Invoiced_To_Date__c"] == Decimal("1.00")


def test_a_multi_currency_org_takes_figures_in_the_records_currency(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    opportunity_id, account_id = won_deal(sandbox, CurrencyIsoCode="EUR")
    euros = health("250.50", "0", currency="EUR")
    connector.write_health(opportunity=opportunity_id, deal=euros, account=account_id, customer=euros)
    assert sandbox.opportunity(opportunity_id)["Invoiced_To_Date__c"] == Decimal("250.50")


# --- the echo of the hub's write -----------------------------------------------------------------


def test_the_health_write_starts_no_second_setup(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    # given the org sends outbound messages to the hub, and a won deal whose setup started once
    received: list[ChangeNotice] = []

    def hub(request: httpx.Request) -> httpx.Response:
        answer = connector.receive(as_webhook_request(request))
        received.extend(answer.notices)
        return httpx.Response(
            200, content=answer.reply.body, headers={"Content-Type": answer.reply.content_type}
        )

    sandbox.subscribe(
        "https://hub.test/webhooks/salesforce",
        token=sandbox.connection(BASE_URL)["webhook_token"],
        transport=httpx.MockTransport(hub),
    )
    opportunity_id, account_id = won_deal(sandbox)
    start, starter, _, _ = workflow_start(connector)
    sandbox.deliver_pending()
    for notice in [n for n in received if n.record_id == opportunity_id]:
        start.on_notice(notice)
    assert len(starter.started) == 1
    account_before = connector.fetch_account(account_id)
    received.clear()
    # when the hub writes the deal's health and its outbound messages come back
    connector.write_health(
        opportunity=opportunity_id, deal=health("50", "0"), account=account_id, customer=health("50", "0")
    )
    sandbox.deliver_pending()
    echoes = [n for n in received if n.record_id == opportunity_id]
    assert echoes, "the org's rule sends a message about the hub's own edit"
    # then the workflow start finds the same close: no second setup
    assert [start.on_notice(notice) for notice in echoes] == [None] * len(echoes)
    assert len(starter.started) == 1
    # and the account the hub syncs is unchanged (same checksum: the account sync writes nothing)
    assert connector.fetch_account(account_id).checksum() == account_before.checksum()


class _Bus:
    """EventBridge PutEvents, as the sandbox's Event Relay calls it, keeping what it was given."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.entries.extend(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(n)} for n in range(len(Entries))]}


def _relayed_events(sandbox: SalesforceSandbox, bus: _Bus) -> list[dict[str, Any]]:
    bus.entries.clear()
    sandbox.relay_pending()
    return [
        {"source": e["Source"], "detail-type": e["DetailType"], "detail": json.loads(e["Detail"])}
        for e in bus.entries
    ]


def test_change_events_of_health_are_not_synced(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    # given the org relays its change events to the hub
    bus = _Bus()
    sandbox.relay_to(bus, "salesforce-partner-bus")
    opportunity_id, account_id = won_deal(sandbox)
    _relayed_events(sandbox, bus)
    # when the hub writes health
    connector.write_health(
        opportunity=opportunity_id, deal=health("75", "0"), account=account_id, customer=health("75", "0")
    )
    events = _relayed_events(sandbox, bus)
    # then both change events are its own write: dropped, no notice
    assert {e["detail-type"] for e in events} == {"OpportunityChangeEvent", "AccountChangeEvent"}
    read = [connector.read_change_event(e) for e in events]
    assert [(r.notices, dict(r.dropped)) for r in read] == [((), {"own_write": 1})] * 2
    # when a person edits only the figures (say, a finance admin in the UI)
    sandbox.put_opportunity({"Overdue_Amount__c": "10.00"}, opportunity_id=opportunity_id)
    [edit] = _relayed_events(sandbox, bus)
    # then that change is skipped too: nothing the hub reads moved
    assert connector.read_change_event(edit).dropped == {"unsynced_fields": 1}
    # and an edit of a field the hub syncs still is one notice
    sandbox.put_account({"Phone": "+1 555 0199"}, account_id=account_id)
    [phone] = _relayed_events(sandbox, bus)
    assert [n.record_id for n in connector.read_change_event(phone).notices] == [account_id]


# --- deal terms ----------------------------------------------------------------------------------


def test_the_retainer_terms_come_with_the_deal(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    opportunity_id, _ = won_deal(sandbox, Retainer_Hours__c="40.5", Retainer_Rollover__c=True)
    opportunity = connector.fetch_opportunity(opportunity_id)
    assert (opportunity.retainer_hours, opportunity.rollover) == (Decimal("40.50"), True)


def test_a_fixed_fee_deal_has_no_retainer_terms_and_its_lines_are_its_milestones(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
):
    # given a fixed fee deal sold as two milestones: one line each, quantity 1, the milestone's amount
    opportunity_id, _ = won_deal(sandbox, Billing_Model__c="Fixed Fee")
    sandbox.put_opportunity(
        {},
        opportunity_id=opportunity_id,
        line_items=[
            {"Product": "Milestone", "Role__c": "Discovery", "Quantity": 1, "UnitPrice": "5000"},
            {"Product": "Milestone", "Role__c": "Go-live", "Quantity": 1, "UnitPrice": "7000"},
        ],
    )
    opportunity = connector.fetch_opportunity(opportunity_id)
    assert (opportunity.retainer_hours, opportunity.rollover) == (None, False)
    assert [(line.role, line.quantity, line.rate.amount) for line in opportunity.lines] == [
        ("Discovery", Decimal("1.00"), Decimal("5000.00")),
        ("Go-live", Decimal("1.00"), Decimal("7000.00")),
    ]
    assert opportunity.amount == Money.of("12000.00", "USD")  # the fee: the sum of its milestones


def test_retainer_hours_beyond_the_fields_size_are_refused_by_the_org(sandbox: SalesforceSandbox):
    # Number(6, 2): at most 9999.99 hours
    with pytest.raises(ValueError, match="outside of valid range"):
        won_deal(sandbox, Retainer_Hours__c="10000")


# --- one source of truth -------------------------------------------------------------------------


def test_the_committed_metadata_is_what_the_field_table_renders(tmp_path: Path):
    # `python -m infra.salesforce` writes these files; a field added to the table and not
    # regenerated fails here
    rendered = metadata.rendered()
    committed = {
        str(path.relative_to(metadata.ROOT)): path.read_text()
        for path in metadata.ROOT.rglob("*")
        if path.is_file() and (path.suffix in {".xml", ".json"})
    }
    assert committed == rendered


def test_the_sandbox_org_has_every_field_of_the_table():
    kinds = {
        "Currency": ("number", "currency"),
        "Number": ("number", "double"),
        "Date": ("date", "date"),
        "Checkbox": ("boolean", "boolean"),
    }
    for sobject, fields in BILLING_FIELDS.items():
        for field in fields:
            spec = OBJECT_FIELDS[sobject][field.name]
            assert (spec.kind, spec.describe_type) == kinds[field.type], field.name
            if field.precision is not None:
                assert (spec.precision, spec.scale) == (field.precision, field.scale), field.name
    declared = {s: {f.name for f in fields} for s, fields in BILLING_FIELDS.items()}
    in_sandbox = {
        s: {
            name
            for name in OBJECT_FIELDS[s]
            if name in {f.name for fs in BILLING_FIELDS.values() for f in fs}
        }
        for s in BILLING_FIELDS
    }
    assert in_sandbox == declared


def test_describe_tells_the_fields_precision(sandbox: SalesforceSandbox, connector: SalesforceConnector):
    described = connector.client._get(connector.client._data_path("/sobjects/Account/describe"))
    by_name = {f["name"]: f for f in described["fields"]}
    assert (
        by_name["Open_AR__c"]["type"],
        by_name["Open_AR__c"]["precision"],
        by_name["Open_AR__c"]["scale"],
    ) == (
        "currency",
        16,
        2,
    )
    assert by_name["Open_AR__c"]["updateable"] is True
