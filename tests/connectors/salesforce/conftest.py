"""Fixtures: a Salesforce sandbox mounted in-process and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnection, SalesforceConnector
from shared.domain.ports import WebhookRequest

BASE_URL = "https://close2cash-dev.my.salesforce.test"
HUB_URL = "https://hub.test/webhooks/salesforce"


class FakeClock:
    """A settable UTC clock shared by the sandbox and the test."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> SalesforceSandbox:
    return SalesforceSandbox(
        organization_id="00D5g000004TstAEAQ", client_id="c2c-test", client_secret="s3cret", clock=clock
    )


def make_connector(sandbox: SalesforceSandbox, **overrides: object) -> SalesforceConnector:
    settings = SalesforceConnection.model_validate({**sandbox.connection(BASE_URL), **overrides})
    return SalesforceConnector(settings, transport=httpx.WSGITransport(app=sandbox), sleep=lambda _: None)


@pytest.fixture
def connector(sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    connector = make_connector(sandbox)
    yield connector
    connector.close()


def as_webhook_request(request: httpx.Request) -> WebhookRequest:
    """What the API front hands the receiver: the request exactly as received."""
    return WebhookRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.url.params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=request.content,
    )
