"""The WSGI app: routes, the fault switches, the API allocation, and the sandbox's constructor."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.kit import FaultSwitch, Notice, Outbox, RateWindows, Window
from infra.local.sandboxes.salesforce.auth import OAuthServer
from infra.local.sandboxes.salesforce.cdc import ChangeEventRelay
from infra.local.sandboxes.salesforce.composite import CompositeResources
from infra.local.sandboxes.salesforce.control import ControlApi
from infra.local.sandboxes.salesforce.describe import DescribeResources
from infra.local.sandboxes.salesforce.errors import FAULTS, SalesforceApiError
from infra.local.sandboxes.salesforce.ids import IdFactory, to_18
from infra.local.sandboxes.salesforce.outbound import (
    OUTBOUND_RETRY,
    DeliveryAttempt,
    OutboundRules,
    Subscriber,
)
from infra.local.sandboxes.salesforce.schema import OBJECT_FIELDS
from infra.local.sandboxes.salesforce.sobjects import SObjectResources
from infra.local.sandboxes.salesforce.soql import Cursor
from infra.local.sandboxes.salesforce.versions import check_version, served_versions
from infra.local.sandboxes.salesforce.wire import Clock, error_response, json_response

# The org's Total API Request Allocation: a rolling 24 hours, every REST call but the Versions
# resource counted; past it every call answers 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit
# exceeded." and each response reports usage in `Sforce-Limit-Info: api-usage=used/allocation`.
# https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
DAILY_API_REQUESTS = "DailyApiRequests"
API_WINDOW_SECONDS = 86_400.0


def _injected(status: int) -> SalesforceApiError:
    code, message = FAULTS.get(status, ("UNKNOWN_EXCEPTION", "Injected failure"))
    return SalesforceApiError(status, code, message)


# The REST resources served: (path, methods, endpoint).
_V = "/services/data/v<version>"
ROUTES = (
    ("/services/oauth2/token", "POST", "token"),
    ("/services/data", "GET", "versions"),
    (f"{_V}/sobjects/<sobject>", "POST", "create"),
    (f"{_V}/sobjects/<sobject>/<record_id>", "GET PATCH DELETE", "row"),
    (f"{_V}/sobjects/<sobject>/<id_field>/<value>", "GET PATCH", "external_id"),
    (f"{_V}/query", "GET", "query"),
    (f"{_V}/queryAll", "GET", "query_all"),
    (f"{_V}/sobjects/<sobject>/deleted", "GET", "deleted"),
    (f"{_V}/query/<locator>", "GET", "query_more"),
    (f"{_V}/sobjects/<sobject>/updated", "GET", "updated"),
    (f"{_V}/sobjects/<sobject>/describe", "GET", "describe"),
    (f"{_V}/sobjects", "GET", "describe_global"),
    (f"{_V}/sobjects/<sobject>", "GET", "basic_info"),
    (f"{_V}/limits", "GET", "limits"),
    (f"{_V}/composite/sobjects", "POST PATCH", "collection"),
    (f"{_V}/composite/sobjects/<sobject>/<id_field>", "PATCH", "collection_upsert"),
    (f"{_V}/composite", "POST", "composite"),
)


class SalesforceSandbox(
    ControlApi,
    ChangeEventRelay,
    OutboundRules,
    SObjectResources,
    DescribeResources,
    CompositeResources,
    OAuthServer,
):
    """A local Salesforce org for tests and the demo: a WSGI app plus a thread-safe control API."""

    def __init__(
        self,
        *,
        organization_id: str = "00D8d000005XaMpEAK",
        client_id: str = "3MVG9close2cash.sandbox.client",
        client_secret: str = "sandbox-client-secret",  # noqa: S107 - a local twin's default
        clock: Clock | None = None,
        api_version: str = "62.0",
        api_limit: int = 15_000,
        page_size: int = 2_000,
        token_ttl: timedelta = timedelta(hours=2),
        multi_currency: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not re.fullmatch(r"00D[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?", organization_id):
            raise ValueError("organization_id must be a 15- or 18-character id starting with 00D")
        # A real org's 18-character id always carries the case-safe suffix of its first 15
        # characters; a hand-typed suffix is corrected so that what the org sends is consistent.
        self.organization_id = to_18(organization_id[:15])
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.multi_currency = multi_currency
        self.base_url = "http://salesforce.sandbox"
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._sleep = sleep
        self._lock = threading.RLock()
        self._delivery_lock = threading.Lock()
        self._ids = IdFactory()
        self._user_id = to_18("0058d000001IntU")
        self._action_id = to_18("04k8d000000Om1A")
        # Developer Edition's daily allocation (3p figure, VENDORS.md); set_api_limit changes it.
        self._api_requests = RateWindows([Window(DAILY_API_REQUESTS, api_limit, API_WINDOW_SECONDS)])
        self._page_size = page_size
        self._token_ttl = token_ttl
        self._tokens: dict[str, datetime] = {}
        self._objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECT_FIELDS}
        # The outbound messages' queue, retried on Salesforce's schedule in the org's clock.
        self._outbox: Outbox[str] = Outbox(clock=lambda: self._clock(), retry=OUTBOUND_RETRY)
        self._stage_seen: dict[str, str] = {}  # opportunity id -> stage at its LastStageChangeDate
        self._version = api_version
        self.standard_pricebook_id = self._insert(
            "Pricebook2", {"Name": "Standard Price Book", "IsActive": True, "IsStandard": True}
        )
        self._cursors: dict[str, Cursor] = {}
        self._faults = FaultSwitch()
        self._latency = 0.0
        self._subscriber: Subscriber | None = None
        self._default_token = secrets.token_urlsafe(24)
        self.delivery_attempts: list[DeliveryAttempt] = []
        self._last_delivered: list[Notice[str]] = []
        self.requests: list[tuple[str, str]] = []
        self._delete_log: list[tuple[str, str, datetime]] = []  # (sobject, id, deleted at)
        self._seed_org()
        self._routes = Map(
            [Rule(path, methods=methods.split(), endpoint=endpoint) for path, methods, endpoint in ROUTES],
            strict_slashes=False,
        )

    def _seed_org(self) -> None:
        """The Organization record and the integration user, as every org has them."""
        self._seed(
            "Organization",
            self.organization_id,
            Name="close2cash sandbox org",
            OrganizationType="Developer Edition",
            InstanceName="SANDBOX1",
            IsSandbox=False,
            DefaultLocaleSidKey="en_US",
            LanguageLocaleKey="en_US",
            TimeZoneSidKey="GMT",
        )
        self._seed(
            "User",
            self._user_id,
            Username="integration@close2cash.sandbox",
            Name="Integration User",
            FirstName="Integration",
            LastName="User",
            Email="integration@close2cash.sandbox",
            Alias="integ",
            TimeZoneSidKey="GMT",
            UserType="Standard",
            IsActive=True,
        )

    def _seed(self, sobject: str, record_id: str, **fields: Any) -> None:
        record: dict[str, Any] = dict.fromkeys(self._object_fields(sobject))
        record.update(self._system_fields(record_id, self._clock()), **fields)
        self._objects[sobject][record_id] = record

    # --- control API ---------------------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """The connection settings `shared.connectors.salesforce.build` accepts for this org at `base_url`."""
        with self._lock:
            self.base_url = base_url.rstrip("/")
            token = self._subscriber.token if self._subscriber else self._default_token
            return {
                "login_url": self.base_url,
                "api_version": self.api_version,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "organization_id": self.organization_id,
                "webhook_token": token,
                "multi_currency": self.multi_currency,
            }

    def wsgi_app(self) -> SalesforceSandbox:
        """The WSGI application to serve (the sandbox itself is one)."""
        return self

    def fail_next(self, n: int, status: int = 503, *, path: str | None = None, after: bool = False) -> None:
        """The next `n` REST data API requests (not the token endpoint; only those whose path contains
        `path`, when given) answer `status` with Salesforce's error body. `after`: the request is carried
        out and only its answer is lost, as when a gateway times out after the org committed."""
        self._faults.arm(n, status, path=path, after=after)

    def set_api_limit(self, n: int) -> None:
        """The org's rolling 24-hour API allocation; calls beyond it get 403 REQUEST_LIMIT_EXCEEDED."""
        with self._lock:
            self._api_requests.set_limit(DAILY_API_REQUESTS, n)

    def set_latency(self, seconds: float) -> None:
        """Delay every response by `seconds` (through the injected sleep)."""
        with self._lock:
            self._latency = seconds

    def expire_sessions(self) -> None:
        """Invalidate every access token issued so far (an admin revoked sessions / they timed out)."""
        with self._lock:
            self._tokens.clear()

    @property
    def api_usage(self) -> tuple[int, int]:
        """(calls in the last 24 hours, daily allocation)."""
        with self._lock:
            return self._usage(), self._allocation()

    # --- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        with self._lock:
            latency = self._latency
            self.requests.append((request.method, request.path))
        if latency:
            self._sleep(latency)
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return error_response(
                SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            )
        except MethodNotAllowed:
            return error_response(
                SalesforceApiError(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")
            )
        if endpoint == "token":
            return self._token(request)
        if endpoint == "versions":
            return json_response(served_versions(self.api_version))
        with self._lock:
            try:
                self._authorize(request)
                fault = self._faults.take(request.path)
                if fault is not None and not fault.after:
                    raise _injected(fault.status)
                self._spend_api_call()
                with self._changes_made_by(request):  # change events name the API client
                    response = self._answer(endpoint, request, {k: str(v) for k, v in args.items()})
                if fault is not None:
                    response = error_response(_injected(fault.status))
            except SalesforceApiError as exc:
                response = error_response(exc)
            response.headers["Sforce-Limit-Info"] = f"api-usage={self._usage()}/{self._allocation()}"
            return response

    def _answer(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        """One data API request, at the version it names (record URLs carry that version)."""
        check_version(args["version"], self.api_version)
        outer = self._version
        self._version = args["version"]
        try:
            return self._dispatch(endpoint, request, args)
        finally:
            self._version = outer

    def _route(self, request: Request) -> Response:
        """A composite subrequest: routed and answered like a request of its own, inside this call."""
        adapter = self._routes.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
            if endpoint in {"token", "versions"}:
                raise NotFound
            return self._answer(endpoint, request, {k: str(v) for k, v in args.items()})
        except (NotFound, MethodNotAllowed):
            error = SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
        except SalesforceApiError as exc:
            error = exc
        return error_response(error)

    def _dispatch(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        if endpoint in {"create", "row", "external_id"}:
            sobject = args["sobject"]
            # Account has no External ID field, so it has no sObject Rows by External ID resource.
            if sobject not in OBJECT_FIELDS or (endpoint == "external_id" and sobject == "Account"):
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return self._dispatch_object(endpoint, request, args)
        if endpoint == "query":
            return json_response(self._run_query(request, args["version"]))
        if endpoint == "query_all":
            return json_response(self._run_query(request, args["version"], include_deleted=True))
        if endpoint == "deleted":
            return json_response(self._get_deleted(request, args["sobject"]))
        if endpoint == "updated":
            return json_response(self._get_updated(request, args["sobject"]))
        if endpoint == "query_more":
            return json_response(self._query_more(args["locator"], args["version"]))
        return self._dispatch_meta(endpoint, request, args)

    def _dispatch_meta(self, endpoint: str, request: Request, args: dict[str, str]) -> Response:
        """Describe, limits, collections and composite."""
        if endpoint == "describe_global":
            return json_response(self._describe_global())
        if endpoint == "describe":
            return json_response(self._describe(args["sobject"]))
        if endpoint == "basic_info":
            # sObject Basic Information: the object's summary and recently viewed items (none here).
            # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_basic_info.htm
            summary = self._describe(args["sobject"])
            summary.pop("fields")
            summary.pop("childRelationships")
            return json_response({"objectDescribe": summary, "recentItems": []})
        if endpoint == "limits":
            return json_response(self._limits())
        if endpoint == "collection":
            return json_response(self._collection(request))
        if endpoint == "collection_upsert":
            sobject = args["sobject"]
            self._external_id_field(sobject, args["id_field"])
            return json_response(self._collection(request, upsert=(sobject, args["id_field"])))
        return json_response(self._composite(request))

    # --- limits --------------------------------------------------------------------------------

    def _usage(self) -> int:
        return self._api_requests.used(DAILY_API_REQUESTS, self._clock())

    def _allocation(self) -> int:
        return self._api_requests.window(DAILY_API_REQUESTS).limit

    def _spend_api_call(self) -> None:
        # Once the rolling 24 hours' allocation is spent, every call of the org is refused with 403;
        # a refused call is not counted (DAILY_API_REQUESTS above).
        if self._api_requests.admit(self._clock()) is not None:
            raise SalesforceApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", None)
