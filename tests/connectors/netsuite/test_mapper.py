"""Account <-> NetSuite customer: external ids, the upsert body, the read view, the update body."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.connectors.netsuite import mapper
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.schemas import AddressRow, Customer, CustomerRow
from shared.domain.errors import ValidationFailed
from shared.domain.models import PostalAddress, SourceRef, SystemName
from tests.connectors.netsuite.conftest import make_account

ALLOWED = re.compile(r"^[A-Za-z0-9_-]+$")  # Oracle: letters, numbers, underscore and hyphen


@pytest.fixture
def settings(connection: dict[str, Any]) -> NetSuiteConnection:
    return NetSuiteConnection.parse(connection)


def test_the_external_id_is_readable_and_names_its_crm_record() -> None:
    source = SourceRef(system=SystemName.SALESFORCE, type="account", id="001ACME", version="7")
    external = mapper.external_id(source)
    assert external == "c2c-salesforce-account-001_a_c_m_e"
    assert mapper.origin(external) == SourceRef(system=SystemName.SALESFORCE, type="account", id="001ACME")
    # an external id someone else set names no CRM record
    assert mapper.origin("CID001") is None
    assert mapper.origin("c2c-nosuchsystem-account-1") is None
    assert mapper.origin(None) is None


@given(st.text(min_size=1, max_size=40).map(str.strip).filter(bool))
def test_every_crm_id_gives_an_allowed_external_id_that_case_folding_cannot_confuse(record_id: str) -> None:
    # given any CRM record id (Salesforce ids differ by case alone; HubSpot's by digits; anything)
    source = SourceRef(system=SystemName.HUBSPOT, type="company", id=record_id)
    external = mapper.external_id(source)
    # then NetSuite accepts it, and it decodes back exactly, also from the case NetSuite may fold it to
    assert ALLOWED.match(external)
    assert mapper.origin(external) == source
    assert mapper.origin(external.upper()) == source


def test_two_salesforce_ids_differing_by_case_are_two_external_ids() -> None:
    upper = mapper.external_id(SourceRef(system=SystemName.SALESFORCE, type="account", id="001aB"))
    lower = mapper.external_id(SourceRef(system=SystemName.SALESFORCE, type="account", id="001Ab"))
    assert upper.lower() != lower.lower()


def test_the_upsert_body_is_a_company_customer_with_the_owned_fields(settings: NetSuiteConnection) -> None:
    body = mapper.upsert_payload(make_account(payment_terms="2"), settings)
    assert body == {
        "isPerson": False,
        "companyName": "Acme Consulting Ltd",
        "email": "ap@acme.example",
        "phone": "+1 512 555 0100",
        "url": "https://acme.example",
        "currency": {"id": "1"},
        "terms": {"id": "2"},
        "subsidiary": {"id": "1"},
        "addressbook": {
            "items": [
                {
                    "defaultBilling": True,
                    "label": "Billing",
                    "addressbookaddress": {
                        "addr1": "1 Congress Ave",
                        "city": "Austin",
                        "state": "TX",
                        "zip": "78701",
                        "country": "US",
                    },
                }
            ]
        },
    }


def test_a_currency_the_connection_does_not_map_is_refused_naming_it(settings: NetSuiteConnection) -> None:
    with pytest.raises(ValidationFailed, match=r"EUR.*currencies"):
        mapper.upsert_payload(make_account(currency="EUR"), settings)


def test_the_read_view_of_what_was_written_equals_the_projection(settings: NetSuiteConnection) -> None:
    # given the customer NetSuite holds after the upsert (as GET ?expandSubResources=true shows it)
    account = make_account()
    written = mapper.upsert_payload(account, settings)
    held = Customer.model_validate(
        {
            **written,
            "id": "107",
            "externalId": "c2c-salesforce-account-001_a_c_m_e",
            "isInactive": False,
            "lastModifiedDate": "2026-12-03T07:30:05Z",
            "currency": {"id": "1", "refName": "US Dollar"},
            "subsidiary": {"id": "1", "refName": "Parent Company"},
        }
    )
    view = mapper.account_view(held, settings)
    # then the hub sees exactly the content it projected (no echo, no drift)
    assert view.checksum() == mapper.project(account, settings).checksum()
    assert (view.source.id, view.source.version) == ("107", "2026-12-03T07:30:05Z")
    record = mapper.target_record(held, settings)
    assert record.made_for(account.source) and record.active


def test_an_account_without_currency_reads_back_in_the_home_currency(settings: NetSuiteConnection) -> None:
    assert mapper.project(make_account(currency=None), settings).currency == "USD"


def test_a_suiteql_row_and_the_record_give_the_same_view(settings: NetSuiteConnection) -> None:
    account = make_account()
    held = Customer.model_validate(
        {
            **mapper.upsert_payload(account, settings),
            "id": "107",
            "externalId": mapper.external_id(account.source),
            "lastModifiedDate": "2026-12-03T07:30:05Z",
        }
    )
    row = CustomerRow.model_validate(
        {
            "id": 107,
            "externalid": "c2c-salesforce-account-001_a_c_m_e",
            "companyname": "Acme Consulting Ltd",
            "email": "ap@acme.example",
            "phone": "+1 512 555 0100",
            "url": "https://acme.example",
            "currency": "1",
            "terms": None,
            "isinactive": "F",
            "defaultbillingaddress": "5001",
            "lastmodified": "2026-12-03T07:30:05",
        }
    )
    address = AddressRow.model_validate(
        {
            "nkey": 5001,
            "addr1": "1 Congress Ave",
            "city": "Austin",
            "state": "TX",
            "zip": "78701",
            "country": "US",
        }
    )
    assert mapper.row_record(row, address, settings) == mapper.target_record(held, settings)


def test_suiteql_times_are_read_in_the_users_zone(connection: dict[str, Any]) -> None:
    pacific = NetSuiteConnection.parse({**connection, "suiteql_time_zone": "America/Los_Angeles"})
    row = CustomerRow(id="1", lastmodified="2026-12-02T23:30:05")
    assert mapper.row_view(row, None, pacific).source.version == "2026-12-03T07:30:05Z"


def test_the_update_body_sends_only_what_changed(settings: NetSuiteConnection) -> None:
    # given the customer as the hub wrote it, with a second address a bookkeeper added
    account = make_account()
    payload = mapper.upsert_payload(account, settings)
    shipping = {
        "defaultShipping": True,
        "label": "Warehouse",
        "addressbookaddress": {"addr1": "9 Dock Rd", "country": "US"},
    }
    payload["addressbook"]["items"].append({**shipping, "links": [{"rel": "self", "href": "x"}]})
    current = Customer.model_validate({**payload, "id": "107"})
    # when nothing changed, nothing is sent
    assert mapper.update_payload(current, account, settings) == ({}, ())
    # when the CRM renames the account and clears its phone, only those go, the phone as null
    body, replace = mapper.update_payload(
        current, account.model_copy(update={"name": "Acme  Group", "phone": None}), settings
    )
    assert (body, replace) == ({"companyName": "Acme Group", "phone": None}, ())
    # when the billing address moves, the address book is rewritten with the other line kept
    moved = account.model_copy(
        update={"billing_address": PostalAddress(street="2 Main St", city="Dallas", country="US")}
    )
    body, replace = mapper.update_payload(current, moved, settings)
    assert replace == ("addressbook",)
    assert body["addressbook"]["items"] == [
        shipping,
        {
            "defaultBilling": True,
            "label": "Billing",
            "addressbookaddress": {"addr1": "2 Main St", "city": "Dallas", "country": "US"},
        },
    ]


def test_terms_are_never_cleared_by_an_update(settings: NetSuiteConnection) -> None:
    current = Customer.model_validate(
        {**mapper.upsert_payload(make_account(), settings), "id": "7", "terms": {"id": "4"}}
    )
    assert mapper.update_payload(current, make_account(), settings) == ({}, ())
    assert mapper.update_payload(current, make_account(payment_terms="2"), settings)[0] == {
        "terms": {"id": "2"}
    }


def test_name_prefixes_and_web_domain() -> None:
    assert mapper.name_prefixes("Acme Consulting, LLC") == ["acme", "acme consulting", "acme consulting llc"]
    assert mapper.web_domain("https://www.Acme.example/contact") == "acme.example"
    assert mapper.web_domain("acme.example") == "acme.example"
    assert mapper.web_domain("localhost") is None
