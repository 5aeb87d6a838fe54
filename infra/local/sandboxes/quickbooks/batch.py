"""The batch endpoint: up to 30 BatchItemRequest objects (create, update, delete, void, Query), each answered.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch ("The maximum
number of payloads in a single BatchItemRequest is 30"; "BatchItemRequest objects are treated
independently; a given object cannot depend on another one within the same batch operation"; the
40 batch requests per minute per realm are in the limits page:
https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles). Every item's
`bId` is required, "a unique identifier for the object" within the request; Intuit documents no
length for it, so none is enforced here:
https://blogs.intuit.com/2023/07/19/building-smarter-with-intuit-batch-without-a-scratch
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.entities import entity
from infra.local.sandboxes.quickbooks.faults import Fault, fault, invalid_property, required_missing
from infra.local.sandboxes.quickbooks.query import run_query
from infra.local.sandboxes.quickbooks.writes import perform

MAX_ITEMS = 30
PER_MINUTE = 40
# "For batch operations, the RequestID supports a maximum of 36 characters."
# https://developer.intuit.com/hub/blog/2015/04/06/15346
MAX_REQUEST_ID = 36


def too_many(count: int) -> Fault:
    """1040 Batch size exceeds allowed limit (the error-codes page)."""
    return fault(
        400,
        "1040",
        "Batch size exceeds allowed limit",
        f"The batch size for the batch request or BatchItemRequest is too big: {count} BatchItemRequest "
        f"objects, the batch limit size is {MAX_ITEMS}.",
    )


def run_batch(company: Company, body: Any) -> dict[str, Any]:
    """The BatchItemResponse list for one batch request body, or a Fault for the whole request."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise required_missing(
            "Required parameter BatchItemRequest is missing in the request", "BatchItemRequest"
        )
    if len(items) > MAX_ITEMS:
        raise too_many(len(items))
    ids = [item.get("bId") if isinstance(item, dict) else None for item in items]
    if any(not isinstance(bid, str) or not bid for bid in ids):
        raise required_missing("Required parameter bId is missing in a BatchItemRequest", "bId")
    if len(set(ids)) != len(ids):
        raise invalid_property("Property Name:bId must be unique within a batch request", "bId")
    answers: list[dict[str, Any]] = []
    try:
        for item in items:
            answers.append({"bId": item["bId"], **_answer(company, item)})
    finally:
        company.unseen.clear()
    return {"BatchItemResponse": answers}


def _answer(company: Company, item: Mapping[str, Any]) -> dict[str, Any]:
    """One item's answer: the object, a QueryResponse, or its own Fault (the others still run)."""
    try:
        if "Query" in item:
            return run_query(company, item["Query"])
        names = [key for key in item if key not in ("bId", "operation", "optionsData")]
        if len(names) != 1:
            raise invalid_property("Property Name:a BatchItemRequest carries one object or one Query")
        spec = entity(names[0])
        if spec is None or not isinstance(item[names[0]], dict):
            raise invalid_property(f"Property Name:{names[0]} is not an entity this sandbox serves", names[0])
        operation = str(item.get("operation") or "")
        if item.get("optionsData") == "void" and operation == "update":
            operation = "void"  # a void is an update with optionsData "void"
        answer = perform(company, spec, operation, item[names[0]])
        if operation == "create":
            # Later items of this batch cannot refer to what this one created.
            company.unseen.add((spec.name, str(answer[spec.name]["Id"])))
        return answer
    except Fault as failure:
        return {"Fault": failure.fault_object}
