"""Customer master sync end to end: Salesforce notice to Productive company and QuickBooks customer."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def _names(records: list[dict]) -> list[str]:
    out = []
    for record in records:
        attributes = record.get("attributes", record)
        out.append(attributes.get("name") or attributes.get("DisplayName"))
    return out


def _xrefs(account_id: str) -> dict[SystemName, str]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    return {
        x.target.system: x.target.id
        for x in bootstrap.services().ledger.cross_references(EntityType.ACCOUNT, source)
    }


def test_new_accounts_arrive_exactly_once_in_psa_and_accounting(env: LocalEnvironment) -> None:
    # given three accounts created by sales in Salesforce
    ids = [env.salesforce.put_account({"Name": f"Flow Co {n}", "Phone": f"+1 555 010{n}"}) for n in range(3)]
    # when Salesforce delivers its outbound messages and the hub settles
    env.settle()
    # then each account is one Productive company and one QuickBooks customer, cross-referenced
    for n, account_id in enumerate(ids):
        name = f"Flow Co {n}"
        assert _names(env.productive.companies()).count(name) == 1
        assert _names(env.quickbooks.customers()).count(name) == 1
        assert set(_xrefs(account_id)) == {SystemName.PRODUCTIVE, SystemName.QUICKBOOKS}
    # and the targets' own notices about those writes were recognised as echoes
    assert bootstrap.services().metrics.totals["EchoesSuppressed"] >= 6


def test_replayed_outbound_message_creates_nothing_new(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Replay Partners"})
    env.settle()
    companies, customers = len(env.productive.companies()), len(env.quickbooks.customers())
    # when Salesforce sends the same message again (it delivers at least once)
    assert env.salesforce.replay_last_delivery() >= 1
    env.settle()
    # then nothing was created and the account is still linked to the same records
    assert (len(env.productive.companies()), len(env.quickbooks.customers())) == (companies, customers)
    assert len(_xrefs(account_id)) == 2


def test_edit_in_salesforce_updates_both_targets_in_place(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Edit Me Ltd"})
    env.settle()
    before = _xrefs(account_id)
    env.salesforce.put_account({"Name": "Edited Ltd"}, account_id=account_id)
    env.settle()
    assert _xrefs(account_id) == before
    assert "Edited Ltd" in _names(env.productive.companies())
    assert "Edited Ltd" in _names(env.quickbooks.customers())
    assert "Edit Me Ltd" not in _names(env.quickbooks.customers())


def test_hand_edit_in_quickbooks_is_drift_not_propagated(env: LocalEnvironment) -> None:
    account_id = env.salesforce.put_account({"Name": "Owned By CRM Inc"})
    env.settle()
    customer_id = _xrefs(account_id)[SystemName.QUICKBOOKS]
    env.quickbooks.put_customer({"Id": customer_id, "DisplayName": "Renamed In Books"})
    env.settle()
    assert env.salesforce.account(account_id)["Name"] == "Owned By CRM Inc"
    reasons = [e["reason"] or "" for e in bootstrap.services().ledger.open_exceptions()]
    assert any(account_id in reason for reason in reasons)


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "reason"),
    [
        (
            "/webhooks/quickbooks",
            {"intuit-signature": "forged"},
            b'{"eventNotifications": []}',
            401,
            "bad_signature",
        ),
        ("/webhooks/salesforce?token=wrong", {"content-type": "text/xml"}, b"<x/>", 401, "bad_signature"),
        ("/webhooks/stripe", {}, b"{}", 404, "unknown_provider"),
        ("/webhooks/xero", {}, b"{}", 404, "provider_not_connected"),
        ("/webhooks/quickbooks", {}, b"x" * (300 * 1024), 413, "too_large"),
    ],
)
def test_bad_webhooks_get_a_clear_error_and_enqueue_nothing(env, path, headers, body, status, reason) -> None:
    assert env.runtime is not None
    env.settle()
    response = httpx.post(f"{env.api_url}{path}", headers=headers, content=body, timeout=10)
    assert response.status_code == status
    assert response.json()["error"] == reason and response.json()["message"]
    assert env.runtime.drain(timeout=5).processed == 0


def test_authentic_but_malformed_outbound_message_is_400(env: LocalEnvironment) -> None:
    assert env.runtime is not None
    token = env.connections()["salesforce"]["webhook_token"]
    response = httpx.post(
        f"{env.api_url}/webhooks/salesforce?token={token}",
        headers={"content-type": "text/xml"},
        content=b"<soapenv:Envelope",
        timeout=10,
    )
    assert response.status_code == 400 and response.json()["error"] == "malformed"
    assert env.runtime.drain(timeout=5).processed == 0


def test_a_bus_outage_answers_503_and_the_redelivery_is_published(env: LocalEnvironment, monkeypatch) -> None:
    assert env.runtime is not None
    env.settle()
    publisher = bootstrap.services().publisher

    def outage(notices: list) -> None:
        raise ConnectionError("EventBridge unreachable")

    monkeypatch.setattr(publisher, "publish", outage)
    account_id = env.salesforce.put_account({"Name": "Outage Survivors LLP"})
    # Salesforce gets a 503, so the notification stays queued on its side
    assert env.salesforce.deliver_pending() == 0
    monkeypatch.undo()
    # and it is sent again once its retry interval (5 s, then growing) has passed
    env.pass_time(5)
    assert set(_xrefs(account_id)) == {SystemName.PRODUCTIVE, SystemName.QUICKBOOKS}


def test_a_customer_the_bookkeeper_already_had_is_linked_not_duplicated(env: LocalEnvironment) -> None:
    # given the bookkeeper created the customer in QuickBooks by hand, before sales had it in the CRM
    existing = env.quickbooks.put_customer({"DisplayName": "Acme Consulting LLC"})
    env.settle()
    # when sales creates the account in Salesforce, spelled differently, and the hub settles
    account_id = env.salesforce.put_account({"Name": "ACME Consulting"})
    env.settle()
    # then QuickBooks still has one such customer, and the ledger links the account to it
    namesakes = [
        c
        for c in env.quickbooks.customers()
        if str(c["DisplayName"]).casefold().startswith("acme consulting")
    ]
    assert [c["Id"] for c in namesakes] == [existing]
    assert _xrefs(account_id)[SystemName.QUICKBOOKS] == existing
    assert bootstrap.services().metrics.totals["CustomersLinked[target=quickbooks]"] >= 1
    # and Productive, which had no such company, got one
    assert "ACME Consulting" in _names(env.productive.companies())


def test_a_company_with_the_same_vat_number_is_linked_whatever_it_is_called(env: LocalEnvironment) -> None:
    # given someone added the client to Productive under its trading name, with its VAT number
    existing = env.productive.put_company({"name": "Fabrikam Trading", "vat": "GB123456789"})
    companies = len(env.productive.companies())
    # when sales creates the account in Salesforce under its legal name, VAT number spaced out
    account_id = env.salesforce.put_account({"Name": "Fabrikam Holdings plc", "Tax_Id__c": "GB 123 456 789"})
    env.settle()
    # then the tax id linked the two: no second company, and the account points at the first
    assert len(env.productive.companies()) == companies
    assert _xrefs(account_id)[SystemName.PRODUCTIVE] == existing
    # and the company now carries the CRM's name and VAT number (the CRM owns customers)
    company = env.productive.company(existing)["attributes"]
    assert company["name"] == "Fabrikam Holdings plc" and company["vat"] == "GB 123 456 789"


def test_payment_terms_the_bookkeeper_sets_reach_salesforce_and_productive(env: LocalEnvironment) -> None:
    # given an account synced to both systems
    account_id = env.salesforce.put_account({"Name": "Terms Setting Corp"})
    env.settle()
    links = _xrefs(account_id)
    exceptions_before = len(_open_reasons())
    # when the bookkeeper gives the customer QuickBooks' "Net 30" term (Term Id 3)
    env.quickbooks.put_customer({"Id": links[SystemName.QUICKBOOKS], "SalesTermRef": {"value": "3"}})
    env.settle()
    # then accounting's word stands and travels: Salesforce shows Net 30, Productive 30 due days
    assert env.salesforce.account(account_id)["Payment_Terms__c"] == "Net 30"
    assert env.productive.company(links[SystemName.PRODUCTIVE])["attributes"]["due_days"] == 30
    assert env.quickbooks.customer(links[SystemName.QUICKBOOKS])["SalesTermRef"]["value"] == "3"
    # and it is not drift: accounting owns payment terms
    assert len(_open_reasons()) == exceptions_before


def _open_reasons() -> list[str]:
    return [e["reason"] or "" for e in bootstrap.services().ledger.open_exceptions()]


# QuickBooks sub-customers (engagement projects) are Customer entities, so their webhooks reach the
# customer sync like an account's; they are not accounts, and must be neither echo nor drift.


def test_sub_customer_notices_are_not_account_changes_and_echo_and_drift_still_work(
    env: LocalEnvironment,
) -> None:
    # given an account synced to QuickBooks
    account_id = env.salesforce.put_account({"Name": "Project Heavy Corp"})
    env.settle()
    parent = _xrefs(account_id)[SystemName.QUICKBOOKS]
    before = _open_reasons()
    echoes = bootstrap.services().metrics.totals["EchoesSuppressed"]
    # when its engagement's sub-customer is created inactive, activated and later closed in QuickBooks
    job = env.quickbooks.put_customer(
        {
            "DisplayName": "Heavy ERP rollout",
            "Job": True,
            "ParentRef": {"value": parent},
            "BillWithParent": True,
            "Active": False,
            "Notes": "close2cash-ref:salesforce/opportunity/006HEAVY",
        }
    )
    env.quickbooks.put_customer({"Id": job, "Active": True})
    env.quickbooks.put_customer({"Id": job, "Active": False})
    env.settle()
    # then those Customer webhooks open no drift, and the account is still linked to its parent customer
    assert _open_reasons() == before
    assert _xrefs(account_id)[SystemName.QUICKBOOKS] == parent
    assert env.quickbooks.customer(parent)["DisplayName"] == "Project Heavy Corp"
    # and the account's own echo is still recognised when sales edits it
    env.salesforce.put_account({"Name": "Project Heavy Corp", "Phone": "+1 555 0199"}, account_id=account_id)
    env.settle()
    assert bootstrap.services().metrics.totals["EchoesSuppressed"] > echoes
    assert _open_reasons() == before
    # while a bookkeeper's rename of the parent is still drift
    env.quickbooks.put_customer({"Id": parent, "DisplayName": "Renamed Heavy"})
    env.settle()
    assert any(account_id in reason for reason in _open_reasons() if reason not in before)
    # and the rename reached the sub-customer's full name, as QBO does
    assert env.quickbooks.project(job)["FullyQualifiedName"] == "Renamed Heavy:Heavy ERP rollout"
