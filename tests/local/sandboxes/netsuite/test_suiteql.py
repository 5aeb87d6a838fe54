"""SuiteQL over REST: the answer's shape, paging, date filters on lastmodifieddate, and refusals.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
"""

from __future__ import annotations

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.fakes import HandClock
from tests.local.sandboxes.netsuite.conftest import BASE, SUITEQL, Create, error_of, login, suiteql


def _names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["companyname"] for item in answer.json()["items"]]


def test_the_answer_carries_items_with_lowercase_columns_and_paging_fields(
    api: httpx.Client, create: Create
) -> None:
    customer = create("customer", {"companyName": "Acme Corp", "email": "ap@acme.example"})
    answer = suiteql(api, "SELECT id, companyName, email, isInactive FROM customer")
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 1
    assert body["hasMore"] is False
    assert body["offset"] == 0
    assert body["totalResults"] == 1
    assert body["links"] == [{"rel": "self", "href": f"{BASE}{SUITEQL}?limit=1000&offset=0"}]
    # values come back as text, check boxes as T / F, the columns in lower case
    assert body["items"] == [
        {
            "links": [],
            "id": customer,
            "companyname": "Acme Corp",
            "email": "ap@acme.example",
            "isinactive": "F",
        }
    ]


def test_a_null_column_is_left_out_of_the_item(api: httpx.Client, create: Create) -> None:
    create("customer", {"companyName": "Acme Corp"})
    item = suiteql(api, "SELECT companyname, email FROM customer").json()["items"][0]
    assert item == {"links": [], "companyname": "Acme Corp"}


def test_pages_follow_limit_and_offset_with_next_links(api: httpx.Client, create: Create) -> None:
    for n in range(5):
        create("customer", {"companyName": f"Customer {n}"})
    statement = "SELECT companyname FROM customer ORDER BY id"
    first = suiteql(api, statement, limit=2)
    body = first.json()
    assert (body["count"], body["hasMore"], body["totalResults"]) == (2, True, 5)
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["next"] == f"{BASE}{SUITEQL}?limit=2&offset=2"
    assert rels["last"] == f"{BASE}{SUITEQL}?limit=2&offset=4"
    last = suiteql(api, statement, limit=2, offset=4).json()
    assert last["hasMore"] is False
    assert [item["companyname"] for item in last["items"]] == ["Customer 4"]


def test_a_limit_over_1000_is_refused(api: httpx.Client) -> None:
    answer = suiteql(api, "SELECT id FROM customer", limit=1001)
    assert answer.status_code == 400
    assert error_of(answer)["o:errorQueryParam"] == "limit"


def test_the_prefer_transient_header_is_required(api: httpx.Client) -> None:
    answer = api.post(SUITEQL, json={"q": "SELECT id FROM customer"})
    assert answer.status_code == 400
    assert error_of(answer)["o:errorHeader"] == "Prefer"


def test_a_sweep_on_lastmodifieddate_sees_only_later_changes(
    api: httpx.Client, create: Create, clock: HandClock
) -> None:
    # given one customer changed at 09:00 and another at 09:50
    create("customer", {"companyName": "Early"})
    clock.advance(minutes=50)
    late = create("customer", {"companyName": "Late"})
    # when the hub sweeps for changes since 09:30 in each documented date form
    for condition in (
        "lastmodifieddate > TO_TIMESTAMP('2026-12-01 09:30:00', 'YYYY-MM-DD HH24:MI:SS')",
        "lastmodifieddate > TO_DATE('2026-12-01 09:30', 'YYYY-MM-DD HH24:MI')",
        "lastmodifieddate >= TIMESTAMP '2026-12-01 09:30:00'",
        """lastmodifieddate > TO_TIMESTAMP('2026-12-01T09:30:00', 'YYYY-MM-DD"T"HH24:MI:SS')""",
    ):
        # then only the later change comes back
        statement = f"SELECT companyname FROM customer WHERE {condition}"  # noqa: S608 - the test's own text
        assert _names(suiteql(api, statement)) == ["Late"], condition
    # a whole-day filter in the user's date format takes both
    whole_day = "SELECT companyname FROM customer WHERE lastmodifieddate >= '12/1/2026' ORDER BY id"
    assert _names(suiteql(api, whole_day)) == ["Early", "Late"]
    # the change time reads back with TO_CHAR (a plain date column shows the day only)
    columns = "lastmodifieddate, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS at"
    read = suiteql(api, f"SELECT {columns} FROM customer WHERE id = {late}").json()["items"][0]  # noqa: S608
    assert read["lastmodifieddate"] == "12/1/2026"
    assert read["at"] == "2026-12-01 09:50:00"


def test_where_combines_and_or_in_like_and_null(api: httpx.Client, create: Create) -> None:
    create("customer", {"companyName": "Acme Corp", "email": "a@acme.example"})
    create("customer", {"companyName": "Acme Labs"})
    create("customer", {"companyName": "Globex", "email": "g@globex.example"})
    assert _names(
        suiteql(api, "SELECT companyname FROM customer WHERE companyname LIKE 'Acme%' AND email IS NULL")
    ) == ["Acme Labs"]
    either = (
        "SELECT companyname FROM customer WHERE companyname = 'Globex' OR email LIKE '%acme%' "
        "ORDER BY companyname"
    )
    assert _names(suiteql(api, either)) == ["Acme Corp", "Globex"]
    listed = "SELECT companyname FROM customer WHERE companyname IN ('Globex', 'Nope') "
    assert _names(suiteql(api, listed)) == ["Globex"]


