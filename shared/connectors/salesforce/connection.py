"""One Salesforce org as the connections secret describes it (settings, not payloads)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr, field_validator

from shared.connectors.connection import Connection
from shared.connectors.salesforce.ids import is_salesforce_id
from shared.domain.models import SystemName


class SalesforceConnection(Connection):
    """How to reach one Salesforce org: OAuth client credentials, API version and webhook checks."""

    system = SystemName.SALESFORCE

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    login_url: str = Field(
        pattern=r"^https?://[^\s/]+(:\d+)?/?$",
        description="the org's My Domain URL, where the client credentials flow requests tokens",
    )
    instance_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/]+(:\d+)?/?$",
        description="REST base URL; when absent, the instance_url of the token response is used",
    )
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.0$")
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    organization_id: str = Field(description="the 15- or 18-character org id (prefix 00D)")
    webhook_token: SecretStr = Field(description="shared token in the outbound message URL (?token=)")
    query_batch_size: int = Field(default=2000, ge=200, le=2000)
    # Sent as the client of every call (Sforce-Call-Options: client=...): change events of the
    # hub's own writes name it in changeOrigin, so they are recognised and not synced back.
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_calloptions.htm
    api_client: str = Field(default="close2cash", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    # The org's total API request allocation, a rolling 24 hours (100,000 + per-licence adders);
    # Setup > Company Information shows it. There is no per-second limit for calls under 20 s.
    # https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
    daily_api_requests: int = Field(default=100_000, ge=1)
    multi_currency: bool = Field(
        default=False, description="the org has multiple currencies enabled (Account.CurrencyIsoCode exists)"
    )
    corporate_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="the org's currency; amounts are in it when multiple currencies are not enabled",
    )

    @field_validator("login_url", "instance_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("organization_id")
    @classmethod
    def _org_id(cls, value: str) -> str:
        if not is_salesforce_id(value) or not value.startswith("00D"):
            raise ValueError("must be a 15- or 18-character Salesforce org id starting with 00D")
        return value

    @field_validator("client_secret", "webhook_token")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value
