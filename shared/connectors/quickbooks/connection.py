"""One QuickBooks Online company as the connections secret describes it (settings, not payloads)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr

from shared.connectors.connection import Connection
from shared.domain.models import SystemName

# Production API host; the sandbox host is https://sandbox-quickbooks.api.intuit.com.
# https://oauth-pythonclient.readthedocs.io/en/latest/user-guide.html
PRODUCTION_BASE_URL = "https://quickbooks.api.intuit.com"
# Token endpoint from Intuit's OpenID discovery document (same host for sandbox and production).
# https://developer.intuit.com/.well-known/openid-sandbox-configuration
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"  # noqa: S105 - a URL, not a secret
# Minor version 75 is the oldest one Intuit still serves (1-74 were retired in 2025); pinning it
# makes the response shape explicit instead of "whatever the default is today".
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions
DEFAULT_MINOR_VERSION = "75"


class QuickBooksConnection(Connection):
    """One app's connection to one QuickBooks Online company (realm), as stored in Secrets Manager."""

    system = SystemName.QUICKBOOKS

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    base_url: str = PRODUCTION_BASE_URL
    token_url: str = TOKEN_URL
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    refresh_token: SecretStr
    realm_id: str = Field(min_length=1)
    verifier_token: SecretStr
    minor_version: str = DEFAULT_MINOR_VERSION
    # A company without multicurrency gives every customer its home currency; the projection of an
    # account without a currency therefore reads back as this one.
    home_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
