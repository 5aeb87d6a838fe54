"""Invoices, their line items, budget attributions, payments and credit notes, as Productive documents them.

- Invoices, https://developer.productive.io/invoices.html: `invoice_state` 1 draft / 2 finalized,
  `payment_status` 1 paid / 2 unpaid / 3 partially paid, `invoice_type` 1 invoice / 2 credit note,
  `parent_invoice_id`, `amount_paid`/`amount_unpaid`/`amount_credited`; filters `number`,
  `company_id`, `invoice_type`, `parent_invoice_id`. Since 2024-09-03 tax sits on line items
  (`tax_rate_id`). `PATCH /invoices/{id}/finalize` "Finalize a draft invoice"
  (https://developer.productive.io/reference/actions/invoices-finalize-finalize).
- Line items, https://developer.productive.io/reference/resources/line-items and
  https://developer-staging.productive.io/line_items.html: `unit_price` 5000 x `quantity` "3.0" =
  `amount` 15000, `amount_tax` from the tax rate; filters `invoice_id`, `service_id`, `expense_id`.
- Invoice attributions, https://developer.productive.io/reference/resources/invoice-attributions:
  "a link between a budget and an invoice" with `amount`, `date_from`, `date_to`.
- Payments, https://developer.productive.io/reference/resources/payments: `amount`, `paid_on`,
  `external_id` (filterable), relationship `invoice`.
- Tax rates, https://developer-staging.productive.io/taxrates.html: `name`,
  `primary_component_value` "25.0"; filters `name`, `status` (1 active, 2 archived).
- Webhook events (https://developer.productive.io/reference/resources/webhooks): invoice 2/14/15,
  payment 32/33/34 — which number is new, updated, deleted is UNCONFIRMED; the twin takes them in
  that order, as for the other resources.

UNCONFIRMED, and how the twin behaves: which invoice attributes a create requires (the twin asks for
the company and the currency; a `document_type` is optional here, a third-party client treats it as
required); that a finalized invoice refuses line-item changes and a second finalize (422 here); that a
payment needs a finalized invoice (422 here); that credit-note amounts are negative (the twin sums
them as they come and counts their absolute value as the parent's `amount_credited`); that `payment_status`
is an attribute as well as a filter; how time entries become invoiced. The twin marks them on
finalize: the approved, not yet invoiced entries on the services the invoice's line items name,
dated within an attribution's `date_from`..`date_to` (time entries carry `invoice_id`,
`invoice_attribution_id`, `invoiced` and `invoicing_status` 1 not invoiced / 2 drafted / 3 finalized,
https://developer.productive.io/time_entries.html); an expense named by a line item's `expense`.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.productive.engagements import EngagementWrites, _require
from infra.local.sandboxes.productive.errors import ApiError, json_response
from infra.local.sandboxes.productive.filters import related
from infra.local.sandboxes.productive.time_entries import EVENT_TIME_ENTRY_UPDATED, refuse_unwritable

EVENT_INVOICE_CREATED, EVENT_INVOICE_UPDATED, EVENT_INVOICE_DELETED = 2, 14, 15
EVENT_PAYMENT_CREATED, EVENT_PAYMENT_UPDATED, EVENT_PAYMENT_DELETED = 32, 33, 34
EVENT_EXPENSE_UPDATED = 22
INVOICING_RESOURCES = ("invoices", "line_items", "invoice_attributions", "payments", "tax_rates")
INVOICE_WRITABLE = frozenset(
    {
        "number",
        "subject",
        "currency",
        "invoiced_on",
        "pay_on",
        "delivery_on",
        "note",
        "footer",
        "purchase_order_number",
        "invoice_type_id",
    }
)
LINE_WRITABLE = frozenset(
    {"description", "quantity", "unit_price", "unit_id", "discount", "position", "service_type_id"}
)
ATTRIBUTION_WRITABLE = frozenset({"amount", "date_from", "date_to"})
PAYMENT_WRITABLE = frozenset({"amount", "paid_on", "written_off_on", "external_id", "note"})
NOT_INVOICED, DRAFTED, FINALIZED = 1, 2, 3
PAID, UNPAID, PARTIAL = 1, 2, 3


def _to(kind: str, resource_id: str | None) -> dict[str, Any]:
    return {"data": {"type": kind, "id": resource_id} if resource_id else None}


def _whole(name: str, value: Any) -> int:
    """An amount in minor units: an integer, or a string of one ("5000.0" as the docs' request shows)."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if isinstance(value, bool) or not number.is_finite() or number != number.to_integral_value():
        raise ApiError(
            422, "Invalid Attribute", f"{name} must be a whole amount in cents", f"/data/attributes/{name}"
        )
    return int(number)


class Invoicing(EngagementWrites):
    """The invoicing endpoints, mixed into the sandbox that owns the stores, the clock and the webhooks."""

    # --- control API ------------------------------------------------------------------------

    def add_tax_rate(self, name: str, value: str, *, archived: bool = False) -> str:
        """An administrator sets up a tax rate in the app (Settings > Tax rates); returns its id."""
        with self._lock:
            rate_id = str(next(self._ids))
            self._store["tax_rates"][rate_id] = {
                "id": rate_id,
                "type": "tax_rates",
                "attributes": {
                    "name": name,
                    "primary_component_name": name,
                    "primary_component_value": str(Decimal(value)),
                    "secondary_component_name": None,
                    "secondary_component_value": None,
                    "archived_at": self._stamp() if archived else None,
                },
                "relationships": {},
            }
            return rate_id

    def invoices(self) -> list[dict[str, Any]]:
        """Every stored invoice and credit note (copies), in id order."""
        return self._all("invoices")

    def line_items(self, invoice_id: str) -> list[dict[str, Any]]:
        """The line items of one invoice (copies), in id order."""
        return [li for li in self._all("line_items") if related(li, "invoice") == invoice_id]

    def payments(self, invoice_id: str) -> list[dict[str, Any]]:
        """The payments of one invoice (copies), in id order."""
        return [p for p in self._all("payments") if related(p, "invoice") == invoice_id]

    def attributions(self, invoice_id: str) -> list[dict[str, Any]]:
        """The budget attributions of one invoice (copies)."""
        return [a for a in self._all("invoice_attributions") if related(a, "invoice") == invoice_id]

    def _all(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._store[kind]
            return [copy.deepcopy(found[k]) for k in sorted(found, key=int)]

    # --- routes -----------------------------------------------------------------------------

    def _invoicing_route(self, kind: str, tail: list[str], method: str, request: Request) -> Response:
        if not tail and method == "GET":
            return self._list_resources(kind, request)
        if len(tail) == 1 and method == "GET":
            return self._single(kind, tail[0], request)
        if kind == "tax_rates":
            # Creating one needs a subsidiary (https://developer-staging.productive.io/taxrates.html);
            # the twin's tax rates are set up by `add_tax_rate`.
            raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")
        if not tail and method == "POST":
            return json_response({"data": copy.deepcopy(self._create_invoicing(kind, request))}, 201)
        if kind == "invoices" and tail[1:] == ["finalize"] and method == "PATCH":
            return json_response({"data": copy.deepcopy(self._finalize(tail[0]))})
        if len(tail) == 1 and method == "PATCH" and kind in {"invoices", "payments"}:
            return json_response({"data": copy.deepcopy(self._patch_invoicing(kind, tail[0], request))})
        if len(tail) == 1 and method == "DELETE":
            self._delete_invoicing(kind, tail[0])
            return Response(status=204)
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    # --- writes -----------------------------------------------------------------------------

    def _create_invoicing(self, kind: str, request: Request) -> dict[str, Any]:
        data = self._data(request, kind, None)
        attributes = copy.deepcopy(data.get("attributes") or {})
        if kind == "invoices":
            return self._create_invoice(data, attributes)
        invoice_id = self._relationship(data, "invoice", "invoices", required=True)
        assert invoice_id is not None  # required=True refuses a missing one
        invoice = self._store["invoices"][invoice_id]
        stamp = self._stamp()
        if kind == "line_items":
            refuse_unwritable(attributes, LINE_WRITABLE)
            self._refuse_finalized(invoice, "line items")
            _require(attributes, ("description", "quantity", "unit_price"), blank=lambda v: v in (None, ""))
            relationships = {
                "invoice": _to("invoices", invoice_id),
                "tax_rate": _to(
                    "tax_rates", self._relationship(data, "tax_rate", "tax_rates", required=False)
                ),
                "service": _to("services", self._relationship(data, "service", "services", required=False)),
                "expense": _to("expenses", self._relationship(data, "expense", "expenses", required=False)),
            }
            stored = {"unit_id": 2, "discount": None, "position": None, **attributes}
            stored["unit_price"] = _whole("unit_price", stored["unit_price"])
            try:
                stored["quantity"] = str(Decimal(str(stored["quantity"])))
            except InvalidOperation as exc:
                raise ApiError(
                    422, "Invalid Attribute", "quantity is not a number", "/data/attributes/quantity"
                ) from exc
        elif kind == "invoice_attributions":
            refuse_unwritable(attributes, ATTRIBUTION_WRITABLE)
            self._refuse_finalized(invoice, "attributions")
            _require(attributes, ("amount",), blank=lambda v: v is None)
            budget = self._relationship(data, "budget", "deals", required=True)
            stored = {
                "date_from": None,
                "date_to": None,
                **attributes,
                "amount": _whole("amount", attributes["amount"]),
            }
            relationships = {"invoice": _to("invoices", invoice_id), "budget": _to("deals", budget)}
        else:
            refuse_unwritable(attributes, PAYMENT_WRITABLE)
            if invoice["attributes"]["finalized_on"] is None:
                raise ApiError(
                    422,
                    "Invalid Attribute",
                    "payments can only be added to finalized invoices",
                    "/data/relationships/invoice",
                )
            _require(attributes, ("amount", "paid_on"), blank=lambda v: v in (None, ""))
            stored = {"external_id": None, "written_off_on": None, "note": None, **attributes}
            stored["amount"] = _whole("amount", stored["amount"])
            stored["currency"] = invoice["attributes"]["currency"]
            relationships = {"invoice": _to("invoices", invoice_id)}
        resource_id = str(next(self._ids))
        resource = {
            "id": resource_id,
            "type": kind,
            "attributes": {**stored, "created_at": stamp, "updated_at": stamp},
            "relationships": relationships,
        }
        self._store[kind][resource_id] = resource
        if kind == "payments":
            self._enqueue_resource(EVENT_PAYMENT_CREATED, resource)
        self._recompute(invoice_id)
        return resource

    def _create_invoice(self, data: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
        refuse_unwritable(attributes, INVOICE_WRITABLE)
        _require(attributes, ("currency",), blank=lambda v: not v)
        company = self._relationship(data, "company", "companies", required=True)
        parent = self._relationship(data, "parent_invoice", "invoices", required=False)
        kind = int(attributes.get("invoice_type_id") or 1)
        if kind not in (1, 2):
            raise ApiError(
                422, "Invalid Attribute", "invoice_type_id must be 1 or 2", "/data/attributes/invoice_type_id"
            )
        if kind == 2 and parent is None:
            raise ApiError(
                422,
                "Invalid Relationship",
                "a credit note needs its parent_invoice",
                "/data/relationships/parent_invoice",
            )
        self._refuse_taken_number(attributes.get("number"), None)
        invoice_id = str(next(self._ids))
        stamp = self._stamp()
        invoice = {
            "id": invoice_id,
            "type": "invoices",
            "attributes": {
                "number": None,
                "subject": None,
                "invoiced_on": stamp[:10],
                "pay_on": None,
                "note": None,
                **attributes,
                "invoice_type_id": kind,
                "finalized_on": None,
                "sent_on": None,
                "paid_on": None,
                "created_at": stamp,
                "updated_at": stamp,
            },
            "relationships": {
                "company": _to("companies", company),
                "parent_invoice": _to("invoices", parent),
                "document_type": {
                    "data": ((data.get("relationships") or {}).get("document_type") or {}).get("data")
                },
            },
        }
        self._store["invoices"][invoice_id] = invoice
        self._recompute(invoice_id, event=EVENT_INVOICE_CREATED)
        return invoice

    def _refuse_taken_number(self, number: Any, invoice_id: str | None) -> None:
        if not number:
            return
        for other_id, other in self._store["invoices"].items():
            if other_id != invoice_id and other["attributes"].get("number") == number:
                raise ApiError(
                    422, "Invalid Attribute", "number has already been taken", "/data/attributes/number"
                )

    @staticmethod
    def _refuse_finalized(invoice: dict[str, Any], what: str) -> None:
        if invoice["attributes"]["finalized_on"] is not None:
            raise ApiError(
                422,
                "Invalid Attribute",
                f"{what} of a finalized invoice cannot be changed",
                "/data/relationships/invoice",
            )

    def _patch_invoicing(self, kind: str, resource_id: str, request: Request) -> dict[str, Any]:
        self._get(kind, resource_id)
        stored = self._store[kind][resource_id]
        attributes = copy.deepcopy(self._data(request, kind, resource_id).get("attributes") or {})
        if kind == "invoices":
            refuse_unwritable(attributes, INVOICE_WRITABLE - {"invoice_type_id", "currency"})
            if stored["attributes"]["finalized_on"] is not None:
                # A finalized invoice keeps its figures; the twin takes the free-text fields only.
                attributes = {k: v for k, v in attributes.items() if k in {"subject", "note", "footer"}}
            self._refuse_taken_number(attributes.get("number"), resource_id)
            stored["attributes"].update(attributes)
            self._recompute(resource_id)
            return stored
        refuse_unwritable(attributes, PAYMENT_WRITABLE)
        if "amount" in attributes:
            attributes["amount"] = _whole("amount", attributes["amount"])
        stored["attributes"].update(attributes, updated_at=self._stamp())
        self._enqueue_resource(EVENT_PAYMENT_UPDATED, stored)
        self._recompute(str(related(stored, "invoice")))
        return stored

    def _delete_invoicing(self, kind: str, resource_id: str) -> None:
        resource = self._get(kind, resource_id)
        if kind == "invoices":
            for child in ("line_items", "invoice_attributions", "payments"):
                for key in [k for k, v in self._store[child].items() if related(v, "invoice") == resource_id]:
                    del self._store[child][key]
            self._uninvoice(resource_id)
            del self._store["invoices"][resource_id]
            self._enqueue_resource(EVENT_INVOICE_DELETED, resource)
            parent = related(resource, "parent_invoice")
            if parent and parent in self._store["invoices"]:
                self._recompute(parent)
            return
        invoice_id = str(related(resource, "invoice"))
        if kind in {"line_items", "invoice_attributions"}:
            self._refuse_finalized(self._store["invoices"][invoice_id], kind.replace("_", " "))
        del self._store[kind][resource_id]
        if kind == "payments":
            self._enqueue_resource(EVENT_PAYMENT_DELETED, resource)
        self._recompute(invoice_id)

    def _finalize(self, invoice_id: str) -> dict[str, Any]:
        self._get("invoices", invoice_id)
        invoice = self._store["invoices"][invoice_id]
        if invoice["attributes"]["finalized_on"] is not None:
            raise ApiError(
                422, "Invalid Attribute", "invoice is already finalized", "/data/attributes/invoice_state"
            )
        if not self.line_items(invoice_id):
            raise ApiError(
                422, "Invalid Attribute", "an invoice needs at least one line item to be finalized"
            )
        attributes = invoice["attributes"]
        attributes["finalized_on"] = self._stamp()[:10]
        if not attributes.get("number"):
            attributes["number"] = str(
                sum(1 for i in self._store["invoices"].values() if i["attributes"]["finalized_on"])
            )
        self._mark_invoiced(invoice_id)
        self._recompute(invoice_id)
        parent = related(invoice, "parent_invoice")
        if parent and parent in self._store["invoices"]:
            self._recompute(parent)
        return invoice

    # --- what an invoice does to the work it bills ---------------------------------------------

    def _mark_invoiced(self, invoice_id: str) -> None:
        lines = self.line_items(invoice_id)
        services = {related(li, "service") for li in lines} - {None}
        expenses = {related(li, "expense") for li in lines} - {None}
        periods = [
            (a["id"], a["attributes"]["date_from"], a["attributes"]["date_to"])
            for a in self.attributions(invoice_id)
        ]
        stamp = self._stamp()
        for entry in self._store["time_entries"].values():
            attributes = entry["attributes"]
            if (
                attributes["invoiced"]
                or not attributes["approved"]
                or related(entry, "service") not in services
            ):
                continue
            for attribution, start, end in periods:
                if (start is None or attributes["date"] >= start) and (
                    end is None or attributes["date"] <= end
                ):
                    attributes.update(invoiced=True, invoicing_status=FINALIZED, updated_at=stamp)
                    entry["relationships"]["invoice"] = _to("invoices", invoice_id)
                    entry["relationships"]["invoice_attribution"] = _to("invoice_attributions", attribution)
                    self._enqueue_resource(EVENT_TIME_ENTRY_UPDATED, entry)
                    break
        for expense_id in expenses:
            expense = self._store["expenses"].get(str(expense_id))
            if expense is not None and not expense["attributes"]["invoiced"]:
                expense["attributes"].update(invoiced=True, invoicing_status=FINALIZED, updated_at=stamp)
                expense["relationships"]["invoice"] = _to("invoices", invoice_id)
                self._enqueue_resource(EVENT_EXPENSE_UPDATED, expense)

    def _uninvoice(self, invoice_id: str) -> None:
        """A deleted invoice gives its work back: its entries read not invoiced again."""
        for kind, event in (("time_entries", EVENT_TIME_ENTRY_UPDATED), ("expenses", EVENT_EXPENSE_UPDATED)):
            for record in self._store[kind].values():
                if related(record, "invoice") == invoice_id:
                    record["attributes"].update(
                        invoiced=False, invoicing_status=NOT_INVOICED, updated_at=self._stamp()
                    )
                    record["relationships"]["invoice"] = {"data": None}
                    record["relationships"].pop("invoice_attribution", None)
                    self._enqueue_resource(event, record)

    # --- figures ----------------------------------------------------------------------------

    def _line_figures(self, line: dict[str, Any]) -> tuple[int, int]:
        """(amount, amount_tax) in cents: unit price x quantity, and the tax rate on it, each rounded."""
        attributes = line["attributes"]
        amount = (Decimal(attributes["unit_price"]) * Decimal(attributes["quantity"])).quantize(
            Decimal(1), ROUND_HALF_UP
        )
        if attributes.get("discount"):
            amount = (amount * (100 - Decimal(str(attributes["discount"]))) / 100).quantize(
                Decimal(1), ROUND_HALF_UP
            )
        rate = self._store["tax_rates"].get(str(related(line, "tax_rate")))
        value = Decimal(rate["attributes"]["primary_component_value"]) if rate else Decimal(0)
        tax = (amount * value / 100).quantize(Decimal(1), ROUND_HALF_UP)
        attributes.update(amount=int(amount), amount_tax=int(tax), amount_with_tax=int(amount + tax))
        return int(amount), int(tax)

    def _recompute(self, invoice_id: str, *, event: int = EVENT_INVOICE_UPDATED) -> None:
        """The invoice's amounts and payment status from its lines, payments and credit notes (webhook)."""
        invoice = self._store["invoices"][invoice_id]
        attributes = invoice["attributes"]
        figures = [
            self._line_figures(li)
            for li in self._store["line_items"].values()
            if related(li, "invoice") == invoice_id
        ]
        amount, tax = sum(f[0] for f in figures), sum(f[1] for f in figures)
        paid = sum(
            p["attributes"]["amount"]
            for p in self._store["payments"].values()
            if related(p, "invoice") == invoice_id and not p["attributes"].get("written_off_on")
        )
        written_off = sum(
            p["attributes"]["amount"]
            for p in self._store["payments"].values()
            if related(p, "invoice") == invoice_id and p["attributes"].get("written_off_on")
        )
        credited = sum(
            abs(note["attributes"].get("amount_with_tax") or 0)
            for note in self._store["invoices"].values()
            if related(note, "parent_invoice") == invoice_id
            and note["attributes"]["finalized_on"] is not None
        )
        unpaid = amount + tax - paid - written_off - credited
        settled = paid + written_off + credited
        attributes.update(
            amount=amount,
            amount_tax=tax,
            amount_with_tax=amount + tax,
            amount_paid=paid,
            amount_written_off=written_off,
            amount_credited=credited,
            amount_unpaid=unpaid,
            invoice_state=2 if attributes["finalized_on"] else 1,
            payment_status=PAID if unpaid <= 0 and amount + tax > 0 else PARTIAL if settled > 0 else UNPAID,
            updated_at=self._stamp(),
        )
        self._enqueue_resource(event, invoice)
