"""Rotating QuickBooks tokens shared by several Lambda containers through moto's Secrets Manager.

Each "container" is its own connector (its own memory, its own token keeper), as two Lambda
execution environments are; what they share is what they share in AWS: the `oauth-tokens` secret
and the ledger's lease. The QuickBooks sandbox rotates refresh tokens as Intuit does.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from infra.local.clock import Clock
from infra.local.sandboxes.quickbooks import TOKEN_PATH, QuickBooksSandbox
from shared.aws.ledger import DynamoLedger
from shared.aws.tokens import SecretsManagerTokenStore
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.connectors.quickbooks.client import token_key
from shared.domain.errors import Close2CashError
from shared.domain.tokens import OAuthTokens
from tests.connectors.quickbooks.conftest import make_account

URL = "http://qbo.sandbox"
REALM = "4620816365"


@pytest.fixture
def sandbox() -> QuickBooksSandbox:
    return QuickBooksSandbox(realm_id=REALM, refresh_token="rt-initial", verifier_token="verifier-1")


@pytest.fixture
def store(dynamodb: Any) -> Iterator[SecretsManagerTokenStore]:
    """The `oauth-tokens` secret as CloudFormation creates it (a placeholder), locked by the ledger."""
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.create_secret(Name="oauth-tokens", SecretString='{"placeholder": true, "unset": "x"}')
    yield SecretsManagerTokenStore(
        "oauth-tokens", leases=DynamoLedger("ledger", client=dynamodb), client=secrets
    )


def container(
    sandbox: QuickBooksSandbox,
    store: SecretsManagerTokenStore,
    connection: dict[str, Any],
    *,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
) -> QuickBooksConnector:
    """One Lambda container's QuickBooks connector, built from the connections secret it read."""
    return build(
        connection,
        transport=transport or httpx.WSGITransport(app=sandbox),
        token_store=store,
        **({"clock": clock.time, "sleep": clock.sleep} if clock else {}),
    )


def failed_writes(connector: QuickBooksConnector, names: list[str]) -> int:
    """Customers created one by one; how many of those QuickBooks writes failed."""
    failed = 0
    for name in names:
        try:
            connector.create_account(make_account(crm_id=name, name=name), idempotency_key=name)
        except Close2CashError:
            failed += 1
    return failed


def test_a_second_container_built_from_the_old_secret_carries_on_with_the_rotated_token(
    sandbox: QuickBooksSandbox, store: SecretsManagerTokenStore
) -> None:
    clock = Clock(fast_forward=True)
    # given the connections secret as the operator put it (refresh token rt-initial)
    connection = sandbox.connection(URL)
    # and a first container that refreshed (Intuit rotated rt-initial away) and wrote the new pair
    first = container(sandbox, store, connection, clock=clock)
    assert failed_writes(first, ["First Co"]) == 0
    assert sandbox.refresh_token != "rt-initial"
    assert store.load(token_key(REALM)).refresh_token == sandbox.refresh_token  # type: ignore[union-attr]
    # when a second container starts from the same, now outdated, connections secret
    second = container(sandbox, store, connection, clock=clock)
    # then it uses the access token already in the store (no refresh of its own) ...
    assert failed_writes(second, ["Second Co"]) == 0
    assert sandbox.refreshes == 1
    # ... and once that expires, refreshes with the stored refresh token, not its stale one
    clock.advance(3600)
    names = [f"Later Co {n}" for n in range(5)]
    failed = failed_writes(second, names)
    print(f"\n[tokens] two containers, old secret: QuickBooks writes that failed = {failed} of {len(names)}")
    assert failed == 0
    assert sandbox.refreshes == 2
    assert store.load(token_key(REALM)).refresh_token == sandbox.refresh_token  # type: ignore[union-attr]
    # and the first container, whose in-memory token is now rotated away, carries on too
    assert failed_writes(first, ["First Again Co"]) == 0
    # while the placeholder CloudFormation put in the secret is left alone
    assert json.loads(
        boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId="oauth-tokens")[
            "SecretString"
        ]
    )["placeholder"]


