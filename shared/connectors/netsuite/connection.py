"""One NetSuite account as the connections secret describes it (settings, not payloads)."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr, field_validator, model_validator

from shared.connectors.connection import Connection
from shared.domain.models import SystemName

# The REST host is per account: https://<accountID>.suitetalk.api.netsuite.com, the token endpoint
# /services/rest/auth/oauth2/v1/token on it. A sandbox account's ID ends in _SB1 (…), written with
# a hyphen and in lower case in the host name (123456-sb1); the ID itself is kept as given.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
HOST_TEMPLATE = "https://{host}.suitetalk.api.netsuite.com"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a path, not a secret

# The JWT client assertion may be signed PS256/384/512 (RSA key) or ES256/384/512 (EC key).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
Algorithm = Literal["PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
# Scopes an assertion may ask for (REST web services is what this connector calls).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162790605110.html
Scope = Literal["restlets", "rest_webservices", "suite_analytics"]

# Concurrency is governed per account, shared by SOAP, REST and RESTlets: the shared service tier
# starts at 5 concurrent requests, each SuiteCloud Plus licence adds 10 (tier 1: 15 + 10 per licence).
# The default is the smallest account's limit; set it to the account's (or this integration's
# allocation, GET /services/rest/system/v1/governanceLimits).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1525253248.html
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0625010817.html
DEFAULT_CONCURRENCY = 5

_ACCOUNT_ID = r"^[0-9A-Za-z]+(_[0-9A-Za-z]+)?$"
_ISO_CURRENCY = r"^[A-Z]{3}$"


class NetSuiteConnection(Connection):
    """One integration record's machine-to-machine access to one NetSuite account (Secrets Manager)."""

    system = SystemName.NETSUITE

    account_id: str = Field(pattern=_ACCOUNT_ID)
    base_url: str = ""  # default: the account's suitetalk host
    token_url: str = ""  # default: base_url + TOKEN_PATH (the assertion's `aud`)
    client_id: str = Field(min_length=1)
    certificate_id: str = Field(min_length=1)
    private_key_pem: SecretStr  # the certificate's private key (unencrypted PEM)
    algorithm: Algorithm = "PS256"
    scopes: tuple[Scope, ...] = Field(default=("rest_webservices",), min_length=1)
    # OneWorld needs a subsidiary on every new customer: the default, and one per legal entity code.
    subsidiary: str | None = None
    subsidiaries: dict[str, str] = Field(default_factory=dict)
    # Customer.currency is a reference to a currency record (its internal id), not an ISO code:
    # which record is which ISO currency is the account's own setup, declared here.
    # https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_161581923822.html
    currencies: dict[str, str] = Field(default_factory=lambda: {"USD": "1"})
    # A customer created without a currency gets its subsidiary's base currency.
    home_currency: str = Field(default="USD", pattern=_ISO_CURRENCY)
    concurrency_limit: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=1000)
    # Project statuses are an accounting list each account may edit: the internal ids engagement
    # setup writes as a project's Status for draft / active / closed (default: engagement_mapper's).
    project_statuses: dict[Literal["draft", "active", "closed"], str] = Field(default_factory=dict)
    # SuiteQL shows and compares datetimes in the integration user's time zone preference
    # (REST record fields are UTC); the sweep converts through this zone.
    suiteql_time_zone: str = "UTC"

    @field_validator("private_key_pem")
    @classmethod
    def _readable_key(cls, value: SecretStr) -> SecretStr:
        try:
            load_pem_private_key(value.get_secret_value().encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ValueError("not an unencrypted PEM private key") from exc
        return value

    @field_validator("currencies")
    @classmethod
    def _iso_codes(cls, value: dict[str, str]) -> dict[str, str]:
        for code, internal_id in value.items():
            if len(code) != 3 or not code.isupper() or not code.isalpha() or not internal_id.strip():
                raise ValueError(f"{code!r}: expected ISO 4217 code -> currency internal id")
        return value

    @field_validator("suiteql_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value != "UTC":
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NetSuiteConnection:
        key = load_pem_private_key(self.private_key_pem.get_secret_value().encode(), password=None)
        wanted = rsa.RSAPrivateKey if self.algorithm.startswith("PS") else ec.EllipticCurvePrivateKey
        if not isinstance(key, wanted):
            kind = "an RSA" if self.algorithm.startswith("PS") else "an EC"
            raise ValueError(f"private_key_pem: {self.algorithm} needs {kind} private key")
        if self.home_currency not in self.currencies:
            raise ValueError(f"currencies: the home currency {self.home_currency} has no internal id")
        return self

    @property
    def api_url(self) -> str:
        """The REST host: `base_url`, or the account's own."""
        host = self.account_id.lower().replace("_", "-")
        return (self.base_url or HOST_TEMPLATE.format(host=host)).rstrip("/")

    @property
    def token_endpoint(self) -> str:
        """The token endpoint, which is also the assertion's audience."""
        return self.token_url or self.api_url + TOKEN_PATH

    def subsidiary_for(self, legal_entity: str | None) -> str | None:
        """The subsidiary a new customer of `legal_entity` belongs to (the default without one)."""
        if legal_entity is not None and legal_entity in self.subsidiaries:
            return self.subsidiaries[legal_entity]
        return self.subsidiary

    def currency_id(self, code: str) -> str | None:
        """The internal id of the currency record for ISO `code`, None when it is not declared."""
        return self.currencies.get(code)

    def currency_code(self, internal_id: str | None) -> str | None:
        """The ISO code of the currency record `internal_id`, None when it is not declared."""
        for code, known in self.currencies.items():
            if known == internal_id:
                return code
        return None
