"""The Salesforce sandbox speaks the documented REST protocol: what a client sees on the wire."""

from __future__ import annotations

import itertools
from datetime import timedelta

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox, to_18
from tests.local.sandboxes.salesforce.docs_client import Clock

BASE = "https://sandbox.my.salesforce.test"
DATA = "/services/data/v62.0"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> SalesforceSandbox:
    return SalesforceSandbox(client_id="app", client_secret="secret", clock=clock)


@pytest.fixture
def http(sandbox: SalesforceSandbox) -> httpx.Client:
    return httpx.Client(base_url=BASE, transport=httpx.WSGITransport(app=sandbox))


def login(http: httpx.Client, secret: str = "secret") -> httpx.Response:  # noqa: S107
    return http.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "app", "client_secret": secret},
    )


@pytest.fixture
def authed(http: httpx.Client) -> httpx.Client:
    http.headers["Authorization"] = f"Bearer {login(http).json()['access_token']}"
    return http


def test_client_credentials_give_a_bearer_token_and_the_instance_url(http: httpx.Client):
    body = login(http).json()
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == BASE
    assert body["access_token"]


def test_wrong_client_credentials_are_invalid_client(http: httpx.Client):
    response = login(http, secret="nope")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_no_or_expired_token_is_401_invalid_session_id(
    http: httpx.Client, authed: httpx.Client, clock: Clock
):
    assert (
        httpx.Client(base_url=BASE, transport=http._transport)
        .get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"})
        .status_code
        == 401
    )
    clock.now += timedelta(hours=3)
    response = authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"})
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_accounts_get_18_character_ids_with_the_account_prefix(sandbox: SalesforceSandbox):
    account_id = sandbox.put_account({"Name": "Contoso"})
    assert account_id.startswith("001") and len(account_id) == 18
    assert account_id == to_18(account_id[:15])
    assert sandbox.account(account_id[:15])["Id"] == account_id


def test_create_read_and_update_an_account_over_rest(
    authed: httpx.Client, sandbox: SalesforceSandbox, clock: Clock
):
    created = authed.post(f"{DATA}/sobjects/Account", json={"Name": "Contoso", "Phone": "+1 555 0100"})
    assert created.status_code == 201 and created.json()["success"] is True
    account_id = created.json()["id"]
    clock.now += timedelta(minutes=1)
    assert (
        authed.patch(f"{DATA}/sobjects/Account/{account_id}", json={"Phone": "+1 555 0199"}).status_code
        == 204
    )
    record = authed.get(f"{DATA}/sobjects/Account/{account_id}").json()
    assert record["Phone"] == "+1 555 0199"
    assert record["attributes"]["type"] == "Account"
    assert record["LastModifiedDate"] == "2025-03-03T09:01:00.000+0000"
    assert record["CreatedDate"] == "2025-03-03T09:00:00.000+0000"
    # API writes fire the outbound message rule too (create + edit)
    assert len(sandbox.pending_notifications) == 2


def test_errors_are_json_arrays_with_error_codes(authed: httpx.Client):
    missing = authed.get(f"{DATA}/sobjects/Account/001D000000IRFmaIAH")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
    bad_field = authed.patch(f"{DATA}/sobjects/Account/001D000000IRFmaIAH", json={"Nmae": "x"})
    assert bad_field.status_code == 404  # the record is looked up first
    no_name = authed.post(f"{DATA}/sobjects/Account", json={"Phone": "1"})
    assert no_name.status_code == 400
    assert no_name.json() == [
        {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        }
    ]
    unknown = authed.post(f"{DATA}/sobjects/Account", json={"Name": "x", "Nmae": "x"})
    assert unknown.json()[0]["errorCode"] == "INVALID_FIELD"
    read_only = authed.post(f"{DATA}/sobjects/Account", json={"Name": "x", "SystemModstamp": "x"})
    assert read_only.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    malformed = authed.get(f"{DATA}/query", params={"q": "SELEKT Id FROM Account"})
    assert malformed.status_code == 400 and malformed.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_every_response_reports_api_usage(authed: httpx.Client):
    authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"})
    response = authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"})
    assert response.headers["Sforce-Limit-Info"] == "api-usage=2/15000"


