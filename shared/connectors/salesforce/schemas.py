"""Salesforce payloads as pydantic models (tolerant of unknown fields)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


def _salesforce_datetime(value: Any) -> Any:
    # Salesforce writes "2013-05-20T20:49:32.000+0000" (offset without a colon).
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_valid_date_formats.htm
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("Salesforce timestamps carry an offset; this one has none")
        return parsed.astimezone(UTC)
    if value == "":
        return None
    return value


class VendorModel(BaseModel):
    """Base of Salesforce payloads: unknown fields are kept, never rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class TokenResponse(VendorModel):
    """OAuth 2.0 token endpoint response (client credentials flow)."""

    access_token: SecretStr
    instance_url: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret
    issued_at: str | None = None
    id: str | None = None
    scope: str | None = None


class OAuthError(VendorModel):
    """OAuth endpoint error body: {"error": ..., "error_description": ...}."""

    error: str
    error_description: str | None = None


class ApiError(VendorModel):
    """One element of the JSON error array REST API answers with."""

    message: str = ""
    error_code: str = Field(default="", alias="errorCode")
    fields: list[str] = Field(default_factory=list)


class RecordAttributes(VendorModel):
    """The `attributes` block every record carries: its type and URL."""

    type: str
    url: str | None = None


class SalesforceAccount(VendorModel):
    """An Account record as GET sObject Rows / SOQL returns it (only what the hub maps is typed)."""

    attributes: RecordAttributes | None = None
    id: str = Field(alias="Id")
    name: str | None = Field(default=None, alias="Name")
    website: str | None = Field(default=None, alias="Website")
    phone: str | None = Field(default=None, alias="Phone")
    billing_street: str | None = Field(default=None, alias="BillingStreet")
    billing_city: str | None = Field(default=None, alias="BillingCity")
    billing_state: str | None = Field(default=None, alias="BillingState")
    billing_postal_code: str | None = Field(default=None, alias="BillingPostalCode")
    billing_country: str | None = Field(default=None, alias="BillingCountry")
    # Present only in orgs with multiple currencies enabled.
    currency_iso_code: str | None = Field(default=None, alias="CurrencyIsoCode")
    tax_id: str | None = Field(default=None, alias="Tax_Id__c")
    last_modified_date: datetime | None = Field(default=None, alias="LastModifiedDate")
    system_modstamp: datetime | None = Field(default=None, alias="SystemModstamp")
    is_deleted: bool = Field(default=False, alias="IsDeleted")

    @field_validator("last_modified_date", "system_modstamp", mode="before")
    @classmethod
    def _timestamps(cls, value: Any) -> Any:
        return _salesforce_datetime(value)


class SalesforceOpportunityLineItem(VendorModel):
    """An OpportunityLineItem row of the OpportunityLineItems subquery (only what the hub maps is typed).

    Quantity and UnitPrice arrive as JSON numbers and are read as Decimal (the client parses JSON
    numbers that way), never through float.
    https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-opportunitylineitem.html
    """

    attributes: RecordAttributes | None = None
    id: str = Field(alias="Id")
    role: str | None = Field(default=None, alias="Role__c")
    product: dict[str, Any] | None = Field(default=None, alias="Product2")
    description: str | None = Field(default=None, alias="Description")
    quantity: Decimal | None = Field(default=None, alias="Quantity")
    unit_price: Decimal | None = Field(default=None, alias="UnitPrice")
    sort_order: int | None = Field(default=None, alias="SortOrder")

    @field_validator("quantity", "unit_price", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("a money or quantity figure was parsed as float; parse JSON numbers as Decimal")
        return value

    @property
    def product_name(self) -> str | None:
        """Product2.Name, selected through the child-to-parent relationship in the subquery."""
        if not self.product:
            return None
        name = self.product.get("Name")
        return name if isinstance(name, str) else None


class SalesforceOpportunity(VendorModel):
    """An Opportunity row of the hub's SOQL query, with its OpportunityLineItems subquery result."""

    attributes: RecordAttributes | None = None
    id: str = Field(alias="Id")
    name: str | None = Field(default=None, alias="Name")
    account_id: str | None = Field(default=None, alias="AccountId")
    stage_name: str | None = Field(default=None, alias="StageName")
    is_closed: bool = Field(default=False, alias="IsClosed")
    is_won: bool = Field(default=False, alias="IsWon")
    close_date: date | None = Field(default=None, alias="CloseDate")
    amount: Decimal | None = Field(default=None, alias="Amount")
    # A percent field: 60 means 60 %, as the canonical model keeps it.
    # https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-opportunity.html
    probability: Decimal | None = Field(default=None, alias="Probability")
    # Present only in orgs with multiple currencies enabled.
    currency_iso_code: str | None = Field(default=None, alias="CurrencyIsoCode")
    service_line: str | None = Field(default=None, alias="Service_Line__c")
    billing_model: str | None = Field(default=None, alias="Billing_Model__c")
    department: str | None = Field(default=None, alias="Department__c")
    location: str | None = Field(default=None, alias="Delivery_Location__c")
    cost_center: str | None = Field(default=None, alias="Cost_Center__c")
    retainer_hours: Decimal | None = Field(default=None, alias="Retainer_Hours__c")
    retainer_rollover: bool | None = Field(default=None, alias="Retainer_Rollover__c")
    last_modified_date: datetime | None = Field(default=None, alias="LastModifiedDate")
    system_modstamp: datetime | None = Field(default=None, alias="SystemModstamp")
    last_stage_change_date: datetime | None = Field(default=None, alias="LastStageChangeDate")
    line_items: QueryResult | None = Field(default=None, alias="OpportunityLineItems")

    @field_validator("last_modified_date", "system_modstamp", "last_stage_change_date", mode="before")
    @classmethod
    def _timestamps(cls, value: Any) -> Any:
        return _salesforce_datetime(value)

    @field_validator("amount", "probability", "retainer_hours", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError("a number was parsed as float; parse JSON numbers as Decimal")
        return value


class SaveResult(VendorModel):
    """One record's outcome in an sObject Collections answer (errors name `statusCode`, not errorCode).

    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    """

    id: str | None = None
    success: bool
    errors: list[dict[str, Any]] = Field(default_factory=list)

    def describe(self) -> str:
        return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in self.errors) or "failed"

    @property
    def status_codes(self) -> set[str]:
        return {str(e.get("statusCode")) for e in self.errors}


class QueryResult(VendorModel):
    """One page of a SOQL query: records plus the locator URL of the next page."""

    total_size: int = Field(alias="totalSize")
    done: bool
    next_records_url: str | None = Field(default=None, alias="nextRecordsUrl")
    records: list[dict[str, Any]] = Field(default_factory=list)


class ApiUsage(BaseModel):
    """The org's rolling 24-hour API usage from the Sforce-Limit-Info header (api-usage=used/limit)."""

    model_config = ConfigDict(frozen=True)

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


_API_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """ApiUsage from `Sforce-Limit-Info: api-usage=18/5000; per-app-api-usage=...`, else None.

    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
    """
    if not header:
        return None
    match = _API_USAGE.search(header)
    if match is None:
        return None
    return ApiUsage(used=int(match.group(1)), limit=int(match.group(2)))
