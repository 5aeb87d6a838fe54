"""Reading collections: `sort`, `include` (JSON:API `included`), `page[number]`/`page[size]` and `meta`.

https://developer.productive.io/ "Sorting" (`?sort=name`, a leading `-` for descending, several
comma-separated), https://developer.productive.io/resource_representation.html "Including
relationships" ("By default, information about these relationships is not included": each shows
`meta.included: false`; `?include=creator,project.project_manager` adds identifier `data` to the
relationship and the related resources to `included`; an unknown one is 400 "Unsupported Include",
"Include 'userz' is not supported on this endpoint"), and "Pagination" (30 by default, at most 200,
totals in `meta`). The documentation shows no body for an unsupported sort; it is answered in the
same shape as the documented unsupported filter and include ("Unsupported Sort").
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from infra.local.sandboxes.productive.errors import ApiError
from infra.local.sandboxes.productive.filters import Lookup, Resource

DEFAULT_PAGE_SIZE = 30  # https://developer.productive.io/ "Pagination": page_size "30 by default"
MAX_PAGE_SIZE = 200
# The sort params each endpoint takes (attributes this twin keeps), and the relationships it can include
# with the kind each one points at.
SORTS: dict[str, frozenset[str]] = {
    "companies": frozenset({"name", "created_at", "updated_at", "company_code"}),
    "projects": frozenset({"name", "created_at", "project_number"}),
    "deals": frozenset({"name", "date", "created_at"}),
    "services": frozenset({"name", "created_at", "price"}),
    "service_types": frozenset({"name", "created_at"}),
    "people": frozenset({"first_name", "last_name", "created_at"}),
    # https://developer.productive.io/time_entries.html: sort by `date` or `updated_at`
    "time_entries": frozenset({"date", "updated_at", "created_at"}),
    "expenses": frozenset({"date", "created_at", "updated_at"}),
    "invoices": frozenset({"number", "invoiced_on", "pay_on", "created_at", "amount"}),
    "line_items": frozenset({"position", "created_at"}),
    "invoice_attributions": frozenset({"created_at"}),
    "payments": frozenset({"date", "paid_on", "amount", "created_at"}),
    "tax_rates": frozenset({"name"}),
    "tasks": frozenset({"created_at", "closed_at", "due_date", "title"}),
    "task_lists": frozenset({"name", "created_at"}),
    "salaries": frozenset(),  # "does not support sorting" (capacity.py)
    "holiday_calendars": frozenset({"id"}),
    "holidays": frozenset({"id"}),
}
INCLUDES: dict[str, dict[str, str]] = {
    "companies": {},
    "projects": {"company": "companies", "template_object": "projects"},
    "deals": {"company": "companies", "project": "projects"},
    "services": {"deal": "deals", "service_type": "service_types"},
    "service_types": {},
    "people": {},
    # `task` is kept as an id only: the twin serves no tasks, so it cannot be included.
    "time_entries": {
        "person": "people",
        "service": "services",
        "approver": "people",
        "invoice": "invoices",
        "invoice_attribution": "invoice_attributions",
    },
    "expenses": {"person": "people", "service": "services", "approver": "people", "invoice": "invoices"},
    "invoices": {"company": "companies", "parent_invoice": "invoices"},
    "line_items": {
        "invoice": "invoices",
        "tax_rate": "tax_rates",
        "service": "services",
        "expense": "expenses",
    },
    "invoice_attributions": {"invoice": "invoices", "budget": "deals"},
    "payments": {"invoice": "invoices"},
    "tax_rates": {},
    "tasks": {"project": "projects", "task_list": "task_lists"},
    "task_lists": {"project": "projects"},
    "salaries": {"person": "people", "holiday_calendar": "holiday_calendars"},
    "holiday_calendars": {},
    "holidays": {"holiday_calendar": "holiday_calendars"},
}


def int_arg(request: Request, name: str, default: int) -> int:
    """A positive whole-number query parameter (400 Invalid Page Parameter otherwise)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ApiError(400, "Invalid Page Parameter", f"{name} must be a positive integer")
    return int(raw)