def test_the_daily_allocation_refuses_with_403_and_recovers_after_24_hours(
    authed: httpx.Client, sandbox: SalesforceSandbox, clock: Clock
):
    sandbox.set_api_limit(1)
    assert authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"}).status_code == 200
    refused = authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"})
    assert refused.status_code == 403
    assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    clock.now += timedelta(hours=24, seconds=1)
    authed.headers["Authorization"] = f"Bearer {login(authed).json()['access_token']}"
    assert authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"}).status_code == 200


def test_queries_page_through_next_records_url(authed: httpx.Client, clock: Clock):
    sandbox = SalesforceSandbox(client_id="app", client_secret="secret", clock=clock, page_size=2)
    client = httpx.Client(base_url=BASE, transport=httpx.WSGITransport(app=sandbox))
    client.headers["Authorization"] = f"Bearer {login(client).json()['access_token']}"
    for number in range(5):
        sandbox.put_account({"Name": f"Client {number}"})
    page = client.get(f"{DATA}/query", params={"q": "SELECT Id, Name FROM Account ORDER BY Name"}).json()
    names = [r["Name"] for r in page["records"]]
    assert page["totalSize"] == 5 and page["done"] is False
    while not page["done"]:
        page = client.get(page["nextRecordsUrl"]).json()
        names += [r["Name"] for r in page["records"]]
    assert names == [f"Client {n}" for n in range(5)]
    assert "nextRecordsUrl" not in page


def test_the_batch_size_header_is_honoured_within_200_to_2000(
    authed: httpx.Client, sandbox: SalesforceSandbox
):
    for number in range(250):
        sandbox.put_account({"Name": f"Client {number}"})
    page = authed.get(
        f"{DATA}/query",
        params={"q": "SELECT Id FROM Account"},
        headers={"Sforce-Query-Options": "batchSize=10"},  # below the minimum: 200 are returned
    ).json()
    assert len(page["records"]) == 200 and page["totalSize"] == 250


def test_where_filters_on_datetimes_and_text(authed: httpx.Client, sandbox: SalesforceSandbox, clock: Clock):
    sandbox.put_account({"Name": "Early"})
    clock.now += timedelta(hours=1)
    sandbox.put_account({"Name": "Late"})
    since = authed.get(
        f"{DATA}/query", params={"q": "SELECT Name FROM Account WHERE SystemModstamp > 2025-03-03T09:30:00Z"}
    ).json()
    assert [r["Name"] for r in since["records"]] == ["Late"]
    like = authed.get(f"{DATA}/query", params={"q": "SELECT Name FROM Account WHERE Name LIKE 'Ea%'"}).json()
    assert [r["Name"] for r in like["records"]] == ["Early"]


def test_injected_faults_answer_the_given_status(authed: httpx.Client, sandbox: SalesforceSandbox):
    sandbox.fail_next(1, 503)
    assert authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"}).status_code == 503
    assert authed.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"}).status_code == 200


