"""NetSuite REST payloads as pydantic models (tolerant of unknown fields)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NsModel(BaseModel):
    """Base of NetSuite payload models: unknown fields kept, numbers read as text where ids are text."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class Ref(NsModel):
    """A reference to another record: `{"id": "1", "refName": "US Dollar", "links": [...]}`."""

    id: str | None = None
    refName: str | None = None


class Address(NsModel):
    """The address subrecord (`addressbookaddress`), the fields the hub maps.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141947.html
    """

    addr1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class AddressLine(NsModel):
    """One line of the customer's address book sublist."""

    defaultBilling: bool | None = None
    defaultShipping: bool | None = None
    label: str | None = None
    addressbookaddress: Address | None = None


class AddressBook(NsModel):
    """The `addressbook` sublist, as `?expandSubResources=true` returns it."""

    items: list[AddressLine] = Field(default_factory=list)

    def default_billing(self) -> AddressLine | None:
        """The line marked as the default billing address, if any."""
        return next((line for line in self.items if line.defaultBilling), None)


class Customer(NsModel):
    """The customer record's body fields this hub reads or writes (REST field names).

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_161581923822.html
    """

    id: str | None = None
    externalId: str | None = None
    entityId: str | None = None
    companyName: str | None = None
    isPerson: bool | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    isInactive: bool | None = None
    currency: Ref | None = None
    terms: Ref | None = None
    subsidiary: Ref | None = None
    dateCreated: str | None = None
    lastModifiedDate: str | None = None
    addressbook: AddressBook | None = None


class CustomerRow(NsModel):
    """A customer as the hub's SuiteQL statements select it (column names are lower case)."""

    id: str
    externalid: str | None = None
    companyname: str | None = None
    email: str | None = None
    phone: str | None = None
    url: str | None = None
    currency: str | None = None
    terms: str | None = None
    isinactive: str | None = None  # 'T' / 'F'
    defaultbillingaddress: str | None = None  # an entity address's nkey
    lastmodified: str | None = None  # TO_CHAR(..., 'YYYY-MM-DD"T"HH24:MI:SS'), SuiteQL's time zone


class AddressRow(NsModel):
    """An entity address as the hub's SuiteQL statement selects it."""

    nkey: str
    addr1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None


class ErrorDetail(NsModel):
    """One entry of `o:errorDetails`.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
    """

    detail: str = ""
    error_code: str | None = Field(default=None, alias="o:errorCode")
    error_path: str | None = Field(default=None, alias="o:errorPath")
    url_path: str | None = Field(default=None, alias="o:urlPath")
    error_header: str | None = Field(default=None, alias="o:errorHeader")
    error_query_param: str | None = Field(default=None, alias="o:errorQueryParam")

    def __str__(self) -> str:
        where = self.error_path or self.url_path or self.error_header or self.error_query_param
        text = " ".join(self.detail.split())
        return f"{self.error_code or 'ERROR'}: {text}" + (f" (at {where})" if where else "")


class ErrorBody(NsModel):
    """The documented error response: type, title, status and `o:errorDetails`."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    details: list[ErrorDetail] = Field(default_factory=list, alias="o:errorDetails")


def parse_error(body: Any) -> ErrorBody | None:
    """The error body of an answer, or None when it is not the documented shape."""
    if not isinstance(body, dict) or "o:errorDetails" not in body:
        return None
    try:
        return ErrorBody.model_validate(body)
    except ValueError:
        return None


class TokenResponse(NsModel):
    """The token endpoint's answer to a client credentials grant (no refresh token in this flow).

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_162755359851.html
    """

    access_token: str = Field(min_length=1)
    expires_in: int = 3600
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type name


class SuiteQLPage(NsModel):
    """One page of a SuiteQL answer.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
    """

    items: list[dict[str, Any]] = Field(default_factory=list)
    hasMore: bool = False
    count: int = 0
    offset: int = 0
    totalResults: int | None = None


class AsyncJob(NsModel):
    """An asynchronous request's job (`/services/rest/async/v1/job/{id}`) or one of its tasks.

    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161278579295.html
    """

    id: str | None = None
    completed: bool = False
    progress: str | None = None


class TransactionRow(NsModel):
    """An invoice, payment or credit memo as the billing statements select it from `transaction`.

    SuiteQL answers text: amounts are parsed exactly to Decimal by the mapper; a credit memo's are negative.
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
    """

    id: str
    type: str | None = None  # CustInvc, CustPymt, CustCred
    tranid: str | None = None
    entity: str | None = None
    externalid: str | None = None
    trandate: str | None = None  # TO_CHAR(trandate, 'YYYY-MM-DD')
    currency: str | None = None
    foreigntotal: str | None = None
    foreignamountpaid: str | None = None
    foreignamountremaining: str | None = None
    status: str | None = None
    lastmodified: str | None = None  # TO_CHAR(..., 'YYYY-MM-DD"T"HH24:MI:SS'), SuiteQL's time zone


class LinkRow(NsModel):
    """A payment or credit memo applied to an invoice: a row of NextTransactionLineLink."""

    previousdoc: str
    nextdoc: str
    nexttype: str | None = None
    foreignamount: str | None = None
