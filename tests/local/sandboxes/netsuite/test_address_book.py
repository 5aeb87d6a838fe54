"""A customer's web address, terms and address book (the `addressbookaddress` subrecord), in REST and SuiteQL.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141947.html
"""

from __future__ import annotations

from typing import Any

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, Create, error_of, suiteql

BILLING = {
    "defaultBilling": True,
    "label": "Billing",
    "addressbookaddress": {
        "addr1": "1 Main St",
        "city": "Springfield",
        "state": "IL",
        "zip": "62701",
        "country": "US",
    },
}


def _expanded(api: httpx.Client, customer: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(
        f"{RECORDS}/customer/{customer}", params={"expandSubResources": "true"}
    ).json()
    return body


def test_a_customer_keeps_its_url_terms_and_billing_address(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create
) -> None:
    net30 = netsuite.add_term("Net 30")
    customer = create(
        "customer",
        {
            "companyName": "Acme",
            "url": "https://acme.example",
            "terms": {"id": net30},
            "addressbook": {"items": [BILLING]},
        },
    )
    body = _expanded(api, customer)
    assert body["url"] == "https://acme.example"
    assert body["terms"]["refName"] == "Net 30"
    line = body["addressbook"]["items"][0]
    assert line["defaultBilling"] is True
    assert line["addressbookaddress"]["city"] == "Springfield"
    assert line["addressbookaddress"]["addrText"] == "1 Main St\nSpringfield IL 62701\nUS"
    # without expanding, the address book is a link
    assert set(api.get(f"{RECORDS}/customer/{customer}").json()["addressbook"]) == {"links"}


def test_suiteql_finds_the_default_billing_address_by_its_nkey(api: httpx.Client, create: Create) -> None:
    customer = create(
        "customer",
        {"companyName": "Acme", "url": "https://acme.example", "addressbook": {"items": [BILLING]}},
    )
    statement = f"SELECT url, defaultbillingaddress FROM customer WHERE id = {customer}"  # noqa: S608
    row = suiteql(api, statement).json()["items"][0]
    assert row["url"] == "https://acme.example"
    nkey = row["defaultbillingaddress"]
    addresses = suiteql(api, f"SELECT nkey, addr1, city, country FROM entityaddress WHERE nkey IN ('{nkey}')")  # noqa: S608
    assert addresses.json()["items"] == [
        {"links": [], "nkey": nkey, "addr1": "1 Main St", "city": "Springfield", "country": "US"}
    ]


def test_replace_rewrites_the_address_book_and_lines_are_added_without_it(
    api: httpx.Client, create: Create
) -> None:
    customer = create("customer", {"companyName": "Acme", "addressbook": {"items": [BILLING]}})
    shipping = {"defaultShipping": True, "label": "Warehouse", "addressbookaddress": {"addr1": "9 Dock Rd"}}
    # without replace the line is added
    api.patch(f"{RECORDS}/customer/{customer}", json={"addressbook": {"items": [shipping]}})
    assert [line["label"] for line in _expanded(api, customer)["addressbook"]["items"]] == [
        "Billing",
        "Warehouse",
    ]
    # with replace=addressbook the lines sent are the whole address book
    moved = {**BILLING, "addressbookaddress": {**BILLING["addressbookaddress"], "addr1": "2 Elm St"}}  # type: ignore[dict-item]
    answer = api.patch(
        f"{RECORDS}/customer/{customer}",
        params={"replace": "addressbook"},
        json={"addressbook": {"items": [moved]}},
    )
    assert answer.status_code == 204
    lines = _expanded(api, customer)["addressbook"]["items"]
    assert [line["addressbookaddress"]["addr1"] for line in lines] == ["2 Elm St"]


def test_only_one_line_is_the_default_billing_address(api: httpx.Client, create: Create) -> None:
    second = {**BILLING, "label": "New billing"}
    customer = create("customer", {"companyName": "Acme", "addressbook": {"items": [BILLING, second]}})
    lines = _expanded(api, customer)["addressbook"]["items"]
    assert [line["defaultBilling"] for line in lines] == [False, True]


def test_an_unknown_address_field_is_refused_with_its_path(api: httpx.Client) -> None:
    line = {"addressbookaddress": {"street": "1 Main St"}}
    answer = api.post(f"{RECORDS}/customer", json={"companyName": "Acme", "addressbook": {"items": [line]}})
    assert answer.status_code == 400
    assert error_of(answer)["o:errorPath"] == "addressbook.items[0].addressbookaddress.street"


def test_unknown_terms_are_an_invalid_reference(api: httpx.Client) -> None:
    answer = api.post(f"{RECORDS}/customer", json={"companyName": "Acme", "terms": {"id": "77"}})
    assert error_of(answer)["o:errorCode"] == "INVALID_CONTENT"
    assert error_of(answer)["o:errorPath"] == "terms"


def test_an_invoice_takes_the_customers_terms_for_its_due_date(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create
) -> None:
    net30 = netsuite.add_term("Net 30", days_until_net_due=30)
    customer = create("customer", {"companyName": "Acme", "terms": {"id": net30}})
    item = netsuite.add_item("Consulting")
    invoice = create(
        "invoice",
        {
            "entity": {"id": customer},
            "tranDate": "2026-12-01",
            "item": {"items": [{"item": {"id": item}, "amount": 10}]},
        },
    )
    body = api.get(f"{RECORDS}/invoice/{invoice}").json()
    assert body["terms"]["id"] == net30
    assert body["dueDate"] == "2026-12-31"


def test_server_time_is_the_accounts_clock(api: httpx.Client) -> None:
    assert api.get("/services/rest/system/v1/serverTime").json() == {"serverTime": "2026-12-01T09:00:00.000Z"}
