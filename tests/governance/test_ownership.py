"""Ownership: a system's change propagates only for what it owns; the rest is drift."""

from __future__ import annotations

from datetime import date

import pytest

from shared.domain.errors import ConfigurationError
from shared.domain.models import SystemName
from shared.domain.systems import Domain
from shared.governance.loader import parse_landscape
from shared.governance.ownership import Ownership
from tests.governance.conftest import edited


def test_customer_master_is_the_crm_s_except_payment_terms(demo):
    ownership = Ownership(demo)
    assert ownership.owner_of(Domain.CUSTOMER) is SystemName.SALESFORCE
    assert ownership.owner_of(Domain.CUSTOMER, "billing_address") is SystemName.SALESFORCE
    assert ownership.owner_of(Domain.CUSTOMER, "payment_terms") is SystemName.QUICKBOOKS
    # a field nobody names belongs to the domain's owner
    assert ownership.owner_of(Domain.CUSTOMER, "phone") is SystemName.SALESFORCE
    assert ownership.owner_of(Domain.INVOICE) is SystemName.QUICKBOOKS


def test_bookkeeper_renaming_a_customer_is_drift_but_new_payment_terms_propagate(demo):
    # given a bookkeeper who renamed a customer and changed its payment terms in QuickBooks
    ownership = Ownership(demo)
    # when the change is filtered
    propagate, drift = ownership.filter_changes(
        Domain.CUSTOMER, SystemName.QUICKBOOKS, ["name", "payment_terms", "name"]
    )
    # then the payment terms go to the other systems and the rename is reported, not propagated
    assert propagate == ("payment_terms",)
    assert drift == ("name",)


def test_the_crm_editing_payment_terms_is_drift(demo):
    split = Ownership(demo).filter_changes(
        Domain.CUSTOMER, SystemName.SALESFORCE, ["name", "website", "payment_terms"]
    )
    assert split.propagate == ("name", "website")
    assert split.drift == ("payment_terms",)


def test_time_changed_anywhere_but_the_psa_is_all_drift(demo):
    split = Ownership(demo).filter_changes(Domain.TIME, SystemName.QUICKBOOKS, ["hours", "worked_on"])
    assert split.propagate == () and split.drift == ("hours", "worked_on")


def test_postings_go_to_the_system_routed_for_their_date():
    # given a UK entity moving from a legacy Xero ledger to QuickBooks on 1 July 2025
    xero = '[[systems]]\nname = "xero"\nrole = "accounting"\n\n'
    old_route = 'legal_entity = "UK01"\nsystem = "quickbooks"\nfrom_date = 2024-01-01'
    legacy = 'legal_entity = "UK01"\nsystem = "xero"\nfrom_date = 2020-01-01\n\n[[routing]]\n'
    cloud = 'legal_entity = "UK01"\nsystem = "quickbooks"\nfrom_date = 2025-07-01'
    text = edited(
        ('[[systems]]\nname = "quickbooks"', xero + '[[systems]]\nname = "quickbooks"'),
        (old_route, legacy + cloud),
    )
    ownership = Ownership(parse_landscape(text))
    # then postings before the cutover go to the legacy ledger, from the cutover on to the new one
    assert ownership.posting_system("UK01", date(2025, 6, 30)) is SystemName.XERO
    assert ownership.posting_system("UK01", date(2025, 7, 1)) is SystemName.QUICKBOOKS
    assert ownership.posting_system("US01", date(2025, 6, 30)) is SystemName.QUICKBOOKS
    # and a posting dated before any route has nowhere to go, which is said, not guessed
    with pytest.raises(ConfigurationError, match="UK01"):
        ownership.posting_system("UK01", date(2019, 12, 31))
