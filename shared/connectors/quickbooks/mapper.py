"""Pure mapping between the canonical Account / Engagement and the QuickBooks Online Customer (no I/O)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.connectors.quickbooks.schemas import Customer
from shared.connectors.quickbooks.times import parse_qbo_time
from shared.domain.account_ports import TargetRecord
from shared.domain.engagement_ports import EngagementRecord, EngagementStatus
from shared.domain.models import Account, PostalAddress, SourceRef, SystemName

if TYPE_CHECKING:
    from shared.domain.engagements import Engagement

# QBO Customer has no external-id field in the v3 REST API, and `Notes` (free text, up to 2000
# characters) is not filterable in queries; `DisplayName` is both filterable and unique across
# customers, vendors and employees. So the hub stamps the CRM reference into `Notes` and finds its
# own customer by querying `DisplayName` and then checking the stamp: the query narrows to at most
# one record and the stamp proves the hub made it (a bookkeeper's same-named customer has no stamp).
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
STAMP_PREFIX = "close2cash-ref:"

# Characters QBO refuses in a DisplayName (the colon separates Customer:Job levels).
# https://support.workato.com/en/support/solutions/articles/1000186620-quickbooks-error-duplicate-name-exists
_FORBIDDEN_IN_NAME = {":": "-", "\t": " ", "\n": " ", "\r": " "}

CUSTOMER_TYPE = "customer"


def crm_stamp(source: SourceRef) -> str:
    """The line stamped into Customer.Notes: the system-of-record reference, without its version."""
    return f"{STAMP_PREFIX}{source.system}/{source.type}/{source.id}"


def stamp_origin(customer: Customer) -> SourceRef | None:
    """The system-of-record record named by the customer's stamp, or None (not made by the hub)."""
    for line in (customer.Notes or "").splitlines():
        text = line.strip()
        if not text.startswith(STAMP_PREFIX):
            continue
        system, _, rest = text[len(STAMP_PREFIX) :].partition("/")
        kind, _, record_id = rest.partition("/")
        if system in _SYSTEMS and kind and record_id:
            return SourceRef(system=SystemName(system), type=kind, id=record_id)
    return None


_SYSTEMS = frozenset(system.value for system in SystemName)


def carries_stamp(customer: Customer, source: SourceRef) -> bool:
    """True when `customer` was created by this hub for the CRM record `source`."""
    notes = customer.Notes or ""
    return crm_stamp(source) in {line.strip() for line in notes.splitlines()}


# Further lines of the same Notes stamp, for what a sub-customer (engagement) needs remembered.
# QBO has no ClassRef or DepartmentRef on a Customer: classes and departments are applied on
# transactions and their lines. So the engagement's class and department are stamped here and
# read back (`stamped_value`) by whoever posts its time and invoices.
# https://developer.intuit.com/app/developer/qbo/docs/workflows/categorize-income-and-expenses
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
CLASS_LINE = "close2cash-class:"
DEPARTMENT_LINE = "close2cash-department:"
CLOSED_LINE = "close2cash-closed:"
# Customer.Notes holds at most 2000 characters.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
NOTES_MAX = 2000


def stamped_value(customer: Customer, prefix: str) -> str | None:
    """The value of the stamp line starting with `prefix` (e.g. `CLASS_LINE`), or None."""
    for line in (customer.Notes or "").splitlines():
        if line.strip().startswith(prefix):
            return line.strip()[len(prefix) :].strip() or None
    return None


def engagement_stamp_source(engagement: Engagement) -> SourceRef:
    """The reference an engagement's sub-customer is stamped with: its opportunity, else itself.

    `find_engagement` is asked by opportunity (the workflow knows it before any project exists).
    """
    return engagement.opportunity if engagement.opportunity is not None else engagement.source


def engagement_notes(source: SourceRef, *, class_id: str | None, department_id: str | None) -> str:
    """The Notes of a new engagement sub-customer: our stamp, then its class and department."""
    lines = [crm_stamp(source)]
    if class_id:
        lines.append(f"{CLASS_LINE}{class_id}")
    if department_id:
        lines.append(f"{DEPARTMENT_LINE}{department_id}")
    return "\n".join(lines)


def notes_with_closed_reason(notes: str | None, reason: str) -> str:
    """`notes` with one closed line carrying `reason`; every other line (our stamp) kept as it was."""
    kept = [line for line in (notes or "").splitlines() if not line.strip().startswith(CLOSED_LINE)]
    room = NOTES_MAX - len("\n".join(kept)) - len(CLOSED_LINE) - 2
    text = " ".join(reason.split())
    if len(text) > room:
        text = text[: max(room - 3, 0)] + "..."
    return "\n".join([*kept, f"{CLOSED_LINE} {text}"])


