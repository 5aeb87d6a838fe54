"""Canonical records shared by every flow; vendor names stop at each connector's mapper."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def checksum_of(content: Any) -> str:
    """A stable digest of JSON-able `content` (sorted keys, no spaces): equal content, equal checksum.

    What the ledger records as an account's checksum, and what a domain event's id is derived from.
    """
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class CanonicalModel(BaseModel):
    """Base of canonical records: immutable, strict about unknown fields."""

    # Validators are built on a model's first use, not at import: a handler pays only for the models
    # its path validates (a webhook needs a notice, not an engagement or an invoice).
    # https://docs.pydantic.dev/latest/api/config/#pydantic.config.ConfigDict.defer_build
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, defer_build=True)


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps inside the hub must be timezone-aware")
    return value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_require_utc)]


def host_time() -> float:
    """Epoch seconds by this host's clock (NTP time on Lambda hosts).

    The local runtime replaces this name with its virtual clock (infra/local/moto_patches.py): the
    vendors' twins stamp records, expire tokens and sign webhooks in that time, and the hub must
    agree with them (a token's expiry, a signature's age, a sweep's window) as it does with real ones.
    """
    return time.time()


def epoch_seconds() -> float:
    """Epoch seconds now, every container's common time (looks `host_time` up on each call)."""
    return host_time()


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC (the only clock reading domain code should use)."""
    return datetime.fromtimestamp(epoch_seconds(), tz=UTC)


class SystemName(StrEnum):
    """Every connected system close2cash speaks to (one connector package each)."""

    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"
    KANTATA = "kantata"
    PRODUCTIVE = "productive"
    NETSUITE = "netsuite"
    QUICKBOOKS = "quickbooks"
    XERO = "xero"
    BUSINESSCENTRAL = "businesscentral"


class EntityType(StrEnum):
    """Canonical record types that notices and cross-references speak of."""

    ACCOUNT = "account"
    CONTACT = "contact"
    WORKER = "worker"
    OPPORTUNITY = "opportunity"
    CONTRACT = "contract"
    RATE_CARD = "rate_card"
    ENGAGEMENT = "engagement"
    TIME_ENTRY = "time_entry"
    EXPENSE_ENTRY = "expense_entry"
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_MEMO = "credit_memo"


class SourceRef(CanonicalModel):
    """Where a record lives: system + type + id, and the version the system gave it."""

    system: SystemName
    type: str = Field(min_length=1)
    id: str = Field(min_length=1)
    version: str | None = None

    def __str__(self) -> str:
        suffix = f"@{self.version}" if self.version else ""
        return f"{self.system}/{self.type}/{self.id}{suffix}"


class PostalAddress(CanonicalModel):
    """A postal address as the firm bills to it."""

    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Account(CanonicalModel):
    """A customer of the firm, as its system of record (the CRM) describes it."""

    source: SourceRef
    name: str = Field(min_length=1, max_length=255)
    website: str | None = None
    phone: str | None = None
    email: str | None = None
    billing_address: PostalAddress | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # The customer's tax or VAT registration number as the CRM holds it; the strongest key for
    # linking a customer that already exists elsewhere (see [matching] in the landscape).
    tax_id: str | None = Field(default=None, max_length=40)
    # How long the customer has to pay, in the words of the system that holds the copy: the
    # landscape names the system that owns it (accounting, typically) and its payment_terms table
    # translates the owner's value for every other system.
    payment_terms: str | None = Field(default=None, max_length=100)
    modified_at: UtcDateTime | None = None

    def synced_fields(self) -> dict[str, Any]:
        """The business content that flows to other systems (no ids, versions or timestamps)."""
        return self.model_dump(mode="json", exclude={"source", "modified_at"}, exclude_none=False)

    def checksum(self) -> str:
        """A stable digest of `synced_fields`: equal content gives an equal checksum in any system."""
        return checksum_of(self.synced_fields())