def test_concurrent_refreshes_in_many_containers_call_the_token_endpoint_once(
    sandbox: QuickBooksSandbox, store: SecretsManagerTokenStore
) -> None:
    # given eight containers cold-started from the same connections secret (no token yet)
    connection = sandbox.connection(URL)
    containers = [container(sandbox, store, connection) for _ in range(8)]
    start = threading.Barrier(len(containers))
    outcomes: list[str] = []

    def work(index: int, connector: QuickBooksConnector) -> None:
        start.wait()
        try:
            connector.create_account(
                make_account(crm_id=f"C{index}", name=f"Co {index}"), idempotency_key=f"{index}"
            )
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(repr(exc))

    # when all of them need an access token at the same moment
    threads = [threading.Thread(target=work, args=pair) for pair in enumerate(containers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    print(
        f"\n[tokens] {len(containers)} concurrent containers: token endpoint calls = {sandbox.token_calls},"
        f" writes ok = {outcomes.count('ok')} of {len(containers)}"
    )
    # then exactly one of them called Intuit's token endpoint, and every write succeeded
    assert outcomes == ["ok"] * len(containers)
    assert sandbox.token_calls == 1
    assert len(sandbox.customers()) == len(containers)


class RotatedMeanwhile(httpx.BaseTransport):
    """The sandbox, except that just before this container's first refresh reaches it, another
    container (whose lease had run out) refreshes with the same stored token and stores its result."""

    def __init__(self, sandbox: QuickBooksSandbox, store: SecretsManagerTokenStore) -> None:
        self._inner = httpx.WSGITransport(app=sandbox)
        self._sandbox = sandbox
        self._store = store
        self.fired = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH and not self.fired:
            self.fired = True
            stored = self._store.load(token_key(REALM))
            assert stored is not None
            basic = base64.b64encode(
                f"{self._sandbox.client_id}:{self._sandbox.client_secret}".encode()
            ).decode()
            answer = httpx.Client(transport=httpx.WSGITransport(app=self._sandbox)).post(
                f"{URL}{TOKEN_PATH}",
                content=f"grant_type=refresh_token&refresh_token={stored.refresh_token}",
                headers={
                    "Authorization": f"Basic {basic}",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )
            tokens = answer.json()
            self._store.save(
                token_key(REALM),
                OAuthTokens(
                    refresh_token=tokens["refresh_token"],
                    access_token=tokens["access_token"],
                    access_expires_at=time.time() + 60,  # about to expire: the container must refresh
                ),
            )
        return self._inner.handle_request(request)


def test_a_container_refused_with_invalid_grant_rereads_the_store_instead_of_failing(
    sandbox: QuickBooksSandbox, store: SecretsManagerTokenStore
) -> None:
    # given a first container stored tokens, which have since expired
    connection = sandbox.connection(URL)
    assert failed_writes(container(sandbox, store, connection), ["Early Co"]) == 0
    stored = store.load(token_key(REALM))
    assert stored is not None
    store.save(token_key(REALM), stored.model_copy(update={"access_expires_at": time.time() - 1}))
    # when a second container refreshes with the stored token, but another rotated it a moment before
    meanwhile = RotatedMeanwhile(sandbox, store)
    second = container(sandbox, store, connection, transport=meanwhile)
    # then Intuit's invalid_grant sends it back to the store, whose newer token works
    assert failed_writes(second, ["Late Co"]) == 0
    assert meanwhile.fired
    assert store.load(token_key(REALM)).refresh_token == sandbox.refresh_token  # type: ignore[union-attr]


def test_a_reconnected_company_is_picked_up_from_the_connections_secret(
    sandbox: QuickBooksSandbox, store: SecretsManagerTokenStore
) -> None:
    # given stored tokens from before the company's admin reconnected the app (they are now void)
    assert failed_writes(container(sandbox, store, sandbox.connection(URL)), ["Before Co"]) == 0
    stored = store.load(token_key(REALM))
    assert stored is not None
    store.save(token_key(REALM), stored.model_copy(update={"access_expires_at": time.time() - 1}))
    fresh = sandbox.reconnect()
    # when the operator puts the new refresh token in the connections secret
    connection = {**sandbox.connection(URL), "refresh_token": fresh}
    # then a container refused with the stored one falls back to it, and stores what it gets
    assert failed_writes(container(sandbox, store, connection), ["After Co"]) == 0
    assert store.load(token_key(REALM)).refresh_token == sandbox.refresh_token  # type: ignore[union-attr]
