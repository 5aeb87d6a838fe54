"""Writes to projects, budgets (deals), services and service types, as the resource pages document them.

https://developer.productive.io/projects.html (`POST /projects/copy`, archive/restore),
https://developer.productive.io/deals.html (budgets are deals with `budget: true`; close/open),
https://developer.productive.io/services.html and service_types.html.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.productive.errors import ApiError, json_response

# https://developer.productive.io/webhooks.html "Webhook events"
EVENT_PROJECT_CREATED, EVENT_PROJECT_UPDATED = 5, 10
Store = dict[str, dict[str, dict[str, Any]]]


class EngagementWrites:
    """The engagement endpoints' writes, mixed into the sandbox that owns the stores and the webhooks."""

    _store: Store
    _companies: dict[str, dict[str, Any]]
    _ids: Iterator[int]
    _lock: threading.RLock
    # The person the API token belongs to: the approver of approvals made through the API.
    api_person_id: str | None = None

    def _list_resources(self, kind: str, request: Request) -> Response:
        raise NotImplementedError

    def _single(self, kind: str, resource_id: str, request: Request) -> Response:
        raise NotImplementedError

    def _stamp(self) -> str:
        raise NotImplementedError

    def _get(self, kind: str, resource_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def _enqueue_resource(self, event_id: int, resource: dict[str, Any]) -> None:
        raise NotImplementedError

    def _carry_structure(self, template_id: str, project_id: str) -> None:
        """What a copy takes from its template besides the project itself (task lists, tasks.py)."""
        raise NotImplementedError

    @staticmethod
    def _data(request: Request, kind: str, resource_id: str | None) -> dict[str, Any]:
        try:
            document = json.loads(request.get_data())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "Bad Request", f"body is not JSON: {exc}") from exc
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict) or data.get("type") != kind:
            raise ApiError(400, "Bad Request", f"data must be a resource of type '{kind}'", "/data/type")
        if resource_id is not None and str(data.get("id", resource_id)) != resource_id:
            raise ApiError(400, "Bad Request", "data.id does not match the URL", "/data/id")
        if not isinstance(data.get("attributes") or {}, dict):
            raise ApiError(400, "Bad Request", "attributes must be an object", "/data/attributes")
        return data

    def _relationship(self, data: dict[str, Any], name: str, kind: str, *, required: bool) -> str | None:
        related = ((data.get("relationships") or {}).get(name) or {}).get("data")
        if related is None:
            if required:
                raise ApiError(
                    422, "Invalid Relationship", f"{name} can't be blank", f"/data/relationships/{name}"
                )
            return None
        related_id = str(related.get("id"))
        store = self._companies if kind == "companies" else self._store[kind]
        if related.get("type") != kind or related_id not in store:
            raise ApiError(
                422,
                "Invalid Relationship",
                f"{name} {related_id} does not exist",
                f"/data/relationships/{name}",
            )
        return related_id

    def _copy_project(self, request: Request) -> Response:
        attributes = self._data(request, "projects", None).get("attributes") or {}
        name = attributes.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "Invalid Attribute", "name can't be blank", "/data/attributes/name")
        template = self._store["projects"].get(str(attributes.get("template_id")))
        if template is None:
            raise ApiError(
                422,
                "Invalid Attribute",
                f"template {attributes.get('template_id')} not found",
                "/data/attributes/template_id",
            )
        company_id = str(attributes.get("company_id") or "")
        if company_id not in self._companies:
            raise ApiError(
                422,
                "Invalid Attribute",
                f"company {company_id or '(blank)'} not found",
                "/data/attributes/company_id",
            )
        project_id = str(next(self._ids))
        stamp = self._stamp()
        project = {
            "id": project_id,
            "type": "projects",
            "attributes": {
                "name": name,
                "project_number": str(project_id),
                "project_type_id": int(attributes.get("project_type_id") or 2),
                "template": False,
                # The copy runs as a background job in Productive; the twin finishes it at once.
                "duplication_status": "idle",
                "archived_at": None,
                "created_at": stamp,
            },
            "relationships": {
                "company": {"data": {"type": "companies", "id": company_id}},
                "template_object": {"data": {"type": "projects", "id": template["id"]}},
            },
        }
        self._store["projects"][project_id] = project
        self._carry_structure(template["id"], project_id)
        self._enqueue_resource(EVENT_PROJECT_CREATED, project)
        return json_response({"data": copy.deepcopy(project)}, 201)

    def _update_resource(self, kind: str, resource_id: str, request: Request) -> Response:
        stored = self._store[kind].get(resource_id) or self._get(kind, resource_id)
        attributes = self._data(request, kind, resource_id).get("attributes") or {}
        if kind == "projects" and stored["attributes"]["archived_at"]:
            # "For archived projects, only the name and project_manager_id attributes can be updated. All
            # other attributes will be ignored" (https://developer.productive.io/projects.html)
            attributes = {k: v for k, v in attributes.items() if k in {"name", "project_manager_id"}}
        allowed = {
            "projects": {"name", "project_number"},
            "services": {"name", "price", "quantity", "description"},
        }
        for key in attributes:
            if key not in allowed[kind]:
                raise ApiError(400, "Param not allowed", f"{key} is not allowed", f"/data/attributes/{key}")
        stored["attributes"].update(copy.deepcopy(attributes))
        if kind == "projects":
            self._enqueue_resource(EVENT_PROJECT_UPDATED, stored)
        return json_response({"data": copy.deepcopy(stored)})

    def _set_moment(self, kind: str, resource_id: str, attribute: str, *, on: bool) -> Response:
        """Archive/restore a project (`archived_at`, a project event) or close/open a deal (`closed_at`)."""
        self._get(kind, resource_id)
        resource = self._store[kind][resource_id]
        resource["attributes"][attribute] = self._stamp() if on else None
        if kind == "projects":
            self._enqueue_resource(EVENT_PROJECT_UPDATED, resource)
        return json_response({"data": copy.deepcopy(resource)})

    def _create_resource(self, kind: str, request: Request) -> Response:
        data = self._data(request, kind, None)
        attributes = copy.deepcopy(data.get("attributes") or {})
        relationships: dict[str, Any] = {}
        if not isinstance(attributes.get("name"), str) or not attributes["name"].strip():
            raise ApiError(422, "Invalid Attribute", "name can't be blank", "/data/attributes/name")
        if kind == "deals":
            # Required per https://developer.productive.io/deals.html: name, date, currency, company.
            _require(attributes, ("date", "currency"), blank=lambda value: not value)
            company = self._relationship(data, "company", "companies", required=True)
            project = self._relationship(data, "project", "projects", required=False)
            relationships = {
                "company": {"data": {"type": "companies", "id": company}},
                "project": {"data": {"type": "projects", "id": project} if project else None},
            }
            attributes = {"budget": False, "end_date": None, "closed_at": None, **attributes}
        elif kind == "services":
            # Required per https://developer.productive.io/services.html: name, billing_type_id, unit_id,
            # and the deal.
            _require(attributes, ("billing_type_id", "unit_id"), blank=lambda value: value is None)
            deal = self._relationship(data, "deal", "deals", required=True)
            kind_id = self._relationship(data, "service_type", "service_types", required=True)
            relationships = {
                "deal": {"data": {"type": "deals", "id": deal}},
                "service_type": {"data": {"type": "service_types", "id": kind_id}},
            }
            attributes = {"price": None, "quantity": None, "deleted_at": None, **attributes}
        else:
            attributes = {"archived_at": None, "description": None, **attributes}
        resource_id = str(next(self._ids))
        stamp = self._stamp()
        resource = {
            "id": resource_id,
            "type": kind,
            "attributes": {**attributes, "created_at": stamp},
            "relationships": relationships,
        }
        self._store[kind][resource_id] = resource
        return json_response({"data": copy.deepcopy(resource)}, 201)


def _require(attributes: dict[str, Any], names: tuple[str, ...], *, blank: Callable[[Any], bool]) -> None:
    """422 "can't be blank" for the first required attribute missing (as `blank` judges it)."""
    for name in names:
        if blank(attributes.get(name)):
            raise ApiError(422, "Invalid Attribute", f"{name} can't be blank", f"/data/attributes/{name}")
