"""Productive's collections as documented: `sort`, `include` with `included`, unsupported filters refused.

https://developer.productive.io/ ("Filtering", "Sorting") and
https://developer.productive.io/resource_representation.html ("Including relationships")
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox


def post(
    api: httpx.Client, path: str, kind: str, attributes: dict[str, Any], **related: tuple[str, str]
) -> str:
    data: dict[str, Any] = {"type": kind, "attributes": attributes}
    if related:
        data["relationships"] = {name: {"data": {"type": t, "id": i}} for name, (t, i) in related.items()}
    answer = api.post(path, content=json.dumps({"data": data}))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"]["id"])


def documented(title: str, detail: str) -> tuple[int, dict[str, Any]]:
    """A 400 in the error shape Productive documents."""
    return 400, {"errors": [{"status": 400, "title": title, "detail": detail}]}


def names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["attributes"]["name"] for row in answer.json()["data"]]


def test_sort_orders_by_the_params_given_and_a_leading_minus_descends(api: httpx.Client) -> None:
    for name in ("Beta", "alpha", "Gamma"):
        post(api, "companies", "companies", {"name": name})
    assert names(api.get("companies", params={"sort": "name"})) == ["alpha", "Beta", "Gamma"]
    assert names(api.get("companies", params={"sort": "-name"})) == ["Gamma", "Beta", "alpha"]
    # and paging applies to the sorted list
    assert names(api.get("companies", params={"sort": "-name", "page[size]": "1", "page[number]": "2"})) == [
        "Beta"
    ]


def test_an_unknown_sort_param_is_refused_in_the_error_shape(api: httpx.Client) -> None:
    answer = api.get("companies", params={"sort": "shoe_size"})
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert (error["status"], error["title"]) == (400, "Unsupported Sort")
    assert "shoe_size" in error["detail"]


def test_relationships_carry_ids_only_when_included_and_included_holds_the_resources(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    # given a client company and a deal for it
    company = post(api, "companies", "companies", {"name": "Acme"})
    post(
        api,
        "deals",
        "deals",
        {"name": "Deal", "date": "2025-03-01", "currency": "EUR"},
        company=("companies", company),
    )
    # when a client lists deals without include, then the relationship says it was not included
    plain = api.get("deals").json()
    assert plain["data"][0]["relationships"]["company"] == {"meta": {"included": False}}
    assert "included" not in plain
    # when it asks to include the company, then the id is on the relationship and the company in `included`
    rich = api.get("deals", params={"include": "company"}).json()
    assert rich["data"][0]["relationships"]["company"]["data"] == {"type": "companies", "id": company}
    assert [(r["type"], r["id"], r["attributes"]["name"]) for r in rich["included"]] == [
        ("companies", company, "Acme")
    ]


def test_a_dotted_include_brings_the_next_level_once(api: httpx.Client, sandbox: ProductiveSandbox) -> None:
    company = post(api, "companies", "companies", {"name": "Acme"})
    template = sandbox.add_template("Template")
    copied = api.post(
        "projects/copy",
        content=json.dumps(
            {
                "data": {
                    "type": "projects",
                    "attributes": {"name": "P", "template_id": template, "company_id": company},
                }
            }
        ),
    ).json()["data"]["id"]
    for name in ("One", "Two"):
        post(
            api,
            "deals",
            "deals",
            {"name": name, "date": "2025-03-01", "currency": "EUR"},
            company=("companies", company),
            project=("projects", copied),
        )
    body = api.get("deals", params={"include": "project.company,company"}).json()
    kinds = sorted((r["type"], r["id"]) for r in body["included"])
    assert kinds == [("companies", company), ("projects", copied)]  # each related resource once
    project = next(r for r in body["included"] if r["type"] == "projects")
    assert project["relationships"]["company"]["data"]["id"] == company
    assert project["relationships"]["template_object"] == {"meta": {"included": False}}
    single = api.get(f"projects/{copied}", params={"include": "template_object"}).json()
    assert single["data"]["relationships"]["template_object"]["data"]["id"] == template
    assert [r["id"] for r in single["included"]] == [template]


def test_an_unknown_include_is_the_documented_unsupported_include(api: httpx.Client) -> None:
    answer = api.get("deals", params={"include": "userz"})
    assert (answer.status_code, answer.json()) == documented(
        "Unsupported Include", "Include 'userz' is not supported on this endpoint"
    )


@pytest.mark.parametrize("path", ["companies", "projects", "deals", "services", "service_types"])
def test_an_unsupported_filter_is_refused_even_when_nothing_would_match(api: httpx.Client, path: str) -> None:
    # given an empty organization, when a client filters on something the endpoint does not support
    answer = api.get(path, params={"filter[undefined]": "1"})
    # then it gets the documented 400, not an empty page that looks like "no matches"
    assert (answer.status_code, answer.json()) == documented(
        "Unsupported Filter", "Filter 'undefined' is not supported on this endpoint"
    )
