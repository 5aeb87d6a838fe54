"""Salesforce Account -> canonical Account, on payloads shaped like the REST API's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.connectors.salesforce.mapper import account_from_payload
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName

RECORD = {
    "attributes": {"type": "Account", "url": "/services/data/v62.0/sobjects/Account/001D000000IRFmaIAH"},
    "Id": "001D000000IRFmaIAH",
    "Name": "Fabrikam Consulting",
    "Website": "https://fabrikam.example",
    "Phone": "+44 20 7946 0000",
    "BillingStreet": "1 Market St",
    "BillingCity": "London",
    "BillingState": "",
    "BillingPostalCode": "EC1A 1BB",
    "BillingCountry": "United Kingdom",
    "CurrencyIsoCode": "GBP",
    "Industry": "Consulting",
    "LastModifiedDate": "2025-03-03T10:15:30.000+0100",
    "SystemModstamp": "2025-03-03T09:15:31.250+0000",
}


def test_account_carries_name_contact_billing_address_and_currency():
    # given an Account as GET sObject Rows returns it
    # when it is mapped
    account = account_from_payload(RECORD)
    # then the canonical account says the same things, in the firm's words
    assert account.name == "Fabrikam Consulting"
    assert account.website == "https://fabrikam.example"
    assert account.phone == "+44 20 7946 0000"
    assert account.currency == "GBP"
    assert account.billing_address is not None
    assert account.billing_address.city == "London"
    assert account.billing_address.postal_code == "EC1A 1BB"
    assert account.billing_address.country == "United Kingdom"


def test_empty_strings_become_absent_values():
    account = account_from_payload({**RECORD, "Website": "", "Phone": "   "})
    assert account.website is None
    assert account.phone is None
    assert account.billing_address is not None and account.billing_address.region is None


def test_no_billing_parts_means_no_billing_address():
    bare = {k: v for k, v in RECORD.items() if not k.startswith("Billing")}
    assert account_from_payload(bare).billing_address is None


def test_timestamps_become_utc_and_systemmodstamp_is_the_version():
    account = account_from_payload(RECORD)
    # LastModifiedDate 10:15:30+01:00 is 09:15:30 UTC
    assert account.modified_at == datetime(2025, 3, 3, 9, 15, 30, tzinfo=UTC)
    assert account.source.system is SystemName.SALESFORCE
    assert account.source.type == "Account"
    assert account.source.id == "001D000000IRFmaIAH"
    assert account.source.version == "2025-03-03T09:15:31.250Z"


def test_currency_is_absent_in_single_currency_orgs():
    single = {k: v for k, v in RECORD.items() if k != "CurrencyIsoCode"}
    assert account_from_payload(single).currency is None


def test_same_content_gives_the_same_checksum_whatever_the_timestamps():
    later = {**RECORD, "SystemModstamp": "2025-04-01T00:00:00.000+0000", "Industry": "Retail"}
    assert account_from_payload(RECORD).checksum() == account_from_payload(later).checksum()


def test_an_account_without_a_name_is_refused_with_the_field_named():
    with pytest.raises(ValidationFailed, match="name"):
        account_from_payload({**RECORD, "Name": ""})


_DEAL = {
    "attributes": {"type": "Opportunity", "url": "/services/data/v62.0/sobjects/Opportunity/006D000000OppAA"},
    "Id": "006D000000OppAA",
    "Name": "Fabrikam ERP rollout",
    "AccountId": "001D000000IRFmaIAH",
    "StageName": "Proposal/Price Quote",
    "IsClosed": False,
    "IsWon": False,
    "CloseDate": "2025-03-31",
    "Amount": 8629,
    "Service_Line__c": "Implementation",
    "SystemModstamp": "2025-03-03T09:15:31.250+0000",
}


@pytest.mark.parametrize(("raw", "percent"), [(75, "75"), ("62.5", "62.5"), (None, None)])
def test_an_opportunitys_probability_is_its_percent(raw: object, percent: str | None):
    # Opportunity.Probability is a percent field: 75 means 75 %, the unit the canonical model keeps
    from decimal import Decimal

    from shared.connectors.salesforce.mapper import opportunity_from_payload

    deal = opportunity_from_payload({**_DEAL, "Probability": raw}, [], corporate_currency="USD")
    assert deal.probability == (Decimal(percent) if percent is not None else None)


def test_a_probability_parsed_as_float_is_refused():
    from shared.connectors.salesforce.mapper import opportunity_from_payload

    with pytest.raises(ValidationFailed):
        opportunity_from_payload({**_DEAL, "Probability": 75.0}, [], corporate_currency="USD")
