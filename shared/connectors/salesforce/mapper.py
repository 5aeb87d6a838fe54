"""Pure functions: Salesforce Account records -> the canonical `Account`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.connectors.salesforce.schemas import SalesforceAccount
from shared.domain.errors import ValidationFailed
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

ACCOUNT_TYPE = "Account"


def _text(value: str | None) -> str | None:
    """Salesforce returns blank text fields as null or "" depending on the API path; both mean absent."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def version_of(timestamp: datetime) -> str:
    """A record version string from a Salesforce timestamp: UTC, millisecond precision, like the API."""
    return timestamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def billing_address(record: SalesforceAccount) -> PostalAddress | None:
    """The Billing* compound address, or None when every part is empty."""
    parts = {
        "street": _text(record.billing_street),
        "city": _text(record.billing_city),
        "region": _text(record.billing_state),
        "postal_code": _text(record.billing_postal_code),
        "country": _text(record.billing_country),
    }
    if not any(parts.values()):
        return None
    return PostalAddress(**parts)


def account_from_salesforce(record: SalesforceAccount) -> Account:
    """The canonical account for one Salesforce Account record.

    `modified_at` is LastModifiedDate (the last change a person or integration made); the version is
    SystemModstamp, which also moves on system changes, so that any change yields a new version.
    Both fall back to each other when a query selected only one of them.
    """
    modified = record.last_modified_date or record.system_modstamp
    stamp = record.system_modstamp or record.last_modified_date
    currency = _text(record.currency_iso_code)
    try:
        return Account(
            source=SourceRef(
                system=SystemName.SALESFORCE,
                type=ACCOUNT_TYPE,
                id=record.id,
                version=version_of(stamp) if stamp else None,
            ),
            name=_text(record.name) or "",
            website=_text(record.website),
            phone=_text(record.phone),
            billing_address=billing_address(record),
            currency=currency.upper() if currency else None,
            modified_at=modified,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ValidationFailed(f"Salesforce Account {record.id} cannot be mapped: {problems}") from exc


def account_from_payload(payload: dict[str, Any]) -> Account:
    """The canonical account for a raw JSON record (GET sObject Rows or one SOQL row)."""
    try:
        record = SalesforceAccount.model_validate(payload)
    except ValidationError as exc:
        raise ValidationFailed(f"Salesforce Account payload is not valid: {exc}") from exc
    return account_from_salesforce(record)
