"""A restart of the local stack with `--secrets` after QuickBooks rotated its refresh token.

The vendors here are "real" ones from the stack's point of view: sandboxes served on loopback
outside the stack, which outlive its restarts as Intuit outlives ours, and whose connection
settings are in the operator's secrets file. Without a sandbox file, the same token store path runs
through moto's Secrets Manager (the last test).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer

from infra.local.environment import LocalEnvironment, local_environment, serve_wsgi
from infra.local.sandboxes.productive import ProductiveSandbox
from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from infra.local.sandboxes.salesforce import SalesforceSandbox
from infra.wiring import OAUTH_TOKENS
from shared import bootstrap
from shared.connectors.quickbooks.client import token_key

pytestmark = pytest.mark.flow


@dataclass
class Vendors:
    """Salesforce, Productive and QuickBooks as a firm's real accounts: up before and after the stack."""

    salesforce: SalesforceSandbox
    productive: ProductiveSandbox
    quickbooks: QuickBooksSandbox
    connections: dict[str, Any]


@pytest.fixture
def vendors() -> Iterator[Vendors]:
    salesforce = SalesforceSandbox(
        organization_id="00D5g000004RESTEAA", client_id="c2c", client_secret=secrets.token_urlsafe(16)
    )
    productive = ProductiveSandbox(
        organization_id="4242", api_token=secrets.token_urlsafe(16), webhook_secret=secrets.token_hex(16)
    )
    quickbooks = QuickBooksSandbox(
        realm_id="9341453050077777",
        client_id="c2c",
        client_secret=secrets.token_urlsafe(16),
        refresh_token="rt-from-the-consent",
        verifier_token=secrets.token_hex(16),
    )
    servers: list[BaseWSGIServer] = []
    urls = {}
    for name, app in (("salesforce", salesforce), ("productive", productive), ("quickbooks", quickbooks)):
        urls[name], server = serve_wsgi(app)
        servers.append(server)
    connections = {
        "salesforce": salesforce.connection(urls["salesforce"]),
        "productive": productive.connection(urls["productive"]),
        "quickbooks": quickbooks.connection(urls["quickbooks"]),
    }
    yield Vendors(salesforce, productive, quickbooks, connections)
    for server in servers:
        server.shutdown()
        server.server_close()


def quickbooks_writes(env: LocalEnvironment, vendors: Vendors, names: list[str]) -> tuple[int, int]:
    """Sales creates `names` in Salesforce; the hub syncs them. (QuickBooks writes that failed, refreshes)."""
    assert env.runtime is not None
    token = vendors.connections["salesforce"]["webhook_token"]
    vendors.salesforce.subscribe(f"{env.api_url}/webhooks/salesforce", token=token)
    before = vendors.quickbooks.refreshes
    for name in names:
        vendors.salesforce.put_account({"Name": name})
    for _ in range(3):
        vendors.salesforce.deliver_pending()
        env.settle()
    in_books = {customer["DisplayName"] for customer in vendors.quickbooks.customers()}
    failed = sum(1 for name in names if name not in in_books)
    assert bootstrap.services().metrics.totals["FailedTransactions[target=quickbooks]"] == failed
    return failed, vendors.quickbooks.refreshes - before


def test_a_restart_with_a_secrets_file_after_a_rotation_fails_no_quickbooks_write(
    vendors: Vendors, tmp_path: Path
) -> None:
    # given the operator's secrets file with the refresh token from the company's consent
    secrets_file = tmp_path / "connections.json"
    secrets_file.write_text(json.dumps(vendors.connections))
    # and a first run of the stack, whose first QuickBooks call rotated that token away
    with local_environment(secrets_file=secrets_file) as env:
        failed, refreshes = quickbooks_writes(env, vendors, [f"Before Restart {n}" for n in range(3)])
        assert (failed, refreshes) == (0, 1)
        assert env.tokens_file == tmp_path / "connections.oauth-tokens.json"
    assert vendors.quickbooks.refresh_token != "rt-from-the-consent"
    # the rotated token was kept beside the secrets file, which is left as the operator wrote it
    kept = json.loads((tmp_path / f"connections.{OAUTH_TOKENS.name}.json").read_text())
    assert kept[token_key("9341453050077777")]["refresh_token"] == vendors.quickbooks.refresh_token
    assert json.loads(secrets_file.read_text()) == vendors.connections
    # when the stack restarts with the same file, after the access token it held has expired
    vendors.quickbooks.revoke_access_tokens()
    with local_environment(secrets_file=secrets_file) as env:
        names = [f"After Restart {n}" for n in range(5)]
        failed, refreshes = quickbooks_writes(env, vendors, names)
    print(
        f"\n[tokens] restart with --secrets after a rotation: QuickBooks writes that failed = {failed} of 5"
    )
    # then no QuickBooks write fails: the kept refresh token was used (and rotated again, and kept)
    assert (failed, refreshes) == (0, 1)
    kept = json.loads((tmp_path / f"connections.{OAUTH_TOKENS.name}.json").read_text())
    assert kept[token_key("9341453050077777")]["refresh_token"] == vendors.quickbooks.refresh_token


def test_with_the_sandboxes_rotated_tokens_go_to_motos_secrets_manager() -> None:
    with local_environment() as env:
        assert env.runtime is not None and env.tokens_file is None
        env.salesforce.put_account({"Name": "Token Store Co"})
        env.settle()
        stored = env.runtime.clients.secretsmanager().get_secret_value(
            SecretId=env.runtime.resources.secrets[OAUTH_TOKENS.name]
        )
        tokens = json.loads(stored["SecretString"])[token_key(env.quickbooks.realm_id)]
        assert tokens["refresh_token"] == env.quickbooks.refresh_token
        assert tokens["access_expires_at"] > tokens["refreshed_at"]
