"""Mapping lookups: values translate between systems, a missing row says what to add."""

from __future__ import annotations

import pytest

from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.governance.mappings import MappingMissing, Mappings

PSA, ERP, CRM = SystemName.PRODUCTIVE, SystemName.QUICKBOOKS, SystemName.SALESFORCE


def test_tax_codes_translate_per_legal_entity(demo):
    mappings = Mappings(demo)
    assert mappings.map("tax_codes", "Taxable", source=PSA, target=ERP, legal_entity="US01") == "TAX"
    assert mappings.map("tax_codes", "Standard", source=PSA, target=ERP, legal_entity="UK01") == "20"


def test_a_row_for_every_entity_answers_for_each_entity(demo):
    mappings = Mappings(demo)
    assert mappings.map("revenue_accounts", "Expenses", source=PSA, target=ERP, legal_entity="UK01") == "82"
    # and a row for the entity wins over it
    assert mappings.map("revenue_accounts", "Consulting", source=PSA, target=ERP, legal_entity="UK01") == "41"


def test_the_legal_entity_itself_is_found_without_knowing_it(demo):
    row = Mappings(demo).row("legal_entities", "Northwind UK", source=CRM, target=ERP)
    assert (row.target, row.legal_entity) == ("9130354588", "UK01")


def test_a_service_line_maps_to_its_template(demo):
    mappings = Mappings(demo)
    template = mappings.map("project_templates", "Advisory", source=CRM, target=PSA, legal_entity="UK01")
    assert template == "900401"


def test_missing_mapping_names_table_value_and_systems(demo):
    # given a tax code nobody mapped
    with pytest.raises(MappingMissing) as caught:
        Mappings(demo).map("tax_codes", "Reverse charge", source=PSA, target=ERP, legal_entity="UK01")
    error = caught.value
    # then the error is a validation failure that says which row to add
    assert isinstance(error, ValidationFailed)
    assert (error.table, error.value, error.source, error.target) == ("tax_codes", "Reverse charge", PSA, ERP)
    assert "mapping 'tax_codes' has no row for 'Reverse charge' from productive to quickbooks" in str(error)
    assert "source_system = 'productive', target_system = 'quickbooks'" in str(error)


def test_the_direction_matters(demo):
    with pytest.raises(MappingMissing):
        Mappings(demo).map("tax_codes", "TAX", source=ERP, target=PSA, legal_entity="US01")


def test_a_value_mapped_for_several_entities_needs_the_entity(demo):
    with pytest.raises(MappingMissing, match="rows exist for legal entity UK01, US01 only"):
        Mappings(demo).map("project_templates", "Advisory", source=CRM, target=PSA)
