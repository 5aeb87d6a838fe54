"""The QuickBooks sandbox speaks QBO's protocol: OAuth, faults, SyncToken, requestid, paging, throttle."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox

REALM = "4620816365"
BASE = f"/v3/company/{REALM}"


@pytest.fixture
def sandbox() -> QuickBooksSandbox:
    return QuickBooksSandbox(REALM, "cid", "csecret", "rt-0", "verifier")


def http(sandbox: QuickBooksSandbox) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=sandbox), base_url="http://qbo")


def refresh(client: httpx.Client, token: str, secret: str = "csecret") -> httpx.Response:  # noqa: S107
    basic = base64.b64encode(f"cid:{secret}".encode()).decode()
    return client.post(
        "/oauth2/v1/tokens/bearer",
        content=f"grant_type=refresh_token&refresh_token={token}",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )


@pytest.fixture
def api(sandbox: QuickBooksSandbox) -> httpx.Client:
    client = http(sandbox)
    access = refresh(client, "rt-0").json()["access_token"]
    client.headers["Authorization"] = f"Bearer {access}"
    return client


def create(api: httpx.Client, name: str, request_id: str | None = None) -> httpx.Response:
    params = {"minorversion": "75", **({"requestid": request_id} if request_id else {})}
    return api.post(f"{BASE}/customer", params=params, json={"DisplayName": name})


def test_refresh_rotates_and_the_old_refresh_token_is_refused(sandbox: QuickBooksSandbox) -> None:
    client = http(sandbox)
    first = refresh(client, "rt-0")
    assert first.status_code == 200
    assert first.json()["refresh_token"] == sandbox.refresh_token != "rt-0"
    again = refresh(client, "rt-0")
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert refresh(client, sandbox.refresh_token, secret="wrong").json()["error"] == "invalid_client"


def test_a_rotated_away_refresh_token_gets_intuits_bare_invalid_grant_and_earlier_access_still_works(
    sandbox: QuickBooksSandbox,
) -> None:
    # given a refresh that rotated rt-0 away
    client = http(sandbox)
    first = refresh(client, "rt-0").json()
    # when a second process presents rt-0 again, then Intuit's exact answer comes back
    again = refresh(client, "rt-0")
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})
    # and the token endpoint counted both calls, the refused one included
    assert (sandbox.token_calls, sandbox.refreshes) == (2, 1)
    # while the access token issued before stays valid until it expires
    api = client.get(f"{BASE}/customer/1", headers={"Authorization": f"Bearer {first['access_token']}"})
    assert api.status_code != 401


def test_a_refresh_token_lives_100_days_from_its_issue() -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    sandbox = QuickBooksSandbox(REALM, "cid", "csecret", "rt-0", "verifier", clock=lambda: now[0])
    answer = refresh(http(sandbox), "rt-0").json()
    assert answer["x_refresh_token_expires_in"] == 8_726_400
    now[0] += timedelta(seconds=8_726_400)
    assert refresh(http(sandbox), answer["refresh_token"]).json() == {"error": "invalid_grant"}


def test_reconnecting_the_company_retires_the_previous_refresh_token(sandbox: QuickBooksSandbox) -> None:
    fresh = sandbox.reconnect()
    assert refresh(http(sandbox), "rt-0").status_code == 400
    assert refresh(http(sandbox), fresh).status_code == 200


def test_missing_or_unknown_bearer_gets_intuits_lowercase_401_fault(sandbox: QuickBooksSandbox) -> None:
    response = http(sandbox).get(f"{BASE}/customer/1", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["code"] == "3200"


def test_requestid_replays_the_original_response_without_a_second_write(
    sandbox: QuickBooksSandbox, api: httpx.Client
) -> None:
    first = create(api, "Acme", request_id="r-1")
    second = create(api, "Acme", request_id="r-1")
    assert first.json() == second.json()
    assert len(sandbox.customers()) == 1
    assert sandbox.pending_notifications == 1


def test_duplicate_display_name_is_fault_6240(api: httpx.Client) -> None:
    create(api, "Acme")
    response = create(api, "ACME")
    assert response.status_code == 400
    assert response.json()["Fault"]["Error"][0]["code"] == "6240"


def test_stale_sync_token_is_fault_5010_and_sparse_update_keeps_other_fields(
    sandbox: QuickBooksSandbox, api: httpx.Client
) -> None:
    customer_id = create(api, "Acme").json()["Customer"]["Id"]
    sandbox.put_customer({"Id": customer_id, "Notes": "from the UI"})  # SyncToken 0 -> 1
    stale = api.post(f"{BASE}/customer", json={"Id": customer_id, "SyncToken": "0", "sparse": True})
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    fresh = api.post(
        f"{BASE}/customer",
        json={"Id": customer_id, "SyncToken": "1", "sparse": True, "PrimaryPhone": {"FreeFormNumber": "5"}},
    )
    body = fresh.json()["Customer"]
    assert (body["SyncToken"], body["Notes"], body["PrimaryPhone"]["FreeFormNumber"]) == (
        "2",
        "from the UI",
        "5",
    )


def test_query_pages_with_startposition_and_maxresults(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    sandbox.set_rate_limit(False)
    for n in range(5):
        create(api, f"Customer {n}")
    sandbox.put_customer({"Id": "5", "Active": False})

    def page(statement: str) -> dict[str, Any]:
        return api.get(f"{BASE}/query", params={"query": statement}).json()["QueryResponse"]

    assert [c["Id"] for c in page("select * from Customer STARTPOSITION 3 MAXRESULTS 2")["Customer"]] == [
        "3",
        "4",
    ]
    assert page("select * from Customer STARTPOSITION 5 MAXRESULTS 2") == {}
    assert page("select count(*) from Customer where Active IN (true, false)")["totalCount"] == 5
    found = page("select * from Customer where DisplayName = 'customer 1'")["Customer"]
    assert [c["Id"] for c in found] == ["2"]
    bad = api.get(f"{BASE}/query", params={"query": "select from"})
    assert bad.json()["Fault"]["Error"][0]["code"] == "4000"


def test_a_page_above_1000_is_refused_not_shortened(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    # given a company with customers
    sandbox.set_rate_limit(False)
    create(api, "Customer 1")
    # when a query asks for 1,001 a page, then QuickBooks refuses it as an invalid query
    refused = api.get(f"{BASE}/query", params={"query": "select * from Customer MAXRESULTS 1001"})
    assert refused.status_code == 400
    error = refused.json()["Fault"]["Error"][0]
    assert (error["code"], error["Detail"]) == (
        "4001",
        "QueryValidationError: value 1001 is too large. Max allowed value is 1000",
    )
    # and 1,000 is served
    served = api.get(f"{BASE}/query", params={"query": "select * from Customer MAXRESULTS 1000"})
    assert [c["DisplayName"] for c in served.json()["QueryResponse"]["Customer"]] == ["Customer 1"]


def test_more_than_500_requests_a_minute_are_throttled(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    sandbox.set_rate_limit(True, per_minute=3)
    statuses = [
        api.get(f"{BASE}/query", params={"query": "select * from Customer"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_more_than_10_requests_a_second_are_throttled_with_intuits_fault(
    sandbox: QuickBooksSandbox, api: httpx.Client
) -> None:
    # given a realm whose clock stands still (all requests fall in the same second)
    frozen = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    sandbox.clock = lambda: frozen
    # when 11 requests arrive in that second
    answers = [api.get(f"{BASE}/query", params={"query": "select * from Customer"}) for _ in range(11)]
    # then the 11th is Intuit's 429 ThrottleExceeded, and the sandbox counted it
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    error = answers[-1].json()["Fault"]["Error"][0]
    assert (error["code"], error["Message"]) == (
        "003001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
    )
    assert (sandbox.throttled, sandbox.peak_per_second) == (1, 10)


def test_fail_next_injects_faults(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    sandbox.fail_next(1, 503)
    assert create(api, "Acme").status_code == 503
    assert create(api, "Acme").status_code == 200


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_webhooks_are_signed_and_kept_until_acknowledged(
    sandbox: QuickBooksSandbox, api: httpx.Client, fmt: str
) -> None:
    sandbox.webhook_format = fmt  # type: ignore[assignment]
    create(api, "Acme")
    sandbox.put_customer({"Id": "1", "Notes": "edited"})
    answers = [500, 200]
    seen: list[tuple[bytes, str]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        seen.append((request.content, request.headers["intuit-signature"]))
        return httpx.Response(answers.pop(0))

    sandbox.subscribe("http://hub/webhooks/quickbooks", transport=httpx.MockTransport(hub))
    assert sandbox.deliver_pending() == 0
    assert sandbox.pending_notifications == 2
    assert sandbox.deliver_pending() == 2
    assert sandbox.pending_notifications == 0
    body, signature = seen[-1]
    expected = base64.b64encode(hmac.new(b"verifier", body, hashlib.sha256).digest()).decode()
    assert signature == expected
    document = json.loads(body)
    if fmt == "legacy":
        entities = document["eventNotifications"][0]["dataChangeEvent"]["entities"]
        assert [e["operation"] for e in entities] == ["Create", "Update"]
    else:
        assert [e["type"] for e in document] == ["qbo.customer.created.v1", "qbo.customer.updated.v1"]


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_changes_in_a_second_company_reach_the_same_endpoint_as_intuit_sends_them(
    sandbox: QuickBooksSandbox, api: httpx.Client, fmt: str
) -> None:
    # given the app is connected to a second company, whose customer 58 changes in the same window
    sandbox.webhook_format = fmt  # type: ignore[assignment]
    create(api, "Acme")
    sandbox.notify_for_other_company("9130999999999999", "58")
    bodies: list[Any] = []

    def hub(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200)

    sandbox.subscribe("http://hub/webhooks/quickbooks", transport=httpx.MockTransport(hub))
    # when the window's notifications are delivered
    assert sandbox.deliver_pending() == 2
    # then legacy sends one body per company, CloudEvents one body naming each event's company
    if fmt == "legacy":
        assert [[n["realmId"] for n in body["eventNotifications"]] for body in bodies] == [
            [REALM],
            ["9130999999999999"],
        ]
    else:
        assert [[e["intuitaccountid"] for e in body] for body in bodies] == [[REALM, "9130999999999999"]]


# --- sub-customers, classes and departments --------------------------------------------------


def post_customer(api: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return api.post(f"{BASE}/customer", params={"minorversion": "75"}, json=body)


def query(api: httpx.Client, statement: str) -> dict[str, Any]:
    response = api.get(f"{BASE}/query", params={"query": statement, "minorversion": "75"})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["QueryResponse"]
    return result


def test_a_sub_customer_hangs_under_its_parent(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    parent = create(api, "Acme").json()["Customer"]
    child = post_customer(
        api, {"DisplayName": "ERP", "Job": True, "ParentRef": {"value": parent["Id"]}, "Active": False}
    ).json()["Customer"]
    # QBO sets the hierarchy fields; the child takes the parent's currency; Active=false is kept
    assert (child["Job"], child["Level"], child["FullyQualifiedName"]) == (True, 1, "Acme:ERP")
    assert child["ParentRef"] == {"value": parent["Id"], "name": "Acme"}
    assert child["CurrencyRef"]["value"] == "USD" and child["Active"] is False
    assert sandbox.project(child["Id"])["Id"] == child["Id"]
    with pytest.raises(KeyError):
        sandbox.project(parent["Id"])
    # a rename of the parent renames the child's FullyQualifiedName
    api.post(
        f"{BASE}/customer",
        json={
            "Id": parent["Id"],
            "SyncToken": parent["SyncToken"],
            "sparse": True,
            "DisplayName": "Acme Corp",
        },
    )
    assert sandbox.customer(child["Id"])["FullyQualifiedName"] == "Acme Corp:ERP"
    # the sub-customer is found by a FullyQualifiedName LIKE, inactive only when Active is asked about
    assert query(api, "select * from Customer where FullyQualifiedName LIKE '%:%'") == {}
    rows = query(
        api, "select * from Customer where Active IN (true, false) AND FullyQualifiedName LIKE '%:%'"
    )
    assert [row["Id"] for row in rows["Customer"]] == [child["Id"]]
    # and, being a Customer, its creation is a Customer webhook like any other
    assert sandbox.pending_notifications == 3


def test_sub_customer_faults_as_qbo_answers_them(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    sandbox.set_rate_limit(False)  # more than 10 requests in a second
    parent = create(api, "Acme").json()["Customer"]
    create(api, "Taken")
    cases = [
        ({"DisplayName": "X", "Job": True, "ParentRef": {"value": "999"}}, "610"),
        ({"DisplayName": "X", "Job": True}, "2020"),
        ({"DisplayName": "Taken", "Job": True, "ParentRef": {"value": parent["Id"]}}, "6240"),
        (
            {
                "DisplayName": "X",
                "Job": True,
                "ParentRef": {"value": parent["Id"]},
                "CurrencyRef": {"value": "EUR"},
            },
            "6000",
        ),
    ]
    for body, code in cases:
        response = post_customer(api, body)
        assert (response.status_code, response.json()["Fault"]["Error"][0]["code"]) == (400, code), body
    # a parent made inactive cannot take a new sub-customer (610 "made inactive")
    sandbox.put_customer({"Id": parent["Id"], "Active": False})
    response = post_customer(api, {"DisplayName": "Y", "Job": True, "ParentRef": {"value": parent["Id"]}})
    assert "made inactive" in response.json()["Fault"]["Error"][0]["Detail"]
    # and nesting stops at QBO's depth
    parent_id = sandbox.put_customer({"DisplayName": "Top"})
    for level in range(1, 6):
        response = post_customer(
            api, {"DisplayName": f"L{level}", "Job": True, "ParentRef": {"value": parent_id}}
        )
        if level <= 4:
            parent_id = response.json()["Customer"]["Id"]
    assert response.json()["Fault"]["Error"][0]["code"] == "6000"


def test_classes_and_departments_read_and_query(sandbox: QuickBooksSandbox, api: httpx.Client) -> None:
    class_id = sandbox.add_class("Implementation")
    sandbox.add_class("Old practice", active=False)
    department_id = sandbox.add_department("Austin")
    read = api.get(f"{BASE}/class/{class_id}", params={"minorversion": "75"}).json()["Class"]
    assert (read["Name"], read["Active"], read["SubClass"]) == ("Implementation", True, False)
    assert api.get(f"{BASE}/department/{department_id}").json()["Department"]["Name"] == "Austin"
    assert api.get(f"{BASE}/class/42").json()["Fault"]["Error"][0]["code"] == "610"
    assert [row["Name"] for row in query(api, "select * from Class")["Class"]] == ["Implementation"]
    both = query(api, "select * from Class where Active IN (true, false)")["Class"]
    assert [row["Name"] for row in both] == ["Implementation", "Old practice"]
    # A fixed test statement with a sandbox-made id, not user input.
    by_id = query(api, f"select * from Department where Id = '{department_id}'")["Department"]  # noqa: S608
    assert [row["Id"] for row in by_id] == [department_id]


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_a_merge_and_a_void_are_sent_as_intuit_documents_them(
    sandbox: QuickBooksSandbox, api: httpx.Client, fmt: str
) -> None:
    from shared.connectors.quickbooks.webhooks import parse_notices
    from shared.domain.notices import Operation

    sandbox.webhook_format = fmt  # type: ignore[assignment]
    survivor, merged = (
        create(api, "Keep Me").json()["Customer"]["Id"],
        create(api, "Merge Me").json()["Customer"]["Id"],
    )
    seen: list[bytes] = []

    def hub(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200)

    sandbox.subscribe("http://hub/webhooks/quickbooks", transport=httpx.MockTransport(hub))
    sandbox.deliver_pending()
    # when the bookkeeper merges one customer into the other and voids an invoice
    sandbox.merge_customers(survivor, merged)
    sandbox.void("Invoice", "130")
    assert sandbox.deliver_pending() == 2
    document = json.loads(seen[-1])
    # then the merge names the survivor and the merged-away id, in that format's own field
    # https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
    if fmt == "legacy":
        entities = document["eventNotifications"][0]["dataChangeEvent"]["entities"]
        assert [(e["name"], e["operation"], e["id"], e.get("deletedId")) for e in entities] == [
            ("Customer", "Merge", survivor, merged),
            ("Invoice", "Void", "130", None),
        ]
    else:
        assert [e["type"] for e in document] == ["qbo.customer.merged.v1", "qbo.invoice.voided.v1"]
        assert document[0]["datacontenttype"] == "application/json"
        assert document[0]["data"] == {"deletedid": merged}
        assert "data" not in document[1]  # events without a data object carry none
    # and the hub reads a merge and a void (invoices are billing notices now)
    notice, void = parse_notices(seen[-1])
    assert (notice.operation, notice.record_id, notice.merged_away_id) == (Operation.MERGED, survivor, merged)
    assert (void.operation, void.record_id) == (Operation.VOIDED, "130")
    # and the merged-away customer is gone
    response = api.get(f"{BASE}/customer/{merged}", params={"minorversion": "75"})
    assert response.status_code == 400 and "610" in response.text
