"""Canonical Account <-> QBO Customer mapping, and tolerant Fault parsing of Intuit's own fixtures."""

from __future__ import annotations

from shared.connectors.quickbooks import mapper
from shared.connectors.quickbooks.client import DuplicateNameError, StaleObjectError, fault_error
from shared.connectors.quickbooks.schemas import Customer, parse_faults
from shared.domain.errors import ValidationFailed
from tests.connectors.quickbooks.conftest import make_account, sample_json


def test_create_payload_carries_every_owned_field_and_the_crm_stamp() -> None:
    account = make_account()
    body = mapper.create_payload(account)
    assert body["DisplayName"] == "Acme Consulting Ltd"
    assert body["PrimaryPhone"] == {"FreeFormNumber": "+1 512 555 0100"}
    assert body["PrimaryEmailAddr"] == {"Address": "ap@acme.example"}
    assert body["WebAddr"] == {"URI": "https://acme.example"}
    assert body["BillAddr"]["CountrySubDivisionCode"] == "TX"
    assert body["CurrencyRef"] == {"value": "USD"}
    assert body["Notes"] == "close2cash-ref:salesforce/account/001ACME"


def test_projection_equals_the_view_of_what_was_written() -> None:
    # given an account whose name has a colon QBO refuses and no currency
    account = make_account(name="Acme: Europe", currency=None, billing_address=None, phone="  ")
    written = Customer.model_validate(
        {**mapper.create_payload(account), "Id": "9", "SyncToken": "0", "CurrencyRef": {"value": "USD"}}
    )
    # then the projection and the read view hold the same content
    projected = mapper.project(account, home_currency="USD")
    view = mapper.account_view(written)
    assert projected.synced_fields() == view.synced_fields()
    assert projected.name == "Acme- Europe"
    assert projected.phone is None
    assert projected.currency == "USD"


def test_stamp_is_recognised_only_for_the_same_crm_record() -> None:
    account = make_account()
    customer = Customer.model_validate(
        {"Id": "1", "Notes": "met at expo\n" + mapper.crm_stamp(account.source)}
    )
    assert mapper.carries_stamp(customer, account.source)
    assert not mapper.carries_stamp(customer, make_account(crm_id="001OTHER").source)


def test_minimal_fault_without_detail_or_element_parses() -> None:
    faults = parse_faults(sample_json("error_fault_minimal_java_sdk.json"))
    assert len(faults) == 1
    assert (faults[0].code, faults[0].message, faults[0].fault_type) == (
        "500",
        "Unsupported operation requested",
        "Validation",
    )
    assert isinstance(fault_error(faults, "test"), ValidationFailed)


def test_per_item_faults_of_a_batch_response_are_each_surfaced() -> None:
    faults = parse_faults(sample_json("error_validationfault_attachable_batch_java_sdk.json"))
    assert len(faults) == 5
    assert faults[0].message == "Invalid Company Status"
    assert faults[4].message == "Invalid Company XXXX"
    assert {f.code for f in faults} == {"6190"}


def test_lowercase_401_fault_and_decisive_codes() -> None:
    body = {
        "fault": {
            "error": [{"message": "message=AuthenticationFailed", "code": "3200"}],
            "type": "AUTHENTICATION",
        }
    }
    assert parse_faults(body)[0].code == "3200"
    stale = parse_faults({"Fault": {"Error": [{"Message": "Stale Object Error", "code": "5010"}]}})
    assert isinstance(fault_error(stale, "x"), StaleObjectError)
    dup = parse_faults({"Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "code": "6240"}]}})
    assert isinstance(fault_error(dup, "x"), DuplicateNameError)
