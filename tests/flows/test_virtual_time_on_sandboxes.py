"""One time for the whole landscape: `pass_time` moves the vendors' twins on with the runtime.

Token lives, rate windows and record stamps are the vendors' own clocks; a test that lets an hour or
a day pass must find them an hour or a day on, as a real week would, or it proves nothing about
what the hub does when they run out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from infra.local.environment import LocalEnvironment, local_environment
from infra.local.sandboxes.productive import RATE_LIMITS
from infra.local.sandboxes.quickbooks.oauth import ACCESS_TOKEN_SECONDS
from infra.wiring import OAUTH_TOKENS
from shared.connectors.quickbooks.client import token_key
from shared.domain.models import utcnow

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


def _hubs_access_token(env: LocalEnvironment) -> str:
    """The QuickBooks access token the hub holds now (its shared token store)."""
    assert env.runtime is not None
    stored = env.runtime.clients.secretsmanager().get_secret_value(
        SecretId=env.runtime.resources.secrets[OAUTH_TOKENS.name]
    )
    return str(json.loads(stored["SecretString"])[token_key(env.quickbooks.realm_id)]["access_token"])


def _read_customers(env: LocalEnvironment, token: str) -> httpx.Response:
    # https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
    return httpx.get(
        f"{env.urls['quickbooks']}/v3/company/{env.quickbooks.realm_id}/query",
        params={"query": "select * from Customer", "minorversion": "75"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )


def test_an_access_token_expires_in_virtual_time_and_the_hub_refreshes(env: LocalEnvironment) -> None:
    # given the hub synced an account, so it holds a QuickBooks access token
    env.salesforce.put_account({"Name": "Hour Glass Partners"})
    env.settle()
    token, refreshes = _hubs_access_token(env), env.quickbooks.refreshes
    assert _read_customers(env, token).status_code == 200
    # when more than the token's hour passes
    env.pass_time(ACCESS_TOKEN_SECONDS + 100)
    # then Intuit's twin refuses it as Intuit does (401, fault 3200)
    refused = _read_customers(env, token)
    assert refused.status_code == 401
    assert refused.json()["fault"]["error"][0]["code"] == "3200"  # Intuit's lowercase 401 body
    # and the hub, asked to sync again, refreshes and writes the new customer
    env.salesforce.put_account({"Name": "Sand Timer Holdings"})
    env.settle()
    assert env.quickbooks.refreshes > refreshes
    assert "Sand Timer Holdings" in {c["DisplayName"] for c in env.quickbooks.customers()}


def test_a_full_rate_window_empties_once_virtual_time_passes(env: LocalEnvironment) -> None:
    limit, seconds = RATE_LIMITS[0]  # Productive: 100 requests per 10 s
    headers = {
        "X-Auth-Token": env.productive.api_token,
        "X-Organization-Id": env.productive.organization_id,
        "Content-Type": "application/vnd.api+json",
    }
    with httpx.Client(base_url=env.urls["productive"], headers=headers) as client:
        # given a client used the whole window
        answers = [client.get("/api/v2/companies").status_code for _ in range(limit + 1)]
        assert answers[-1] == 429
        # when the window's length passes in virtual time (a real second is far less)
        env.pass_time(seconds)
        # then the next request is served
        assert client.get("/api/v2/companies").status_code == 200


def test_records_are_stamped_in_virtual_time(env: LocalEnvironment) -> None:
    assert env.runtime is not None
    # given an account made now
    account_id = env.salesforce.put_account({"Name": "Almanac Works"})
    env.settle()
    first = datetime.fromisoformat(
        env.salesforce.account(account_id)["SystemModstamp"].replace("+0000", "+00:00")
    )
    # when a day passes and a user edits it
    env.pass_time(86_400)
    env.salesforce.put_account({"Phone": "+1 555 0100"}, account_id=account_id)
    env.settle()
    edited = datetime.fromisoformat(
        env.salesforce.account(account_id)["SystemModstamp"].replace("+0000", "+00:00")
    )
    # then Salesforce stamped the edit a day later, at the runtime's time (which the hub reads too)
    assert edited - first >= timedelta(days=1)
    assert abs(edited - env.runtime.clock.now()) < timedelta(minutes=1)
    assert abs(utcnow() - env.runtime.clock.now()) < timedelta(seconds=5)
    # and QuickBooks stamped its copy's update in the same time
    [copy] = [c for c in env.quickbooks.customers() if c["DisplayName"] == "Almanac Works"]
    updated = datetime.fromisoformat(copy["MetaData"]["LastUpdatedTime"])
    assert abs(updated - env.runtime.clock.now()) < timedelta(minutes=1)
