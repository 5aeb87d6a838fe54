"""Time entries as a client reads https://developer.productive.io/time_entries.html would use them.

Create (422 when a required field is missing), list with the documented filters (400 for another),
sort and pages, the approve/unapprove/reject actions, and the 7/8/9 webhooks (an approval is "updated").
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from tests.local.sandboxes.productive.conftest import Clock
from tests.local.sandboxes.productive.test_listing import documented, post


def service_on_a_project(
    api: httpx.Client, sandbox: ProductiveSandbox, name: str = "Design"
) -> tuple[str, str]:
    """A service on a budget of a new project, as a firm sets it up: (project id, service id)."""
    company = post(api, "companies", "companies", {"name": f"Client of {name}"})
    template = sandbox.add_template(f"Template {name}")
    project = api.post(
        "projects/copy",
        content=json.dumps(
            {
                "data": {
                    "type": "projects",
                    "attributes": {"name": name, "template_id": template, "company_id": company},
                }
            }
        ),
    ).json()["data"]["id"]
    deal = post(
        api,
        "deals",
        "deals",
        {"name": f"{name} budget", "date": "2025-03-01", "currency": "EUR"},
        company=("companies", company),
        project=("projects", project),
    )
    kind = post(api, "service_types", "service_types", {"name": f"{name} type"})
    service = post(
        api,
        "services",
        "services",
        {"name": name, "billing_type_id": 2, "unit_id": 1},
        deal=("deals", deal),
        service_type=("service_types", kind),
    )
    return project, service


def _entry(
    api: httpx.Client, person: str, service: str, date: str, minutes: int, **extra: Any
) -> httpx.Response:
    body = {
        "data": {
            "type": "time_entries",
            "attributes": {"date": date, "time": minutes, **extra},
            "relationships": {
                "person": {"data": {"type": "people", "id": person}},
                "service": {"data": {"type": "services", "id": service}},
            },
        }
    }
    return api.post("time_entries", content=json.dumps(body))


def hooked(sandbox: ProductiveSandbox) -> list[dict[str, Any]]:
    """The webhook bodies a subscribed hub receives, appended as they arrive."""
    seen: list[dict[str, Any]] = []
    sandbox.subscribe(
        "http://hub/hook",
        transport=httpx.MockTransport(lambda r: seen.append(json.loads(r.content)) or httpx.Response(204)),
    )
    return seen


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [row["id"] for row in answer.json()["data"]]


def test_a_created_entry_is_unapproved_with_billable_time_as_entered(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    person = sandbox.add_person("Ada", "Lovelace", email="ada@example.com")
    _, service = service_on_a_project(api, sandbox)
    created = _entry(api, person, service, "2025-03-03", 90, billable_time=60, note="wireframes")
    assert created.status_code == 201, created.text
    entry = created.json()["data"]
    attributes = entry["attributes"]
    assert (attributes["time"], attributes["billable_time"], attributes["note"]) == (90, 60, "wireframes")
    # time is recognised and billable only after approval
    assert (attributes["approved"], attributes["approved_at"], attributes["recognized_time"]) == (
        False,
        None,
        0,
    )
    read = api.get(f"time_entries/{entry['id']}", params={"include": "person,service"}).json()
    assert read["data"]["relationships"]["person"]["data"] == {"type": "people", "id": person}
    assert sorted(r["type"] for r in read["included"]) == ["people", "services"]
    assert [e["id"] for e in sandbox.time_entries()] == [entry["id"]]


@pytest.mark.parametrize(
    ("drop", "pointer"),
    [
        ("date", "/data/attributes/date"),
        ("time", "/data/attributes/time"),
        ("person", "/data/relationships/person"),
        ("service", "/data/relationships/service"),
    ],
)
def test_a_missing_required_field_is_422_with_its_pointer(
    api: httpx.Client, sandbox: ProductiveSandbox, drop: str, pointer: str
) -> None:
    person = sandbox.add_person("Ada", "Lovelace")
    _, service = service_on_a_project(api, sandbox)
    data: dict[str, Any] = {
        "type": "time_entries",
        "attributes": {"date": "2025-03-03", "time": 30},
        "relationships": {
            "person": {"data": {"type": "people", "id": person}},
            "service": {"data": {"type": "services", "id": service}},
        },
    }
    data["attributes"].pop(drop, None)
    data["relationships"].pop(drop, None)
    answer = api.post("time_entries", content=json.dumps({"data": data}))
    assert answer.status_code == 422
    (error,) = answer.json()["errors"]
    assert error["source"]["pointer"] == pointer
    assert error["detail"] == f"{drop} can't be blank"
    assert sandbox.time_entries() == []


def test_filters_narrow_by_person_project_and_dates_and_others_are_refused(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    ada, bob = sandbox.add_person("Ada", "L"), sandbox.add_person("Bob", "B")
    design_project, design = service_on_a_project(api, sandbox, "Design")
    _, build = service_on_a_project(api, sandbox, "Build")
    early = sandbox.add_time_entry(ada, design, "2025-02-28", 60)
    march = sandbox.add_time_entry(ada, build, "2025-03-01", 30)
    late = sandbox.add_time_entry(bob, design, "2025-03-31", 45)
    assert ids(api.get("time_entries", params={"filter[person_id]": ada})) == [early, march]
    assert ids(api.get("time_entries", params={"filter[service_id]": build})) == [march]
    assert ids(api.get("time_entries", params={"filter[project_id]": design_project})) == [early, late]
    month = {"filter[after]": "2025-03-01", "filter[before]": "2025-03-31"}
    assert ids(api.get("time_entries", params=month)) == [march, late]  # both bound days are in
    assert ids(api.get("time_entries", params={**month, "filter[person_id]": bob})) == [late]
    answer = api.get("time_entries", params={"filter[shoe_size]": "9"})
    assert (answer.status_code, answer.json()) == documented(
        "Unsupported Filter", "Filter 'shoe_size' is not supported on this endpoint"
    )


def test_approval_status_and_updated_at_filters_find_what_changed(
    api: httpx.Client, sandbox: ProductiveSandbox, clock: Clock
) -> None:
    ada = sandbox.add_person("Ada", "L")
    _, service = service_on_a_project(api, sandbox)
    approved, rejected, waiting = (sandbox.add_time_entry(ada, service, "2025-03-03", 60) for _ in range(3))
    clock.advance(hours=1)
    assert api.patch(f"time_entries/{approved}/approve").status_code == 200
    reject = {"data": {"type": "time_entries", "attributes": {"rejected_reason": "wrong service"}}}
    rejected_body = api.patch(f"time_entries/{rejected}/reject", content=json.dumps(reject)).json()["data"]
    assert rejected_body["attributes"]["rejected_reason"] == "wrong service"
    assert ids(api.get("time_entries", params={"filter[status]": "1"})) == [approved]
    assert ids(api.get("time_entries", params={"filter[status]": "2"})) == [waiting]
    assert ids(api.get("time_entries", params={"filter[status]": "3"})) == [rejected]
    since = {"filter[updated_at][gt]": "2025-03-01T09:30:00Z"}
    assert ids(api.get("time_entries", params=since)) == [approved, rejected]
    assert ids(api.get("time_entries", params={"filter[updated_at][lt_eq]": "2025-03-01"})) == []


def test_approve_and_unapprove_move_recognized_time_and_the_approver(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    ada, boss = sandbox.add_person("Ada", "L"), sandbox.add_person("Grace", "H")
    sandbox.api_person_id = boss
    _, service = service_on_a_project(api, sandbox)
    entry = sandbox.add_time_entry(ada, service, "2025-03-03", 120, billable_time=90)
    approved = api.patch(f"time_entries/{entry}/approve", params={"include": "approver"}).json()["data"]
    assert approved["attributes"]["approved"] is True
    assert approved["attributes"]["approved_at"] == "2025-03-01T09:00:00.000+00:00"
    assert (approved["attributes"]["billable_time"], approved["attributes"]["recognized_time"]) == (90, 120)
    assert approved["relationships"]["approver"]["data"] == {"type": "people", "id": boss}
    back = api.patch(f"time_entries/{entry}/unapprove").json()["data"]["attributes"]
    assert (back["approved"], back["approved_at"], back["recognized_time"]) == (False, None, 0)
    assert api.patch("time_entries/999/approve").status_code == 404


def test_every_change_is_a_7_8_or_9_webhook_and_approval_is_an_update(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    seen = hooked(sandbox)
    ada = sandbox.add_person("Ada", "L")
    _, service = service_on_a_project(api, sandbox)
    sandbox.deliver_pending()
    seen.clear()  # the set-up's own company and project events
    entry = _entry(api, ada, service, "2025-03-03", 30).json()["data"]["id"]
    edit = {"data": {"type": "time_entries", "id": entry, "attributes": {"time": 45}}}
    assert (
        api.patch(f"time_entries/{entry}", content=json.dumps(edit)).json()["data"]["attributes"]["time"]
        == 45
    )
    sandbox.approve_time_entry(entry, approver_id=ada)
    assert api.patch(f"time_entries/{entry}/unapprove").status_code == 200
    assert api.delete(f"time_entries/{entry}").status_code == 204
    assert sandbox.deliver_pending() == 5
    assert [d["event_id"] for d in seen] == [7, 8, 8, 8, 9]
    approval = seen[2]["object"]["data"]
    assert (approval["id"], approval["attributes"]["approved"]) == (entry, True)
    assert sandbox.time_entries() == []
    assert api.get(f"time_entries/{entry}").status_code == 404


def test_sorted_pages_of_entries(api: httpx.Client, sandbox: ProductiveSandbox) -> None:
    ada = sandbox.add_person("Ada", "L")
    _, service = service_on_a_project(api, sandbox)
    days = [f"2025-03-{day:02d}" for day in (5, 1, 3, 2, 4)]
    by_day = {sandbox.add_time_entry(ada, service, day, 15): day for day in days}
    newest_first = sorted(by_day, key=by_day.__getitem__, reverse=True)
    page = api.get("time_entries", params={"sort": "-date", "page[size]": "2", "page[number]": "2"}).json()
    assert [row["id"] for row in page["data"]] == newest_first[2:4]
    assert (page["meta"]["total_count"], page["meta"]["total_pages"]) == (5, 3)
    assert api.get("time_entries", params={"sort": "note"}).status_code == 400


def test_writes_outside_the_documented_attributes_are_refused(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    ada = sandbox.add_person("Ada", "L")
    _, service = service_on_a_project(api, sandbox)
    # approval is the approve action's, not an attribute a client writes
    assert _entry(api, ada, service, "2025-03-03", 30, approved=True).status_code == 400
    assert _entry(api, ada, service, "2025-03-03", "half an hour").status_code == 422
    with pytest.raises(ValueError, match="person"):
        sandbox.add_time_entry("404", service, "2025-03-03", 30)


def test_a_nested_include_links_every_entry_to_its_project_in_one_answer(
    api: httpx.Client, sandbox: ProductiveSandbox
) -> None:
    # given entries on the services of two projects
    ada = sandbox.add_person("Ada", "L", email="ada@firm.example")
    project_a, service_a = service_on_a_project(api, sandbox, "A")
    project_b, service_b = service_on_a_project(api, sandbox, "B")
    first = sandbox.add_time_entry(ada, service_a, "2025-03-03", 60)
    second = sandbox.add_time_entry(ada, service_b, "2025-03-03", 30)
    # when a client lists them by id with the dotted include path service.deal.project
    answer = api.get(
        "time_entries",
        params={
            "filter[id]": f"{first},{second}",
            "include": "person,service,service.deal,service.deal.project",
        },
    )
    assert sorted(ids(answer)) == sorted([first, second])
    body = answer.json()
    included = {(r["type"], r["id"]): r for r in body["included"]}
    # then each step's linkage is present because its path was included, and each resource comes once
    for entry in body["data"]:
        service = included[("services", entry["relationships"]["service"]["data"]["id"])]
        deal = included[("deals", service["relationships"]["deal"]["data"]["id"])]
        project = deal["relationships"]["project"]["data"]["id"]
        assert project == (project_a if entry["id"] == first else project_b)
        assert ("projects", project) in included
        assert deal["relationships"]["company"] == {"meta": {"included": False}}  # not asked for
    assert included[("people", ada)]["attributes"]["email"] == "ada@firm.example"
    assert len(body["included"]) == len(included)


def test_an_include_the_endpoint_cannot_follow_is_refused(api: httpx.Client) -> None:
    answer = api.get("time_entries", params={"include": "service.deal.invoice"})
    assert (answer.status_code, answer.json()) == documented(
        "Unsupported Include", "Include 'service.deal.invoice' is not supported on this endpoint"
    )
