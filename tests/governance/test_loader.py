"""Loading a landscape file: the demo is valid, and every problem names file, path and expectation."""

from __future__ import annotations

import pytest

from shared.domain.errors import ConfigurationError
from shared.domain.models import SystemName
from shared.domain.systems import Domain, Role
from shared.governance.loader import LandscapeInvalid, Problem, dotted, load_landscape, parse_landscape
from tests.governance.conftest import DEMO, edited


def problems(text: str, file: str = "firm.toml") -> list[Problem]:
    with pytest.raises(LandscapeInvalid) as caught:
        parse_landscape(text, file=file)
    return list(caught.value.problems)


def only(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


def test_demo_landscape_is_valid_and_describes_the_demo_firm():
    # given the landscape shipped for the demo, when it is loaded from its path
    landscape = load_landscape(DEMO)
    # then it connects Salesforce, Productive and QuickBooks with two legal entities
    assert {(s.name, s.role) for s in landscape.systems} == {
        (SystemName.SALESFORCE, Role.CRM),
        (SystemName.PRODUCTIVE, Role.PSA),
        (SystemName.QUICKBOOKS, Role.ACCOUNTING),
    }
    assert {(e.code, e.functional_currency) for e in landscape.legal_entities} == {
        ("US01", "USD"),
        ("UK01", "GBP"),
    }
    assert landscape.ownership.rule(Domain.CUSTOMER).owner is SystemName.SALESFORCE
    assert landscape.landscape.version


def test_loader_takes_text_as_well_as_a_path():
    # the loader assumes no location: the same content loads from text
    assert parse_landscape(DEMO.read_text()) == load_landscape(str(DEMO))


def test_unknown_key_names_the_path_and_suggests_the_closest_valid_key():
    # given a mapping row with a typo in one of its keys
    text = edited(
        (
            'target_system = "quickbooks", legal_entity = "US01" }',
            'target_sytem = "quickbooks", legal_entity = "US01" }',
        )
    )
    found = problems(text)
    # then the typo is reported at its place with the key it should have been
    unknown = next(p for p in found if "target_sytem" in p.path)
    assert unknown.file == "firm.toml"
    assert unknown.path == "mappings.legal_entities[0].target_sytem"
    assert "did you mean 'target_system'?" in unknown.message
    # and the key it replaced is reported missing on the same row
    assert any(p.path == "mappings.legal_entities[0].target_system" and "missing" in p.message for p in found)


def test_unknown_domain_under_ownership_suggests_the_domain():
    problem = only(edited(("[ownership]\n", '[ownership]\ncustomers = { owner = "salesforce" }\n')))
    assert problem.path == "ownership.customers"
    assert "unknown key 'customers'" in problem.message and "did you mean 'customer'?" in problem.message


def test_a_field_owned_twice_is_an_error():
    # given customer.payment_terms claimed by both the CRM and accounting
    problem = only(
        edited(
            (
                'salesforce = ["name", "billing_address"]',
                'salesforce = ["name", "billing_address", "payment_terms"]',
            )
        )
    )
    # then the rule is named with both owners and what is expected
    assert problem.path == "ownership.customer"
    assert "'payment_terms' by salesforce and quickbooks" in problem.message
    assert "expected one owner per field" in problem.message


def test_an_owner_that_is_not_connected_is_an_error():
    problem = only(edited(('invoice = { owner = "quickbooks" }', 'invoice = { owner = "xero" }')))
    assert problem.path == "ownership.invoice.owner"
    assert "xero is not a connected system" in problem.message
    assert "productive, quickbooks, salesforce" in problem.message


def test_a_template_mapped_to_an_undeclared_rate_card_is_an_error():
    problem = only(edited(('rate_card = "Standard 2025 GBP"', 'rate_card = "Premium 2026"')))
    assert problem.path == "mappings.project_templates[2].rate_card"
    assert "rate card 'Premium 2026' is not declared" in problem.message
    assert "Standard 2025 GBP, Standard 2025 USD" in problem.message


def test_a_default_rate_card_names_a_declared_card_and_has_exact_positive_rates():
    found = problems(
        edited(
            ('name = "Standard 2025 GBP"', 'name = "Premium 2026"'),
            ('"Partner" = "350.00"', '"Partner" = 350.5'),
            ('"Consultant" = "140.00"', '"Consultant" = "-1"'),
        )
    )
    messages = {problem.path: problem.message for problem in found}
    assert "rate card 'Premium 2026' is not declared" in messages["rate_card[1].name"]
    assert "not float" in messages["rate_card[0].rates.Partner"]
    assert "rates must be positive; not so for Consultant" in messages["rate_card[1].rates"]


def test_a_default_rate_card_defined_twice_is_an_error():
    problem = only(edited(('name = "Standard 2025 GBP"', 'name = "Standard 2025 USD"')))
    assert problem.path == "rate_card"
    assert "rate card Standard 2025 USD is defined more than once" in problem.message


def test_a_legal_entity_code_not_declared_is_an_error():
    problem = only(
        edited(
            (
                'target_system = "productive", legal_entity = "UK01" },\n]',
                'target_system = "productive", legal_entity = "DE01" },\n]',
            )
        )
    )
    assert problem.path == "mappings.legal_entities[3].legal_entity"
    assert "legal entity 'DE01' is not declared" in problem.message


def test_a_currency_that_is_not_iso_4217_is_an_error():
    problem = only(edited(('functional_currency = "GBP"', 'functional_currency = "USX"')))
    assert str(problem) == (
        "firm.toml: legal_entities[1].functional_currency: currency 'USX' is not an active ISO 4217 "
        "currency with a minor unit; expected an ISO 4217 code such as 'USD', 'EUR' or 'GBP'"
    )


def test_currency_mapping_rows_translate_iso_codes():
    problem = only(
        edited(
            (
                '{ source = "GBP", target = "GBP", source_system = "salesforce"',
                '{ source = "Pound", target = "GBP", source_system = "salesforce"',
            )
        )
    )
    assert problem.path == "mappings.currencies[1].source"
    assert "ISO 4217" in problem.message


def test_a_value_mapped_twice_is_an_error():
    problem = only(
        edited(('{ source = "Exempt",     target = "NON"', '{ source = "Taxable",    target = "NON"'))
    )
    assert problem.path == "mappings.tax_codes"
    assert "'Taxable' from productive to quickbooks for US01" in problem.message


def test_routing_to_a_system_that_is_not_accounting_is_an_error():
    problem = only(
        edited(
            ('legal_entity = "UK01"\nsystem = "quickbooks"', 'legal_entity = "UK01"\nsystem = "productive"')
        )
    )
    assert problem.path == "routing[1].system"
    assert "productive is not an accounting system" in problem.message


def test_a_role_that_does_not_fit_the_vendor_is_an_error():
    problem = only(edited(('role = "psa"', 'role = "accounting"')))
    assert problem.path == "systems[1]"
    assert "productive is a psa system; expected role = 'psa'" in problem.message


def test_toml_syntax_error_reports_line_and_column():
    # given a file with a missing value on line 3
    text = '[landscape]\nname = "Acme"\nversion = \n'
    problem = only(text)
    # then the problem points at the line and column, whatever the Python version's message format
    assert (problem.line, problem.column) == (3, 11)
    assert str(problem).startswith("firm.toml: line 3, column 11: not valid TOML:")


def test_a_key_defined_twice_is_a_syntax_error_with_its_line():
    problem = only(edited(('version = "2026.12.1"', 'version = "2026.12.1"\nname = "again"')))
    assert problem.line == 11 and "not valid TOML" in problem.message


def test_several_errors_are_all_reported_at_once():
    # given a file with five unrelated mistakes in five sections
    text = edited(
        ('role = "psa"', 'role = "psa"\nurl = "https://app.productive.io"'),
        ('functional_currency = "USD"', 'functional_currency = "USX"'),
        ('payment = { owner = "quickbooks" }', 'payment = { owner = "netsuite" }'),
        (
            'rate_card = "Standard 2025 USD" },\n  { source = "Implementation"',
            'rate_card = "Gold" },\n  { source = "Implementation"',
        ),
        ('keys = ["tax_id", "domain", "name"]', 'keys = ["tax_id", "domain", "nmae"]'),
    )
    # when it is loaded, then every one of them is reported, each at its place
    found = problems(text)
    assert [p.path for p in found] == [
        "systems[1].url",
        "legal_entities[0].functional_currency",
        "ownership.payment.owner",
        "mappings.project_templates[0].rate_card",
        "matching.keys[2]",
    ]
    assert "did you mean 'name'?" in found[-1].message
    assert all(p.file == "firm.toml" for p in found)


def test_the_error_is_a_configuration_error_listing_every_problem():
    with pytest.raises(ConfigurationError) as caught:
        parse_landscape('[landscape]\nname = "x"\n', file="tiny.toml")
    message = str(caught.value)
    assert "3 problems" in message
    assert "tiny.toml: landscape.version: is missing" in message
    assert "tiny.toml: systems: is missing" in message


def test_a_missing_file_is_one_problem_naming_it(tmp_path):
    with pytest.raises(LandscapeInvalid) as caught:
        load_landscape(tmp_path / "nowhere.toml")
    (problem,) = caught.value.problems
    assert problem.file.endswith("nowhere.toml") and "cannot be read" in problem.message


def test_locations_read_as_paths_in_the_file():
    assert dotted(("mappings", "tax_codes", 3, "target")) == "mappings.tax_codes[3].target"
    assert dotted(("ownership", "customer", "fields", "xero", "[key]")) == "ownership.customer.fields.xero"
