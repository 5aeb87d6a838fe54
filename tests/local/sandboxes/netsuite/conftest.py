"""A NetSuite sandbox, and an httpx client that talks to it as a user's own M2M client would."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest

from infra.local.sandboxes.netsuite import ASSERTION_TYPE, NetSuiteSandbox
from tests.fakes import HandClock

ACCOUNT = "TSTDRV1234567"
BASE = "https://tstdrv1234567.suitetalk.api.netsuite.com"
RECORDS = "/services/rest/record/v1"
SUITEQL = "/services/rest/query/v1/suiteql"


@pytest.fixture
def clock() -> HandClock:
    return HandClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def netsuite(clock: HandClock) -> NetSuiteSandbox:
    return NetSuiteSandbox(ACCOUNT, clock=clock)


def assertion(connection: dict[str, Any], clock: HandClock, **claims: Any) -> str:
    """A client assertion as Oracle's JWT structure page describes it, signed with the key's PEM.

    Keyword arguments override claims; `kid` and `alg` override the header (None drops a claim).
    """
    kid = claims.pop("kid", connection["certificate_id"])
    alg = claims.pop("alg", connection["algorithm"])
    key = claims.pop("key", connection["private_key_pem"])
    now = int(clock().timestamp())
    payload = {
        "iss": connection["client_id"],
        "scope": ["restlets", "rest_webservices"],
        "aud": connection["token_url"],
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT"})


def token_request(http: httpx.Client, signed: str, **form: str) -> httpx.Response:
    """POST the token endpoint with the client credentials form."""
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
    }
    data.update(form)
    return http.post("/services/rest/auth/oauth2/v1/token", data=data)


@pytest.fixture
def http(netsuite: NetSuiteSandbox) -> httpx.Client:
    """A client without a token."""
    return httpx.Client(transport=httpx.WSGITransport(app=netsuite.app), base_url=BASE)


def login(http: httpx.Client, netsuite: NetSuiteSandbox, clock: HandClock) -> httpx.Client:
    """Buy a bearer token of the default integration and send it from now on (a token lives 60 min)."""
    answer = token_request(http, assertion(netsuite.connection(BASE), clock))
    assert answer.status_code == 200, answer.text
    http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return http


@pytest.fixture
def api(netsuite: NetSuiteSandbox, http: httpx.Client, clock: HandClock) -> httpx.Client:
    """A client holding a bearer token of the default integration."""
    return login(http, netsuite, clock)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The first error detail of a NetSuite error body."""
    first: dict[str, Any] = response.json()["o:errorDetails"][0]
    return first


def created_id(response: httpx.Response) -> str:
    """The internal id a create's Location names."""
    assert response.status_code == 204, response.text
    return response.headers["Location"].rsplit("/", 1)[-1]


Create = Callable[[str, dict[str, Any]], str]


@pytest.fixture
def create(api: httpx.Client) -> Create:
    """POST a record and return its internal id."""

    def send(record_type: str, body: dict[str, Any]) -> str:
        return created_id(api.post(f"{RECORDS}/{record_type}", json=body))

    return send


def suiteql(api: httpx.Client, q: str, **params: Any) -> httpx.Response:
    """POST a SuiteQL statement as a client does (Prefer: transient)."""
    return api.post(SUITEQL, json={"q": q}, params=params, headers={"Prefer": "transient"})
