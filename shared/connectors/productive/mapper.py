"""Pure functions between the canonical Account and a Productive company (a PSA client).

Company attributes: https://developer.productive.io/companies.html and
https://developer.productive.io/reference/resources/companies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from shared.connectors.productive.schemas import (
    CompanyAttributes,
    CompanyContact,
    CompanyResource,
    ContactAddress,
)
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

COMPANY_TYPE = "companies"  # JSON:API resource type
RECORD_TYPE = "company"  # SourceRef.type of a Productive company inside the hub

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CONTACT_LABEL = "Work"
_BILLING_LABEL = "Billing"


def reference_code(source: SourceRef) -> str:
    """The CRM reference stamped on the company, in `company_code`, so `find_account` can find it again.

    Why `company_code` and not a custom field: the reference docs describe it as "an internal or external
    company code used for integrations or accounting references" and it is a documented filter with
    operations (`filter[company_code][eq]=...`), see https://developer.productive.io/companies.html and
    https://developer.productive.io/reference/resources/companies. A custom field would need a field
    definition created per organization first and its id configured here. The help centre calls the
    code "a unique code assigned to the company" (https://help.productive.io/en/articles/9583103), so a
    second create with the same code is refused by Productive itself. The system prefix keeps ids of two
    CRMs apart; the code is also used in invoice numbering, which a landscape must accept for this choice.
    """
    return f"{source.system.value}-{source.id}"


def name_prefixes(name: str) -> list[str]:
    """The leading words of `name`, shortest first: 'Acme Consulting, LLC' -> 'Acme', 'Acme Consulting', ...

    The first word is the widest net that still finds 'ACME Consulting' for 'Acme Consulting LLC'
    (legal suffixes, punctuation and case differ at the end, rarely at the start); longer prefixes
    narrow the search when a first word is so common that it finds too many companies.
    """
    words = [w.strip(".,;:!?()[]{}\"'") for w in name.split()]
    words = [w for w in words if w]
    return [" ".join(words[: n + 1]) for n in range(len(words))]


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def company_attributes(account: Account) -> dict[str, Any]:
    """The company attributes (JSON:API `attributes`) that hold `account`; None fields become empty."""
    contact: dict[str, list[dict[str, Any]]] = {"emails": [], "phones": [], "websites": [], "addresses": []}
    if account.email:
        contact["emails"].append({"name": _CONTACT_LABEL, "email": account.email})
    if account.phone:
        contact["phones"].append({"name": _CONTACT_LABEL, "phone": account.phone})
    if account.website:
        contact["websites"].append({"name": _CONTACT_LABEL, "website": account.website})
    address = account.billing_address
    if address is not None and any(
        (address.street, address.city, address.region, address.postal_code, address.country)
    ):
        contact["addresses"].append(
            {
                "name": _BILLING_LABEL,
                "address": address.street,
                "city": address.city,
                "state": address.region,
                "zipcode": address.postal_code,
                "country": address.country,
                # the billing address is the one Productive prints on invoices (help: Adding Client Companies)
                "billing_address": True,
            }
        )
    return {
        "name": account.name,
        "default_currency": account.currency,
        "company_code": reference_code(account.source),
        "contact": contact,
    }


def _billing_address(contact: CompanyContact) -> PostalAddress | None:
    candidates = [a for a in contact.addresses if a.billing_address] or list(contact.addresses)
    for entry in candidates:
        address = _address(entry)
        if address is not None:
            return address
    return None


def _address(entry: ContactAddress) -> PostalAddress | None:
    fields = {
        "street": _clean(entry.address),
        "city": _clean(entry.city),
        "region": _clean(entry.state),
        "postal_code": _clean(entry.zipcode),
        "country": _clean(entry.country),
    }
    if not any(fields.values()):
        return None
    return PostalAddress(**fields)


def _currency(value: str | None) -> str | None:
    cleaned = _clean(value)
    if cleaned is None:
        return None
    upper = cleaned.upper()
    return upper if _CURRENCY.match(upper) else None


def company_ref(company_id: str, version: str | None = None) -> SourceRef:
    """The hub's reference to one Productive company (version = its `updated_at`)."""
    return SourceRef(system=SystemName.PRODUCTIVE, type=RECORD_TYPE, id=company_id, version=version)


def account_from_attributes(attributes: CompanyAttributes, source: SourceRef) -> Account:
    """The canonical view of a company's attributes, as seen through the Account model."""
    contact = attributes.contact or CompanyContact()
    email = next((e for e in (_clean(x.email) for x in contact.emails) if e), None)
    phone = next((p for p in (_clean(x.phone) for x in contact.phones) if p), None)
    website = next((w for w in (_clean(x.website) for x in contact.websites) if w), None)
    return Account(
        source=source,
        name=_clean(attributes.name) or "",
        website=website,
        phone=phone,
        email=email,
        billing_address=_billing_address(contact),
        currency=_currency(attributes.default_currency),
    )


def account_from_company(company: CompanyResource) -> Account:
    """The canonical view of a company read from Productive (source = the company, version = updated_at)."""
    view = account_from_attributes(company.attributes, company_ref(company.id, company.attributes.updated_at))
    modified = parse_timestamp(company.attributes.updated_at)
    return view.model_copy(update={"modified_at": modified}) if modified is not None else view


def project(account: Account) -> Account:
    """What a company holds after `account` is written: the same write-then-read path, without the API.

    Every field of the canonical Account has a home on a company, so nothing is dropped; empty
    strings and all-empty addresses normalise to None exactly as `account_from_company` reads them.
    """
    attributes = CompanyAttributes.model_validate(company_attributes(account))
    projected = account_from_attributes(attributes, account.source)
    return projected.model_copy(update={"modified_at": account.modified_at})


def parse_timestamp(value: str | None) -> datetime | None:
    """A Productive ISO 8601 timestamp as an aware UTC datetime (None when absent or unreadable)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Productive timestamps carry an offset; a bare one is read as UTC rather than local time
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