def notes_reopened(notes: str | None, *, class_id: str | None, department_id: str | None) -> str:
    """`notes` without the closed line and with today's class and department lines.

    Lines a bookkeeper added are kept where they were; the class and department lines follow the
    stamp, so a corrected mapping reaches the postings of a reopened engagement.
    """
    ours = (CLOSED_LINE, CLASS_LINE, DEPARTMENT_LINE)
    lines = [line for line in (notes or "").splitlines() if not line.strip().startswith(ours)]
    tracking = [f"{CLASS_LINE}{class_id}"] if class_id else []
    tracking += [f"{DEPARTMENT_LINE}{department_id}"] if department_id else []
    stamp_at = next((i for i, line in enumerate(lines) if line.strip().startswith(STAMP_PREFIX)), -1)
    return "\n".join([*lines[: stamp_at + 1], *tracking, *lines[stamp_at + 1 :]])[:NOTES_MAX]


def engagement_create_payload(
    engagement: Engagement,
    *,
    parent_id: str,
    class_id: str | None,
    department_id: str | None,
) -> dict[str, Any]:
    """Body of POST /customer for an engagement: an inactive sub-customer billed with its parent.

    Job=true + ParentRef makes a sub-customer; BillWithParent=true bills its work to the parent
    customer (the account, whose address and terms the CRM sync keeps), as QBO's own projects are.
    Active=false is the DRAFT: inactive customers are left out of QBO's lists and pickers, so
    nobody posts time or invoices to an engagement before it is approved.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    """
    return {
        "DisplayName": display_name(engagement.name),
        "Job": True,
        "ParentRef": {"value": parent_id},
        "BillWithParent": True,
        "Active": False,
        "CurrencyRef": {"value": engagement.currency},
        "Notes": engagement_notes(
            engagement_stamp_source(engagement), class_id=class_id, department_id=department_id
        ),
    }


def engagement_status(customer: Customer) -> EngagementStatus:
    """Active -> ACTIVE; inactive with our closed line -> CLOSED; inactive without it -> DRAFT."""
    if customer.Active is not False:
        return EngagementStatus.ACTIVE
    if stamped_value(customer, CLOSED_LINE) is not None:
        return EngagementStatus.CLOSED
    return EngagementStatus.DRAFT


def engagement_record(customer: Customer) -> EngagementRecord:
    """A sub-customer seen as the engagement's record in QuickBooks."""
    return EngagementRecord(
        ref=source_ref(customer),
        status=engagement_status(customer),
        name=_clean(customer.DisplayName) or f"Customer {customer.Id}",
    )


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def display_name(name: str) -> str:
    """The DisplayName QBO will accept for `name` (forbidden characters replaced, not dropped)."""
    for bad, good in _FORBIDDEN_IN_NAME.items():
        name = name.replace(bad, good)
    return " ".join(name.split())


def engagement_unique_name(engagement: Engagement) -> str:
    """The engagement's name made unique by its deal's id, for when another record holds the name."""
    stamp = engagement_stamp_source(engagement)
    return display_name(f"{engagement.name} ({stamp.id})")


def name_prefixes(name: str) -> list[str]:
    """The leading words of a DisplayName, shortest first: 'Acme Consulting, LLC' -> 'Acme', ...

    The first word finds 'ACME Consulting' for 'Acme Consulting LLC' (suffixes, punctuation and case
    differ at the end of a name, rarely at its start); longer prefixes narrow a search that a
    common first word made too wide.
    """
    words = [w.strip(".,;!?()[]{}\"'") for w in display_name(name).split()]
    words = [w for w in words if w]
    return [" ".join(words[: n + 1]) for n in range(len(words))]


def _address_fields(address: PostalAddress | None) -> dict[str, str | None]:
    source = address or PostalAddress()
    return {
        "Line1": _clean(source.street),
        "City": _clean(source.city),
        "CountrySubDivisionCode": _clean(source.region),
        "PostalCode": _clean(source.postal_code),
        "Country": _clean(source.country),
    }


def _content(account: Account) -> dict[str, Any]:
    """The Customer fields this hub owns, with None where the account has no value."""
    return {
        "DisplayName": display_name(account.name),
        "CompanyName": _clean(account.name),
        "PrimaryPhone": _clean(account.phone),
        "PrimaryEmailAddr": _clean(account.email),
        "WebAddr": _clean(account.website),
        "BillAddr": _address_fields(account.billing_address),
    }


