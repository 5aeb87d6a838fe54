"""Fixtures for the NetSuite connector tests: a certificate key, a connection, a scripted NetSuite."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local.clock import Clock
from infra.local.sandboxes.netsuite import NetSuiteSandbox
from shared.connectors.netsuite import NetSuiteConnector, build
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

ACCOUNT_ID = "1234567_SB1"
BASE_URL = "https://1234567-sb1.suitetalk.api.netsuite.com"
TOKEN_URL = BASE_URL + "/services/rest/auth/oauth2/v1/token"


@pytest.fixture
def clock() -> Clock:
    """A clock that fast-forwards through the connector's waits."""
    return Clock(fast_forward=True)


@pytest.fixture
def sandbox(clock: Clock) -> NetSuiteSandbox:
    """The in-process NetSuite account the connector talks to (tests mount it with WSGITransport)."""
    return NetSuiteSandbox("TSTDRV1234567", clock=clock.now)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def connection(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The connections secret's netsuite entry, as an operator would write it."""
    return {
        "account_id": ACCOUNT_ID,
        "client_id": "c2c-integration-client-id",
        "certificate_id": "cert-7f3a",
        "private_key_pem": pem(rsa_key),
        "subsidiary": "1",
        "currencies": {"USD": "1", "GBP": "2"},
        "concurrency_limit": 15,
    }


def make_account(crm_id: str = "001ACME", **changes: Any) -> Account:
    fields: dict[str, Any] = {
        "source": SourceRef(system=SystemName.SALESFORCE, type="account", id=crm_id, version="3"),
        "name": "Acme Consulting Ltd",
        "website": "https://acme.example",
        "phone": "+1 512 555 0100",
        "email": "ap@acme.example",
        "billing_address": PostalAddress(
            street="1 Congress Ave", city="Austin", region="TX", postal_code="78701", country="US"
        ),
        "currency": "USD",
    }
    fields.update(changes)
    return Account(**fields)


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class ScriptedNetSuite:
    """An httpx transport answering from a script: token requests, then the queued answers in order."""

    answers: list[httpx.Response | Handler] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    token_answer: httpx.Response | None = None
    token_number: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/oauth2/v1/token"):
            self.token_requests.append(parse_qs(request.content.decode()))
            if self.token_answer is not None:
                return self.token_answer
            self.token_number += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"token-{self.token_number}",
                    "expires_in": "3600",
                    "token_type": "bearer",
                },
            )
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def error(status: int, code: str, detail: str, **extra: str) -> httpx.Response:
    """An error answer shaped as Oracle documents it (type, title, status, o:errorDetails)."""
    titles = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
    body = {
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.1",
        "title": titles.get(status, "Error"),
        "status": status,
        "o:errorDetails": [{"detail": detail, "o:errorCode": code, **extra}],
    }
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )


class Sleeps:
    """A fake clock the connector sleeps on: sleeping moves it forward."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


SANDBOX_BASE = "https://tstdrv1234567.suitetalk.api.netsuite.com"


class Waits:
    """The connector's sleep on the fast-forwarding clock; each `until` hook runs at every wait until done."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.slept: list[float] = []
        self.until: list[Callable[[], bool]] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.until = [hook for hook in self.until if not hook()]
        self.clock.sleep(seconds)


@pytest.fixture
def waits(clock: Clock) -> Waits:
    return Waits(clock)


def connect(sandbox: NetSuiteSandbox, clock: Clock, waits: Waits, **overrides: Any) -> NetSuiteConnector:
    settings = {"currencies": {"USD": "1", "GBP": sandbox.add_currency("GBP")}}
    return build(
        {**sandbox.connection(SANDBOX_BASE), **settings, **overrides},
        transport=httpx.WSGITransport(app=sandbox.app),
        clock=clock.time,
        sleep=waits.sleep,
    )


@pytest.fixture
def connector(sandbox: NetSuiteSandbox, clock: Clock, waits: Waits) -> NetSuiteConnector:
    return connect(sandbox, clock, waits)
