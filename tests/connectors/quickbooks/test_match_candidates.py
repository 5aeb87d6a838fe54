"""QuickBooks `match_candidates` against the sandbox: customers that could be the CRM account."""

from __future__ import annotations

import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector
from shared.connectors.quickbooks.client import like_prefix
from shared.domain.account_ports import MAX_MATCH_CANDIDATES
from shared.domain.errors import PermanentError
from tests.connectors.quickbooks.conftest import make_account


def test_a_customer_the_bookkeeper_made_is_a_candidate(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given the bookkeeper created the customer by hand, spelled their own way
    existing = sandbox.put_customer(
        {"DisplayName": "ACME CONSULTING, LLC", "WebAddr": {"URI": "acme.example"}}
    )
    sandbox.put_customer({"DisplayName": "Globex Ltd"})
    # when the hub looks for customers that could be the CRM's "Acme Consulting Ltd"
    found = connector.match_candidates(make_account())
    # then that customer is offered, seen through the canonical model
    assert [c.ref.id for c in found] == [existing]
    assert found[0].view.name == "ACME CONSULTING, LLC" and found[0].view.website == "acme.example"


def test_company_name_and_inactive_customers_are_searched_too(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    by_company = sandbox.put_customer({"DisplayName": "AC-0042", "CompanyName": "Acme Consulting"})
    inactive = sandbox.put_customer({"DisplayName": "Acme Consulting (old)", "Active": False})
    found = connector.match_candidates(make_account())
    assert sorted(c.ref.id for c in found) == sorted([by_company, inactive])


def test_no_namesake_means_no_candidate(connector: QuickBooksConnector, sandbox: QuickBooksSandbox) -> None:
    sandbox.put_customer({"DisplayName": "Globex Ltd"})
    assert connector.match_candidates(make_account()) == []


def test_an_apostrophe_in_the_name_is_escaped_not_a_query_error(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    existing = sandbox.put_customer({"DisplayName": "O'Neil & Sons Inc"})
    found = connector.match_candidates(make_account(name="O'Neil & Sons"))
    assert [c.ref.id for c in found] == [existing]
    assert like_prefix("O'Neil") == "'O\\'Neil%'"


def test_a_common_first_word_is_narrowed_not_cut(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    for n in range(MAX_MATCH_CANDIDATES + 5):
        sandbox.put_customer({"DisplayName": f"Acme Division {n}"})
    existing = sandbox.put_customer({"DisplayName": "Acme Consulting LLC"})
    found = connector.match_candidates(make_account())
    assert [c.ref.id for c in found] == [existing]


def test_the_query_language_has_no_or_and_the_sandbox_says_so(
    connector: QuickBooksConnector,
) -> None:
    # https://blogs.intuit.com/2017/02/08/deep-dive-sql-queries/: "The OR operation is not supported"
    with pytest.raises(PermanentError):
        connector.client.query_customers("DisplayName = 'a' OR DisplayName = 'b'")
