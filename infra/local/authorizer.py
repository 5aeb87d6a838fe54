"""The local stand-in for API Gateway's Cognito user pool authorizer: one token per approver.

In AWS, the approval routes sit behind a COGNITO_USER_POOLS authorizer: API Gateway verifies the
caller's token against the user pool before the function runs, answers 401 otherwise, and passes
the verified claims in `requestContext.authorizer.claims`.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
Locally the pool's users live in the local secrets: the entry named like the pool (`approvers`) in
the connections secret maps each user name to the SHA-256 (hex) of that user's token, so the
secret never holds a usable credential. The token is sent as Cognito's are, in `Authorization`
(`Bearer <token>`).
https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-accessing-resources-api-gateway-and-lambda.html
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

BEARER = "Bearer "


def token_sha256(token: str) -> str:
    """What the local secrets keep of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class LocalUserPoolAuthorizer:
    """Verifies a bearer token against the pool's users in the local secrets; returns their claims."""

    def __init__(self, pool: str, users: Callable[[], Mapping[str, Any]]) -> None:
        self.pool = pool
        self._users = users  # read per request: a user added to the secrets can sign in at once

    def claims(self, authorization: str | None) -> dict[str, str] | None:
        """The verified claims for `authorization`, or None (API Gateway then answers 401)."""
        if not authorization:
            return None
        # Compared exactly as sent: no stripping, no case folding of the token.
        token = authorization.removeprefix(BEARER)
        if not token:
            return None
        presented = token_sha256(token)
        found = None
        for name, expected in self._users().items():
            # Every user is compared, in constant time each: the answer's timing names nobody.
            if (
                isinstance(expected, str)
                and hmac.compare_digest(presented.encode(), expected.encode())
                and found is None
            ):
                found = str(name)
        if found is None:
            return None
        # The claims of a Cognito ID token that the handler may read (strings, as API Gateway passes them).
        return {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.pool}/{found}")),
            "cognito:username": found,
            "token_use": "id",
            "iss": f"local:{self.pool}",
        }


def local_user_pools(
    pools: Iterable[str], secret_ids: Iterable[str], secretsmanager: Any
) -> dict[str, LocalUserPoolAuthorizer]:
    """An authorizer per user pool, its users the pool's entry in the local secrets (moto's)."""
    ids = tuple(secret_ids)

    def users_of(pool: str) -> Mapping[str, Any]:
        for secret_id in ids:
            value = json.loads(secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])
            if isinstance(value, dict) and isinstance(value.get(pool), dict):
                return dict(value[pool])
        return {}

    return {pool: LocalUserPoolAuthorizer(pool, functools.partial(users_of, pool)) for pool in pools}
