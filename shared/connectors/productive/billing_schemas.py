"""Productive's invoicing and task payloads as pydantic models (tolerant of unknown fields).

https://developer.productive.io/invoices.html, https://developer.productive.io/reference/resources/line-items,
https://developer.productive.io/reference/resources/invoice-attributions,
https://developer.productive.io/reference/resources/payments,
https://developer-staging.productive.io/taxrates.html, https://developer.productive.io/tasks.html.
Amounts are integers in the currency's minor unit (see `amounts.py`); `quantity` and tax values come
as decimal strings ("3.0", "25.0").
"""

from __future__ import annotations

from pydantic import Field

from shared.connectors.productive.schemas import Document, ListDocument, Relationship, VendorModel


class Related(VendorModel):
    """What every resource here shares: relationships, read by name."""

    id: str
    relationships: dict[str, Relationship] = Field(default_factory=dict)

    def related(self, name: str) -> str | None:
        """The id relationship `name` points at, when Productive sent it."""
        relationship = self.relationships.get(name)
        return relationship.data.id if relationship is not None and relationship.data is not None else None


class InvoiceAttributes(VendorModel):
    """The attributes of an `invoices` resource the hub reads (invoice_type_id 1 invoice, 2 credit note)."""

    number: str | None = None
    currency: str | None = None
    invoiced_on: str | None = None
    pay_on: str | None = None
    invoice_type_id: int | None = None
    finalized_on: str | None = None
    amount: int | None = None
    amount_tax: int | None = None
    amount_with_tax: int | None = None
    amount_paid: int | None = None
    amount_unpaid: int | None = None
    amount_credited: int | None = None
    payment_status: int | None = None


class InvoiceResource(Related):
    type: str = "invoices"
    attributes: InvoiceAttributes = Field(default_factory=InvoiceAttributes)

    @property
    def finalized(self) -> bool:
        return bool(self.attributes.finalized_on)


class LineItemAttributes(VendorModel):
    description: str | None = None
    quantity: str | int | float | None = None
    unit_price: str | int | float | None = None
    unit_id: int | None = None
    amount: int | None = None
    amount_tax: int | None = None


class LineItemResource(Related):
    type: str = "line_items"
    attributes: LineItemAttributes = Field(default_factory=LineItemAttributes)


class AttributionAttributes(VendorModel):
    amount: int | None = None
    date_from: str | None = None
    date_to: str | None = None


class AttributionResource(Related):
    type: str = "invoice_attributions"
    attributes: AttributionAttributes = Field(default_factory=AttributionAttributes)


class PaymentAttributes(VendorModel):
    amount: int | None = None
    paid_on: str | None = None
    external_id: str | None = None


class PaymentResource(Related):
    type: str = "payments"
    attributes: PaymentAttributes = Field(default_factory=PaymentAttributes)


class TaxRateAttributes(VendorModel):
    name: str | None = None
    primary_component_value: str | float | int | None = None
    secondary_component_value: str | float | int | None = None
    archived_at: str | None = None


class TaxRateResource(Related):
    type: str = "tax_rates"
    attributes: TaxRateAttributes = Field(default_factory=TaxRateAttributes)


class TaskAttributes(VendorModel):
    title: str | None = None
    type_id: int | None = None
    closed: bool | None = None
    closed_at: str | None = None


class TaskResource(Related):
    type: str = "tasks"
    attributes: TaskAttributes = Field(default_factory=TaskAttributes)


class TaskListAttributes(VendorModel):
    name: str | None = None
    archived_at: str | None = None


class TaskListResource(Related):
    type: str = "task_lists"
    attributes: TaskListAttributes = Field(default_factory=TaskListAttributes)


InvoiceDocument = Document[InvoiceResource]
InvoiceListDocument = ListDocument[InvoiceResource]
LineItemDocument = Document[LineItemResource]
LineItemListDocument = ListDocument[LineItemResource]
AttributionDocument = Document[AttributionResource]
AttributionListDocument = ListDocument[AttributionResource]
PaymentDocument = Document[PaymentResource]
PaymentListDocument = ListDocument[PaymentResource]
TaxRateListDocument = ListDocument[TaxRateResource]
TaskDocument = Document[TaskResource]
TaskListDocument = ListDocument[TaskResource]
TaskListListDocument = ListDocument[TaskListResource]