def test_outbound_notifications_have_unique_04l_ids_and_wait_for_an_ack(sandbox: SalesforceSandbox):
    account_id = sandbox.put_account({"Name": "Contoso"})
    sandbox.put_account({"Phone": "1"}, account_id=account_id)
    ids = [p.notification_id for p in sandbox.pending_notifications]
    assert len(set(ids)) == 2 and all(i.startswith("04l") and len(i) == 18 for i in ids)
    # a listener that answers 200 without a SOAP Ack does not count as delivered
    sandbox.subscribe(
        "https://hub.test/om", token="t", transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    assert sandbox.deliver_pending() == 0
    assert len(sandbox.pending_notifications) == 2
    assert sandbox.delivery_attempts[-1].acknowledged is False


def test_the_message_is_the_documented_soap_shape(sandbox: SalesforceSandbox):
    seen: list[httpx.Request] = []

    def listener(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            text='<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
            "</notificationsResponse></soapenv:Body></soapenv:Envelope>",
        )

    sandbox.put_account({"Name": "Contoso & Co"})
    sandbox.subscribe("https://hub.test/om", token="t0k", transport=httpx.MockTransport(listener))
    assert sandbox.deliver_pending() == 1
    [request] = seen
    assert request.url.params["token"] == "t0k"
    assert request.headers["content-type"].startswith("text/xml")
    body = request.content.decode()
    assert '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">' in body
    assert f"<OrganizationId>{sandbox.organization_id}</OrganizationId>" in body
    assert 'xsi:type="sf:Account"' in body
    assert "<sf:Name>Contoso &amp; Co</sf:Name>" in body


def test_undelivered_notifications_are_dropped_after_24_hours(sandbox: SalesforceSandbox, clock: Clock):
    sandbox.put_account({"Name": "Contoso"})
    sandbox.subscribe(
        "https://hub.test/om", token="t", transport=httpx.MockTransport(lambda r: httpx.Response(500))
    )
    clock.now += timedelta(hours=24, minutes=1)
    assert sandbox.deliver_pending() == 0
    assert sandbox.pending_notifications == []
    assert len(sandbox.dropped_notifications) == 1


def test_a_spent_allocation_answers_the_documented_body_and_calls_roll_out_after_24_hours(
    authed: httpx.Client, sandbox: SalesforceSandbox, clock: Clock
):
    query = {"q": "SELECT Id FROM Account"}
    # given an org allowed 3 calls a day: /limits and the header tell the same usage
    sandbox.set_api_limit(3)
    limits = authed.get(f"{DATA}/limits")
    assert limits.headers["Sforce-Limit-Info"] == "api-usage=1/3"
    assert limits.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}
    clock.now += timedelta(hours=1)
    authed.headers["Authorization"] = f"Bearer {login(authed).json()['access_token']}"
    assert authed.get(f"{DATA}/query", params=query).status_code == 200
    assert authed.get(f"{DATA}/query", params=query).status_code == 200
    # when one more is made, it is refused with Salesforce's body, and not counted
    refused = authed.get(f"{DATA}/query", params=query)
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    # then 24 hours after the first call only that call has rolled out: one more is served
    clock.now += timedelta(hours=23, seconds=1)
    authed.headers["Authorization"] = f"Bearer {login(authed).json()['access_token']}"
    served = authed.get(f"{DATA}/limits")
    assert served.status_code == 200 and served.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 0}
    assert authed.get(f"{DATA}/query", params=query).status_code == 403


def test_a_refused_message_is_retried_with_growing_waits_up_to_two_hours_then_dropped_at_24_hours(
    sandbox: SalesforceSandbox, clock: Clock
):
    # given a listener that is down for good
    tries: list[timedelta] = []
    start = clock.now

    def down(request: httpx.Request) -> httpx.Response:
        tries.append(clock.now - start)
        return httpx.Response(503)

    sandbox.subscribe("https://hub.test/om", token="t", transport=httpx.MockTransport(down))
    sandbox.put_account({"Name": "Contoso"})
    # when a day and more passes, Salesforce's delivery process running all along
    while clock.now - start < timedelta(hours=25):
        sandbox.deliver_pending()
        clock.now += timedelta(seconds=1) if clock.now - start < timedelta(hours=1) else timedelta(minutes=1)
    # then each wait doubles from 5 s, never more than two hours apart, none past 24 hours
    waits = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(tries)]
    assert waits[:5] == [5, 10, 20, 40, 80]
    assert all(a <= b for a, b in itertools.pairwise(waits))
    assert 7200 <= max(waits) <= 7260
    assert tries[-1] < timedelta(hours=24)
    # and the notification is dropped from the queue
    assert sandbox.pending_notifications == []
    assert len(sandbox.dropped_notifications) == 1


def test_a_message_waiting_for_its_retry_does_not_hold_back_later_ones(
    sandbox: SalesforceSandbox, clock: Clock
):
    refused: set[str] = {"Contoso"}

    def listener(request: httpx.Request) -> httpx.Response:
        if any(name in request.content.decode() for name in refused):
            return httpx.Response(503)
        return httpx.Response(
            200,
            text='<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
            "</notificationsResponse></soapenv:Body></soapenv:Envelope>",
        )

    sandbox.subscribe("https://hub.test/om", token="t", transport=httpx.MockTransport(listener))
    # given a message the listener refused
    sandbox.put_account({"Name": "Contoso"})
    assert sandbox.deliver_pending() == 0
    # when a later change is queued, it goes out at once ("retried independent of their order")
    sandbox.put_opportunity({"Name": "Fabrikam deal", "StageName": "Prospecting", "CloseDate": "2025-06-30"})
    assert sandbox.deliver_pending() == 1
    # and the refused one goes once its wait is over and the listener takes it
    refused.clear()
    assert sandbox.deliver_pending() == 0
    clock.now += timedelta(seconds=5)
    assert sandbox.deliver_pending() == 1
    assert sandbox.pending_notifications == []


# --- opportunities -------------------------------------------------------------------------------


