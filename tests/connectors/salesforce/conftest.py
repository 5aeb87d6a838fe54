"""Fixtures: a Salesforce sandbox mounted in-process and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from shared.connectors.salesforce import SalesforceConnection, SalesforceConnector
from shared.domain.intake_ports import WebhookRequest
from shared.sync.engagements.start import WorkflowStart
from tests.engagement_fakes import FakeStarter
from tests.fakes import FakeMetrics, InMemoryLedger

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


def make_sandbox(clock: FakeClock, **options: Any) -> SalesforceSandbox:
    """The test org, with the sandbox's `options` (multi_currency, page_size, ...)."""
    return SalesforceSandbox(
        organization_id="00D5g000004TstAEAQ",
        client_id="c2c-test",
        client_secret="s3cret",
        clock=clock,
        **options,
    )


@pytest.fixture
def sandbox(clock: FakeClock) -> SalesforceSandbox:
    return make_sandbox(clock)


def make_connector(sandbox: SalesforceSandbox, **overrides: object) -> SalesforceConnector:
    settings = SalesforceConnection.model_validate({**sandbox.connection(BASE_URL), **overrides})
    return SalesforceConnector(settings, transport=httpx.WSGITransport(app=sandbox), sleep=lambda _: None)


@pytest.fixture
def connector(sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    connector = make_connector(sandbox)
    yield connector
    connector.close()


def workflow_start(
    connector: SalesforceConnector,
) -> tuple[WorkflowStart, FakeStarter, InMemoryLedger, FakeMetrics]:
    """Engagement setup's workflow start reading deals from `connector`, with in-memory fakes around it."""
    ledger, metrics, starter = InMemoryLedger(), FakeMetrics(), FakeStarter()
    start = WorkflowStart(
        opportunities=lambda: connector,
        starter=lambda: starter,
        ledger=ledger,
        metrics=metrics,
        approval_timeout_seconds=60,
    )
    return start, starter, ledger, metrics


def as_webhook_request(request: httpx.Request) -> WebhookRequest:
    """What the API front hands the receiver: the request exactly as received."""
    return WebhookRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.url.params),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=request.content,
    )
