"""A QuickBooks sandbox and an httpx client that talks to it as a user's own client would."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from tests.fakes import HandClock

REALM = "4620816365"
BASE = f"/v3/company/{REALM}"


Clock = HandClock


class Receiver:
    """A webhook endpoint that keeps every body it is sent and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        self.bodies.append(json.loads(environ["wsgi.input"].read(size)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]


@pytest.fixture
def clock() -> Clock:
    return HandClock(datetime(2026, 11, 20, 17, 0, tzinfo=UTC))


@pytest.fixture
def qbo(clock: Clock) -> QuickBooksSandbox:
    sandbox = QuickBooksSandbox(REALM, "cid", "csecret", "rt-0", "verifier", clock=clock)
    sandbox.set_rate_limit(False)
    return sandbox


@pytest.fixture
def api(qbo: QuickBooksSandbox) -> httpx.Client:
    client = httpx.Client(transport=httpx.WSGITransport(app=qbo), base_url="http://qbo")
    basic = base64.b64encode(b"cid:csecret").decode()
    tokens = client.post(
        "/oauth2/v1/tokens/bearer",
        content="grant_type=refresh_token&refresh_token=rt-0",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    client.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    client.params = httpx.QueryParams({"minorversion": "75"})
    return client


Post = Callable[..., httpx.Response]


@pytest.fixture
def post(api: httpx.Client) -> Post:
    """POST a JSON body to a resource of the company (`post("customer", {...}, operation="delete")`)."""

    def send(resource: str, body: Any, **params: str) -> httpx.Response:
        return api.post(f"{BASE}/{resource}", params=params, json=body)

    return send


def query(api: httpx.Client, statement: str) -> httpx.Response:
    """GET /query?query=statement."""
    return api.get(f"{BASE}/query", params={"query": statement})


def error(response: httpx.Response) -> dict[str, Any]:
    """The first Error of a Fault answer."""
    first: dict[str, Any] = response.json()["Fault"]["Error"][0]
    return first


def seed_invoice(post: Post, customer: str = "Acme Corp") -> dict[str, Any]:
    """A customer, a service item and one invoice for 3 hours at 150: the invoice as QBO answered it."""
    customer_id = post("customer", {"DisplayName": customer}).json()["Customer"]["Id"]
    item = post(
        "item", {"Name": f"Consulting {customer}", "Type": "Service", "IncomeAccountRef": {"value": "79"}}
    )
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 450.0,
        "SalesItemLineDetail": {"ItemRef": {"value": item.json()["Item"]["Id"]}, "Qty": 3, "UnitPrice": 150},
    }
    answer = post("invoice", {"CustomerRef": {"value": customer_id}, "Line": [line]})
    assert answer.status_code == 200, answer.text
    invoice: dict[str, Any] = answer.json()["Invoice"]
    return invoice


def time_refs(qbo: QuickBooksSandbox, post: Post) -> dict[str, str]:
    """An employee, a customer and a service item to log time against."""
    customer = post("customer", {"DisplayName": "Acme Corp"}).json()["Customer"]["Id"]
    item = post("item", {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "79"}})
    return {
        "employee": qbo.add_employee("Emily Platt"),
        "customer": customer,
        "item": item.json()["Item"]["Id"],
    }