def test_order_by_descending_and_star(api: httpx.Client, create: Create) -> None:
    create("customer", {"companyName": "B", "externalId": "X-1"})
    create("customer", {"companyName": "A"})
    assert _names(suiteql(api, "SELECT companyname FROM customer ORDER BY companyname DESC")) == ["B", "A"]
    starred = suiteql(api, "SELECT * FROM customer WHERE externalid = 'X-1'").json()["items"][0]
    assert starred["companyname"] == "B"
    assert starred["externalid"] == "X-1"
    assert starred["subsidiary"] == "1"


def test_unknown_table_or_column_is_the_documented_400(api: httpx.Client) -> None:
    for statement, named in (
        ("SELECT id FROM spaceship", "spaceship"),
        ("SELECT nickname FROM customer", "nickname"),
        ("SELECT id FROM customer WHERE nickname = 'x'", "nickname"),
        ("SELECT id FROM customer ORDER BY nickname", "nickname"),
    ):
        answer = suiteql(api, statement)
        assert answer.status_code == 400, statement
        body = answer.json()
        assert (body["type"], body["title"], body["status"]) == (
            "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
            "Bad Request",
            400,
        )
        assert error_of(answer)["o:errorCode"] == "INVALID_PARAMETER"
        assert error_of(answer)["detail"].startswith("Invalid search query.")
        assert error_of(answer)["o:errorQueryParam"] == "q"
        assert named in error_of(answer)["detail"]
    # an unknown column names the statement's identifiers, as NetSuite does
    unknown = suiteql(api, "SELECT c.nickname FROM customer c")
    assert error_of(unknown)["detail"].endswith(
        "Unknown identifier 'nickname'. Available identifiers are: {c=customer}."
    )


def test_a_statement_outside_the_grammar_is_refused(api: httpx.Client) -> None:
    answer = suiteql(api, "SELECT id FROM customer JOIN job ON job.parent = customer.id")
    assert answer.status_code == 400
    assert error_of(answer)["o:errorCode"] == "INVALID_PARAMETER"
    assert suiteql(api, "").status_code == 400


def test_a_ui_edit_is_seen_by_the_next_sweep(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create, clock: HandClock
) -> None:
    # given a customer the hub created at 09:00
    customer = create("customer", {"companyName": "Acme Corp"})
    # when an accountant edits it in the UI at 09:20
    clock.advance(minutes=20)
    netsuite.edit("customer", customer, {"phone": "555-0100"})
    # then a sweep since 09:10 finds it, with the new value
    rows = suiteql(
        api,
        "SELECT id, phone FROM customer WHERE lastmodifieddate > "
        "TO_TIMESTAMP('2026-12-01 09:10:00', 'YYYY-MM-DD HH24:MI:SS')",
    ).json()["items"]
    assert rows == [{"links": [], "id": customer, "phone": "555-0100"}]


def test_not_in_between_and_relative_dates(
    api: httpx.Client, netsuite: NetSuiteSandbox, create: Create, clock: HandClock
) -> None:
    first = create("customer", {"companyName": "One"})
    create("customer", {"companyName": "Two"})
    assert _names(suiteql(api, f"SELECT companyname FROM customer WHERE id NOT IN ({first})")) == ["Two"]  # noqa: S608
    between = (
        "SELECT companyname FROM customer WHERE datecreated BETWEEN DATE '2026-12-01' AND "
        "TO_DATE('2026-12-02', 'YYYY-MM-DD') ORDER BY id"
    )
    assert _names(suiteql(api, between)) == ["One", "Two"]
    # a week later (with a new token), "changed in the last day" is empty, "in the last 8 days" is not
    clock.advance(days=7)
    login(api, netsuite, clock)
    recent = "SELECT companyname FROM customer WHERE lastmodifieddate > SYSDATE - {days} ORDER BY id"
    assert _names(suiteql(api, recent.format(days=1))) == []
    assert _names(suiteql(api, recent.format(days=8))) == ["One", "Two"]


def test_nulls_sort_last_ascending_and_first_descending(api: httpx.Client, create: Create) -> None:
    create("customer", {"companyName": "With", "email": "a@x.example"})
    create("customer", {"companyName": "Without"})
    assert _names(suiteql(api, "SELECT companyname FROM customer ORDER BY email")) == ["With", "Without"]
    assert _names(suiteql(api, "SELECT companyname FROM customer ORDER BY email DESC")) == ["Without", "With"]


def test_projects_are_the_job_table_with_their_customer(api: httpx.Client, create: Create) -> None:
    customer = create("customer", {"companyName": "Acme Corp"})
    project = create("job", {"companyName": "Rollout", "parent": {"id": customer}, "externalId": "OPP-7"})
    rows = suiteql(
        api, "SELECT id, customer, BUILTIN.DF(parent) AS client FROM job WHERE externalid = 'OPP-7'"
    )
    assert rows.json()["items"] == [{"links": [], "id": project, "customer": customer, "client": "Acme Corp"}]
    # projects are not customers in SuiteQL's customer table
    assert _names(suiteql(api, "SELECT companyname FROM customer")) == ["Acme Corp"]


def test_a_column_not_grouped_is_refused(api: httpx.Client) -> None:
    answer = suiteql(api, "SELECT entity, tranid, COUNT(*) FROM transaction GROUP BY entity")
    assert answer.status_code == 400
    assert "GROUP BY" in error_of(answer)["detail"]


def test_a_function_of_an_aggregate_reads_the_latest_change(
    api: httpx.Client, create: Create, clock: HandClock
) -> None:
    create("customer", {"companyName": "One"})
    clock.advance(minutes=7)
    create("customer", {"companyName": "Two"})
    latest = "SELECT TO_CHAR(MAX(lastmodifieddate), 'YYYY-MM-DD HH24:MI:SS') AS latest FROM customer"
    assert suiteql(api, latest).json()["items"] == [{"links": [], "latest": "2026-12-01 09:07:00"}]
