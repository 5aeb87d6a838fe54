"""One Productive organization as the connections secret describes it (settings, not payloads)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from shared.domain.errors import ConfigurationError


class ProductiveConnection(BaseModel):
    """How to reach one Productive organization: credentials, webhook secret and rate budget."""

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


def parse_connection(connection: Mapping[str, Any]) -> ProductiveConnection:
    """The connection's fields validated, or a `ConfigurationError` naming every wrong one."""
    try:
        return ProductiveConnection.model_validate(dict(connection))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise ConfigurationError(f"productive connection is invalid: {problems}") from None