def page_size(request: Request) -> int:
    """`page[size]` (30 when absent); above MAX_PAGE_SIZE it is refused, not quietly cut to 200.

    The docs give the maximum ("Pagination": at most 200) but not the answer to a larger one; the twin
    refuses it as it refuses any other bad page parameter, so a client asking for more than the vendor
    gives finds out here (UNCONFIRMED: Productive may instead clamp it).
    """
    size = int_arg(request, "page[size]", DEFAULT_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(
            400, "Invalid Page Parameter", f"page[size] must be between 1 and {MAX_PAGE_SIZE}, not {size}"
        )
    return size


def sort(kind: str, resources: list[Resource], param: str | None) -> list[Resource]:
    """Resources in `?sort=` order (stable; blanks last); 400 Unsupported Sort for an unknown param."""
    if not param:
        return resources
    keys = [part.strip() for part in param.split(",") if part.strip()]
    for key in keys:
        if key.lstrip("-") not in SORTS[kind]:
            raise ApiError(
                400, "Unsupported Sort", f"Sort '{key.lstrip('-')}' is not supported on this endpoint"
            )
    ordered = list(resources)
    for key in reversed(keys):
        name = key.lstrip("-")
        present = [r for r in ordered if r["attributes"].get(name) is not None]
        blank = [r for r in ordered if r["attributes"].get(name) is None]
        present.sort(key=_by(name), reverse=key.startswith("-"))
        ordered = present + blank
    return ordered


def _by(name: str) -> Callable[[Resource], tuple[int, Any]]:
    return lambda resource: _sort_value(resource["attributes"][name])


def _sort_value(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    text = str(value)
    try:
        return (0, float(text))
    except ValueError:
        return (1, text.casefold())


def includes(kind: str, param: str | None) -> list[list[str]]:
    """The `?include=` paths (dot notation), each step checked against what its kind can include."""
    paths: list[list[str]] = []
    for raw in (part.strip() for part in (param or "").split(",")):
        if not raw:
            continue
        steps = raw.split(".")
        current = kind
        for step in steps:
            target = INCLUDES[current].get(step)
            if target is None:
                raise ApiError(
                    400, "Unsupported Include", f"Include '{raw}' is not supported on this endpoint"
                )
            current = target
        paths.append(steps)
    return paths


def render(
    kind: str,
    resource: Resource,
    paths: list[list[str]],
    lookup: Lookup,
    included: dict[tuple[str, str], Resource],
) -> Resource:
    """The resource as Productive answers it: relationships not asked for say `meta.included: false`."""
    shown = copy.deepcopy(resource)
    relationships = shown.get("relationships")
    if not relationships:
        return shown
    for name, relationship in relationships.items():
        wanted = [path[1:] for path in paths if path[0] == name]
        if not wanted:
            relationships[name] = {"meta": {"included": False}}
            continue
        data = relationship.get("data")
        relationships[name] = {"data": data, "meta": {"included": True}}
        if isinstance(data, dict):
            target = lookup(INCLUDES[kind][name], str(data["id"]))
            if target is not None:
                key = (target["type"], target["id"])
                deeper = [rest for rest in wanted if rest]
                if key not in included or deeper:
                    included[key] = render(target["type"], target, deeper, lookup, included)
    return shown


def document(kind: str, request: Request, resources: list[Resource], lookup: Lookup) -> dict[str, Any]:
    """A page of `resources` (already filtered) as one JSON:API document with `meta` and `included`."""
    paths = includes(kind, request.args.get("include"))
    ordered = sort(kind, resources, request.args.get("sort"))
    size = page_size(request)
    number = max(int_arg(request, "page[number]", 1), 1)
    included: dict[tuple[str, str], Resource] = {}
    page = [render(kind, r, paths, lookup, included) for r in ordered[(number - 1) * size : number * size]]
    meta = {
        "current_page": number,
        "total_pages": max(1, math.ceil(len(ordered) / size)),
        "total_count": len(ordered),
        "page_size": size,
        "max_page_size": MAX_PAGE_SIZE,
    }
    body: dict[str, Any] = {"data": page, "meta": meta}
    if paths:
        body["included"] = list(included.values())
    return body


def single(kind: str, request: Request, resource: Resource, lookup: Lookup) -> dict[str, Any]:
    """One resource as a JSON:API document, with `?include=` honoured."""
    paths = includes(kind, request.args.get("include"))
    included: dict[tuple[str, str], Resource] = {}
    body: dict[str, Any] = {"data": render(kind, resource, paths, lookup, included)}
    if paths:
        body["included"] = list(included.values())
    return body
