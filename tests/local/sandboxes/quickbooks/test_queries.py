"""The query language as QBO answers it: unknown properties, column lists, instants, Term/Item/Invoice.

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.local.sandboxes.quickbooks.conftest import Clock, Post, error, query, seed_invoice


def test_an_unknown_property_is_a_query_validation_error(api: httpx.Client, post: Post) -> None:
    post("customer", {"DisplayName": "Acme"})
    for statement in (
        "select * from Customer where Nickname = 'Acme'",
        "select Id, Nickname from Customer",
        "select * from Customer orderby Nickname",
    ):
        answer = query(api, statement)
        assert answer.status_code == 400, statement
        assert answer.json()["Fault"]["type"] == "ValidationFault"
        assert error(answer)["code"] == "4001"
        assert error(answer)["Detail"].startswith("QueryValidationError:")
        assert "Nickname" in error(answer)["Detail"]


def test_a_column_list_returns_only_those_columns(api: httpx.Client, post: Post) -> None:
    post("customer", {"DisplayName": "Acme", "CompanyName": "Acme Inc"})
    rows = query(api, "select Id, DisplayName from Customer").json()["QueryResponse"]["Customer"]
    assert rows == [{"Id": "1", "DisplayName": "Acme"}]


def test_date_times_compare_as_instants_whatever_their_offset(
    api: httpx.Client, post: Post, clock: Clock
) -> None:
    # given one customer made at 17:00 UTC and another at 17:30 UTC (QBO writes them at -07:00)
    post("customer", {"DisplayName": "Early"})
    clock.advance(minutes=30)
    post("customer", {"DisplayName": "Late"})

    def after(moment: str) -> list[str]:
        # A fixed test statement with the test's own literals, not user input.
        statement = f"select * from Customer where MetaData.LastUpdatedTime > '{moment}'"  # noqa: S608
        found = query(api, statement).json()
        return [row["DisplayName"] for row in found["QueryResponse"].get("Customer", [])]

    # when a client asks with a UTC, a company-offset and a far-east offset that name the same instant
    # then each answer is the same: only the later customer
    assert after("2026-11-20T17:15:00Z") == ["Late"]
    assert after("2026-11-20T10:15:00-07:00") == ["Late"]
    assert after("2026-11-21T02:15:00+09:00") == ["Late"]
    assert after("2026-11-20T16:59:00Z") == ["Early", "Late"]


def test_orderby_sorts_descending_by_instant(api: httpx.Client, post: Post, clock: Clock) -> None:
    post("customer", {"DisplayName": "B first"})
    clock.advance(minutes=1)
    post("customer", {"DisplayName": "A second"})
    rows = query(api, "select * from Customer orderby MetaData.CreateTime desc").json()["QueryResponse"][
        "Customer"
    ]
    assert [row["DisplayName"] for row in rows] == ["A second", "B first"]
    by_name = query(api, "select * from Customer ORDER BY DisplayName").json()["QueryResponse"]["Customer"]
    assert [row["DisplayName"] for row in by_name] == ["A second", "B first"]


def test_terms_items_and_invoices_are_creatable_and_queryable(api: httpx.Client, post: Post) -> None:
    # given a term, an item and an invoice created as a user's client would
    term = post("term", {"Name": "Net 30", "DueDays": 30})
    assert term.status_code == 200 and term.json()["Term"]["Type"] == "STANDARD"
    invoice = seed_invoice(post)
    # then each is found by the query language
    assert [t["Name"] for t in query(api, "select * from Term").json()["QueryResponse"]["Term"]] == ["Net 30"]
    items = query(api, "select * from Item where Type = 'Service'").json()["QueryResponse"]["Item"]
    assert [i["Name"] for i in items] == ["Consulting Acme Corp"]
    found = query(api, "select * from Invoice where TotalAmt > '400'").json()["QueryResponse"]["Invoice"]
    assert [i["Id"] for i in found] == [invoice["Id"]]
    customer_id = invoice["CustomerRef"]["value"]  # a sandbox-made id, not user input
    by_customer = query(api, f"select Id, TotalAmt from Invoice where CustomerRef = '{customer_id}'")  # noqa: S608
    assert by_customer.json()["QueryResponse"]["Invoice"] == [{"Id": invoice["Id"], "TotalAmt": 450}]


def test_an_invoice_is_priced_by_qbo_and_refuses_what_qbo_refuses(post: Post, qbo: QuickBooksSandbox) -> None:
    invoice = seed_invoice(post)
    # QBO computes the totals and adds its subtotal line
    assert (invoice["TotalAmt"], invoice["Balance"]) == (450, 450)
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert invoice["CurrencyRef"]["value"] == "USD"
    customer = invoice["CustomerRef"]
    line = invoice["Line"][0]
    wrong_amount = {**line, "Amount": 400}
    answer = post("invoice", {"CustomerRef": customer, "Line": [wrong_amount]})
    assert error(answer)["code"] == "6070"  # Amount is not Qty * UnitPrice
    unknown_customer = post("invoice", {"CustomerRef": {"value": "999"}, "Line": [line]})
    assert (error(unknown_customer)["code"], error(unknown_customer)["element"]) == ("2500", "CustomerRef")
    no_lines = post("invoice", {"CustomerRef": customer})
    assert (error(no_lines)["code"], error(no_lines)["element"]) == ("2020", "Line")
    long_number = post("invoice", {"CustomerRef": customer, "Line": [line], "DocNumber": "X" * 22})
    assert error(long_number)["code"] == "2050"
    no_account = post("item", {"Name": "No account"})
    assert (error(no_account)["code"], error(no_account)["element"]) == ("2020", "IncomeAccountRef")
