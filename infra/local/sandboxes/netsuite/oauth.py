"""OAuth 2.0 client credentials (machine to machine): a JWT assertion signed with the certificate's key.

Each integration record has a client id; each M2M mapping uploads a certificate whose id the JWT
names as `kid`. The token endpoint verifies the assertion's signature with that certificate's public
key, then hands out a bearer access token valid 60 minutes (no refresh token: a client asks again).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html (token POST)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html (JWT structure)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162686838198.html (mapping setup)
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from infra.local.sandboxes.netsuite.errors import invalid_login

TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The signing algorithms the JWT header may name (RSA-PSS or ECDSA; RS256 is not among them).
RSA_ALGORITHMS = ("PS256", "PS384", "PS512")
EC_ALGORITHMS = ("ES256", "ES384", "ES512")
# "The value must be less than 60 minutes greater than the value of the iat parameter."
MAX_ASSERTION_SECONDS = 3600
# "The access token is valid for 60 minutes."
ACCESS_TOKEN_SECONDS = 3600
SCOPES = frozenset({"restlets", "rest_webservices", "suite_analytics"})

Clock = Callable[[], datetime]


@dataclass
class Integration:
    """One integration record with its M2M mapping: client id, certificate id and the key pair.

    The sandbox keeps the private key only so that `connection()` can hand it to the client under
    test; NetSuite itself only ever holds the certificate's public part.
    """

    name: str
    client_id: str
    certificate_id: str
    private_key_pem: str
    public_key: Any
    key_type: str  # "RSA" or "EC"
    revoked: bool = False
    concurrency_limit: int | None = None  # None: no allocation of its own (the unallocated pool)
    tokens_issued: int = 0

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The JWT algorithms this certificate's key can verify (an EC key: the one of its curve)."""
        return RSA_ALGORITHMS if self.key_type == "RSA" else EC_ALGORITHMS[:1]


@dataclass(frozen=True)
class AccessToken:
    """One issued bearer token: whose it is, its scopes and when it stops working."""

    integration: str  # client id
    scopes: frozenset[str]
    expires_at: datetime


@functools.cache
def _key_pair(key_type: str, ordinal: int) -> tuple[str, Any]:
    # Generating an RSA key costs tens of milliseconds: sandboxes reuse the pair of the same
    # ordinal (each integration of one sandbox still has a key of its own).
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if key_type == "RSA":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif key_type == "EC":
        private_key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError("key_type is RSA or EC")
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, private_key.public_key()


def new_integration(name: str, key_type: str = "RSA", ordinal: int = 0) -> Integration:
    """An integration record with its own key pair (RSA 2048, or EC P-256 for ES256) and random ids.

    `ordinal`: the integration's rank in its sandbox (pairs are shared across sandboxes only).
    """
    pem, public_key = _key_pair(key_type, ordinal)
    return Integration(
        name=name,
        client_id=secrets.token_hex(32),  # NetSuite client ids are 64 hex characters
        certificate_id=secrets.token_urlsafe(32),
        private_key_pem=pem,
        public_key=public_key,
        key_type=key_type,
    )


