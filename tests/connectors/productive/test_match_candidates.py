"""Productive `match_candidates` against the sandbox: companies that could be the customer, by name."""

from __future__ import annotations

from infra.local.sandboxes.productive import ProductiveSandbox
from shared.connectors.productive import ProductiveConnector
from shared.domain.account_ports import MAX_MATCH_CANDIDATES
from tests.connectors.productive.conftest import crm_account


def _by_hand(connector: ProductiveConnector, name: str, **attributes: object) -> str:
    """A company delivery created in Productive itself (no close2cash reference on it)."""
    return connector.client.create_company({"name": name, **attributes}).id


def test_a_company_spelled_differently_is_a_candidate(connector: ProductiveConnector) -> None:
    # given delivery created the client before sales created the account in the CRM
    existing = _by_hand(connector, "ACME Consulting", contact={"websites": [{"website": "acme.example"}]})
    _by_hand(connector, "Globex Ltd")
    # when the hub looks for companies that could be the CRM's "Acme Consulting GmbH"
    found = connector.match_candidates(crm_account())
    # then the namesake is offered with its canonical view (name and web site for the matcher)
    assert [c.ref.id for c in found] == [existing]
    assert found[0].view.name == "ACME Consulting" and found[0].view.website == "acme.example"


def test_no_namesake_means_no_candidate(connector: ProductiveConnector) -> None:
    _by_hand(connector, "Globex Ltd")
    assert connector.match_candidates(crm_account()) == []


def test_archived_companies_are_candidates_too(connector: ProductiveConnector) -> None:
    existing = _by_hand(connector, "Acme Consulting")
    connector.client.http.request(
        "PATCH", f"companies/{existing}/archive", headers={"Content-Type": "application/vnd.api+json"}
    )
    assert [c.ref.id for c in connector.match_candidates(crm_account())] == [existing]


def test_a_common_first_word_is_narrowed_not_cut(
    connector: ProductiveConnector, sandbox: ProductiveSandbox
) -> None:
    # given more "Acme ..." companies than the bound, and the one that matters among the last
    sandbox.set_rate_limiting(False)
    for n in range(MAX_MATCH_CANDIDATES + 5):
        _by_hand(connector, f"Acme Division {n}")
    existing = _by_hand(connector, "Acme Consulting")
    # when the hub looks for candidates
    found = connector.match_candidates(crm_account())
    # then the search narrowed to the longer prefix and found the namesake
    assert [c.ref.id for c in found] == [existing]
    assert len(found) <= MAX_MATCH_CANDIDATES


def test_a_company_with_the_accounts_vat_number_is_a_candidate_first(connector: ProductiveConnector) -> None:
    # given the client exists under its trading name with its VAT number, and a namesake without one
    by_vat = _by_hand(connector, "Trading Name Ltd", vat="DE811907980")
    namesake = _by_hand(connector, "Acme Consulting")
    # when the hub looks for candidates for an account carrying that VAT number
    found = connector.match_candidates(crm_account(tax_id="DE811907980"))
    # then both are offered, the VAT match first and with its tax id for the matcher
    assert [c.ref.id for c in found] == [by_vat, namesake]
    assert found[0].view.tax_id == "DE811907980"


def test_the_tax_id_is_written_to_the_companys_vat_number(connector: ProductiveConnector) -> None:
    record = connector.create_account(crm_account(tax_id="DE 811 907 980"), idempotency_key="k")
    assert record.view.tax_id == "DE 811 907 980"
    assert connector.project(crm_account(tax_id="DE 811 907 980")).tax_id == "DE 811 907 980"
