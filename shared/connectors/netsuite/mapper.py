"""Pure mapping between the canonical Account and the NetSuite customer record (no I/O).

The hub's own customers carry an external id derived from the CRM record: it is the upsert key
(`PUT .../customer/eid:{externalId}`), the way to find the hub's customer after a crash (one GET),
and the stamp that says which CRM record a customer was made for (it decodes back to it).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.schemas import (
    Address,
    AddressBook,
    AddressLine,
    AddressRow,
    Customer,
    CustomerRow,
)
from shared.domain.account_ports import TargetRecord
from shared.domain.errors import ValidationFailed
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

CUSTOMER_TYPE = "customer"
EXTERNAL_ID_PREFIX = "c2c-"
BILLING_LABEL = "Billing"
_SYSTEMS = frozenset(system.value for system in SystemName)
# Read-only parts of an address book line that are not sent back when the sublist is rewritten.
_NOT_WRITTEN = frozenset({"links", "addrText"})


# --- the external id ----------------------------------------------------------------------------
#
# External ids may hold letters, digits, `_` and `-`; and NetSuite compares them without regard to
# case (3p: https://knowledgelib.io/business/erp-integration/duplicate-detection-natural-keys/2026),
# while a Salesforce id is case-sensitive (001Ab and 001aB are two accounts). So the CRM reference
# `system/type/id` is written with lower-case letters and digits as they are, `/` as `-`, an upper-
# case letter as `_` + the letter in lower case, and any other byte as `__` + two hex digits. The
# result is the same whatever case NetSuite folds it to, decodes back exactly, and stays readable:
# salesforce/account/001ACME -> c2c-salesforce-account-001_a_c_m_e


def external_id(source: SourceRef) -> str:
    """The external id of the customer the hub makes for the CRM record `source` (version ignored)."""
    text = f"{source.system}/{source.type}/{source.id}"
    out: list[str] = []
    for char in text:
        if char.isascii() and (char.islower() or char.isdigit()):
            out.append(char)
        elif char == "/":
            out.append("-")
        elif char.isascii() and char.isupper():
            out.append("_" + char.lower())
        else:
            out.extend(f"__{byte:02x}" for byte in char.encode())
    return EXTERNAL_ID_PREFIX + "".join(out)


def origin(external: str | None) -> SourceRef | None:
    """The CRM record an external id made by `external_id` names; None for any other external id."""
    if not external:
        return None
    text = external.lower()
    if not text.startswith(EXTERNAL_ID_PREFIX):
        return None
    decoded = bytearray()
    rest, n = text[len(EXTERNAL_ID_PREFIX) :], 0
    try:
        while n < len(rest):
            char = rest[n]
            if char == "-":
                decoded += b"/"
                n += 1
            elif char == "_" and rest[n + 1] == "_":
                decoded.append(int(rest[n + 2 : n + 4], 16))
                n += 4
            elif char == "_":
                decoded += rest[n + 1].upper().encode()
                n += 2
            else:
                decoded += char.encode()
                n += 1
        system, kind, record_id = decoded.decode().split("/", 2)
    except (IndexError, ValueError, UnicodeDecodeError):
        return None
    if system not in _SYSTEMS or not kind or not record_id:
        return None
    return SourceRef(system=SystemName(system), type=kind, id=record_id)


# --- times and versions -----------------------------------------------------------------------


def rest_time(value: str | None) -> datetime | None:
    """A REST datetime (ISO 8601, UTC: 2017-07-21T17:32:28Z) as an aware datetime.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157305090645.html
    """
    return suiteql_time(value, UTC)


def query_zone(connection: NetSuiteConnection) -> tzinfo:
    """The zone SuiteQL shows datetimes in (the integration user's preference)."""
    return UTC if connection.suiteql_time_zone == "UTC" else ZoneInfo(connection.suiteql_time_zone)


def suiteql_time(value: str | None, zone: tzinfo) -> datetime | None:
    """`YYYY-MM-DDTHH24:MI:SS` as the hub's statements format it, read in `zone` (SuiteQL's) when
    it names none."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when.replace(tzinfo=zone) if when.tzinfo is None else when).astimezone(UTC)


def version_of(modified: datetime | None) -> str | None:
    """A customer's version: its lastModifiedDate to the second, in UTC (NetSuite has no sync token)."""
    return None if modified is None else modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def source_ref(record_id: str, modified: datetime | None) -> SourceRef:
    """Where a customer lives: netsuite/customer/<internal id>@<lastModifiedDate>."""
    return SourceRef(
        system=SystemName.NETSUITE, type=CUSTOMER_TYPE, id=record_id, version=version_of(modified)
    )


# --- account -> customer ----------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = " ".join(value.split())
    return stripped or None


def company_name(name: str) -> str:
    """The companyName written for an account's name (runs of whitespace as one space)."""
    return " ".join(name.split())


def _address(address: PostalAddress | None) -> dict[str, str]:
    source = address or PostalAddress()
    fields = {
        "addr1": _clean(source.street),
        "city": _clean(source.city),
        "state": _clean(source.region),
        "zip": _clean(source.postal_code),
        # NetSuite's country is an enumeration of ISO 3166 codes ("US"); a CRM's free text that is
        # not one is refused by NetSuite (INVALID_CONTENT), which names the field.
        "country": _clean(source.country),
    }
    return {key: value for key, value in fields.items() if value}


def billing_line(account: Account) -> dict[str, Any] | None:
    """The address book line for the account's billing address (None: it has none)."""
    address = _address(account.billing_address)
    if not address:
        return None
    return {"defaultBilling": True, "label": BILLING_LABEL, "addressbookaddress": address}


def currency_ref(account: Account, connection: NetSuiteConnection) -> dict[str, str] | None:
    """`{"id": ...}` of the currency record for the account's currency (None: the subsidiary's)."""
    if not account.currency:
        return None
    internal = connection.currency_id(account.currency)
    if internal is None:
        raise ValidationFailed(
            f"netsuite: account {account.source} is in {account.currency}, which the NetSuite "
            f"connection does not map to a currency record: add it to the connection's currencies"
        )
    return {"id": internal}


def upsert_payload(
    account: Account, connection: NetSuiteConnection, *, legal_entity: str | None = None
) -> dict[str, Any]:
    """Body of `PUT .../customer/eid:{externalId}`: a company customer with only fields that have a value.

    isPerson=false makes it a company (companyName instead of first and last name); OneWorld needs
    a subsidiary on a new customer; terms is a Term record's id, in NetSuite's own words (the
    landscape translates the owner's value).
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_161581923822.html
    """
    # The external id is in the URL (eid:...): an upsert that creates sets it from there.
    body: dict[str, Any] = {
        "isPerson": False,
        "companyName": company_name(account.name),
    }
    for field, value in (("email", account.email), ("phone", account.phone), ("url", account.website)):
        if _clean(value):
            body[field] = _clean(value)
    currency = currency_ref(account, connection)
    if currency is not None:
        body["currency"] = currency
    if account.payment_terms:
        body["terms"] = {"id": account.payment_terms}
    subsidiary = connection.subsidiary_for(legal_entity)
    if subsidiary:
        body["subsidiary"] = {"id": subsidiary}
    line = billing_line(account)
    if line is not None:
        body["addressbook"] = {"items": [line]}
    return body


def update_payload(
    current: Customer, account: Account, connection: NetSuiteConnection
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The PATCH body that makes `current` hold `account`'s content, and the sublists it replaces.

    Only fields that differ are sent; a field the CRM cleared is sent as null so it clears in
    NetSuite too. Terms are sent only with a value: where accounting owns them, the value is
    NetSuite's own, and the hub never clears what a bookkeeper set. A changed billing address
    rewrites the address book (`replace=addressbook`): the other lines are sent back as they are,
    the default billing line is the account's.
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
    """
    held = account_view(current, connection)
    wanted = project(account, connection)
    body: dict[str, Any] = {}
    if held.name != wanted.name:
        body["companyName"] = wanted.name
    for field, attribute in (("email", "email"), ("phone", "phone"), ("url", "website")):
        if getattr(held, attribute) != getattr(wanted, attribute):
            body[field] = getattr(wanted, attribute)
    if wanted.payment_terms and held.payment_terms != wanted.payment_terms:
        body["terms"] = {"id": wanted.payment_terms}
    replace: tuple[str, ...] = ()
    if held.billing_address != wanted.billing_address:
        lines = [
            _as_written(line)
            for line in (current.addressbook or AddressBook()).items
            if not line.defaultBilling
        ]
        line = billing_line(account)
        body["addressbook"] = {"items": [*lines, *([line] if line else [])]}
        replace = ("addressbook",)
    return body, replace


def _as_written(line: AddressLine) -> dict[str, Any]:
    written = {
        k: v for k, v in line.model_dump(mode="json", exclude_none=True).items() if k not in _NOT_WRITTEN
    }
    address = written.get("addressbookaddress")
    if isinstance(address, dict):
        written["addressbookaddress"] = {k: v for k, v in address.items() if k not in _NOT_WRITTEN}
    return written


# --- customer -> account ----------------------------------------------------------------------


def _postal(address: Address | AddressRow | None) -> PostalAddress | None:
    """The address subrecord's fields (or an entity address row's) as a postal address."""
    if address is None:
        return None
    postal = PostalAddress(
        street=_clean(address.addr1),
        city=_clean(address.city),
        region=_clean(address.state),
        postal_code=_clean(address.zip),
        country=_clean(address.country),
    )
    return None if postal == PostalAddress() else postal


def account_view(customer: Customer, connection: NetSuiteConnection) -> Account:
    """A customer record seen through the canonical model (the view the hub checksums)."""
    if not customer.id:
        raise ValueError("a NetSuite customer without an id cannot be referenced")
    modified = rest_time(customer.lastModifiedDate)
    currency = customer.currency.id if customer.currency else connection.currency_id(connection.home_currency)
    billing = (customer.addressbook or AddressBook()).default_billing()
    return Account(
        source=source_ref(customer.id, modified),
        name=_clean(customer.companyName) or _clean(customer.entityId) or f"Customer {customer.id}",
        website=_clean(customer.url),
        phone=_clean(customer.phone),
        email=_clean(customer.email),
        billing_address=_postal(billing.addressbookaddress if billing is not None else None),
        currency=connection.currency_code(currency),
        payment_terms=_clean(customer.terms.id) if customer.terms else None,
        modified_at=modified,
    )


def row_view(row: CustomerRow, address: AddressRow | None, connection: NetSuiteConnection) -> Account:
    """A customer as the hub's SuiteQL statements select it (with its default billing address)."""
    modified = suiteql_time(row.lastmodified, query_zone(connection))
    return Account(
        source=source_ref(row.id, modified),
        name=_clean(row.companyname) or f"Customer {row.id}",
        website=_clean(row.url),
        phone=_clean(row.phone),
        email=_clean(row.email),
        billing_address=_postal(address),
        currency=connection.currency_code(row.currency or connection.currency_id(connection.home_currency)),
        payment_terms=_clean(row.terms),
        modified_at=modified,
    )


def target_record(customer: Customer, connection: NetSuiteConnection) -> TargetRecord:
    """A customer as the hub's target record: its view, and the CRM record its external id names."""
    view = account_view(customer, connection)
    return TargetRecord(
        ref=view.source, view=view, origin=origin(customer.externalId), active=customer.isInactive is not True
    )


def row_record(row: CustomerRow, address: AddressRow | None, connection: NetSuiteConnection) -> TargetRecord:
    """A SuiteQL row as the hub's target record (the same content a read of the record gives)."""
    view = row_view(row, address, connection)
    active = (row.isinactive or "F").upper() != "T"
    return TargetRecord(ref=view.source, view=view, origin=origin(row.externalid), active=active)


def project(account: Account, connection: NetSuiteConnection) -> Account:
    """What NetSuite holds after the upsert of `account`: the same round trip as write + read."""
    payload = {**upsert_payload(account, connection), "id": "projection"}
    payload.setdefault("currency", {"id": connection.currency_id(connection.home_currency)})
    view = account_view(Customer.model_validate(payload), connection)
    return view.model_copy(update={"source": account.source, "modified_at": account.modified_at})


# --- searching ------------------------------------------------------------------------------------


def name_prefixes(name: str) -> list[str]:
    """The leading words of a name, shortest first: 'Acme Consulting, LLC' -> 'acme', 'acme consulting', ...

    Lower case: SuiteQL compares them with LOWER(companyname), so case never hides a namesake.
    """
    words = [w.strip(".,;!?()[]{}\"'") for w in company_name(name).lower().split()]
    words = [w for w in words if w]
    return [" ".join(words[: n + 1]) for n in range(len(words))]


def web_domain(url: str | None) -> str | None:
    """The host of a web address without `www.`: 'https://www.acme.example/x' -> 'acme.example'."""
    text = _clean(url)
    if not text:
        return None
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    host = host.lower().removeprefix("www.")
    return host if "." in host else None
