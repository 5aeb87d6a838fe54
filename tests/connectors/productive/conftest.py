"""Fixtures: the Productive sandbox mounted in-process and a connector pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from infra.local.sandboxes.productive import JSON_API, ProductiveSandbox
from shared.connectors.productive import ProductiveConnector, build
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

from .billing_helpers import Engagement, make_engagement

BASE_URL = "http://productive.sandbox/api/v2"


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> ProductiveSandbox:
    return ProductiveSandbox(
        organization_id="4242", api_token="tok-productive", webhook_secret="whsec-productive", clock=clock
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def connector(sandbox: ProductiveSandbox, clock: Clock, sleeps: list[float]) -> Iterator[ProductiveConnector]:
    built = build(
        sandbox.connection(BASE_URL),
        transport=httpx.WSGITransport(app=sandbox),
        sleep=sleeps.append,
        clock=clock,
    )
    yield built
    built.close()


@pytest.fixture
def raw(sandbox: ProductiveSandbox) -> Iterator[httpx.Client]:
    """The sandbox spoken to directly (as someone in the app, or another integration, would)."""
    headers = {"X-Auth-Token": "tok-productive", "X-Organization-Id": "4242", "Content-Type": JSON_API}
    with httpx.Client(
        transport=httpx.WSGITransport(app=sandbox), base_url=BASE_URL + "/", headers=headers
    ) as api:
        yield api


@pytest.fixture
def engagement(connector: ProductiveConnector, sandbox: ProductiveSandbox) -> Engagement:
    """A client's project with a budget, a Consultant service at 180.00 EUR, a person, tax rate S 19 %."""
    return make_engagement(connector, sandbox)


def crm_account(record_id: str = "001A000001", **changes: object) -> Account:
    fields: dict[str, object] = {
        "source": SourceRef(system=SystemName.SALESFORCE, type="Account", id=record_id, version="1"),
        "name": "Acme Consulting GmbH",
        "website": "https://acme.example",
        "phone": "+49 30 1234567",
        "email": "billing@acme.example",
        "billing_address": PostalAddress(
            street="Friedrichstraße 1", city="Berlin", region="BE", postal_code="10117", country="DE"
        ),
        "currency": "EUR",
    }
    fields.update(changes)
    return Account.model_validate(fields)
