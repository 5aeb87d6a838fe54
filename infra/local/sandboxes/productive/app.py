"""The Productive sandbox's WSGI app and control API: auth, throttle, faults, routes, writes and webhooks."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.kit import (
    FaultSwitch,
    Outbox,
    RateWindows,
    Subscriber,
    Window,
    deliver,
    delivered,
)
from infra.local.sandboxes.productive import filters, listing
from infra.local.sandboxes.productive.budgets import with_budget_total
from infra.local.sandboxes.productive.capacity import CAPACITY_RESOURCES, Capacity
from infra.local.sandboxes.productive.errors import JSON_API, ApiError, json_response
from infra.local.sandboxes.productive.expenses import Expenses
from infra.local.sandboxes.productive.filters import related as _related
from infra.local.sandboxes.productive.invoicing import INVOICING_RESOURCES, Invoicing
from infra.local.sandboxes.productive.tasks import TASK_RESOURCES, Tasks
from infra.local.sandboxes.productive.time_entries import TIME_RESOURCES, TimeEntries

# https://developer.productive.io/guides/rate-limits
RATE_LIMITS: tuple[tuple[int, float], ...] = ((100, 10.0), (4000, 1800.0))
_WINDOWS = tuple(Window(f"{limit}/{seconds:.0f}s", limit, seconds) for limit, seconds in RATE_LIMITS)
# https://developer.productive.io/webhooks.html "Webhook events"
EVENT_COMPANY_CREATED, EVENT_COMPANY_UPDATED, EVENT_COMPANY_ARCHIVED = 29, 30, 31
ENGAGEMENT_RESOURCES = ("projects", "deals", "services", "service_types")

# Writable attributes, https://developer.productive.io/companies.html "Supported attributes".
WRITABLE = frozenset(
    {
        "name",
        "billing_name",
        "vat",
        "default_currency",
        "avatar_url",
        "custom_fields",
        "company_code",
        "domain",
        "description",
        "buyer_reference",
        "default_subsidiary_id",
        "default_tax_rate_id",
        "default_document_type_id",
        "due_days",
        "tag_list",
        "contact",
    }
)


@dataclass
class _Subscription:
    target: Subscriber
    outbox: Outbox[bytes] = field(default_factory=Outbox)


class ProductiveSandbox(TimeEntries, Expenses, Invoicing, Tasks, Capacity):
    """WSGI twin of Productive's companies endpoints, with a thread-safe Python control API."""

    def __init__(
        self,
        *,
        organization_id: str,
        api_token: str,
        webhook_secret: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.organization_id = organization_id
        self.api_token = api_token
        self.webhook_secret = webhook_secret
        self._clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._companies: dict[str, dict[str, Any]] = {}
        # projects (templates included), deals/budgets, services, service types; ids share one counter
        # ..., people and time entries
        self._store: dict[str, dict[str, dict[str, Any]]] = {
            kind: {}
            for kind in (
                *ENGAGEMENT_RESOURCES,
                *TIME_RESOURCES,
                "expenses",
                *INVOICING_RESOURCES,
                *TASK_RESOURCES,
                *CAPACITY_RESOURCES,
            )
        }
        self._ids = itertools.count(1)
        self._subscriptions: list[_Subscription] = []
        self._faults = FaultSwitch()
        self.query_matches_numbers = True
        self._rate = RateWindows(_WINDOWS)
        self.requests = 0

    # --- control API ------------------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """The mapping `shared.connectors.productive.build` accepts for this sandbox."""
        return {
            "base_url": base_url,
            "api_token": self.api_token,
            "organization_id": self.organization_id,
            "webhook_secret": self.webhook_secret,
        }

    def company(self, company_id: str) -> dict[str, Any]:
        """The stored JSON:API resource of one company (a copy); KeyError when absent."""
        with self._lock:
            return copy.deepcopy(self._companies[company_id])

    def put_company(self, attributes: dict[str, Any]) -> str:
        """A person adds a client company in the Productive app (webhook included); returns its id."""
        with self._lock:
            try:
                return str(self._insert(copy.deepcopy(attributes))["id"])
            except ApiError as error:
                raise ValueError(str(error)) from error

    def companies(self) -> list[dict[str, Any]]:
        """Every stored company resource (copies), in id order."""
        with self._lock:
            return [copy.deepcopy(self._companies[k]) for k in sorted(self._companies, key=int)]

    def project(self, project_id: str) -> dict[str, Any]:
        """The stored JSON:API resource of one project or template (a copy); KeyError when absent."""
        with self._lock:
            return copy.deepcopy(self._store["projects"][project_id])

    def projects(self) -> list[dict[str, Any]]:
        """Every stored project that is not a template (copies), in id order."""
        with self._lock:
            found = self._store["projects"]
            return [
                copy.deepcopy(found[k])
                for k in sorted(found, key=int)
                if not found[k]["attributes"]["template"]
            ]

    def budgets(self, project_id: str) -> list[dict[str, Any]]:
        """The budgets (deals with `budget: true`) linked to one project (copies)."""
        with self._lock:
            deals = self._store["deals"]
            return [
                copy.deepcopy(deals[k])
                for k in sorted(deals, key=int)
                if _related(deals[k], "project") == project_id and deals[k]["attributes"]["budget"]
            ]

    def services(self, project_id: str) -> list[dict[str, Any]]:
        """The services on every budget of one project (copies), in id order."""
        with self._lock:
            budget_ids = {b["id"] for b in self.budgets(project_id)}
            services = self._store["services"]
            return [
                copy.deepcopy(services[k])
                for k in sorted(services, key=int)
                if _related(services[k], "deal") in budget_ids
            ]

    def add_template(
        self, name: str, *, template_id: str | None = None, task_lists: Sequence[str] = ()
    ) -> str:
        """Create a template project called `name` (what a firm sets up by hand) and return its id.

        `template_id` gives it a known id (the one a landscape file maps service lines to);
        `task_lists` names the task lists it carries, which every copy of it gets (tasks.py).
        """
        with self._lock:
            if template_id is None:
                template_id = str(next(self._ids))
            elif template_id in self._store["projects"]:
                raise ValueError(f"project {template_id} already exists in the sandbox")
            stamp = self._stamp()
            self._store["projects"][template_id] = {
                "id": template_id,
                "type": "projects",
                "attributes": {
                    "name": name,
                    "project_number": f"T{template_id}",
                    "project_type_id": 2,
                    "template": True,
                    "duplication_status": "idle",
                    "archived_at": None,
                    "created_at": stamp,
                },
                "relationships": {"company": {"data": None}},
            }
            for list_name in task_lists:
                self.add_task_list(template_id, list_name)
            return template_id

    def add_engagement(
        self, name: str, *, project_number: str, company_id: str, currency: str, start: str
    ) -> tuple[str, str]:
        """Test seeding, not vendor behaviour: a client project with one open budget, as engagement
        setup leaves them (no template copy, no webhook), for benchmarks that need many at once.
        Returns (project id, budget id); add its services with `add_service`."""
        with self._lock:
            if company_id not in self._companies:
                raise ValueError(f"company {company_id} is not in the sandbox")
            stamp = self._stamp()
            project_id, budget_id = str(next(self._ids)), str(next(self._ids))
            company = {"data": {"type": "companies", "id": company_id}}
            self._store["projects"][project_id] = {
                "id": project_id,
                "type": "projects",
                "attributes": {
                    "name": name,
                    "project_number": project_number,
                    "project_type_id": 2,
                    "template": False,
                    "duplication_status": "idle",
                    "archived_at": None,
                    "created_at": stamp,
                },
                "relationships": {"company": company},
            }
            self._store["deals"][budget_id] = {
                "id": budget_id,
                "type": "deals",
                "attributes": {
                    "name": name,
                    "budget": True,
                    "currency": currency,
                    "date": start,
                    "end_date": None,
                    "deal_type_id": 2,
                    "closed_at": None,
                    "created_at": stamp,
                },
                "relationships": {
                    "project": {"data": {"type": "projects", "id": project_id}},
                    "company": company,
                },
            }
            return project_id, budget_id

    def subscribe(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        """Register a webhook target: company (29-31), project (5, 10), time (7-9), expense (21-23) events."""
        with self._lock:
            self._subscriptions.append(_Subscription(Subscriber(url, transport)))

    def drop_pending(self, resource_type: str, resource_id: str) -> int:
        """Lose the queued deliveries about one resource (a webhook that never arrives); how many."""

        def about(body: bytes) -> bool:
            data = json.loads(body).get("object", {}).get("data", {})
            return bool(data.get("type") == resource_type and str(data.get("id")) == resource_id)

        with self._lock:
            return sum(subscription.outbox.discard(about) for subscription in self._subscriptions)

    def pending(self) -> int:
        """Webhook deliveries queued and not yet answered 2xx."""
        with self._lock:
            return sum(len(s.outbox) for s in self._subscriptions)

    def deliver_pending(self) -> int:
        """POST queued deliveries, signed now; keep those not answered 2xx; return how many were delivered."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        count = 0
        for subscription in subscriptions:
            # One event per POST; a refused one does not hold back the rest (each is retried on its own).
            batches = [([notice], notice.payload) for notice in subscription.outbox.due()]
            count += delivered(
                deliver(
                    subscription.outbox, subscription.target, batches, self._sign, stop_at_first_refusal=False
                )
            )
        return count

    def _sign(self, body: bytes) -> Mapping[str, str]:
        # t is "timestamp of current time when a webhook was called", so a retry is re-signed
        # (https://developer.productive.io/webhooks.html "Webhook Signature").
        timestamp = int(self._now().timestamp())
        digest = hmac.new(
            self.webhook_secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return {"Productive-Signature": f"t={timestamp}, s={digest}"}

    def fail_next(self, n: int, status: int = 500, *, path: str | None = None, after: bool = False) -> None:
        """Answer the next `n` authenticated API requests with `status` and a JSON:API error body.

        With `path`, only requests whose path contains it fail (e.g. "/projects/copy"), so a test
        can make one step of a longer flow meet the fault. Requests are refused before they act,
        unless `after`: then the request is carried out and only its answer is lost (a gateway
        timeout after the write), the case a create without an idempotency key must survive.
        """
        self._faults.arm(n, status, path=path, after=after)

    @property
    def throttled(self) -> int:
        """429s answered because a documented window was full (not injected ones)."""
        return self._rate.refused

    def set_rate_limiting(self, enabled: bool) -> None:
        """Switch the documented rate limits on (default) or off."""
        with self._lock:
            self._rate.enabled = enabled
            self._rate.reset()

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Replace the clock used for timestamps, signatures and rate-limit windows."""
        with self._lock:
            self._clock = clock

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except ApiError as error:
            response = error.response()
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _now(self) -> datetime:
        return self._clock().astimezone(UTC)

    def _stamp(self) -> str:
        return self._now().isoformat(timespec="milliseconds")

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
            self._authenticate(request)
            self._throttle()
            fault = self._faults.take(request.path)
            if fault is None:
                return self._route(request)
            if fault.after:
                self._route(request)
            raise ApiError(fault.status, "Injected fault", f"sandbox fault injection answered {fault.status}")

    def _authenticate(self, request: Request) -> None:
        # https://developer.productive.io/llms-full.txt: "401 = unauthenticated | 403 = unauthorized"
        token = request.headers.get("X-Auth-Token")
        if not token or not hmac.compare_digest(token, self.api_token):
            raise ApiError(401, "Unauthorized", "X-Auth-Token is missing or invalid")
        if request.headers.get("X-Organization-Id") != self.organization_id:
            raise ApiError(
                403, "Forbidden", "X-Organization-Id is missing or not an organization of this token"
            )

    def _throttle(self) -> None:
        full = self._rate.admit(self._now())
        if full is not None:
            # No Retry-After: the rate-limit guide documents only the 429 status.
            raise ApiError(
                429,
                "Too Many Requests",
                f"rate limit of {full.limit} requests per {full.seconds:.0f} s exceeded",
            )

    def _route(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        method = request.method.upper()
        if method in {"POST", "PATCH"}:
            content_type = request.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() != JSON_API:
                raise ApiError(415, "Unsupported Media Type", f"Content-Type must be {JSON_API}")
        for kind in INVOICING_RESOURCES:
            if kind in parts:
                return self._invoicing_route(kind, parts[parts.index(kind) + 1 :], method, request)
        for kind in TASK_RESOURCES:
            if kind in parts:
                return self._task_route(kind, parts[parts.index(kind) + 1 :], method, request)
        for kind in CAPACITY_RESOURCES:
            if kind in parts:
                return self._capacity_route(kind, parts[parts.index(kind) + 1 :], method, request)
        if "expenses" in parts:
            return self._expense_route(parts[parts.index("expenses") + 1 :], method, request)
        for kind in TIME_RESOURCES:
            if kind in parts:
                return self._time_route(kind, parts[parts.index(kind) + 1 :], method, request)
        for kind in ENGAGEMENT_RESOURCES:
            if kind in parts:
                return self._engagement_route(kind, parts[parts.index(kind) + 1 :], method, request)
        if "companies" not in parts:
            raise ApiError(404, "Not Found", f"no route for {request.path}")
        tail = parts[parts.index("companies") + 1 :]
        if not tail and method == "GET":
            return self._list(request)
        if not tail and method == "POST":
            return self._create(request)
        if len(tail) == 1 and method == "GET":
            return json_response(listing.single("companies", request, self._find(tail[0]), self._lookup))
        if len(tail) == 1 and method == "PATCH":
            return self._update(tail[0], request)
        if len(tail) == 1 and method == "DELETE":
            return self._delete(tail[0])
        if len(tail) == 2 and tail[1] == "archive" and method == "PATCH":
            return self._archive(tail[0])
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    # --- companies ----------------------------------------------------------------------------

    def _find(self, company_id: str) -> dict[str, Any]:
        company = self._companies.get(company_id)
        if company is None:
            raise ApiError(404, "Record not found", f"Company {company_id} not found")
        return copy.deepcopy(company)

    def _list(self, request: Request) -> Response:
        return self._listing(
            "companies", [self._companies[k] for k in sorted(self._companies, key=int)], request
        )

    def _listing(self, kind: str, resources: list[dict[str, Any]], request: Request) -> Response:
        conditions = filters.parse(kind, request.args.items(multi=True))
        for condition in conditions:
            resources = [
                r
                for r in resources
                if filters.matches(
                    kind, r, condition, self._lookup, search_numbers=self.query_matches_numbers
                )
            ]
        if kind == "deals":
            services = list(self._store["services"].values())
            resources = [with_budget_total(deal, services) for deal in resources]
        return json_response(listing.document(kind, request, resources, self._lookup))

    def _lookup(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        return (self._companies if kind == "companies" else self._store[kind]).get(resource_id)

    @staticmethod
    def _document(request: Request, company_id: str | None) -> dict[str, Any]:
        try:
            document = json.loads(request.get_data())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "Bad Request", f"body is not JSON: {exc}") from exc
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict) or data.get("type") != "companies":
            raise ApiError(400, "Bad Request", "data must be a resource of type 'companies'", "/data/type")
        if company_id is not None and str(data.get("id", company_id)) != company_id:
            raise ApiError(400, "Bad Request", "data.id does not match the URL", "/data/id")
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise ApiError(400, "Bad Request", "attributes must be an object", "/data/attributes")
        for key in attributes:
            if key not in WRITABLE:
                raise ApiError(400, "Param not allowed", f"{key} is not allowed", f"/data/attributes/{key}")
        return attributes

    def _check(self, attributes: dict[str, Any], company_id: str | None) -> None:
        name = attributes.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, "Invalid Attribute", "name can't be blank", "/data/attributes/name")
        code = attributes.get("company_code")
        # Company code is "a unique code assigned to the company" (help centre, Managing Client Companies).
        for other_id, other in self._companies.items():
            if other_id != company_id and code and other["attributes"].get("company_code") == code:
                raise ApiError(
                    422,
                    "Invalid Attribute",
                    "company_code has already been taken",
                    "/data/attributes/company_code",
                )

    def _create(self, request: Request) -> Response:
        company = self._insert(self._document(request, None))
        return json_response({"data": copy.deepcopy(company)}, 201)

    def _insert(self, attributes: dict[str, Any]) -> dict[str, Any]:
        company_id = str(next(self._ids))
        stored = {
            "name": None,
            "billing_name": None,
            "vat": None,
            "default_currency": None,
            "company_code": None,
            "domain": None,
            "description": None,
            "contact": {"emails": [], "phones": [], "websites": [], "addresses": []},
            **copy.deepcopy(attributes),
        }
        if not stored.get("company_code"):
            # "if it is not set through the API request when creating the company, it will be generated
            # automatically" (https://developer.productive.io/companies.html)
            stored["company_code"] = f"C{company_id}"
        self._check(stored, None)
        stamp = self._stamp()
        stored.update(created_at=stamp, updated_at=stamp, archived_at=None)
        company = {"id": company_id, "type": "companies", "attributes": stored}
        self._companies[company_id] = company
        self._enqueue(EVENT_COMPANY_CREATED, company)
        return company

    def _update(self, company_id: str, request: Request) -> Response:
        self._find(company_id)
        attributes = self._document(request, company_id)
        merged = {**self._companies[company_id]["attributes"], **copy.deepcopy(attributes)}
        self._check(merged, company_id)
        merged["updated_at"] = self._stamp()
        self._companies[company_id]["attributes"] = merged
        self._enqueue(EVENT_COMPANY_UPDATED, self._companies[company_id])
        return json_response({"data": copy.deepcopy(self._companies[company_id])})

    def _archive(self, company_id: str) -> Response:
        self._find(company_id)
        attributes = self._companies[company_id]["attributes"]
        stamp = self._stamp()
        attributes.update(archived_at=stamp, updated_at=stamp)
        self._enqueue(EVENT_COMPANY_ARCHIVED, self._companies[company_id])
        return json_response({"data": copy.deepcopy(self._companies[company_id])})

    def _delete(self, company_id: str) -> Response:
        company = self._find(company_id)
        del self._companies[company_id]
        # The documented event list has no "deleted company", only "Archived company" (31); a removal
        # is announced with that event so subscribers still learn the client is gone.
        self._enqueue(EVENT_COMPANY_ARCHIVED, company)
        return Response(status=204)

    def _enqueue(self, event_id: int, company: dict[str, Any]) -> None:
        body = json.dumps({"event_id": event_id, "object": {"data": copy.deepcopy(company)}}).encode()
        for subscription in self._subscriptions:
            subscription.outbox.add(body)

    # --- projects, budgets, services, service types -----------------------------------------------

    def _engagement_route(self, kind: str, tail: list[str], method: str, request: Request) -> Response:
        if not tail and method == "GET":
            return self._list_resources(kind, request)
        if len(tail) == 1 and method == "GET":
            return self._single(kind, tail[0], request)
        if kind == "projects" and tail == ["copy"] and method == "POST":
            return self._copy_project(request)
        if kind in {"deals", "services", "service_types"} and not tail and method == "POST":
            return self._create_resource(kind, request)
        if len(tail) == 1 and method == "PATCH" and kind in {"projects", "services"}:
            return self._update_resource(kind, tail[0], request)
        if kind == "projects" and len(tail) == 2 and method == "PATCH" and tail[1] in {"archive", "restore"}:
            return self._set_moment("projects", tail[0], "archived_at", on=tail[1] == "archive")
        if kind == "deals" and len(tail) == 2 and method == "PATCH" and tail[1] in {"close", "open"}:
            return self._set_moment("deals", tail[0], "closed_at", on=tail[1] == "close")
        raise ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    def _get(self, kind: str, resource_id: str) -> dict[str, Any]:
        found = self._store[kind].get(resource_id)
        if found is None:
            label = {"people": "Person"}.get(kind, kind[:-1].replace("_", " ").capitalize())
            label = label.replace("entrie", "entry")
            raise ApiError(404, "Record not found", f"{label} {resource_id} not found")
        return copy.deepcopy(found)

    def _single(self, kind: str, resource_id: str, request: Request) -> Response:
        return json_response(listing.single(kind, request, self._get(kind, resource_id), self._lookup))

    def _list_resources(self, kind: str, request: Request) -> Response:
        return self._listing(
            kind, [self._store[kind][k] for k in sorted(self._store[kind], key=int)], request
        )

    def _enqueue_resource(self, event_id: int, resource: dict[str, Any]) -> None:
        # Same delivery shape as company events: {"event_id": ..., "object": {"data": <resource>}}
        self._enqueue(event_id, resource)
