"""Productive.io payloads as pydantic models (tolerant of unknown fields) and the connection settings.

Reference: https://developer.productive.io/ (JSON:API, https://api.productive.io/api/v2) and
https://developer.productive.io/companies.html for the company attributes.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class VendorModel(BaseModel):
    """Base of Productive payload models: unknown fields are kept, never rejected."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# --- company contact (https://developer.productive.io/companies.html: "contact (json) - it is possible
# to add emails, phones, websites and addresses (city, state, ZIP code, country, billing address)") ----


class ContactEmail(VendorModel):
    """One e-mail entry of a company's contact block."""

    name: str | None = None
    email: str | None = None


class ContactPhone(VendorModel):
    """One phone entry of a company's contact block."""

    name: str | None = None
    phone: str | None = None


class ContactWebsite(VendorModel):
    """One website entry of a company's contact block."""

    name: str | None = None
    website: str | None = None


class ContactAddress(VendorModel):
    """One postal address of a company's contact block; `billing_address` marks the invoicing one."""

    name: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    zipcode: str | None = None
    country: str | None = None
    billing_address: bool | None = None


class CompanyContact(VendorModel):
    """The `contact` attribute of a company."""

    emails: list[ContactEmail] = Field(default_factory=list)
    phones: list[ContactPhone] = Field(default_factory=list)
    websites: list[ContactWebsite] = Field(default_factory=list)
    addresses: list[ContactAddress] = Field(default_factory=list)


class CompanyAttributes(VendorModel):
    """The attributes of a `companies` resource that this hub reads or writes."""

    name: str | None = None
    billing_name: str | None = None
    vat: str | None = None
    default_currency: str | None = None
    due_days: int | None = None
    company_code: str | None = None
    domain: str | None = None
    description: str | None = None
    contact: CompanyContact | None = None
    created_at: str | None = None
    updated_at: str | None = None
    archived_at: str | None = None


class CompanyResource(VendorModel):
    """A JSON:API resource object of type `companies`."""

    id: str
    type: str = "companies"
    attributes: CompanyAttributes = Field(default_factory=CompanyAttributes)


class PageMeta(VendorModel):
    """Pagination meta of a list response (https://developer.productive.io/ "Pagination")."""

    current_page: int = 1
    total_pages: int = 1
    total_count: int | None = None
    page_size: int | None = None
    max_page_size: int | None = None


R = TypeVar("R", bound=VendorModel)


class Document(VendorModel, Generic[R]):
    """A JSON:API document whose primary data is one resource object."""

    data: R


class ListDocument(VendorModel, Generic[R]):
    """A JSON:API document whose primary data is a page of resource objects."""

    data: list[R] = Field(default_factory=list)
    meta: PageMeta = Field(default_factory=PageMeta)


class ErrorObject(VendorModel):
    """One entry of a JSON:API `errors` array (Productive sends `status` as a number or a string)."""

    status: int | str | None = None
    title: str | None = None
    detail: str | None = None
    source: dict[str, Any] | None = None


class ErrorDocument(VendorModel):
    """A JSON:API error document."""

    errors: list[ErrorObject] = Field(default_factory=list)


class WebhookObject(VendorModel):
    """The `object` wrapper some Productive deliveries carry around the JSON:API document."""

    data: dict[str, Any] | None = None


class WebhookPayload(VendorModel):
    """A webhook delivery body; the record is under `data` or under `object.data`."""

    event_id: int | str | None = None
    event: str | None = None
    data: dict[str, Any] | None = None
    object: WebhookObject | None = None
    meta: dict[str, Any] | None = None

    def resource(self) -> dict[str, Any] | None:
        """The JSON:API resource object the delivery is about."""
        if self.object is not None and self.object.data is not None:
            return self.object.data
        return self.data


# --- engagement resources: projects, budgets (deals), services, service types -------------------
# https://developer.productive.io/projects.html, https://developer.productive.io/deals.html,
# https://developer.productive.io/services.html, https://developer.productive.io/service_types.html


class ResourceIdentifier(VendorModel):
    """A JSON:API resource identifier: `{"type": ..., "id": ...}`."""

    type: str
    id: str


class Relationship(VendorModel):
    """A JSON:API relationship; Productive sends `meta.included: false` instead of `data` when not loaded."""

    data: ResourceIdentifier | None = None


class ProjectAttributes(VendorModel):
    """The attributes of a `projects` resource that this hub reads or writes."""

    name: str | None = None
    project_number: str | None = None
    project_type_id: int | None = None
    template: bool | None = None
    duplication_status: str | None = None
    archived_at: str | None = None
    created_at: str | None = None


class ProjectResource(VendorModel):
    """A JSON:API resource object of type `projects` (a template is a project with `template: true`)."""

    id: str
    type: str = "projects"
    attributes: ProjectAttributes = Field(default_factory=ProjectAttributes)
    relationships: dict[str, Relationship] = Field(default_factory=dict)


class DealAttributes(VendorModel):
    """The attributes of a `deals` resource (a deal, or a budget when `budget` is true)."""

    name: str | None = None
    budget: bool | None = None
    currency: str | None = None
    date: str | None = None
    end_date: str | None = None
    closed_at: str | None = None
    purchase_order_number: str | None = None
    # "Total budget amount across all services", in cents (https://developer.productive.io/reference/resources/deals)
    budget_total: int | None = None


class DealResource(VendorModel):
    """A JSON:API resource object of type `deals`."""

    id: str
    type: str = "deals"
    attributes: DealAttributes = Field(default_factory=DealAttributes)
    relationships: dict[str, Relationship] = Field(default_factory=dict)


class ServiceAttributes(VendorModel):
    """The attributes of a `services` resource (a budget line: one role at one price)."""

    name: str | None = None
    price: str | int | float | None = None
    unit_id: int | None = None
    billing_type_id: int | None = None
    quantity: str | int | float | None = None
    deleted_at: str | None = None


class ServiceResource(VendorModel):
    """A JSON:API resource object of type `services`."""

    id: str
    type: str = "services"
    attributes: ServiceAttributes = Field(default_factory=ServiceAttributes)
    relationships: dict[str, Relationship] = Field(default_factory=dict)


class ServiceTypeAttributes(VendorModel):
    """The attributes of a `service_types` resource (a kind of work, e.g. a role)."""

    name: str | None = None
    archived_at: str | None = None


class ServiceTypeResource(VendorModel):
    """A JSON:API resource object of type `service_types`."""

    id: str
    type: str = "service_types"
    attributes: ServiceTypeAttributes = Field(default_factory=ServiceTypeAttributes)


# One document type per resource, as the client names them.
CompanyDocument = Document[CompanyResource]
CompanyListDocument = ListDocument[CompanyResource]
ProjectDocument = Document[ProjectResource]
ProjectListDocument = ListDocument[ProjectResource]
DealDocument = Document[DealResource]
DealListDocument = ListDocument[DealResource]
ServiceDocument = Document[ServiceResource]
ServiceListDocument = ListDocument[ServiceResource]
ServiceTypeDocument = Document[ServiceTypeResource]
ServiceTypeListDocument = ListDocument[ServiceTypeResource]
