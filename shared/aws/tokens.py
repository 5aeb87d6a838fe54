"""The `TokenStore` on Secrets Manager: one secret of rotated OAuth tokens, a ledger lease as its lock.

The secret (wiring `oauth-tokens`) is apart from the connections secret, so that writing a rotated
token can never clobber another system's credentials, and so that only the functions that refresh
tokens may write it. It holds a JSON object keyed by system and tenant (`quickbooks/<realm>`);
anything else in it (the placeholder CloudFormation generates) is kept as it is.

Reads bypass every cache: the store is read only when this container's access token is near its
expiry, was refused, or is not yet known (a cold start), and then only the newest value will do.

Writes are read-modify-write of the whole object, so they happen only under the lock, and the lock
is one per secret (not per key): two realms refreshing at once must not drop each other's entry.
Secrets Manager asks for no more than one PutSecretValue every 10 minutes sustained (versions
younger than 24 h are kept, 100 at most); a refresh per realm per hour is 24 versions a day, so one
secret serves a handful of companies — a firm with many would add a token secret per company.
https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from pydantic import ValidationError

from shared.domain.tokens import OAuthTokens

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class Leases(Protocol):
    """The ledger's leases (DynamoDB conditional writes with an expiry)."""

    def acquire_lease(self, name: str, owner: str, seconds: int) -> bool: ...

    def release_lease(self, name: str, owner: str) -> None: ...


class SecretsManagerTokenStore:
    """Rotated OAuth tokens in one Secrets Manager secret, written under a DynamoDB lease."""

    def __init__(self, secret_id: str, *, leases: Leases, client: SecretsManagerClient | None = None) -> None:
        self.secret_id = secret_id
        self._leases = leases
        self._given = client
        self._lease = f"oauth-tokens:{secret_id}"

    @cached_property
    def _client(self) -> SecretsManagerClient:
        # Made on first use: a container that only verifies webhooks never reads or writes tokens.
        return self._given or boto3.client("secretsmanager")

    def _read(self) -> dict[str, Any]:
        # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
        text = self._client.get_secret_value(SecretId=self.secret_id).get("SecretString") or "{}"
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError(f"secret {self.secret_id!r} must hold a JSON object keyed by system/tenant")
        return value

    def load(self, key: str) -> OAuthTokens | None:
        entry = self._read().get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return OAuthTokens.model_validate(entry)
        except ValidationError:
            return None  # an entry nobody can use: the connection's refresh token takes over

    def save(self, key: str, tokens: OAuthTokens) -> None:
        value = self._read()
        value[key] = tokens.model_dump(mode="json", exclude_none=True)
        # https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
        self._client.put_secret_value(SecretId=self.secret_id, SecretString=json.dumps(value))

    def try_lock(self, key: str, owner: str, seconds: int) -> bool:
        del key  # one lock per secret: see the module docstring
        return self._leases.acquire_lease(self._lease, owner, seconds)

    def unlock(self, key: str, owner: str) -> None:
        del key
        self._leases.release_lease(self._lease, owner)
