"""A local twin of Productive.io's companies API and its signed webhooks, for tests and the demo.

It speaks the protocol as documented at https://developer.productive.io/: JSON:API documents,
`X-Auth-Token` + `X-Organization-Id` on every request, `Content-Type: application/vnd.api+json` on
writes (415 otherwise), `?filter[...]` with operations, `?page[number]&page[size]` with totals in
`meta`, JSON:API error bodies, 429 at 100 requests / 10 s and 4000 / 30 min, and
`Productive-Signature`-signed webhooks for company events — including the hub's own API writes,
which is how echoes arise.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import math
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

JSON_API = "application/vnd.api+json"
DEFAULT_PAGE_SIZE = 30  # https://developer.productive.io/ "Pagination": page_size "30 by default"
MAX_PAGE_SIZE = 200
# https://developer.productive.io/guides/rate-limits
RATE_LIMITS: tuple[tuple[int, float], ...] = ((100, 10.0), (4000, 1800.0))
# https://developer.productive.io/webhooks.html "Webhook events"
EVENT_COMPANY_CREATED, EVENT_COMPANY_UPDATED, EVENT_COMPANY_ARCHIVED = 29, 30, 31

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
# String filters this twin evaluates; the rest of the documented list is refused as unsupported
# (Productive answers 400 "Unsupported Filter" for filters an endpoint does not know).
STRING_FILTERS = frozenset({"name", "company_code", "billing_name", "default_currency", "vat"})
OPERATIONS = frozenset({"eq", "not_eq", "contains", "not_contain"})


class _ApiError(Exception):
    def __init__(self, status: int, title: str, detail: str, pointer: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.pointer = status, title, detail, pointer

    def response(self) -> Response:
        # Error shape as shown at https://developer.productive.io/ "Filtering" (numeric status).
        error: dict[str, Any] = {"status": self.status, "title": self.title, "detail": self.detail}
        if self.pointer:
            error["source"] = {"pointer": self.pointer}
        return _json_response({"errors": [error]}, self.status)


def _json_response(document: Any, status: int = 200) -> Response:
    return Response(json.dumps(document), status=status, content_type=JSON_API)


@dataclass
class _Delivery:
    id: str
    body: bytes


@dataclass
class _Subscription:
    url: str
    transport: httpx.BaseTransport | None
    queue: list[_Delivery] = field(default_factory=list)


class ProductiveSandbox:
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
        self._ids = itertools.count(1)
        self._subscriptions: list[_Subscription] = []
        self._faults: deque[int] = deque()
        self._rate_limiting = True
        self._hits: deque[float] = deque()
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

    def companies(self) -> list[dict[str, Any]]:
        """Every stored company resource (copies), in id order."""
        with self._lock:
            return [copy.deepcopy(self._companies[k]) for k in sorted(self._companies, key=int)]

    def subscribe(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        """Register a webhook target for company created / updated / archived (events 29, 30, 31)."""
        with self._lock:
            self._subscriptions.append(_Subscription(url=url, transport=transport))

    def pending(self) -> int:
        """Webhook deliveries queued and not yet answered 2xx."""
        with self._lock:
            return sum(len(s.queue) for s in self._subscriptions)

    def deliver_pending(self) -> int:
        """POST queued deliveries, signed now; keep those not answered 2xx; return how many were delivered."""
        with self._lock:
            work = [(s, list(s.queue)) for s in self._subscriptions]
        delivered = 0
        for subscription, deliveries in work:
            done: set[str] = set()
            with httpx.Client(transport=subscription.transport, timeout=10.0) as client:
                for delivery in deliveries:
                    # t is "timestamp of current time when a webhook was called", so a retry is re-signed
                    # (https://developer.productive.io/webhooks.html "Webhook Signature").
                    timestamp = int(self._now().timestamp())
                    digest = hmac.new(
                        self.webhook_secret.encode(),
                        str(timestamp).encode() + b"." + delivery.body,
                        hashlib.sha256,
                    ).hexdigest()
                    headers = {
                        "Content-Type": "application/json",
                        "Productive-Signature": f"t={timestamp}, s={digest}",
                    }
                    try:
                        answer = client.post(subscription.url, content=delivery.body, headers=headers)
                    except httpx.HTTPError:
                        continue
                    if 200 <= answer.status_code < 300:
                        done.add(delivery.id)
            with self._lock:
                subscription.queue = [d for d in subscription.queue if d.id not in done]
            delivered += len(done)
        return delivered

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next `n` authenticated API requests with `status` and a JSON:API error body."""
        with self._lock:
            self._faults.extend([status] * n)

    def set_rate_limiting(self, enabled: bool) -> None:
        """Switch the documented rate limits on (default) or off."""
        with self._lock:
            self._rate_limiting = enabled
            self._hits.clear()

    def set_clock(self, clock: Callable[[], datetime]) -> None:
        """Replace the clock used for timestamps, signatures and rate-limit windows."""
        with self._lock:
            self._clock = clock

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except _ApiError as error:
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
            if self._faults:
                status = self._faults.popleft()
                raise _ApiError(status, "Injected fault", f"sandbox fault injection answered {status}")
            return self._route(request)

    def _authenticate(self, request: Request) -> None:
        # https://developer.productive.io/llms-full.txt: "401 = unauthenticated | 403 = unauthorized"
        token = request.headers.get("X-Auth-Token")
        if not token or not hmac.compare_digest(token, self.api_token):
            raise _ApiError(401, "Unauthorized", "X-Auth-Token is missing or invalid")
        if request.headers.get("X-Organization-Id") != self.organization_id:
            raise _ApiError(
                403, "Forbidden", "X-Organization-Id is missing or not an organization of this token"
            )

    def _throttle(self) -> None:
        if not self._rate_limiting:
            return
        now = self._now().timestamp()
        longest = max(window for _, window in RATE_LIMITS)
        while self._hits and now - self._hits[0] >= longest:
            self._hits.popleft()
        for limit, window in RATE_LIMITS:
            if sum(1 for hit in self._hits if now - hit < window) >= limit:
                # No Retry-After: the rate-limit guide documents only the 429 status.
                raise _ApiError(
                    429, "Too Many Requests", f"rate limit of {limit} requests per {window:.0f} s exceeded"
                )
        self._hits.append(now)

    def _route(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if "companies" not in parts:
            raise _ApiError(404, "Not Found", f"no route for {request.path}")
        tail = parts[parts.index("companies") + 1 :]
        method = request.method.upper()
        if method in {"POST", "PATCH"}:
            content_type = request.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip() != JSON_API:
                raise _ApiError(415, "Unsupported Media Type", f"Content-Type must be {JSON_API}")
        if not tail and method == "GET":
            return self._list(request)
        if not tail and method == "POST":
            return self._create(request)
        if len(tail) == 1 and method == "GET":
            return _json_response({"data": self._find(tail[0])})
        if len(tail) == 1 and method == "PATCH":
            return self._update(tail[0], request)
        if len(tail) == 1 and method == "DELETE":
            return self._delete(tail[0])
        if len(tail) == 2 and tail[1] == "archive" and method == "PATCH":
            return self._archive(tail[0])
        raise _ApiError(405, "Method Not Allowed", f"{method} {request.path} is not supported")

    # --- companies ----------------------------------------------------------------------------

    def _find(self, company_id: str) -> dict[str, Any]:
        company = self._companies.get(company_id)
        if company is None:
            raise _ApiError(404, "Record not found", f"Company {company_id} not found")
        return copy.deepcopy(company)

    def _list(self, request: Request) -> Response:
        matches = [self._companies[k] for k in sorted(self._companies, key=int)]
        for key, value in request.args.items(multi=True):
            if not key.startswith("filter["):
                continue
            names = [n.rstrip("]") for n in key[len("filter[") :].split("[")]
            name, operation = names[0], (names[1] if len(names) > 1 else "eq")
            matches = [c for c in matches if self._matches(c, name, operation, value)]
        size = self._int_arg(request, "page[size]", DEFAULT_PAGE_SIZE)
        size = min(max(size, 1), MAX_PAGE_SIZE)
        number = max(self._int_arg(request, "page[number]", 1), 1)
        total = len(matches)
        pages = max(1, math.ceil(total / size))
        page = matches[(number - 1) * size : number * size]
        meta = {
            "current_page": number,
            "total_pages": pages,
            "total_count": total,
            "page_size": size,
            "max_page_size": MAX_PAGE_SIZE,
        }
        return _json_response({"data": copy.deepcopy(page), "meta": meta})

    @staticmethod
    def _int_arg(request: Request, name: str, default: int) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        if not raw.isdigit():
            raise _ApiError(400, "Invalid Page Parameter", f"{name} must be a positive integer")
        return int(raw)

    @staticmethod
    def _matches(company: dict[str, Any], name: str, operation: str, value: str) -> bool:
        attributes = company["attributes"]
        if operation not in OPERATIONS:
            raise _ApiError(400, "Unsupported Filter Operation", f"Operation '{operation}' is not supported")
        if name == "id":
            wanted = {v.strip() for v in value.split(",")}
            hit = company["id"] in wanted
            return hit if operation in {"eq", "contains"} else not hit
        if name == "status":
            archived = attributes.get("archived_at") is not None
            hit = (value == "2") == archived
            return hit if operation == "eq" else not hit
        if name not in STRING_FILTERS:
            raise _ApiError(400, "Unsupported Filter", f"Filter '{name}' is not supported on this endpoint")
        actual = str(attributes.get(name) or "")
        if operation == "eq":
            return actual == value
        if operation == "not_eq":
            return actual != value
        contained = value.lower() in actual.lower()
        return contained if operation == "contains" else not contained

    @staticmethod
    def _document(request: Request, company_id: str | None) -> dict[str, Any]:
        try:
            document = json.loads(request.get_data())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _ApiError(400, "Bad Request", f"body is not JSON: {exc}") from exc
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict) or data.get("type") != "companies":
            raise _ApiError(400, "Bad Request", "data must be a resource of type 'companies'", "/data/type")
        if company_id is not None and str(data.get("id", company_id)) != company_id:
            raise _ApiError(400, "Bad Request", "data.id does not match the URL", "/data/id")
        attributes = data.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise _ApiError(400, "Bad Request", "attributes must be an object", "/data/attributes")
        for key in attributes:
            if key not in WRITABLE:
                raise _ApiError(400, "Param not allowed", f"{key} is not allowed", f"/data/attributes/{key}")
        return attributes

    def _check(self, attributes: dict[str, Any], company_id: str | None) -> None:
        name = attributes.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _ApiError(422, "Invalid Attribute", "name can't be blank", "/data/attributes/name")
        code = attributes.get("company_code")
        # Company code is "a unique code assigned to the company" (help centre, Managing Client Companies).
        for other_id, other in self._companies.items():
            if other_id != company_id and code and other["attributes"].get("company_code") == code:
                raise _ApiError(
                    422,
                    "Invalid Attribute",
                    "company_code has already been taken",
                    "/data/attributes/company_code",
                )

    def _create(self, request: Request) -> Response:
        attributes = self._document(request, None)
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
        return _json_response({"data": copy.deepcopy(company)}, 201)

    def _update(self, company_id: str, request: Request) -> Response:
        self._find(company_id)
        attributes = self._document(request, company_id)
        merged = {**self._companies[company_id]["attributes"], **copy.deepcopy(attributes)}
        self._check(merged, company_id)
        merged["updated_at"] = self._stamp()
        self._companies[company_id]["attributes"] = merged
        self._enqueue(EVENT_COMPANY_UPDATED, self._companies[company_id])
        return _json_response({"data": copy.deepcopy(self._companies[company_id])})

    def _archive(self, company_id: str) -> Response:
        self._find(company_id)
        attributes = self._companies[company_id]["attributes"]
        stamp = self._stamp()
        attributes.update(archived_at=stamp, updated_at=stamp)
        self._enqueue(EVENT_COMPANY_ARCHIVED, self._companies[company_id])
        return _json_response({"data": copy.deepcopy(self._companies[company_id])})

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
            subscription.queue.append(_Delivery(id=uuid.uuid4().hex, body=body))
