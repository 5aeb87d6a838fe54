"""Matching existing customers: a unique match links, several are ambiguous, none is new."""

from __future__ import annotations

from shared.domain.models import SourceRef, SystemName
from shared.governance.landscape import MatchingRules, MatchKey
from shared.governance.matching import (
    CustomerKeys,
    MatchOutcome,
    match,
    normalise_domain,
    normalise_name,
    normalise_tax_id,
)


def qbo(record_id: str, name: str, **keys: str) -> CustomerKeys:
    return CustomerKeys(
        name=name, ref=SourceRef(system=SystemName.QUICKBOOKS, type="customer", id=record_id), **keys
    )


BOOKS = [
    qbo("1", "ACME Consulting, Inc.", website="https://www.acme-consulting.com/about"),
    qbo("2", "Globex GmbH", tax_id="DE 123 456 789"),
    qbo("3", "Initech LLC"),
    qbo("4", "Initech Ltd"),
    qbo("5", "Müller & Söhne B.V."),
]


def test_name_matches_despite_case_punctuation_and_legal_suffix(demo):
    # given "Acme Consulting" in the CRM and "ACME Consulting, Inc." in QuickBooks
    result = match(CustomerKeys(name="Acme Consulting"), BOOKS, demo.matching)
    # then the two are linked
    assert result.outcome is MatchOutcome.LINK
    assert result.linked is not None and result.linked.ref is not None and result.linked.ref.id == "1"


def test_dotted_suffixes_and_accents_normalise(demo):
    result = match(CustomerKeys(name="MULLER AND SOHNE BV"), BOOKS, demo.matching)
    assert result.outcome is MatchOutcome.LINK and result.matches[0].name == "Müller & Söhne B.V."


def test_web_domain_links_a_renamed_customer(demo):
    # given the CRM calls the customer differently but has the same web site
    candidate = CustomerKeys(name="Acme Group", website="acme-consulting.com")
    result = match(candidate, BOOKS, demo.matching)
    assert result.outcome is MatchOutcome.LINK and result.key is MatchKey.DOMAIN


def test_tax_id_wins_over_a_different_name(demo):
    candidate = CustomerKeys(name="Globex Deutschland", tax_id="de123456789")
    result = match(candidate, BOOKS, demo.matching)
    assert result.outcome is MatchOutcome.LINK and result.key is MatchKey.TAX_ID


def test_two_records_with_the_same_normalised_name_are_ambiguous_never_a_guess(demo):
    # given "Initech LLC" and "Initech Ltd" both in QuickBooks
    result = match(CustomerKeys(name="Initech"), BOOKS, demo.matching)
    # then nothing is linked and both are offered to a person
    assert result.outcome is MatchOutcome.AMBIGUOUS
    assert result.linked is None
    assert {r.name for r in result.matches} == {"Initech LLC", "Initech Ltd"}


def test_a_customer_found_nowhere_is_new(demo):
    result = match(CustomerKeys(name="Umbrella Corp", website="umbrella.example"), BOOKS, demo.matching)
    assert result.outcome is MatchOutcome.NEW and result.matches == ()


def test_a_different_tax_id_is_a_different_company_whatever_the_name(demo):
    # given a candidate named like Globex but with another tax id
    result = match(CustomerKeys(name="Globex SA", tax_id="FR 999"), BOOKS, demo.matching)
    assert result.outcome is MatchOutcome.NEW


def test_the_landscape_decides_the_keys_and_their_order():
    # given a firm that matches by name only
    rules = MatchingRules(keys=[MatchKey.NAME], legal_suffixes=["inc"])
    candidate = CustomerKeys(name="Acme Group", website="acme-consulting.com")
    assert match(candidate, BOOKS, rules).outcome is MatchOutcome.NEW


def test_normalisers():
    assert normalise_name("The Acme Co., Ltd.", ["co", "ltd"]) == "the acme"
    assert normalise_name("AG", ["ag"]) == "ag"  # a suffix alone is still a name
    assert normalise_domain("HTTP://WWW.Acme.com:8080/x?y") == "acme.com"
    assert normalise_domain("  ") is None
    assert normalise_tax_id("12-3456789") == "123456789"