def create_payload(account: Account) -> dict[str, Any]:
    """Body of POST /customer for a new customer: only fields with a value, plus the CRM stamp."""
    content = _content(account)
    body: dict[str, Any] = {"DisplayName": content["DisplayName"], "Notes": crm_stamp(account.source)}
    if content["CompanyName"]:
        body["CompanyName"] = content["CompanyName"]
    if content["PrimaryPhone"]:
        body["PrimaryPhone"] = {"FreeFormNumber": content["PrimaryPhone"]}
    if content["PrimaryEmailAddr"]:
        body["PrimaryEmailAddr"] = {"Address": content["PrimaryEmailAddr"]}
    if content["WebAddr"]:
        body["WebAddr"] = {"URI": content["WebAddr"]}
    address = {key: value for key, value in content["BillAddr"].items() if value}
    if address:
        body["BillAddr"] = address
    if account.currency:
        # CurrencyRef is settable on create only; without it QBO uses the company's home currency.
        body["CurrencyRef"] = {"value": account.currency}
    if account.payment_terms:
        body["SalesTermRef"] = {"value": account.payment_terms}
    return body


def sparse_update_payload(account: Account, *, customer_id: str, sync_token: str) -> dict[str, Any]:
    """Body of a sparse update: every hub-owned field, cleared ones sent as empty strings.

    `sparse: true` leaves fields the hub does not own (terms, tax codes, the bookkeeper's notes
    beyond our stamp) untouched; an owned field the CRM cleared is sent empty so that it clears
    in QBO as well instead of silently keeping the old value.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    """
    content = _content(account)
    # Terms (SalesTermRef, a Term's Id) are sent only with a value: where accounting owns them the
    # value is QBO's own, read back, and the hub never clears what a bookkeeper set.
    terms = {"SalesTermRef": {"value": account.payment_terms}} if account.payment_terms else {}
    return {
        **terms,
        "Id": customer_id,
        "SyncToken": sync_token,
        "sparse": True,
        "DisplayName": content["DisplayName"],
        "CompanyName": content["CompanyName"] or "",
        "PrimaryPhone": {"FreeFormNumber": content["PrimaryPhone"] or ""},
        "PrimaryEmailAddr": {"Address": content["PrimaryEmailAddr"] or ""},
        "WebAddr": {"URI": content["WebAddr"] or ""},
        "BillAddr": {key: value or "" for key, value in content["BillAddr"].items()},
    }


def source_ref(customer: Customer) -> SourceRef:
    """Where a customer lives: quickbooks/customer/<Id>@<SyncToken>."""
    if not customer.Id:
        raise ValueError("a QuickBooks customer without an Id cannot be referenced")
    return SourceRef(
        system=SystemName.QUICKBOOKS, type=CUSTOMER_TYPE, id=customer.Id, version=customer.SyncToken
    )


def target_record(customer: Customer) -> TargetRecord:
    """A customer as the hub's target record: its view, and the CRM record its stamp names.

    A sub-customer is an engagement, never an account's copy: it names no account origin.
    """
    return TargetRecord(
        ref=source_ref(customer),
        view=account_view(customer),
        origin=None if customer.is_sub_customer else stamp_origin(customer),
        active=customer.Active is not False,
    )


def account_view(customer: Customer) -> Account:
    """A customer seen through the canonical model (the view the hub checksums for echo suppression)."""
    address_model = customer.BillAddr
    address = PostalAddress(
        street=_clean(address_model.Line1) if address_model else None,
        city=_clean(address_model.City) if address_model else None,
        region=_clean(address_model.CountrySubDivisionCode) if address_model else None,
        postal_code=_clean(address_model.PostalCode) if address_model else None,
        country=_clean(address_model.Country) if address_model else None,
    )
    return Account(
        source=source_ref(customer),
        name=_clean(customer.DisplayName) or _clean(customer.CompanyName) or f"Customer {customer.Id}",
        website=_clean(customer.WebAddr.URI) if customer.WebAddr else None,
        phone=_clean(customer.PrimaryPhone.FreeFormNumber) if customer.PrimaryPhone else None,
        email=_clean(customer.PrimaryEmailAddr.Address) if customer.PrimaryEmailAddr else None,
        billing_address=None if address == PostalAddress() else address,
        currency=_clean(customer.CurrencyRef.value) if customer.CurrencyRef else None,
        payment_terms=_clean(customer.SalesTermRef.value) if customer.SalesTermRef else None,
        modified_at=parse_qbo_time(customer.MetaData.LastUpdatedTime) if customer.MetaData else None,
    )


def project(account: Account, *, home_currency: str) -> Account:
    """What QBO holds after writing `account`: same round trip as create + read, without the I/O."""
    payload = {**create_payload(account), "Id": "projection", "SyncToken": "0"}
    payload.setdefault("CurrencyRef", {"value": home_currency})
    view = account_view(Customer.model_validate(payload))
    return view.model_copy(update={"source": account.source, "modified_at": account.modified_at})
