"""`?filter[name][operation]=value` per endpoint: the filters each one supports, the rest refused up front.

https://developer.productive.io/ "Filtering": "In case you set filter parameter that is not supported
for the query, you will get 400 status error" `{"errors": [{"status": 400, "title": "Unsupported
Filter", "detail": "Filter 'undefined' is not supported on this endpoint"}]}`; "Filter Operations"
eq, not_eq, contains, not_contain (gt, gt_eq, lt, lt_eq exist too, but "not all endpoints support
filter operations" and none of these filters compares by order). Supported filter params per
resource: https://developer.productive.io/companies.html, projects.html, deals.html, services.html,
service_types.html.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from infra.local.sandboxes.productive.errors import ApiError

Resource = dict[str, Any]
Lookup = Callable[[str, str], Resource | None]  # (kind, id) -> the stored resource
OPERATIONS = frozenset({"eq", "not_eq", "contains", "not_contain"})


def related(resource: Resource | None, name: str) -> str | None:
    """The id a stored resource's relationship `name` points at."""
    if resource is None:
        return None
    data = ((resource.get("relationships") or {}).get(name) or {}).get("data")
    return str(data["id"]) if isinstance(data, dict) and data.get("id") is not None else None


@dataclass(frozen=True)
class Filter:
    """How one filter reads a resource. `text`: the value is one string (no comma list)."""

    value: Callable[[Resource, Lookup], str | None]
    text: bool = False


def _attribute(name: str) -> Filter:
    return Filter(lambda resource, _: _text(resource["attributes"].get(name)), text=True)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _relation(name: str) -> Filter:
    return Filter(lambda resource, _: related(resource, name))


_ID = Filter(lambda resource, _: resource["id"])
_ARCHIVED = Filter(lambda resource, _: "2" if resource["attributes"].get("archived_at") else "1")


def _service_project(resource: Resource, lookup: Lookup) -> str | None:
    return related(lookup("deals", related(resource, "deal") or ""), "project")


FILTERS: dict[str, dict[str, Filter]] = {
    "companies": {
        "id": _ID,
        "status": _ARCHIVED,
        **{
            name: _attribute(name)
            for name in ("name", "company_code", "billing_name", "default_currency", "vat")
        },
    },
    "projects": {
        "id": _ID,
        "status": _ARCHIVED,
        "project_type": Filter(lambda resource, _: _text(resource["attributes"]["project_type_id"])),
        "company_id": _relation("company"),
        # `query` (free text) is matched by `search` below.
    },
    "deals": {
        "id": _ID,
        "project_id": _relation("project"),
        "company_id": _relation("company"),
        "type": Filter(lambda resource, _: "2" if resource["attributes"]["budget"] else "1"),
        "budget_status": Filter(lambda resource, _: "2" if resource["attributes"]["closed_at"] else "1"),
    },
    "services": {
        "id": _ID,
        "deal_id": _relation("deal"),
        "project_id": Filter(_service_project),
        "name": _attribute("name"),
    },
    "service_types": {"id": _ID, "name": _attribute("name")},
}
SEARCHABLE = frozenset({"projects"})  # endpoints with the free-text `query` filter


def parse(kind: str, args: Iterable[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(name, operation, value) for each `filter[...]` parameter; unsupported ones refused now.

    Checked before any record is looked at, so an empty result never hides an unsupported filter.
    """
    found: list[tuple[str, str, str]] = []
    for key, value in args:
        if not key.startswith("filter["):
            continue
        names = [part.rstrip("]") for part in key[len("filter[") :].split("[")]
        name, operation = names[0], (names[1] if len(names) > 1 else "eq")
        if name not in FILTERS[kind] and not (name == "query" and kind in SEARCHABLE):
            raise ApiError(400, "Unsupported Filter", f"Filter '{name}' is not supported on this endpoint")
        if operation not in OPERATIONS:
            raise ApiError(400, "Unsupported Filter Operation", f"Operation '{operation}' is not supported")
        found.append((name, operation, value))
    return found


def matches(
    kind: str, resource: Resource, condition: tuple[str, str, str], lookup: Lookup, *, search_numbers: bool
) -> bool:
    """Whether `resource` passes one parsed filter."""
    name, operation, value = condition
    positive = operation in {"eq", "contains"}
    if name == "query":
        # Free text over the name and the number, as the app's search box does (whether the API
        # indexes the number is not documented: `search_numbers` turns it off for tests).
        attributes = resource["attributes"]
        number = attributes.get("project_number") if search_numbers else None
        hit = value.lower() in f"{attributes.get('name') or ''} {number or ''}".lower()
        return hit == positive
    spec = FILTERS[kind][name]
    actual = spec.value(resource, lookup)
    if spec.text:
        if operation in {"contains", "not_contain"}:
            return (value.lower() in (actual or "").lower()) == positive
        return ((actual or "") == value) == positive
    wanted = {part.strip() for part in value.split(",")}
    if operation in {"contains", "not_contain"}:
        return any(part.lower() in (actual or "").lower() for part in wanted) == positive
    return (actual in wanted) == positive
