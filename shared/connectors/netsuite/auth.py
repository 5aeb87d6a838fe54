"""OAuth 2.0 client credentials (machine to machine) for NetSuite: a signed JWT in, an access token out.

The integration record's certificate is mapped to a role in the account; the hub proves it holds the
certificate's private key by signing a short JWT (the client assertion) and exchanges it at the
token endpoint for an access token valid 60 minutes. The flow issues no refresh token: a new
assertion is signed whenever a new access token is needed.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html

The access token is kept by `TokenKeeper` (shared with every container through the `TokenStore`
port), so the containers of a burst use one token instead of each signing in: the keeper's
"refresh token" slot carries `NO_REFRESH_TOKEN`, and each renewal signs a fresh assertion.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import jwt
from pydantic import ValidationError

from shared.connectors.http import VendorHttp
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.schemas import TokenResponse, parse_error
from shared.connectors.oauth import IssuedTokens
from shared.domain.errors import ConfigurationError, TransientError

# The keeper's baton for a grant without refresh tokens (never sent anywhere).
NO_REFRESH_TOKEN = "client-credentials"  # noqa: S105 - a marker, not a secret
# `exp` must be less than 60 minutes after `iat`; the assertion is used at once, so five minutes
# leaves room for clock skew without keeping a replayable credential alive for long.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
ASSERTION_SECONDS = 300
MAX_ASSERTION_SECONDS = 3600
# Both values are fixed by the client credentials flow.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def client_assertion(connection: NetSuiteConnection, *, now: float, lifetime: int = ASSERTION_SECONDS) -> str:
    """The JWT client assertion: header typ/alg/kid, claims iss/scope/aud/iat/exp, signed with the key.

    `kid` is the certificate ID from the certificate's mapping, `iss` the integration's client ID,
    `aud` the token endpoint, `scope` the scopes separated by commas.
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
    """
    if not 0 < lifetime < MAX_ASSERTION_SECONDS:
        raise ValueError(f"an assertion lives less than {MAX_ASSERTION_SECONDS} s, not {lifetime}")
    issued = int(now)
    claims = {
        "iss": connection.client_id,
        "scope": ",".join(connection.scopes),
        "aud": connection.token_endpoint,
        "iat": issued,
        "exp": issued + lifetime,
        # A unique id per assertion (RFC 7523 §3) so that no two are ever the same bytes.
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(
        claims,
        connection.private_key_pem.get_secret_value(),
        algorithm=connection.algorithm,
        headers={"typ": "JWT", "kid": connection.certificate_id},
    )


def token_key(connection: NetSuiteConnection) -> str:
    """The token store's key: an access token belongs to one integration in one account."""
    return f"netsuite/{connection.account_id}/{connection.client_id}"


class ClientCredentials:
    """Signs assertions and exchanges them at the token endpoint (the `TokenKeeper`'s refresh)."""

    def __init__(self, connection: NetSuiteConnection, http: VendorHttp, clock: Callable[[], float]) -> None:
        self.connection = connection
        self.http = http
        self.clock = clock

    def issue(self, _refresh_token: str) -> IssuedTokens:
        """A new access token for a freshly signed assertion; `ConfigurationError` when refused.

        POST the form grant_type / client_assertion_type / client_assertion (url-encoded).
        A refusal (400/401) means the certificate mapping, key, client id or scope is wrong, or
        the integration is disabled: no retry heals it, so the connection is named as the cause.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
        """
        form = {
            "grant_type": GRANT_TYPE,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.connection, now=self.clock()),
        }
        response = self.http.request(
            "POST",
            self.connection.token_endpoint,
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            ok_statuses=frozenset({400, 401, 403}),
        )
        if response.status_code >= 400:
            raise ConfigurationError(
                f"netsuite: the token endpoint refused the client assertion ({oauth_error(response)}); "
                f"check client_id, certificate_id, private_key_pem and scopes of the connection to "
                f"account {self.connection.account_id} (and that the certificate is still mapped: "
                "a sandbox refresh removes the mappings)"
            )
        try:
            tokens = TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise TransientError(f"netsuite: unreadable token response: {exc}") from exc
        return IssuedTokens(
            access_token=tokens.access_token,
            refresh_token=NO_REFRESH_TOKEN,
            expires_in=float(tokens.expires_in),
        )


def oauth_error(response: httpx.Response) -> str:
    """`error: error_description` of an OAuth error answer, else the NetSuite error body, else text."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    if isinstance(body, dict) and body.get("error"):
        return f"{body['error']}: {body.get('error_description', '')}".strip().rstrip(":")
    parsed = parse_error(body)
    if parsed is not None and parsed.details:
        return "; ".join(str(detail) for detail in parsed.details)
    return f"{response.status_code} {response.text[:200]}"
