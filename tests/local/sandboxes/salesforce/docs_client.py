"""A Salesforce REST client as a user would write it from Salesforce's documentation, nothing more.

It knows the documented paths and bodies only (no sandbox internals), so a test that drives the
sandbox through it checks what a real client would see.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_rest.htm
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import httpx

from infra.local.sandboxes.salesforce import SalesforceSandbox

BASE = "https://acme.my.salesforce.test"
VERSION = "62.0"
CLIENT_ID = "3MVG9docs.client"
CLIENT_SECRET = "docs-secret"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def new_org(clock: Clock) -> SalesforceSandbox:
    return SalesforceSandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=clock)


def http_for(org: SalesforceSandbox) -> httpx.Client:
    return httpx.Client(base_url=BASE, transport=httpx.WSGITransport(app=org))


def token_with_basic(
    http: httpx.Client, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
) -> httpx.Response:
    """RFC 6749 §2.3.1: the client authenticates with HTTP Basic, the body carries the grant only."""
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return http.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {pair}"},
    )


def token_in_body(
    http: httpx.Client, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET
) -> httpx.Response:
    return http.post(
        "/services/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


class DocClient:
    """Bearer-authenticated calls to the data API at one version."""

    def __init__(self, http: httpx.Client, version: str = VERSION) -> None:
        self.http = http
        self.version = version
        self.http.headers["Authorization"] = f"Bearer {token_in_body(http).json()['access_token']}"

    def path(self, suffix: str) -> str:
        return f"/services/data/v{self.version}{suffix}"

    def get(self, suffix: str, **params: str) -> httpx.Response:
        return self.http.get(self.path(suffix), params=params)

    def query(self, soql: str) -> httpx.Response:
        return self.get("/query", q=soql)

    def rows(self, soql: str) -> list[dict[str, Any]]:
        response = self.query(soql)
        assert response.status_code == 200, response.text
        records: list[dict[str, Any]] = response.json()["records"]
        return records

    def create(self, sobject: str, fields: dict[str, Any]) -> httpx.Response:
        return self.http.post(self.path(f"/sobjects/{sobject}"), json=fields)

    def created_id(self, sobject: str, fields: dict[str, Any]) -> str:
        response = self.create(sobject, fields)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> httpx.Response:
        return self.http.patch(self.path(f"/sobjects/{sobject}/{record_id}"), json=fields)

    def post(self, suffix: str, body: Any) -> httpx.Response:
        return self.http.post(self.path(suffix), json=body)

    def patch(self, suffix: str, body: Any) -> httpx.Response:
        return self.http.patch(self.path(suffix), json=body)
