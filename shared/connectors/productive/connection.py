"""One Productive organization as the connections secret describes it (settings, not payloads)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr

from shared.connectors.connection import Connection
from shared.domain.models import SystemName


class ProductiveConnection(Connection):
    """How to reach one Productive organization: credentials, webhook secret and rate budget."""

    system = SystemName.PRODUCTIVE

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = "https://api.productive.io/api/v2"
    api_token: SecretStr
    organization_id: str = Field(min_length=1)
    webhook_secret: SecretStr
    # https://developer.productive.io/guides/rate-limits: "100 requests per 10 seconds with additional
    # limit of 4000 requests per 30 minutes".
    rate_limit_requests: int = Field(default=100, ge=1)
    rate_limit_window_seconds: float = Field(default=10.0, gt=0)
    rate_limit_long_requests: int = Field(default=4000, ge=1)
    rate_limit_long_window_seconds: float = Field(default=1800.0, gt=0)
    # The docs give no replay window for Productive-Signature; t= is "timestamp of current time when a
    # webhook was called" (https://developer.productive.io/webhooks.html), so every retry is re-signed
    # and a short window is safe. The window is this hub's replay policy, hence configurable.
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    # https://developer.productive.io/ "Pagination": page[size] defaults to 30; 200 is the maximum.
    page_size: int = Field(default=200, ge=1, le=200)
    # The document type (invoice template) mirrored invoices are created with; a third-party client
    # treats it as required on POST /invoices (UNCONFIRMED in Productive's pages), so it is settable.
    invoice_document_type_id: str | None = None
