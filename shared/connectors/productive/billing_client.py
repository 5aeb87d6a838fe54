"""Productive's invoicing and task endpoints, one method each, on the connector's `ProductiveClient`.

Same transport, retry rules and rate budget as every other call (`ProductiveClient._write`/`_iter`):
a POST is sent once, so a create whose answer was lost is found again by its key (an invoice's
`number`, a payment's `external_id`, a task's title) rather than sent twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shared.connectors.productive.billing_schemas import (
    AttributionDocument,
    AttributionListDocument,
    AttributionResource,
    InvoiceDocument,
    InvoiceListDocument,
    InvoiceResource,
    LineItemDocument,
    LineItemListDocument,
    LineItemResource,
    PaymentDocument,
    PaymentListDocument,
    PaymentResource,
    TaskDocument,
    TaskListDocument,
    TaskListListDocument,
    TaskListResource,
    TaskResource,
    TaxRateListDocument,
    TaxRateResource,
)
from shared.connectors.productive.client import JSON_API, ProductiveClient

Relations = Mapping[str, tuple[str, str]]


class BillingClient:
    """Invoices, line items, attributions, payments, tax rates and tasks for one organization."""

    def __init__(self, client: ProductiveClient) -> None:
        self.client = client

    def _delete(self, path: str) -> None:
        # A DELETE of what is already gone answers 404: the earlier attempt did it.
        self.client.http.request(
            "DELETE", path, headers={"Content-Type": JSON_API}, ok_statuses=frozenset({404})
        )

    # --- invoices ---------------------------------------------------------------------------------

    # https://developer.productive.io/invoices.html "GET /api/v2/invoices": filters include `number`,
    # `company_id`, `invoice_type` (1 invoice, 2 credit note), `parent_invoice_id`.
    def invoices(self, filters: Mapping[str, str]) -> Iterator[InvoiceResource]:
        yield from self.client._iter("invoices", filters, InvoiceListDocument)

    # https://developer.productive.io/invoices.html "GET /api/v2/invoices/{id}"
    def invoice(self, invoice_id: str) -> InvoiceResource:
        response = self.client.http.request("GET", f"invoices/{invoice_id}")
        document: InvoiceDocument = self.client._parse(response, InvoiceDocument)
        return document.data

    # https://developer.productive.io/invoices.html "POST /api/v2/invoices" (a draft; company relationship)
    def create_invoice(self, attributes: Mapping[str, Any], relationships: Relations) -> InvoiceResource:
        invoice: InvoiceResource = self.client._write(
            "POST", "invoices", InvoiceDocument, "invoices", attributes, relationships
        )
        return invoice

    # https://developer.productive.io/reference/actions/invoices-finalize-finalize
    # "PATCH /api/v2/invoices/{id}/finalize": "Finalize a draft invoice."
    def finalize_invoice(self, invoice_id: str) -> InvoiceResource:
        invoice: InvoiceResource = self.client._write(
            "PATCH", f"invoices/{invoice_id}/finalize", InvoiceDocument
        )
        return invoice

    # https://developer.productive.io/invoices.html "DELETE /api/v2/invoices/{id}"
    def delete_invoice(self, invoice_id: str) -> None:
        self._delete(f"invoices/{invoice_id}")

    # --- line items -------------------------------------------------------------------------------

    # https://developer-staging.productive.io/line_items.html "GET /api/v2/line_items" (filter invoice_id)
    def line_items(self, invoice_id: str) -> list[LineItemResource]:
        """The invoice's line items, their tax rate, service and expense ids included."""
        include = "tax_rate,service,expense"
        return list(
            self.client._iter("line_items", {"invoice_id": invoice_id}, LineItemListDocument, include)
        )

    # https://developer.productive.io/reference/resources/line-items "POST /api/v2/line_items":
    # description, quantity, unit_price, unit_id; relationships invoice and tax_rate.
    def create_line_item(self, attributes: Mapping[str, Any], relationships: Relations) -> LineItemResource:
        line: LineItemResource = self.client._write(
            "POST", "line_items", LineItemDocument, "line_items", attributes, relationships
        )
        return line

    # https://developer.productive.io/reference/resources/line-items "DELETE /api/v2/line_items/{id}"
    def delete_line_item(self, line_id: str) -> None:
        self._delete(f"line_items/{line_id}")

    # --- invoice attributions ---------------------------------------------------------------------

    # https://developer.productive.io/reference/resources/invoice-attributions (filter invoice_id)
    def attributions(self, invoice_id: str) -> list[AttributionResource]:
        return list(
            self.client._iter("invoice_attributions", {"invoice_id": invoice_id}, AttributionListDocument)
        )

    # https://developer.productive.io/reference/resources/invoice-attributions "POST": amount,
    # date_from, date_to; relationships invoice and budget.
    def create_attribution(
        self, attributes: Mapping[str, Any], relationships: Relations
    ) -> AttributionResource:
        made: AttributionResource = self.client._write(
            "POST",
            "invoice_attributions",
            AttributionDocument,
            "invoice_attributions",
            attributes,
            relationships,
        )
        return made

    # --- payments ---------------------------------------------------------------------------------

    # https://developer.productive.io/reference/resources/payments "GET /api/v2/payments"
    # (filters invoice_id, external_id)
    def payments(self, invoice_id: str) -> list[PaymentResource]:
        return list(self.client._iter("payments", {"invoice_id": invoice_id}, PaymentListDocument))

    # https://developer.productive.io/reference/resources/payments "POST /api/v2/payments": amount,
    # paid_on, external_id; relationship invoice.
    def create_payment(self, attributes: Mapping[str, Any], invoice_id: str) -> PaymentResource:
        payment: PaymentResource = self.client._write(
            "POST", "payments", PaymentDocument, "payments", attributes, {"invoice": ("invoices", invoice_id)}
        )
        return payment

    # https://developer.productive.io/reference/resources/payments "PATCH /api/v2/payments/{id}"
    def update_payment(self, payment_id: str, attributes: Mapping[str, Any]) -> PaymentResource:
        payment: PaymentResource = self.client._write(
            "PATCH", f"payments/{payment_id}", PaymentDocument, "payments", attributes, resource_id=payment_id
        )
        return payment

    # https://developer.productive.io/reference/resources/payments "DELETE /api/v2/payments/{id}"
    def delete_payment(self, payment_id: str) -> None:
        self._delete(f"payments/{payment_id}")

    # --- tax rates --------------------------------------------------------------------------------

    # https://developer-staging.productive.io/taxrates.html "GET /api/v2/tax_rates" (filters name,
    # status 1 active / 2 archived)
    def tax_rates(self, name: str) -> list[TaxRateResource]:
        return list(self.client._iter("tax_rates", {"name": name, "status": "1"}, TaxRateListDocument))

    # --- tasks ------------------------------------------------------------------------------------

    # https://developer.productive.io/tasks.html "GET /api/v2/tasks" (filters project_id, status
    # 1 open / 2 closed)
    def tasks(self, filters: Mapping[str, str]) -> list[TaskResource]:
        return list(self.client._iter("tasks", filters, TaskListDocument))

    # https://developer.productive.io/tasks.html "POST /api/v2/tasks": title; project and task_list.
    def create_task(self, attributes: Mapping[str, Any], relationships: Relations) -> TaskResource:
        task: TaskResource = self.client._write(
            "POST", "tasks", TaskDocument, "tasks", attributes, relationships
        )
        return task

    # https://developer.productive.io/task_lists.html "GET /api/v2/task_lists" (filter project_id)
    def task_lists(self, project_id: str) -> list[TaskListResource]:
        return list(self.client._iter("task_lists", {"project_id": project_id}, TaskListListDocument))
