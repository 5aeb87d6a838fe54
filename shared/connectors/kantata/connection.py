"""One Kantata OX account as the connections secret describes it (settings, not payloads)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, SecretStr

from shared.connectors.connection import Connection
from shared.domain.models import SystemName


class KantataConnection(Connection):
    """How to reach one Kantata OX account: its API base URL and an OAuth bearer token."""

    system = SystemName.KANTATA

    model_config = ConfigDict(extra="forbid", frozen=True)

    # https://developer.kantata.com/ "Schema": "All requests to the API must have URLs relative to the
    # base API URL: https://api.mavenlink.com/api/v1/"; "Authentication": a bearer token on every one.
    base_url: str = "https://api.mavenlink.com/api/v1"
    access_token: SecretStr
    # https://developer.kantata.com/tag/Cost-Rates: a member may hold cost rates in several currencies;
    # "A cost rate with the same currency as the account default currency is called the default cost
    # rate". The account's default currency is named here (None: a member's only cost rate is used).
    default_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # https://developer.kantata.com/tag/Workweeks: `per_page` "<= 200", default 20.
    page_size: int = Field(default=200, ge=1, le=200)
