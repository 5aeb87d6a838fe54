"""Expenses on a service, with their approval: `approval_status` 1 approved, 2 not approved, 3 rejected.

https://developer-staging.productive.io/expenses.html (`approval_status`, `billable_amount`,
`date_after`/`date_before` filters); approval is `PATCH /expenses/{id}/approve` and `/unapprove`
(https://developer.productive.io/reference/actions/expenses-approve-approve). Webhook events 21 new,
22 updated, 23 deleted (https://developer.productive.io/reference/resources/webhooks). Which
attributes a create requires is not on the page: this twin asks for name, date, amount, currency,
person and service. Amounts are integers as in the docs' samples (minor units, UNCONFIRMED).
Rejection (3) and auto-approval (4) happen in the app: `reject_expense` plays the manager.
"""

from __future__ import annotations

import copy
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.productive.engagements import EngagementWrites, _require
from infra.local.sandboxes.productive.errors import ApiError, json_response
from infra.local.sandboxes.productive.time_entries import refuse_unwritable

EVENT_EXPENSE_CREATED, EVENT_EXPENSE_UPDATED, EVENT_EXPENSE_DELETED = 21, 22, 23
APPROVED, NOT_APPROVED, REJECTED, AUTO_APPROVED = 1, 2, 3, 4
EXPENSE_WRITABLE = frozenset({"name", "date", "amount", "billable_amount", "currency"})


class Expenses(EngagementWrites):
    """Expenses, mixed into the sandbox that owns the stores, the clock and the webhooks."""

    def expenses(self) -> list[dict[str, Any]]:
        """Every stored expense (copies), in id order."""
        with self._lock:
            found = self._store["expenses"]
            return [copy.deepcopy(found[k]) for k in sorted(found, key=int)]

    def add_service(
        self,
        project_id: str,
        name: str,
        *,
        billing_type_id: int = 2,
        price: int = 0,
        quantity: str | None = None,
    ) -> str:
        """A person adds a service (a budget line, e.g. for expenses) to the project's budget; its id.

        `quantity` is the units sold (hours for a time service): the budget totals price x quantity."""
        with self._lock:
            deal = next(
                deal_id
                for deal_id, deal in self._store["deals"].items()
                if (deal["relationships"].get("project") or {}).get("data", {}) is not None
                and ((deal["relationships"].get("project") or {}).get("data") or {}).get("id") == project_id
                and deal["attributes"].get("budget")
            )
            kind = next(iter(self._store["service_types"]), None)
            if kind is None:
                kind = str(next(self._ids))
                self._store["service_types"][kind] = {
                    "id": kind,
                    "type": "service_types",
                    "attributes": {"name": name, "archived_at": None, "created_at": self._stamp()},
                    "relationships": {},
                }
            service_id = str(next(self._ids))
            self._store["services"][service_id] = {
                "id": service_id,
                "type": "services",
                "attributes": {
                    "name": name,
                    "price": price,
                    "quantity": quantity,
                    "unit_id": 1,
                    "billing_type_id": billing_type_id,
                    "deleted_at": None,
                    "created_at": self._stamp(),
                },
                "relationships": {
                    "deal": {"data": {"type": "deals", "id": deal}},
                    "service_type": {"data": {"type": "service_types", "id": kind}},
                },
            }
            return service_id

    def add_expense(
        self, person_id: str, service_id: str, date: str, amount: int, currency: str, *, name: str = "Expense"
    ) -> str:
        """A person files an expense in the app (webhook 21): `amount` in minor units; returns its id."""
        attributes = {"name": name, "date": date, "amount": amount, "currency": currency}
        with self._lock:
            return str(self._insert_expense(attributes, person_id, service_id)["id"])

    def approve_expense(self, expense_id: str) -> None:
        """A manager approves the expense in the app (webhook 22); KeyError when absent."""
        with self._lock:
            attributes = self._store["expenses"][expense_id]["attributes"]
            attributes.update(approval_status=APPROVED, approved_at=self._stamp())
            self._touch_expense(expense_id)

    def reject_expense(self, expense_id: str) -> None:
        """A manager rejects the expense in the app (webhook 22); KeyError when absent."""
        with self._lock:
            attributes = self._store["expenses"][expense_id]["attributes"]
            attributes.update(approval_status=REJECTED, approved_at=None)
            self._touch_expense(expense_id)

    def _expense_route(self, tail: list[str], method: str, request: Request) -> Response:
        if not tail and method == "GET":
            return self._list_resources("expenses", request)
        if len(tail) == 1 and method == "GET":
            return self._single("expenses", tail[0], request)
        if not tail and method == "POST":
            return self._create_expense(request)
        if len(tail) == 1 and method == "PATCH":
            self._get("expenses", tail[0])
            attributes = self._data(request, "expenses", tail[0]).get("attributes") or {}
            refuse_unwritable(attributes, EXPENSE_WRITABLE)
            self._store["expenses"][tail[0]]["attributes"].update(copy.deepcopy(attributes))
            return self._touch_expense(tail[0])
        if len(tail) == 1 and method == "DELETE":
            expense = self._get("expenses", tail[0])
            del self._store["expenses"][tail[0]]
            self._enqueue_resource(EVENT_EXPENSE_DELETED, expense)
            return Response(status=204)
        if len(tail) == 2 and method == "PATCH" and tail[1] in {"approve", "unapprove"}:
            self._get("expenses", tail[0])
            expense = self._store["expenses"][tail[0]]
            approve = tail[1] == "approve"
            expense["attributes"].update(
                approval_status=APPROVED if approve else NOT_APPROVED,
                approved_at=self._stamp() if approve else None,
            )
            approver = (
                {"type": "people", "id": self.api_person_id} if approve and self.api_person_id else None
            )
            expense["relationships"]["approver"] = {"data": approver}
            return self._touch_expense(tail[0])
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    def _create_expense(self, request: Request) -> Response:
        data = self._data(request, "expenses", None)
        attributes = copy.deepcopy(data.get("attributes") or {})
        refuse_unwritable(attributes, EXPENSE_WRITABLE)
        _require(attributes, ("name", "date", "amount", "currency"), blank=lambda value: value in (None, ""))
        person = self._relationship(data, "person", "people", required=True)
        service = self._relationship(data, "service", "services", required=True)
        assert person is not None and service is not None  # required=True refuses a missing one
        return json_response({"data": copy.deepcopy(self._insert_expense(attributes, person, service))}, 201)

    def _insert_expense(self, attributes: dict[str, Any], person: str, service: str) -> dict[str, Any]:
        """Store a new expense, not yet approved (webhook 21); returns it."""
        expense_id = str(next(self._ids))
        stamp = self._stamp()
        expense = {
            "id": expense_id,
            "type": "expenses",
            "attributes": {
                "billable_amount": attributes["amount"],
                **attributes,
                "approval_status": NOT_APPROVED,
                "approved_at": None,
                "invoiced": False,
                "invoicing_status": 1,
                "created_at": stamp,
                "updated_at": stamp,
            },
            "relationships": {
                "person": {"data": {"type": "people", "id": person}},
                "service": {"data": {"type": "services", "id": service}},
                "approver": {"data": None},
                "invoice": {"data": None},
            },
        }
        self._store["expenses"][expense_id] = expense
        self._enqueue_resource(EVENT_EXPENSE_CREATED, expense)
        return expense

    def _touch_expense(self, expense_id: str) -> Response:
        expense = self._store["expenses"][expense_id]
        expense["attributes"]["updated_at"] = self._stamp()
        self._enqueue_resource(EVENT_EXPENSE_UPDATED, expense)
        return json_response({"data": copy.deepcopy(expense)})