class OAuthError(Exception):
    """A token endpoint refusal: `{"error": code}` (RFC 6749 §5.2, the codes NetSuite's flows answer)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    def body(self) -> dict[str, str]:
        """The JSON body answered."""
        return {"error": self.error}


@dataclass
class TokenService:
    """The account's integrations, the token endpoint, and the bearer check of every REST request."""

    account_id: str
    clock: Clock
    integrations: dict[str, Integration] = field(default_factory=dict)  # by client id
    _tokens: dict[str, AccessToken] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _signing_key: str = field(default_factory=lambda: secrets.token_hex(32))
    calls: int = 0  # every request to the token endpoint, refused ones included

    def register(self, integration: Integration) -> Integration:
        """Add an integration record and its certificate mapping."""
        with self._lock:
            self.integrations[integration.client_id] = integration
        return integration

    def by_certificate(self, certificate_id: str) -> Integration | None:
        """The integration whose mapping uploaded the certificate `certificate_id`."""
        with self._lock:
            for integration in self.integrations.values():
                if integration.certificate_id == certificate_id:
                    return integration
        return None

    def canonical_token_url(self) -> str:
        """The token URL of the real account (one accepted `aud`)."""
        host = self.account_id.lower().replace("_", "-")
        return f"https://{host}.suitetalk.api.netsuite.com{TOKEN_PATH}"

    def revoke_tokens(self) -> None:
        """Every access token stops working (as if each had expired)."""
        with self._lock:
            self._tokens.clear()

    def issue(self, body: str, own_url: str) -> dict[str, Any]:
        """POST /services/rest/auth/oauth2/v1/token (form-encoded): an access token, or OAuthError.

        `own_url` is the token URL as this request reached it; the JWT's `aud` may name it or the
        account's canonical suitetalk URL.
        """
        with self._lock:
            self.calls += 1
        form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type" if form.get("grant_type") else "invalid_request")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError(400, "invalid_request")
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise OAuthError(400, "invalid_request") from None
        integration = self.by_certificate(str(header.get("kid") or ""))
        if integration is None or integration.revoked:
            # Unknown (or revoked) certificate id: the client cannot be authenticated.
            raise OAuthError(401, "invalid_client")
        algorithm = str(header.get("alg") or "")
        if algorithm not in integration.algorithms:
            raise OAuthError(400, "invalid_request")
        try:
            # The signature only: the times are checked below against the sandbox's clock.
            claims = jwt.decode(
                assertion,
                integration.public_key,
                algorithms=[algorithm],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            raise OAuthError(401, "invalid_client") from None
        except jwt.PyJWTError:
            raise OAuthError(400, "invalid_request") from None
        if claims.get("iss") != integration.client_id:
            raise OAuthError(401, "invalid_client")
        scopes = _scopes(claims.get("scope"))
        if not scopes or not scopes <= SCOPES:
            raise OAuthError(400, "invalid_scope")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]  # RFC 7519 allows a list
        if not {own_url, self.canonical_token_url()} & {a for a in audiences if isinstance(a, str)}:
            raise OAuthError(400, "invalid_grant")
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            raise OAuthError(400, "invalid_request")
        stamp = now.timestamp()
        if exp <= stamp or iat > stamp + 60 or exp - iat > MAX_ASSERTION_SECONDS or exp <= iat:
            # Expired, issued in the future (60 s of skew allowed), or valid for more than an hour.
            raise OAuthError(400, "invalid_grant")
        expires = now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
        # The access token is itself a JWT (signed here with the sandbox's own key).
        token = jwt.encode(
            {
                "sub": f"{self.account_id};{integration.name}",
                "aud": integration.client_id,
                "scope": sorted(scopes),
                "iss": "https://system.netsuite.com",
                "iat": int(stamp),
                "exp": int(expires.timestamp()),
                "jti": secrets.token_hex(8),
            },
            self._signing_key,
            algorithm="HS256",
        )
        with self._lock:
            self._tokens[token] = AccessToken(integration.client_id, frozenset(scopes), expires)
            integration.tokens_issued += 1
        return {"access_token": token, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "bearer"}

    def authenticate(self, authorization: str, scope: str = "rest_webservices") -> Integration:
        """The integration behind a live `Authorization: Bearer ...` with `scope`, or 401 INVALID_LOGIN."""
        token = authorization[7:] if authorization[:7].lower() == "bearer " else ""
        with self._lock:
            found = self._tokens.get(token)
            if found is None or found.expires_at <= self.clock() or scope not in found.scopes:
                raise invalid_login(self.account_id)
            integration = self.integrations.get(found.integration)
            if integration is None or integration.revoked:
                raise invalid_login(self.account_id)
            return integration


def _scopes(value: object) -> frozenset[str]:
    # "restlets, rest_webservices, suite_analytics, or all of them, separated by a comma"; clients
    # also send a JSON array (the SuiteScript example does).
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return frozenset(value)
    return frozenset()
