"""A local twin of QuickBooks Online for customers and engagements, speaking QBO's documented protocol.

OAuth 2.0 token endpoint (refresh grant, rotating refresh tokens), bearer checks with Intuit's 401
fault, Customer read/create/sparse update with SyncToken concurrency, sub-customers (Job, ParentRef,
Level, "Parent:Child" FullyQualifiedName), Class and Department read/query, the query endpoint with
STARTPOSITION/MAXRESULTS, `requestid` replay, duplicate-name and stale-object faults, the 500/min
per-realm throttle, and signed webhooks in the legacy or CloudEvents format. Tests mount it with
`httpx.WSGITransport`; the demo serves it on a loopback port.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx
from werkzeug.wrappers import Request, Response

WebhookFormat = Literal["legacy", "cloudevents"]
WsgiStartResponse = Callable[..., Any]

TOKEN_PATH = "/oauth2/v1/tokens/bearer"  # noqa: S105 - a path, not a secret
# Access tokens live one hour; a refresh token 100 days (8,726,400 s, `x_refresh_token_expires_in`),
# and each refresh hands out a new one and retires the one presented.
# https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
# https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8_726_400
# Per realm: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
PER_MINUTE_LIMIT = 500
MAX_RESULTS = 1000  # query page ceiling
DEFAULT_MAX_RESULTS = 100
# QBO answers in the company's time zone with a numeric offset; a Pacific company makes the
# hub's offset parsing earn its keep.
COMPANY_TZ = timezone(timedelta(hours=-7))

_CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
}
_READ_ONLY = {
    "Id",
    "SyncToken",
    "MetaData",
    "FullyQualifiedName",
    "Balance",
    "BalanceWithJobs",
    "domain",
    "sparse",
    "Level",
}
_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class _Fault(Exception):
    """A Fault answer raised inside request handling."""

    def __init__(self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


class QuickBooksSandbox:
    """WSGI app + thread-safe control API standing in for one QBO company and one Intuit app."""

    def __init__(
        self,
        realm_id: str = "9341453000000001",
        client_id: str = "sandbox-client-id",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 - a fake credential for the local twin
        refresh_token: str = "sandbox-refresh-token-0",  # noqa: S107 - a fake credential for the local twin
        verifier_token: str = "sandbox-verifier-token",  # noqa: S107 - a fake credential for the local twin
        *,
        home_currency: str = "USD",
        clock: Callable[[], datetime] = _utcnow,
        webhook_format: WebhookFormat = "legacy",
    ) -> None:
        self.realm_id = realm_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.verifier_token = verifier_token
        self.home_currency = home_currency
        self.clock = clock
        self.webhook_format: WebhookFormat = webhook_format
        self.rate_limited = True
        self.per_minute_limit = PER_MINUTE_LIMIT
        self.writes = 0  # customers created or changed through the API (replays excluded)
        self.refreshes = 0  # successful refreshes
        self.token_calls = 0  # every request to the token endpoint, refused ones included
        self.minor_versions_seen: set[str] = set()
        self._lock = threading.RLock()
        self._refresh_token = refresh_token
        self._refresh_expires = clock() + timedelta(seconds=REFRESH_TOKEN_SECONDS)
        self._access_tokens: dict[str, datetime] = {}
        self._customers: dict[str, dict[str, Any]] = {}
        self._next_id = 1
        # Class and Department entities by name of entity, then by Id.
        self._tracking: dict[str, dict[str, dict[str, Any]]] = {"Class": {}, "Department": {}}
        self._next_tracking_id = dict(_TRACKING_FIRST_ID)
        self._replies: dict[str, tuple[int, dict[str, Any]]] = {}
        self._hits: deque[datetime] = deque()
        self._failures: deque[int] = deque()
        self._pending: list[dict[str, Any]] = []
        self._subscriber: tuple[str, httpx.Client] | None = None

    # --- control API (tests, demo) --------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """The dict `shared.connectors.quickbooks.build` accepts for this sandbox served at `base_url`."""
        base = base_url.rstrip("/")
        with self._lock:
            return {
                "base_url": base,
                "token_url": base + TOKEN_PATH,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "refresh_token": self._refresh_token,
                "realm_id": self.realm_id,
                "verifier_token": self.verifier_token,
                "minor_version": "75",
                "home_currency": self.home_currency,
            }

    @property
    def refresh_token(self) -> str:
        """The one refresh token the token endpoint accepts now (it rotates on every refresh)."""
        with self._lock:
            return self._refresh_token

    def reconnect(self) -> str:
        """The company's admin connects the app again (new consent): a new refresh token, the old one void.

        Returns the new refresh token, which the operator puts in the connections secret.
        """
        with self._lock:
            self._refresh_token = "sbx-rt-" + secrets.token_urlsafe(24)
            self._refresh_expires = self.clock() + timedelta(seconds=REFRESH_TOKEN_SECONDS)
            return self._refresh_token

    def customer(self, customer_id: str) -> dict[str, Any]:
        """A copy of the stored customer (KeyError when absent)."""
        with self._lock:
            return copy.deepcopy(self._customers[customer_id])

    def customers(self) -> list[dict[str, Any]]:
        """Copies of every customer, in Id order (inactive ones included)."""
        with self._lock:
            return [copy.deepcopy(self._customers[key]) for key in sorted(self._customers, key=int)]

    def project(self, customer_id: str) -> dict[str, Any]:
        """A copy of the stored sub-customer (an engagement's project); KeyError if absent or top-level."""
        with self._lock:
            customer = self._customers[customer_id]
            if not customer.get("Job"):
                raise KeyError(f"customer {customer_id} is not a sub-customer")
            return copy.deepcopy(customer)

    def add_class(self, name: str, *, active: bool = True, class_id: str | None = None) -> str:
        """A Class the bookkeeper set up (Settings > All lists > Classes); returns its Id."""
        return self._add_tracking("Class", name, active=active, record_id=class_id)

    def add_department(self, name: str, *, active: bool = True, department_id: str | None = None) -> str:
        """A Department (a "location" in QBO's UI); returns its Id."""
        return self._add_tracking("Department", name, active=active, record_id=department_id)

    def set_class_active(self, class_id: str, active: bool) -> None:
        """The bookkeeper makes a Class inactive (Settings > All lists > Classes) or active again."""
        with self._lock:
            row = self._tracking["Class"][class_id]  # KeyError names an id the sandbox never had
            row["Active"] = active
            row["SyncToken"] = str(int(row["SyncToken"]) + 1)
            row["MetaData"]["LastUpdatedTime"] = self._now_text()

    def _add_tracking(self, entity: str, name: str, *, active: bool, record_id: str | None = None) -> str:
        with self._lock:
            if record_id is None:
                record_id = str(self._next_tracking_id[entity])
                self._next_tracking_id[entity] += 1
            elif record_id in self._tracking[entity]:
                raise ValueError(f"{entity} {record_id} already exists in the sandbox")
            now = self._now_text()
            self._tracking[entity][record_id] = {
                "Name": name,
                "SubClass" if entity == "Class" else "SubDepartment": False,
                "FullyQualifiedName": name,
                "Active": active,
                "domain": "QBO",
                "sparse": False,
                "Id": record_id,
                "SyncToken": "0",
                "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
            }
            return record_id

    def put_customer(self, fields: Mapping[str, Any]) -> str:
        """A bookkeeper's edit in the QBO UI: create, or (with "Id") update without a SyncToken check.

        Like any change it bumps the SyncToken and queues a webhook notice. Returns the Id.
        """
        with self._lock:
            body = dict(fields)
            customer_id = body.get("Id")
            if customer_id is None:
                return str(self._create(body)["Id"])
            current = self._customers.get(str(customer_id))
            if current is None:
                raise KeyError(customer_id)
            body["SyncToken"] = current["SyncToken"]
            body.setdefault("sparse", True)
            return str(self._update(body)["Id"])

    def merge_customers(self, survivor_id: str, merged_id: str) -> None:
        """A bookkeeper merges customer `merged_id` into `survivor_id` (renaming it to the survivor's name).

        The merged-away customer is gone (reads answer 610), the survivor is edited, and one Merge
        notice names the survivor with the merged-away id: `deletedId` in the legacy format,
        `data.deletedid` in CloudEvents.
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
        """
        with self._lock:
            survivor, merged = self._customers[survivor_id], self._customers.pop(merged_id)
            del merged  # its transactions would move to the survivor; the sandbox keeps none
            survivor["SyncToken"] = str(int(survivor["SyncToken"]) + 1)
            survivor["MetaData"]["LastUpdatedTime"] = self._now_text()
            self._queue_event(survivor_id, "Merge", deleted_id=merged_id)

    def void(self, entity: str, record_id: str) -> None:
        """A bookkeeper voids a transaction (Invoice, Payment, ...): a Void notice for it."""
        with self._lock:
            self._queue_event(record_id, "Void", entity=entity)

    def subscribe(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        """Deliver webhooks to `url` (through `transport`, e.g. a WSGITransport, when given)."""
        with self._lock:
            if self._subscriber is not None:
                self._subscriber[1].close()
            self._subscriber = (url, httpx.Client(transport=transport, timeout=10.0))

    @property
    def pending_notifications(self) -> int:
        """Change events queued and not yet acknowledged by the subscriber."""
        with self._lock:
            return len(self._pending)

    def deliver_pending(self) -> int:
        """POST every queued event in one signed notification; returns how many were acknowledged.

        QBO aggregates the changes of a window into one POST and redelivers until it gets a 2xx,
        so a failed delivery keeps every event for the next call.
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices
        """
        with self._lock:
            if self._subscriber is None or not self._pending:
                return 0
            url, client = self._subscriber
            batch = list(self._pending)
            body = self._notification_body(batch)
        signature = base64.b64encode(hmac.new(self.verifier_token.encode(), body, hashlib.sha256).digest())
        try:
            response = client.post(
                url,
                content=body,
                headers={"intuit-signature": signature.decode("ascii"), "Content-Type": "application/json"},
            )
        except httpx.HTTPError:
            return 0
        if not 200 <= response.status_code < 300:
            return 0
        with self._lock:
            delivered = {id(event) for event in batch}
            self._pending = [event for event in self._pending if id(event) not in delivered]
        return len(batch)

    def fail_next(self, n: int, status: int) -> None:
        """Answer the next `n` API requests with `status` and the matching Fault body."""
        with self._lock:
            self._failures.extend([status] * n)

    def set_rate_limit(self, enabled: bool, *, per_minute: int = PER_MINUTE_LIMIT) -> None:
        """Switch the per-realm throttle on or off (on by default, at Intuit's 500/min)."""
        with self._lock:
            self.rate_limited = enabled
            self.per_minute_limit = per_minute
            self._hits.clear()

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token (as if they expired): the next API call gets Intuit's 401."""
        with self._lock:
            self._access_tokens.clear()

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: WsgiStartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _now_text(self) -> str:
        return self.clock().astimezone(COMPANY_TZ).isoformat(timespec="milliseconds")

    def _json(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response(
            json.dumps(body), status=status, content_type="application/json", headers=dict(headers or {})
        )

    def _fault(
        self, status: int, code: str, message: str, detail: str, fault_type: str, element: str = ""
    ) -> _Fault:
        error = {"Message": message, "Detail": detail, "code": code, "element": element}
        return _Fault(status, {"Fault": {"Error": [error], "type": fault_type}, "time": self._now_text()})

    def _dispatch(self, request: Request) -> Response:
        try:
            if request.path == TOKEN_PATH:
                return self._token(request)
            match = re.fullmatch(
                r"/v3/company/([^/]+)/(customer|query|class|department)(?:/([^/]+))?", request.path
            )
            if match is None:
                raise self._fault(404, "404", "Resource not found", f"No route for {request.path}", "SERVICE")
            realm, resource, record_id = match.groups()
            with self._lock:
                self._gate(request, realm)
                version = request.args.get("minorversion")
                if version:
                    self.minor_versions_seen.add(version)
                if resource == "query" and record_id is None and request.method in ("GET", "POST"):
                    return self._json(200, self._query(request))
                if resource == "customer" and record_id is not None and request.method == "GET":
                    return self._json(200, {"Customer": self._get(record_id), "time": self._now_text()})
                if resource == "customer" and record_id is None and request.method == "POST":
                    return self._write(request)
                if resource in ("class", "department") and record_id is not None and request.method == "GET":
                    entity = _QUERYABLE[resource]
                    return self._json(
                        200, {entity: self._get_tracking(entity, record_id), "time": self._now_text()}
                    )
            raise self._fault(405, "405", "Method not allowed", f"{request.method} {request.path}", "SERVICE")
        except _Fault as fault:
            return self._json(fault.status, fault.body, fault.headers)

    # --- OAuth 2.0 ------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        """POST /oauth2/v1/tokens/bearer with grant_type=refresh_token and HTTP Basic client auth.

        The refresh token presented must be the latest one issued: the answer carries a new one and
        the presented one stops working at once. A retired, unknown or expired refresh token gets
        400 with Intuit's bare `{"error":"invalid_grant"}` (what its token endpoint returns when an
        app did not keep the latest refresh token). Access tokens issued earlier stay valid until
        they expire, as Intuit's do.
        https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
        https://github.com/intuit/oauth-jsclient/issues/77
        """
        with self._lock:
            self.token_calls += 1
        if request.method != "POST":
            return self._json(405, {"error": "invalid_request"})
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Basic {expected}"):
            return self._json(401, {"error": "invalid_client"})
        form = parse_qs(request.get_data(as_text=True))
        grant = form.get("grant_type", [""])[0]
        if grant != "refresh_token":
            return self._json(400, {"error": "unsupported_grant_type"})
        presented = form.get("refresh_token", [""])[0]
        with self._lock:
            now = self.clock()
            current = hmac.compare_digest(presented.encode(), self._refresh_token.encode())
            if not presented or not current or now >= self._refresh_expires:
                return self._json(400, {"error": "invalid_grant"})
            access = "sbx-at-" + secrets.token_urlsafe(24)
            self._refresh_token = "sbx-rt-" + secrets.token_urlsafe(24)
            # The 100 days roll: each refresh token lives that long from its own issue.
            self._refresh_expires = now + timedelta(seconds=REFRESH_TOKEN_SECONDS)
            self._access_tokens[access] = now + timedelta(seconds=ACCESS_TOKEN_SECONDS)
            self.refreshes += 1
            return self._json(
                200,
                {
                    "token_type": "bearer",
                    "access_token": access,
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "refresh_token": self._refresh_token,
                    "x_refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
                },
            )

    # --- gate: injected faults, bearer check, throttle ------------------------------------------

    def _gate(self, request: Request, realm: str) -> None:
        if self._failures:
            self._raise_injected(self._failures.popleft())
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        expires = self._access_tokens.get(token)
        if expires is None or expires <= self.clock():
            self._raise_auth_fault()
        if realm != self.realm_id:
            raise self._fault(
                403,
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"This app is not connected to company {realm}",
                "AUTHORIZATION",
            )
        if self.rate_limited:
            now = self.clock()
            while self._hits and now - self._hits[0] >= timedelta(minutes=1):
                self._hits.popleft()
            if len(self._hits) >= self.per_minute_limit:
                self._raise_throttle()
            self._hits.append(now)

    def _raise_auth_fault(self) -> None:
        # Intuit's 401 body uses lowercase keys (fault/error/message), unlike other Faults.
        raise _Fault(
            401,
            {
                "warnings": None,
                "intuitObject": None,
                "fault": {
                    "error": [
                        {
                            "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                            "detail": "Token expired or invalid",
                            "code": "3200",
                            "element": None,
                        }
                    ],
                    "type": "AUTHENTICATION",
                },
                "time": self._now_text(),
            },
            {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
        )

    def _raise_throttle(self) -> None:
        raise self._fault(
            429,
            "003001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "The request limit was reached.",
            "SERVICE",
        )

    def _raise_injected(self, status: int) -> None:
        if status == 429:
            self._raise_throttle()
        if status == 401:
            self._raise_auth_fault()
        raise self._fault(
            status,
            "10000",
            "An application error has occurred while processing your request",
            f"System Failure Error: injected HTTP {status}",
            "SystemFault",
        )

    # --- Customer -------------------------------------------------------------------------------

    def _get(self, customer_id: str) -> dict[str, Any]:
        customer = self._customers.get(customer_id)
        if customer is None:
            raise self._fault(
                400,
                "610",
                "Object Not Found",
                "Object Not Found : Something you're trying to use has been made inactive. "
                f"Customer {customer_id}",
                "ValidationFault",
            )
        return copy.deepcopy(customer)

    def _get_tracking(self, entity: str, record_id: str) -> dict[str, Any]:
        found = self._tracking[entity].get(record_id)
        if found is None:
            raise self._fault(
                400, "610", "Object Not Found", f"Object Not Found : {entity} {record_id}", "ValidationFault"
            )
        return copy.deepcopy(found)

    def _hierarchy(self, fields: Mapping[str, Any], name: str, own_id: str | None) -> dict[str, Any]:
        """Job, Level and FullyQualifiedName for a customer, checked against its ParentRef.

        QBO answers a reference to an inactive record with 610 "made inactive" (the same fault as a
        missing one), and a sub-customer takes its parent's currency.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
        """
        parent_ref = fields.get("ParentRef")
        if not parent_ref:
            if fields.get("Job"):
                raise self._fault(
                    400,
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter ParentRef is missing in the request: a Job needs a parent customer",
                    "ValidationFault",
                    "ParentRef",
                )
            return {"Job": False, "Level": 0, "FullyQualifiedName": name}
        parent_id = str(parent_ref.get("value", ""))
        parent = self._customers.get(parent_id)
        if parent is None or not parent.get("Active", True):
            raise self._fault(
                400,
                "610",
                "Object Not Found",
                "Object Not Found : Something you're trying to use has been made inactive. "
                "Check the fields with accounts, customers, items, vendors or employees. "
                f"Customer {parent_id}",
                "ValidationFault",
                "ParentRef",
            )
        ancestor: dict[str, Any] | None = parent
        while ancestor is not None and own_id is not None:
            if ancestor["Id"] == own_id:
                raise self._fault(
                    400,
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: A customer cannot be its own parent.",
                    "ValidationFault",
                    "ParentRef",
                )
            up = ancestor.get("ParentRef")
            ancestor = self._customers.get(str(up["value"])) if up else None
        level = int(parent.get("Level", 0)) + 1
        if level > MAX_LEVEL:
            raise self._fault(
                400,
                "6000",
                "A business validation error has occurred while processing your request",
                f"Business Validation Error: Sub-customers can be nested at most {MAX_LEVEL} levels deep.",
                "ValidationFault",
                "ParentRef",
            )
        requested = (fields.get("CurrencyRef") or {}).get("value")
        if requested and requested != parent["CurrencyRef"]["value"]:
            raise self._fault(
                400,
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: A sub-customer must use the same currency as its parent.",
                "ValidationFault",
                "CurrencyRef",
            )
        return {
            "Job": True,
            "ParentRef": {"value": parent_id, "name": parent["DisplayName"]},
            "Level": level,
            "FullyQualifiedName": f"{parent['FullyQualifiedName']}:{name}",
            "CurrencyRef": parent["CurrencyRef"],
        }

    def _rename_descendants(self, parent_id: str) -> None:
        """A renamed customer renames every FullyQualifiedName below it (no SyncToken bump in QBO)."""
        parent = self._customers[parent_id]
        for child in self._customers.values():
            if (child.get("ParentRef") or {}).get("value") == parent_id:
                child["ParentRef"] = {"value": parent_id, "name": parent["DisplayName"]}
                child["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{child['DisplayName']}"
                self._rename_descendants(child["Id"])

    def _write(self, request: Request) -> Response:
        """POST /customer: create, or update when the body has an Id; `requestid` replays."""
        request_id = request.args.get("requestid")
        if request_id is not None and len(request_id) > 50:
            raise self._fault(
                400,
                "2050",
                "String length is either shorter or longer than supported by specification",
                "requestid: Min:1 Max:50 supported",
                "ValidationFault",
                "requestid",
            )
        if request_id and request_id in self._replies:
            status, stored = self._replies[request_id]
            return self._json(status, stored)
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            raise self._fault(
                400,
                "2010",
                "Request has invalid or unsupported property",
                "Body is not JSON",
                "ValidationFault",
            ) from None
        if not isinstance(body, dict):
            raise self._fault(
                400,
                "2010",
                "Request has invalid or unsupported property",
                "Expected a Customer object",
                "ValidationFault",
            )
        try:
            result = self._update(body) if body.get("Id") is not None else self._create(body)
            status, reply = 200, {"Customer": copy.deepcopy(result), "time": self._now_text()}
            self.writes += 1
        except _Fault as fault:
            if fault.status != 400:
                raise
            status, reply = fault.status, fault.body
        if request_id:
            # Business outcomes (success or a validation Fault) are what a resend gets back.
            self._replies[request_id] = (status, reply)
        return self._json(status, reply)

    def _derived_name(self, body: Mapping[str, Any]) -> str:
        name = body.get("DisplayName")
        if isinstance(name, str) and name.strip():
            return name.strip()
        parts = [str(body[key]).strip() for key in _NAME_PARTS if body.get(key)]
        return " ".join(part for part in parts if part)

    def _check_name(self, name: str, own_id: str | None) -> None:
        if not name:
            raise self._fault(
                400,
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName (or Title, GivenName, MiddleName, FamilyName, Suffix) "
                "is missing in the request",
                "ValidationFault",
                "DisplayName",
            )
        if ":" in name:
            raise self._fault(
                400,
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: A name cannot contain a colon (:).",
                "ValidationFault",
                "DisplayName",
            )
        folded = name.casefold()
        for other in self._customers.values():
            if other["Id"] != own_id and str(other.get("DisplayName", "")).casefold() == folded:
                raise self._fault(
                    400,
                    "6240",
                    "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another customer, vendor or employee is already "
                    "using this name. Please use a different name.",
                    "ValidationFault",
                )

    @staticmethod
    def _prune(value: Any) -> Any:
        """Empty strings clear a field: drop them, and drop objects left empty."""
        if isinstance(value, dict):
            kept = {key: QuickBooksSandbox._prune(item) for key, item in value.items()}
            return {key: item for key, item in kept.items() if item not in ("", None, {})}
        return value

    def _writable(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in body.items() if key not in _READ_ONLY}

    def _currency(self, code: str) -> dict[str, str]:
        return {"value": code, "name": _CURRENCY_NAMES.get(code, code)}

    def _create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = self._derived_name(body)
        self._check_name(name, None)
        fields = self._prune(self._writable(body))
        hierarchy = self._hierarchy(fields, name, None)
        fields.update(hierarchy)
        currency = fields.get("CurrencyRef", {}).get("value") or self.home_currency
        now = self._now_text()
        customer_id = str(self._next_id)
        self._next_id += 1
        customer: dict[str, Any] = {
            "Taxable": False,
            "Job": False,
            "BillWithParent": False,
            "Balance": 0,
            "BalanceWithJobs": 0,
            "PreferredDeliveryMethod": "Print",
            "Active": True,
            **fields,
            "DisplayName": name,
            "CurrencyRef": self._currency(currency),
            "domain": "QBO",
            "sparse": False,
            "Id": customer_id,
            "SyncToken": "0",
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
        }
        self._customers[customer_id] = customer
        self._queue_event(customer_id, "Create")
        return customer

    def _update(self, body: Mapping[str, Any]) -> dict[str, Any]:
        customer_id = str(body.get("Id"))
        current = self._get(customer_id)
        sync_token = body.get("SyncToken")
        if sync_token is None:
            raise self._fault(
                400,
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter SyncToken is missing in the request",
                "ValidationFault",
                "SyncToken",
            )
        if str(sync_token) != current["SyncToken"]:
            # https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
            raise self._fault(
                400,
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and QuickBooks User were working on this at the same time. "
                "QuickBooks User finished before you did, so your work was not saved.",
                "ValidationFault",
            )
        changes = self._writable(body)
        requested_currency = (changes.get("CurrencyRef") or {}).get("value")
        if requested_currency and requested_currency != current["CurrencyRef"]["value"]:
            raise self._fault(
                400,
                "6000",
                "A business validation error has occurred while processing your request",
                "Business Validation Error: You can't change the currency of a customer.",
                "ValidationFault",
                "CurrencyRef",
            )
        if body.get("sparse") is True:
            merged = {**current, **changes}
        else:
            system = {key: current[key] for key in _READ_ONLY if key in current}
            merged = {"Active": True, **changes, **system}
        merged = dict(self._prune(merged))
        name = self._derived_name(merged)
        self._check_name(name, customer_id)
        hierarchy = self._hierarchy({**merged, "CurrencyRef": None}, name, customer_id)
        if not hierarchy["Job"]:
            merged.pop("ParentRef", None)
        merged.update(
            {
                **hierarchy,
                "DisplayName": name,
                "CurrencyRef": current["CurrencyRef"],
                "Id": customer_id,
                "SyncToken": str(int(current["SyncToken"]) + 1),
                "MetaData": {**current["MetaData"], "LastUpdatedTime": self._now_text()},
                "domain": "QBO",
                "sparse": False,
            }
        )
        self._customers[customer_id] = merged
        if merged["FullyQualifiedName"] != current["FullyQualifiedName"]:
            self._rename_descendants(customer_id)
        self._queue_event(customer_id, "Update")
        return merged

    # --- query ----------------------------------------------------------------------------------

    def _query(self, request: Request) -> dict[str, Any]:
        statement = request.args.get("query")
        if statement is None and request.method == "POST":
            statement = request.get_data(as_text=True)
        if not statement:
            raise self._fault(
                400, "4000", "Error parsing query", "QueryParserError: empty query", "ValidationFault"
            )
        try:
            parsed = _parse_query(statement)
        except ValueError as exc:
            raise self._fault(
                400, "4000", "Error parsing query", f"QueryParserError: {exc}", "ValidationFault"
            ) from None
        entity = _QUERYABLE.get(parsed.entity.lower())
        if entity is None:
            raise self._fault(
                400,
                "4001",
                "Invalid query",
                f"QueryValidationError: {parsed.entity} is not served "
                "by this sandbox (customers, classes and departments)",
                "ValidationFault",
            )
        table = self._customers if entity == "Customer" else self._tracking[entity]
        rows = [table[key] for key in sorted(table, key=int)]
        if not any(field.lower() == "active" for field, _, _ in parsed.conditions):
            # Like QBO, inactive customers are returned only when the query asks about Active.
            rows = [row for row in rows if row.get("Active", True)]
        rows = [row for row in rows if all(_matches(row, cond) for cond in parsed.conditions)]
        if parsed.count:
            return {"QueryResponse": {"totalCount": len(rows)}, "time": self._now_text()}
        page = rows[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
        response: dict[str, Any] = {}
        if page:
            response = {
                entity: copy.deepcopy(page),
                "startPosition": parsed.start,
                "maxResults": len(page),
            }
        return {"QueryResponse": response, "time": self._now_text()}

    # --- webhooks -------------------------------------------------------------------------------

    def _queue_event(
        self, record_id: str, operation: str, *, entity: str = "Customer", deleted_id: str | None = None
    ) -> None:
        self._pending.append(
            {
                "id": str(uuid.uuid4()),
                "entity": entity,
                "record_id": record_id,
                "operation": operation,
                "at": self.clock(),
                "deleted_id": deleted_id,
            }
        )

    def _notification_body(self, events: list[dict[str, Any]]) -> bytes:
        if self.webhook_format == "cloudevents":
            verbs = {
                "Create": "created",
                "Update": "updated",
                "Delete": "deleted",
                "Merge": "merged",
                "Void": "voided",
            }
            items = [
                {
                    "specversion": "1.0",
                    "id": event["id"],
                    "source": f"intuit.sandbox.{self.realm_id}",
                    "type": f"qbo.{event['entity'].lower()}.{verbs[event['operation']]}.v1",
                    "time": event["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
                    "intuitentityid": event["record_id"],
                    "intuitaccountid": self.realm_id,
                    # The data object varies by event: a merge carries the merged-away id with
                    # datacontenttype application/json; an update carries none.
                    # https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
                    **(
                        {"datacontenttype": "application/json", "data": {"deletedid": event["deleted_id"]}}
                        if event.get("deleted_id")
                        else {}
                    ),
                }
                for event in events
            ]
            return json.dumps(items, separators=(",", ":")).encode()
        entities = [
            {
                "name": event["entity"],
                "id": event["record_id"],
                "operation": event["operation"],
                "lastUpdated": event["at"]
                .astimezone(UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                **({"deletedId": event["deleted_id"]} if event.get("deleted_id") else {}),
            }
            for event in events
        ]
        body = {"eventNotifications": [{"realmId": self.realm_id, "dataChangeEvent": {"entities": entities}}]}
        return json.dumps(body, separators=(",", ":")).encode()


# Sub-customers nest at most four levels below a top-level customer (five names in a
# FullyQualifiedName). https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
MAX_LEVEL = 4
# Class and Department ids are long numbers in QBO, unlike the small counters of customers.
_TRACKING_FIRST_ID = {"Class": 5000000000000000001, "Department": 1}
_QUERYABLE = {"customer": "Customer", "class": "Class", "department": "Department"}


# --- the query language (the subset this slice needs) ---------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)|(?P<word>[\w.]+))", re.S
)


class _Query:
    def __init__(self) -> None:
        self.entity = ""
        self.count = False
        self.conditions: list[tuple[str, str, list[str]]] = []
        self.start = 1
        self.max_results = DEFAULT_MAX_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"unexpected text at {position}: {text[position : position + 20]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append((kind, value))
    return found


def _parse_query(statement: str) -> _Query:
    """SELECT * | count(*) FROM Entity [WHERE a = 'x' AND b IN (...) AND c LIKE 'x%'] [ORDERBY ...]
    [STARTPOSITION n] [MAXRESULTS m]  (keywords case-insensitive, STARTPOSITION is 1-based)."""
    tokens = _tokens(statement)
    query = _Query()
    index = 0

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError("query ends too early")
        index += 1
        return tokens[index - 1]

    def keyword(expected: str) -> bool:
        return index < len(tokens) and tokens[index][0] == "word" and tokens[index][1].lower() == expected

    if take()[1].lower() != "select":
        raise ValueError("a query starts with SELECT")
    first = take()
    if first[1].lower() == "count":
        for expected in ("(", "*", ")"):
            if take()[1] != expected:
                raise ValueError("count(*) expected")
        query.count = True
    elif first[1] != "*":
        # A column list is legal in QBO; the sandbox returns whole records either way.
        while index < len(tokens) and not keyword("from"):
            take()
    if take()[1].lower() != "from":
        raise ValueError("FROM expected")
    query.entity = take()[1]
    if keyword("where"):
        take()
        while True:
            field = take()
            if field[0] != "word":
                raise ValueError(f"field name expected, got {field[1]!r}")
            operator = take()[1].lower()
            if operator == "in":
                if take()[1] != "(":
                    raise ValueError("IN needs a parenthesised list")
                values: list[str] = []
                while True:
                    values.append(take()[1])
                    separator = take()[1]
                    if separator == ")":
                        break
                    if separator != ",":
                        raise ValueError("IN list items are separated by commas")
                query.conditions.append((field[1], "in", values))
            elif operator in ("=", "like", "<", ">", "<=", ">=", "!="):
                query.conditions.append((field[1], operator, [take()[1]]))
            else:
                raise ValueError(f"operator {operator!r} is not supported")
            if keyword("and"):
                take()
                continue
            break
    if keyword("orderby") or keyword("order"):
        take()
        if keyword("by"):
            take()
        while index < len(tokens) and not (keyword("startposition") or keyword("maxresults")):
            take()
    while index < len(tokens):
        word = take()[1].lower()
        number = take()[1]
        if not number.isdigit():
            raise ValueError(f"{word.upper()} needs a number")
        if word == "startposition":
            query.start = max(1, int(number))
        elif word == "maxresults":
            query.max_results = min(MAX_RESULTS, max(1, int(number)))
        else:
            raise ValueError(f"unexpected {word!r}")
    return query


def _field_value(row: Mapping[str, Any], path: str) -> str | None:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = next((item for key, item in value.items() if key.lower() == part.lower()), None)
    if isinstance(value, Mapping):
        # PrimaryEmailAddr = 'a@b.c' compares the address itself, as in QBO.
        value = value.get("Address", value.get("FreeFormNumber", value.get("value")))
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _matches(row: Mapping[str, Any], condition: tuple[str, str, list[str]]) -> bool:
    field, operator, values = condition
    actual = _field_value(row, field)
    if actual is None:
        return False
    folded = actual.casefold()
    wanted = [value.casefold() for value in values]
    if operator == "=":
        return folded == wanted[0]
    if operator == "!=":
        return folded != wanted[0]
    if operator == "in":
        return folded in wanted
    if operator == "like":
        pattern = "".join(".*" if char == "%" else re.escape(char) for char in wanted[0])
        return re.fullmatch(pattern, folded, re.S) is not None
    return _compare(folded, wanted[0], operator)


def _compare(left: str, right: str, operator: str) -> bool:
    def key(text: str) -> tuple[int, float | str]:
        try:
            return (0, float(text))
        except ValueError:
            return (1, text)

    a, b = key(left), key(right)
    if a[0] != b[0]:
        return False
    if operator == "<":
        return a < b
    if operator == ">":
        return a > b
    if operator == "<=":
        return a <= b
    return a >= b