def _opportunity(sandbox: SalesforceSandbox) -> str:
    account_id = sandbox.put_account({"Name": "Fabrikam"})
    return sandbox.put_opportunity(
        {
            "Name": "Rollout",
            "AccountId": account_id,
            "StageName": "Prospecting",
            "CloseDate": "2025-04-30",
            "CurrencyIsoCode": "EUR",
            "Service_Line__c": "Advisory",
        },
        line_items=[{"Product": "Consultant", "Quantity": 10, "UnitPrice": "99.95"}],
    )


def test_an_opportunity_without_its_required_fields_is_refused_with_the_field_list(authed: httpx.Client):
    response = authed.post(f"{DATA}/sobjects/Opportunity", json={"Name": "No stage"})
    assert response.status_code == 400
    assert response.json() == [
        {
            "message": "Required fields are missing: [StageName, CloseDate]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["StageName", "CloseDate"],
        }
    ]


def test_a_stage_outside_the_picklist_is_refused(authed: httpx.Client):
    body = {"Name": "X", "StageName": "Won-ish", "CloseDate": "2025-04-30"}
    [error] = authed.post(f"{DATA}/sobjects/Opportunity", json=body).json()
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["StageName"]


def test_the_line_item_subquery_returns_a_nested_result_with_json_numbers(
    sandbox: SalesforceSandbox, authed: httpx.Client
):
    opportunity_id = _opportunity(sandbox)
    soql = (
        "SELECT Id, Amount, IsWon, (SELECT Quantity, UnitPrice, Product2.Name FROM OpportunityLineItems "  # noqa: S608 - a sandbox id, not user input
        f"ORDER BY SortOrder) FROM Opportunity WHERE Id = '{opportunity_id[:15]}'"
    )
    response = authed.get(f"{DATA}/query", params={"q": soql})
    assert '"Amount": 999.50' in response.text
    [row] = response.json()["records"]
    children = row["OpportunityLineItems"]
    assert children["totalSize"] == 1 and children["done"] is True
    [line] = children["records"]
    assert line["Product2"]["Name"] == "Consultant"
    assert line["attributes"]["type"] == "OpportunityLineItem"


def test_a_price_book_entry_in_another_currency_cannot_be_added(
    sandbox: SalesforceSandbox, authed: httpx.Client
):
    opportunity_id = _opportunity(sandbox)
    usd_deal = sandbox.put_opportunity(
        {"Name": "USD deal", "StageName": "Prospecting", "CloseDate": "2025-04-30", "CurrencyIsoCode": "USD"},
        line_items=[{"Product": "Trainer", "Quantity": 1, "UnitPrice": 10}],
    )
    usd_entry = sandbox.opportunity(usd_deal)["OpportunityLineItems"][0]["PricebookEntryId"]
    body = {"OpportunityId": opportunity_id, "PricebookEntryId": usd_entry, "Quantity": 1, "UnitPrice": 10}
    [error] = authed.post(f"{DATA}/sobjects/OpportunityLineItem", json=body).json()
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_external_id_upsert_creates_then_updates_and_update_only_never_creates(authed: httpx.Client):
    url = f"{DATA}/sobjects/Opportunity/C2C_External_Id__c/deal-1"
    body = {"Name": "By key", "StageName": "Prospecting", "CloseDate": "2025-04-30"}
    created = authed.patch(url, json=body)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = authed.patch(url, json={"StageName": "Closed Won"})
    assert updated.status_code == 200 and updated.json()["id"] == created.json()["id"]
    assert authed.get(url).json()["IsWon"] is True
    missing = authed.patch(
        f"{DATA}/sobjects/Opportunity/C2C_External_Id__c/deal-2?updateOnly=true", json=body
    )
    assert missing.status_code == 404


def test_close_won_and_reopen_move_is_closed_and_is_won(sandbox: SalesforceSandbox, clock: Clock):
    opportunity_id = _opportunity(sandbox)
    sandbox.close_won(opportunity_id)
    won = sandbox.opportunity(opportunity_id)
    assert (won["IsClosed"], won["IsWon"]) == (True, True)
    clock.now += timedelta(hours=1)
    sandbox.reopen(opportunity_id)
    reopened = sandbox.opportunity(opportunity_id)
    assert (reopened["IsClosed"], reopened["IsWon"]) == (False, False)
    assert reopened["SystemModstamp"] != won["SystemModstamp"]
