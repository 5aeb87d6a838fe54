"""Create, update, delete and void as each entity's table row allows; shared by resource routes and batch.

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api (create and
update POST the object; `?operation=delete` POSTs Id and SyncToken; `?operation=void` for transactions)
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from infra.local.sandboxes.quickbooks import (
    accounts,
    billing,
    customers,
    expenses,
    invoices,
    lists,
    payments,
    time_activities,
)
from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.entities import EntitySpec
from infra.local.sandboxes.quickbooks.faults import Fault, fault, required_missing

Check = Callable[[Company, dict[str, Any], str | None], dict[str, Any]]
_CHECKS: dict[str, Check] = {
    "Term": lists.check_term,
    "Item": lists.check_item,
    "Invoice": invoices.check_invoice,
    "Payment": payments.check_payment,
    "CreditMemo": invoices.check_credit_memo,
    "Employee": time_activities.check_employee,
    "TimeActivity": time_activities.check_time_activity,
    "Account": accounts.check_account,
    "Purchase": expenses.check_purchase,
}
_SYSTEM = frozenset({"Id", "SyncToken", "MetaData", "domain", "sparse"})
# Properties QBO computes: what a client sends for them is overwritten.
_COMPUTED = {
    "Invoice": frozenset({"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "TxnTaxDetail"}),
    "Purchase": frozenset({"TotalAmt"}),
    # QBO computes what a payment leaves unapplied and what a credit memo has left.
    "Payment": frozenset({"UnappliedAmt", "LinkedTxn"}),
    "CreditMemo": frozenset(
        {"TotalAmt", "RemainingCredit", "Balance", "HomeBalance", "HomeTotalAmt", "TxnTaxDetail", "LinkedTxn"}
    ),
    # An invoice links the time it bills (billing.py); a client's LinkedTxn is not taken.
    "TimeActivity": frozenset({"LinkedTxn"}),
    "Account": frozenset({"Classification", "FullyQualifiedName", "CurrentBalanceWithSubAccounts"}),
}
OPERATIONS = ("create", "update", "delete", "void")


def unsupported(operation: str) -> Fault:
    """500 Unsupported Operation (https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes)."""
    return fault(400, "500", "Unsupported Operation", f"Operation {operation.capitalize()} is not supported.")


def perform(company: Company, spec: EntitySpec, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Carry out one write; the answer object keyed by the entity's name (`{"Invoice": {...}}`)."""
    if operation not in OPERATIONS or not spec.writable:
        raise unsupported(operation)
    answer = _perform(company, spec, operation, body)
    _follow(company, spec.name, operation, answer[spec.name])
    if spec.name in _CASH and operation not in ("delete",):
        # The answer shows the Balance/RemainingCredit/LinkedTxn the payments leave.
        answer = {spec.name: copy.deepcopy(company.table(spec.name)[answer[spec.name]["Id"]])}
    return answer


_CASH = frozenset({"Invoice", "Payment", "CreditMemo"})


def _follow(company: Company, name: str, operation: str, stored: Mapping[str, Any]) -> None:
    """What a write does to other records: billed time (billing.py), balances (payments.py)."""
    if name == "Invoice":
        if operation in ("delete", "void"):
            billing.release_time(company, str(stored["Id"]))
        else:
            billing.link_time(company, stored)
    if name in _CASH:
        payments.settle(company)


def _perform(company: Company, spec: EntitySpec, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
    if operation == "delete":
        return {spec.name: _delete(company, spec, body)}
    if operation == "void":
        return {spec.name: _void(company, spec, body)}
    if spec.name == "Customer":
        if operation == "create":
            return {spec.name: copy.deepcopy(customers.create_customer(company, body))}
        return {spec.name: copy.deepcopy(customers.update_customer(company, body))}
    check = _CHECKS[spec.name]
    read_only = _SYSTEM | _COMPUTED.get(spec.name, frozenset())
    if operation == "create":
        fields = customers.prune(customers.writable(body, read_only))
        stored = company.stamp_new(spec.name, company.next_id(spec.name), check(company, fields, None))
        return {spec.name: copy.deepcopy(stored)}
    return {spec.name: copy.deepcopy(_update(company, spec, body, check, read_only))}


def _current(company: Company, spec: EntitySpec, body: Mapping[str, Any]) -> dict[str, Any]:
    if body.get("Id") is None:
        raise required_missing("Required parameter Id is missing in the request", "Id")
    current = company.get(spec.name, str(body["Id"]))
    customers.check_sync_token(body, current)
    return current


def _update(
    company: Company, spec: EntitySpec, body: Mapping[str, Any], check: Check, read_only: frozenset[str]
) -> dict[str, Any]:
    """Sparse (only the fields sent change) or full (every writable field not sent is cleared)."""
    current = _current(company, spec, body)
    billing.refuse_if_billed(spec.name, current, "update")
    changes = customers.writable(body, read_only)
    if body.get("sparse") is True:
        fields = {key: value for key, value in current.items() if key not in read_only} | changes
    else:
        fields = changes
    checked = check(company, customers.prune(fields), current["Id"])
    stored = {**checked, **{key: current[key] for key in _SYSTEM if key in current}, "sparse": False}
    company.bump(stored)
    company.table(spec.name)[current["Id"]] = stored
    company.changed(spec.name, current["Id"], "Update")
    return stored


def _delete(company: Company, spec: EntitySpec, body: Mapping[str, Any]) -> dict[str, Any]:
    """Gone for good; the answer is QBO's deleted stub: status, domain and Id."""
    if not spec.deletable:
        # List entities are made inactive, never deleted (Customer, Item, Term, ...).
        raise unsupported("delete")
    current = _current(company, spec, body)
    billing.refuse_if_billed(spec.name, current, "delete")
    company.delete(spec.name, current["Id"])
    return {"status": "Deleted", "domain": "QBO", "Id": current["Id"]}


def _void(company: Company, spec: EntitySpec, body: Mapping[str, Any]) -> dict[str, Any]:
    if spec.name not in ("Invoice", "Payment"):
        raise unsupported("void")
    current = _current(company, spec, body)
    undo = invoices.voided if spec.name == "Invoice" else payments.voided_payment
    stored = undo(company.table(spec.name)[current["Id"]])
    company.bump(stored)
    company.table(spec.name)[current["Id"]] = stored
    company.changed(spec.name, current["Id"], "Void")
    return copy.deepcopy(stored)
