"""A Productive sandbox on a hand-moved clock and an httpx client that speaks to it as a user's would."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from infra.local.sandboxes.productive import ProductiveSandbox
from tests.fakes import HandClock

JSON_API = "application/vnd.api+json"


Clock = HandClock


@pytest.fixture
def clock() -> Clock:
    return HandClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def sandbox(clock: Clock) -> ProductiveSandbox:
    return ProductiveSandbox(organization_id="77", api_token="tok", webhook_secret="wh", clock=clock)


@pytest.fixture
def api(sandbox: ProductiveSandbox) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=sandbox),
        base_url="http://productive.sandbox/api/v2/",
        headers={"X-Auth-Token": "tok", "X-Organization-Id": "77", "Content-Type": JSON_API},
    )
