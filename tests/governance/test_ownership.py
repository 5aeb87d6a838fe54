"""Ownership: a system's change propagates only for what it owns; the rest is drift."""

from __future__ import annotations

from shared.domain.models import SystemName
from shared.domain.systems import Domain
from shared.governance.ownership import Ownership


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
