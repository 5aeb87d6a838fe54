"""One org per test, and a client written from Salesforce's documentation pointed at it."""

from __future__ import annotations

import pytest

from infra.local.sandboxes.salesforce import SalesforceSandbox
from tests.local.sandboxes.salesforce.docs_client import Clock, DocClient, http_for, new_org


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def org(clock: Clock) -> SalesforceSandbox:
    return new_org(clock)


@pytest.fixture
def client(org: SalesforceSandbox) -> DocClient:
    return DocClient(http_for(org))
