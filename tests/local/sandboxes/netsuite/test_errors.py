"""Every refusal carries NetSuite's error body; switched-on faults break the sandbox on purpose.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import RECORDS, error_of


def _is_netsuite_error(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert {"detail", "o:errorCode"} <= set(error_of(answer))


def test_the_documented_invalid_body_example_is_answered_as_documented(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    # the doc's example: a sales order line naming item 9999; here an invoice line does
    customer = (
        api.post(f"{RECORDS}/customer", json={"companyName": "Acme"}).headers["Location"].rsplit("/", 1)[-1]
    )
    answer = api.post(
        f"{RECORDS}/invoice",
        json={"entity": {"id": customer}, "item": {"items": [{"item": {"id": 9999}, "amount": 1}]}},
    )
    assert answer.json() == {
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
        "title": "Bad Request",
        "status": 400,
        "o:errorDetails": [
            {
                "detail": "Error while accessing resource: You have entered an Invalid Field Value 9999 "
                "for the following field: item",
                "o:errorCode": "INVALID_CONTENT",
                "o:errorPath": "item.items[0].item",
            }
        ],
    }


def test_an_injected_503_answers_the_netsuite_body_and_writes_nothing(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    netsuite.fail_next(1, 503)
    answer = api.post(f"{RECORDS}/customer", json={"companyName": "Acme"})
    _is_netsuite_error(answer, 503)
    assert netsuite.records("customer") == []
    # the next request goes through
    assert api.post(f"{RECORDS}/customer", json={"companyName": "Acme"}).status_code == 204


def test_a_lost_answer_still_wrote_the_record(api: httpx.Client, netsuite: NetSuiteSandbox) -> None:
    # given a gateway that times out after NetSuite wrote
    netsuite.fail_next(1, 504, after=True)
    answer = api.put(f"{RECORDS}/customer/eid:SF-1", json={"companyName": "Acme"})
    # then the client sees a 504, yet the record exists; an upsert retry finds it, no duplicate
    _is_netsuite_error(answer, 504)
    assert len(netsuite.records("customer")) == 1
    assert api.put(f"{RECORDS}/customer/eid:SF-1", json={"companyName": "Acme"}).status_code == 204
    assert len(netsuite.records("customer")) == 1


def test_a_fault_can_target_one_path(api: httpx.Client, netsuite: NetSuiteSandbox) -> None:
    netsuite.fail_next(1, 500, path="/query/v1/suiteql")
    assert api.get(f"{RECORDS}/subsidiary/1").status_code == 200
    answer = api.post(
        "/services/rest/query/v1/suiteql",
        json={"q": "SELECT id FROM customer"},
        headers={"Prefer": "transient"},
    )
    _is_netsuite_error(answer, 500)


def test_unknown_urls_and_methods_answer_the_netsuite_body(api: httpx.Client) -> None:
    _is_netsuite_error(api.get("/services/rest/nothing/here"), 404)
    _is_netsuite_error(api.put("/services/rest/query/v1/suiteql", json={}), 405)
    _is_netsuite_error(api.post(f"{RECORDS}/customer/1", json={}), 405)


def test_a_wrong_value_type_names_the_field(api: httpx.Client) -> None:
    answer = api.post(f"{RECORDS}/customer", json={"companyName": "Acme", "isPerson": "yes"})
    _is_netsuite_error(answer, 400)
    assert error_of(answer)["o:errorPath"] == "isPerson"
    reference = api.post(f"{RECORDS}/customer", json={"companyName": "Acme", "subsidiary": "1"})
    assert error_of(reference)["o:errorPath"] == "subsidiary"
