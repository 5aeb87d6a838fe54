"""The Productive sandbox speaks the documented protocol: auth, content type, filters, pages, errors, 429s."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

JSON_API = "application/vnd.api+json"


def _create(api: httpx.Client, name: str, **attributes: object) -> httpx.Response:
    body = {"data": {"type": "companies", "attributes": {"name": name, **attributes}}}
    return api.post("companies", content=json.dumps(body))


def test_missing_token_gets_401_with_a_json_api_error(api: httpx.Client):
    response = api.get("companies", headers={"X-Auth-Token": ""})
    assert response.status_code == 401
    assert response.json()["errors"][0]["title"] == "Unauthorized"


def test_other_organization_gets_403(api: httpx.Client):
    assert api.get("companies", headers={"X-Organization-Id": "78"}).status_code == 403


def test_write_without_json_api_content_type_gets_415(api: httpx.Client):
    body = json.dumps({"data": {"type": "companies", "attributes": {"name": "X"}}})
    response = api.post("companies", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 415


def test_create_generates_a_company_code_when_none_is_given(api: httpx.Client, sandbox):
    response = _create(api, "Initech")
    assert response.status_code == 201
    company_id = response.json()["data"]["id"]
    assert sandbox.company(company_id)["attributes"]["company_code"]


def test_blank_name_and_unknown_attribute_are_refused(api: httpx.Client):
    blank = _create(api, " ")
    assert blank.status_code == 422
    assert blank.json()["errors"][0]["source"]["pointer"] == "/data/attributes/name"
    assert _create(api, "X", colour="red").status_code == 400


def test_filters_and_pages(api: httpx.Client):
    for n in range(5):
        _create(api, f"Client {n}", company_code=f"CODE-{n}", default_currency="EUR" if n % 2 else "USD")
    page = api.get("companies", params={"page[size]": "2", "page[number]": "3"}).json()
    assert [c["attributes"]["name"] for c in page["data"]] == ["Client 4"]
    assert page["meta"] == {
        "current_page": 3,
        "total_pages": 3,
        "total_count": 5,
        "page_size": 2,
        "max_page_size": 200,
    }
    exact = api.get("companies", params={"filter[company_code][eq]": "CODE-3"}).json()["data"]
    assert [c["attributes"]["name"] for c in exact] == ["Client 3"]
    euros = api.get("companies", params={"filter[default_currency]": "EUR"}).json()["meta"]["total_count"]
    assert euros == 2
    unsupported = api.get("companies", params={"filter[colour]": "red"})
    assert unsupported.status_code == 400
    assert unsupported.json()["errors"][0]["title"] == "Unsupported Filter"


def test_rate_limit_at_100_requests_per_10_seconds(api: httpx.Client, sandbox, clock):
    for _ in range(100):
        assert api.get("companies").status_code == 200
    limited = api.get("companies")
    assert limited.status_code == 429
    assert limited.json()["errors"][0]["title"] == "Too Many Requests"
    clock.now += timedelta(seconds=10)
    assert api.get("companies").status_code == 200
    sandbox.set_rate_limiting(False)
    for _ in range(150):
        assert api.get("companies").status_code == 200


def test_fault_injection_answers_the_next_requests(api: httpx.Client, sandbox):
    sandbox.fail_next(2, 503)
    assert [api.get("companies").status_code for _ in range(3)] == [503, 503, 200]


def test_archive_and_delete_emit_the_archived_company_event(api: httpx.Client, sandbox):
    seen: list[dict[str, object]] = []
    sandbox.subscribe(
        "http://hub/hook",
        transport=httpx.MockTransport(lambda r: seen.append(json.loads(r.content)) or httpx.Response(204)),
    )
    company_id = _create(api, "Umbrella").json()["data"]["id"]
    assert api.patch(f"companies/{company_id}/archive").json()["data"]["attributes"]["archived_at"]
    assert api.delete(f"companies/{company_id}").status_code == 204
    assert sandbox.deliver_pending() == 3
    assert [d["event_id"] for d in seen] == [29, 31, 31]
    assert sandbox.companies() == []
