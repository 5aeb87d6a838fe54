"""QuickBooks Online payloads as pydantic models (tolerant of unknown fields)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class QboModel(BaseModel):
    """Base of QBO payload models: unknown fields are kept (Intuit adds fields with minor versions)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Ref(QboModel):
    """A reference to another entity (`{"value": "USD", "name": "United States Dollar"}`)."""

    value: str
    name: str | None = None


class PhoneNumber(QboModel):
    """TelephoneNumber: the hub only uses the free-form number."""

    FreeFormNumber: str | None = None


class EmailAddress(QboModel):
    """EmailAddress."""

    Address: str | None = None


class WebSiteAddress(QboModel):
    """WebSiteAddress."""

    URI: str | None = None


class PhysicalAddress(QboModel):
    """PhysicalAddress: the lines the hub maps (Line2..Line5, Lat/Long are kept but not mapped)."""

    Id: str | None = None
    Line1: str | None = None
    City: str | None = None
    CountrySubDivisionCode: str | None = None
    PostalCode: str | None = None
    Country: str | None = None


class ModificationMetaData(QboModel):
    """ModificationMetaData (times arrive with a numeric offset, e.g. 2015-07-24T10:33:39-07:00)."""

    CreateTime: str | None = None
    LastUpdatedTime: str | None = None


class Customer(QboModel):
    """The QBO Customer entity, the fields this hub reads or writes.

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    """

    Id: str | None = None
    SyncToken: str | None = None
    DisplayName: str | None = None
    CompanyName: str | None = None
    PrimaryPhone: PhoneNumber | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    WebAddr: WebSiteAddress | None = None
    BillAddr: PhysicalAddress | None = None
    CurrencyRef: Ref | None = None
    SalesTermRef: Ref | None = None
    Notes: str | None = None
    Active: bool | None = None
    MetaData: ModificationMetaData | None = None
    # The hierarchy: a sub-customer (job) has Job=true and a ParentRef; Level and
    # FullyQualifiedName ("Parent:Child") are set by QBO.
    Job: bool | None = None
    ParentRef: Ref | None = None
    BillWithParent: bool | None = None
    Level: int | None = None
    FullyQualifiedName: str | None = None

    @property
    def is_sub_customer(self) -> bool:
        """True for a job / sub-customer (an engagement), False for a top-level customer (an account)."""
        return bool(self.Job) or self.ParentRef is not None


class TrackingCategory(QboModel):
    """A Class or a Department: a named list entity that transactions (not customers) are tagged with.

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/class
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/department
    """

    Id: str | None = None
    SyncToken: str | None = None
    Name: str | None = None
    Active: bool | None = None
    FullyQualifiedName: str | None = None
    ParentRef: Ref | None = None


class TokenResponse(QboModel):
    """The token endpoint's answer to a refresh_token grant.

    https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
    """

    access_token: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type name
    expires_in: int = 3600
    x_refresh_token_expires_in: int | None = None


class FaultItem(BaseModel):
    """One error inside a QBO Fault, whatever casing the body used."""

    model_config = ConfigDict(frozen=True)

    code: str = ""
    message: str = ""
    detail: str = ""
    element: str = ""
    fault_type: str = ""

    def __str__(self) -> str:
        text = f"[{self.code or '?'}] {self.message}"
        if self.detail and self.detail != self.message:
            text += f": {self.detail}"
        if self.element:
            text += f" (element {self.element})"
        return text


def _get(mapping: Any, name: str) -> Any:
    """Case-insensitive key lookup: QBO sends `Fault/Error/Message` but `fault/error/message` on 401s."""
    if not isinstance(mapping, dict):
        return None
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _fault_items(fault: Any) -> Iterator[FaultItem]:
    fault_type = _text(_get(fault, "type"))
    errors = _get(fault, "Error")
    if isinstance(errors, dict):
        errors = [errors]
    if not isinstance(errors, list) or not errors:
        # A Fault with no Error list still is a failure; say what little it says.
        yield FaultItem(fault_type=fault_type, message=fault_type or "Fault without errors")
        return
    for error in errors:
        yield FaultItem(
            code=_text(_get(error, "code")),
            message=_text(_get(error, "Message")),
            detail=_text(_get(error, "Detail")),
            element=_text(_get(error, "element")),
            fault_type=fault_type,
        )


def parse_faults(body: Any, *, nested: bool = True) -> list[FaultItem]:
    """Every error in a QBO response body: top-level `Fault` (either casing) or per-item Faults.

    Tolerant by design: Intuit's own SDK fixtures have `type: "Validation"` with no Detail or element,
    and batch/attachable responses carry one Fault per item.
    https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
    """
    items: list[FaultItem] = []
    if isinstance(body, list):
        for element in body:
            items.extend(parse_faults(element))
        return items
    if not isinstance(body, dict):
        return items
    fault = _get(body, "Fault")
    if isinstance(fault, dict):
        items.extend(_fault_items(fault))
    if not nested:  # the request's own Fault only: the items' Faults are the caller's results
        return items
    for key in ("AttachableResponse", "BatchItemResponse"):
        answers = _get(body, key)
        if isinstance(answers, list):
            for element in answers:
                items.extend(parse_faults(element))
    return items


def format_qbo_time(value: datetime) -> str:
    """A QBO-style timestamp with a numeric offset (what the API returns in MetaData)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class BillableStatus(StrEnum):
    """TimeActivity.BillableStatus: HasBeenBilled is set by QBO once an invoice carries the time."""

    BILLABLE = "Billable"
    NOT_BILLABLE = "NotBillable"
    HAS_BEEN_BILLED = "HasBeenBilled"


# The field below has the enum's name: the annotation names the enum through this alias.
_BillableStatus = BillableStatus


class TimeActivity(QboModel):
    """The QBO TimeActivity entity: who worked (NameOf + EmployeeRef/VendorRef), for whom, how long.

    Money is Decimal: the batch client reads JSON numbers as Decimal, never float.
    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
    """

    # Built on first use (the connector imports many schemas; few calls need this one).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    Id: str | None = None
    SyncToken: str | None = None
    NameOf: str | None = None
    EmployeeRef: Ref | None = None
    VendorRef: Ref | None = None
    CustomerRef: Ref | None = None
    ItemRef: Ref | None = None
    ClassRef: Ref | None = None
    DepartmentRef: Ref | None = None
    TxnDate: date | None = None
    BillableStatus: _BillableStatus | None = None
    Taxable: bool | None = None
    HourlyRate: Decimal | None = None
    Hours: int | None = Field(default=None, ge=0)
    Minutes: int | None = Field(default=None, ge=0, le=59)
    Description: str | None = None
    MetaData: ModificationMetaData | None = None


class Employee(QboModel):
    """The QBO Employee entity, the fields the hub reads.

    https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/employee
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    Id: str | None = None
    SyncToken: str | None = None
    DisplayName: str | None = None
    GivenName: str | None = None
    FamilyName: str | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    Active: bool | None = None
