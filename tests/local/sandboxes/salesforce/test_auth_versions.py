"""OAuth client authentication and API versions, as a client written from the docs meets them."""

from __future__ import annotations

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from tests.local.sandboxes.salesforce.docs_client import (
    DocClient,
    http_for,
    token_in_body,
    token_with_basic,
)


@pytest.fixture
def http(org: SalesforceSandbox) -> httpx.Client:
    return http_for(org)


def test_a_client_authenticated_by_http_basic_gets_a_token_that_opens_the_data_api(http: httpx.Client):
    # Given a client that sends its id and secret as HTTP Basic (RFC 6749 §2.3.1)
    # When it asks for a token
    answer = token_with_basic(http)
    # Then the token works on the data API
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    query = http.get(
        "/services/data/v62.0/query",
        params={"q": "SELECT COUNT() FROM Account"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert query.status_code == 200


def test_wrong_credentials_get_salesforces_bodies_whichever_way_they_are_sent(http: httpx.Client):
    # Given an unknown client id, and a known id with a wrong secret, by Basic and in the body
    # Then the unknown id is invalid_client_id and the wrong secret invalid_client, both 400
    for send in (token_with_basic, token_in_body):
        unknown = send(http, client_id="nobody")
        assert unknown.status_code == 400
        assert unknown.json() == {
            "error": "invalid_client_id",
            "error_description": "client identifier invalid",
        }
        wrong = send(http, secret="wrong")
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "invalid_client", "error_description": "invalid client credentials"}


def test_the_versions_resource_lists_every_version_served_and_retired_ones_answer_410(http: httpx.Client):
    # When a client lists the versions
    versions = http.get("/services/data").json()
    # Then they run from 31.0 to the org's newest, each with its release name and URL
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(31, 63)]
    # And a request to a retired version is 410 GONE, one to an unknown version 404
    client = DocClient(http)
    client.version = "30.0"
    assert client.query("SELECT Id FROM Account").status_code == 410
    assert client.query("SELECT Id FROM Account").json()[0]["errorCode"] == "GONE"
    client.version = "99.0"
    assert client.query("SELECT Id FROM Account").status_code == 404


def test_record_urls_carry_the_version_of_the_request(http: httpx.Client):
    # Given an account
    client = DocClient(http)
    account_id = client.created_id("Account", {"Name": "Versioned"})
    # When it is read at an older version
    client.version = "58.0"
    record = client.get(f"/sobjects/Account/{account_id}").json()
    rows = client.rows("SELECT Id FROM Account")
    # Then its URLs name that version
    assert record["attributes"]["url"] == f"/services/data/v58.0/sobjects/Account/{account_id}"
    assert rows[0]["attributes"]["url"] == f"/services/data/v58.0/sobjects/Account/{account_id}"
