"""Intuit's OAuth 2.0 token endpoint: refresh grant, HTTP Basic client auth, rotating refresh tokens."""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request

TOKEN_PATH = "/oauth2/v1/tokens/bearer"  # noqa: S105 - a path, not a secret
# Access tokens live one hour; a refresh token 100 days (8,726,400 s, `x_refresh_token_expires_in`),
# and each refresh hands out a new one and retires the one presented.
# https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
# https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400


class TokenIssuer:
    """The one Intuit app's credentials, the refresh token in force, and the access tokens handed out."""

    def __init__(
        self, client_id: str, client_secret: str, refresh_token: str, clock: Callable[[], datetime]
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self._clock = clock
        self._lock = threading.RLock()
        self._refresh_token = refresh_token
        self._refresh_expires = clock() + timedelta(seconds=REFRESH_TOKEN_SECONDS)
        self._access_tokens: dict[str, datetime] = {}
        self.refreshes = 0  # successful refreshes
        self.calls = 0  # every request to the token endpoint, refused ones included

    @property
    def refresh_token(self) -> str:
        """The one refresh token the endpoint accepts now."""
        with self._lock:
            return self._refresh_token

    def reconnect(self) -> str:
        """A new consent: a new refresh token, the old one void; returns the new one."""
        with self._lock:
            self._refresh_token = "sbx-rt-" + secrets.token_urlsafe(24)
            self._refresh_expires = self._clock() + timedelta(seconds=REFRESH_TOKEN_SECONDS)
            return self._refresh_token

    def revoke_access_tokens(self) -> None:
        """Every access token stops working (as if they expired)."""
        with self._lock:
            self._access_tokens.clear()

    def bearer_valid(self, authorization: str) -> bool:
        """Whether an `Authorization: Bearer ...` header carries a live access token."""
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        with self._lock:
            expires = self._access_tokens.get(token)
            return expires is not None and expires > self._clock()

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        """POST /oauth2/v1/tokens/bearer with grant_type=refresh_token and HTTP Basic client auth.

        The refresh token presented must be the latest one issued: the answer carries a new one and
        the presented one stops working at once. A retired, unknown or expired refresh token gets
        400 with Intuit's bare `{"error":"invalid_grant"}` (what its token endpoint returns when an
        app did not keep the latest refresh token). Access tokens issued earlier stay valid until
        they expire, as Intuit's do.
        https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
        https://github.com/intuit/oauth-jsclient/issues/77
        """
        with self._lock:
            self.calls += 1
        if request.method != "POST":
            return 405, {"error": "invalid_request"}
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Basic {expected}"):
            return 401, {"error": "invalid_client"}
        form = parse_qs(request.get_data(as_text=True))
        if form.get("grant_type", [""])[0] != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        presented = form.get("refresh_token", [""])[0]
        with self._lock:
            now = self._clock()
            current = hmac.compare_digest(presented.encode(), self._refresh_token.encode())
            if not presented or not current or now >= self._refresh_expires:
                return 400, {"error": "invalid_grant"}
            access = "sbx-at-" + secrets.token_urlsafe(24)
            self._refresh_token = "sbx-rt-" + secrets.token_urlsafe(24)
            # The 100 days roll: each refresh token lives that long from its own issue.
            self._refresh_expires = now + timedelta(seconds=REFRESH_TOKEN_SECONDS)
            self._access_tokens[access] = now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
            self.refreshes += 1
            return 200, {
                "token_type": "bearer",
                "access_token": access,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token": self._refresh_token,
                "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
            }
