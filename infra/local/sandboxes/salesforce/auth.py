"""OAuth 2.0: the token endpoint and the session check on every data API call."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.salesforce.errors import SalesforceApiError
from infra.local.sandboxes.salesforce.wire import Clock, json_response


class OAuthServer:
    """The client credentials flow and the sessions it issues."""

    organization_id: str
    client_id: str
    client_secret: str
    _clock: Clock
    _lock: threading.RLock
    _user_id: str
    _token_ttl: timedelta
    _tokens: dict[str, datetime]

    # --- OAuth ---------------------------------------------------------------------------------

    # Client credentials flow: a form-encoded POST; the client authenticates with client_id and
    # client_secret in the body, or with HTTP Basic (RFC 6749 §2.3.1: both form-urlencoded, then
    # base64), never both. An unknown client id and a wrong secret answer 400 with Salesforce's bodies.
    # https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm&type=5
    # https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&language=en_US&type=5
    # https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        credentials = self._client_credentials(request)
        if credentials is None:
            return _oauth_error("invalid_request", "use one client authentication method, not two")
        client_id, client_secret = credentials
        if not secrets.compare_digest(client_id.encode(), self.client_id.encode()):
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if not secrets.compare_digest(client_secret.encode(), self.client_secret.encode()):
            return _oauth_error("invalid_client", "invalid client credentials")
        now = self._clock()
        token = f"{self.organization_id[:15]}!{secrets.token_urlsafe(40)}"
        with self._lock:
            self._tokens[token] = now
        issued_at = str(int(now.timestamp() * 1000))
        instance = request.host_url.rstrip("/")
        identity = f"{instance}/id/{self.organization_id}/{self._user_id}"
        signature = base64.b64encode(hashlib.sha256(f"{identity}{issued_at}".encode()).digest()).decode()
        return json_response(
            {
                "access_token": token,
                "signature": signature,
                "scope": "api",
                "instance_url": instance,
                "id": identity,
                "token_type": "Bearer",
                "issued_at": issued_at,
            }
        )

    @staticmethod
    def _client_credentials(request: Request) -> tuple[str, str] | None:
        """(client_id, client_secret) from Basic or the body; None when the request uses both."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        in_body = (request.form.get("client_id", ""), request.form.get("client_secret", ""))
        if scheme.lower() != "basic":
            return in_body
        if in_body[1]:
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return ("", "")
        client_id, _, client_secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(client_secret)

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        issued = self._tokens.get(token) if scheme.lower() in {"bearer", "oauth"} else None
        if issued is None or self._clock() - issued >= self._token_ttl:
            self._tokens.pop(token, None)
            raise SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def _oauth_error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status=400)
