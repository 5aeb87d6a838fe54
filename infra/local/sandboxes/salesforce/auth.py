"""OAuth 2.0: the token endpoint and the session check on every data API call."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from datetime import datetime, timedelta

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

    # Client credentials flow: form-encoded POST; bad credentials -> 400 invalid_client.
    # https://developer.salesforce.com/docs/atlas.en-us.262.0.chatterapi.meta/chatterapi/quickstart_connecting.htm
    def _token(self, request: Request) -> Response:
        form = request.form
        if form.get("grant_type") != "client_credentials":
            return json_response(
                {"error": "unsupported_grant_type", "error_description": "grant type not supported"},
                status=400,
            )
        client_id = form.get("client_id", "")
        client_secret = form.get("client_secret", "")
        valid = secrets.compare_digest(
            client_id.encode(), self.client_id.encode()
        ) and secrets.compare_digest(client_secret.encode(), self.client_secret.encode())
        if not valid:
            return json_response(
                {"error": "invalid_client", "error_description": "invalid client credentials"}, status=400
            )
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

    def _authorize(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        issued = self._tokens.get(token) if scheme.lower() in {"bearer", "oauth"} else None
        if issued is None or self._clock() - issued >= self._token_ttl:
            self._tokens.pop(token, None)
            raise SalesforceApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
