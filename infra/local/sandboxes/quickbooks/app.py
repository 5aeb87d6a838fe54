"""The QBO sandbox's WSGI app and control API: routes, the request gate (faults, bearer, throttle)."""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.kit import FaultSwitch, InFlight, RateWindows, Subscriber, Window
from infra.local.sandboxes.kit.answers import json_answer
from infra.local.sandboxes.quickbooks import accounts, batch, books, customers, lists, time_activities
from infra.local.sandboxes.quickbooks.billing import BillingControls
from infra.local.sandboxes.quickbooks.cdc import change_data_capture
from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.entities import entity
from infra.local.sandboxes.quickbooks.faults import (
    Fault,
    auth_fault,
    fault,
    injected_fault,
    invalid_property,
    throttle_fault,
)
from infra.local.sandboxes.quickbooks.notices import ChangeEvent, Notices, WebhookFormat
from infra.local.sandboxes.quickbooks.oauth import TOKEN_PATH, TokenIssuer
from infra.local.sandboxes.quickbooks.query import run_query
from infra.local.sandboxes.quickbooks.writes import perform

WsgiStartResponse = Callable[..., Any]

# Per realm: https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
# ("500 requests per minute per realm ID", "10 requests per second, per realm ID and app"), and at most
# 10 requests in flight per realm and app, else 429:
# https://developer.intuit.com/hub/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon
PER_MINUTE_LIMIT = 500
PER_SECOND_LIMIT = 10
CONCURRENT_LIMIT = 10
# requestid: "Min:1 Max:50" (the Fault QBO answers for a longer one).
MAX_REQUEST_ID = 50
_ROUTE = re.compile(r"/v3/company/([^/]+)/([a-z]+)(?:/([^/]+))?")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return json_answer(body, status=status, headers=headers)


class QuickBooksSandbox(BillingControls):
    """WSGI app + thread-safe control API standing in for one QBO company and one Intuit app.

    Billing marks and a bookkeeper's edits of time and expenses: `BillingControls` (billing.py).
    """

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
        self.verifier_token = verifier_token
        self.home_currency = home_currency
        self.clock = clock  # tests and the bench swap it for their own clock
        self._lock = threading.RLock()
        self.oauth = TokenIssuer(client_id, client_secret, refresh_token, lambda: self.clock())
        self.notices = Notices(verifier_token, webhook_format)
        self.company = Company(lambda: self.clock(), home_currency, self._on_change)
        accounts.seed_accounts(self.company)
        self.faults = FaultSwitch()
        self.rate = RateWindows(
            [Window("minute", PER_MINUTE_LIMIT, 60.0), Window("second", PER_SECOND_LIMIT, 1.0)]
        )
        self.in_flight = InFlight()
        self.batch_rate = RateWindows([Window("batch-minute", batch.PER_MINUTE, 60.0)])
        self.writes = 0  # write requests carried out through the API (replays excluded)
        self.minor_versions_seen: set[str] = set()
        self._replies: dict[str, tuple[int, dict[str, Any]]] = {}

    # --- figures and switches read by tests and the bench ----------------------------------------

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def refreshes(self) -> int:
        """Successful refreshes."""
        return self.oauth.refreshes

    @property
    def token_calls(self) -> int:
        """Every request to the token endpoint, refused ones included."""
        return self.oauth.calls

    @property
    def throttled(self) -> int:
        """429s answered for a real limit (not injected ones)."""
        return self.rate.refused

    @property
    def peak_per_minute(self) -> int:
        return self.rate.peaks["minute"]

    @property
    def peak_per_second(self) -> int:
        return self.rate.peaks["second"]

    @property
    def peak_in_flight(self) -> int:
        return self.in_flight.peak

    @property
    def rate_limited(self) -> bool:
        return self.rate.enabled

    @property
    def per_minute_limit(self) -> int:
        return self.rate.window("minute").limit

    @per_minute_limit.setter
    def per_minute_limit(self, limit: int) -> None:
        with self._lock:
            self.rate.set_limit("minute", limit)

    @property
    def webhook_format(self) -> WebhookFormat:
        return self.notices.format

    @webhook_format.setter
    def webhook_format(self, value: WebhookFormat) -> None:
        self.notices.format = value

    # --- control API (tests, demo) --------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """The dict `shared.connectors.quickbooks.build` accepts for this sandbox served at `base_url`."""
        base = base_url.rstrip("/")
        return {
            "base_url": base,
            "token_url": base + TOKEN_PATH,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.oauth.refresh_token,
            "realm_id": self.realm_id,
            "verifier_token": self.verifier_token,
            "minor_version": "75",
            "home_currency": self.home_currency,
        }

    @property
    def refresh_token(self) -> str:
        """The one refresh token the token endpoint accepts now (it rotates on every refresh)."""
        return self.oauth.refresh_token

    def reconnect(self) -> str:
        """The company's admin connects the app again (new consent): a new refresh token, the old one void.

        Returns the new refresh token, which the operator puts in the connections secret.
        """
        return self.oauth.reconnect()

    def revoke_access_tokens(self) -> None:
        """Invalidate every access token (as if they expired): the next API call gets Intuit's 401."""
        self.oauth.revoke_access_tokens()

    def customer(self, customer_id: str) -> dict[str, Any]:
        """A copy of the stored customer (KeyError when absent)."""
        with self._lock:
            return copy.deepcopy(self.company.table("Customer")[customer_id])

    def customers(self) -> list[dict[str, Any]]:
        """Copies of every customer, in Id order (inactive ones included)."""
        with self._lock:
            return copy.deepcopy(self.company.rows("Customer"))

    def project(self, customer_id: str) -> dict[str, Any]:
        """A copy of the stored sub-customer (an engagement's project); KeyError if absent or top-level."""
        with self._lock:
            customer = self.company.table("Customer")[customer_id]
            if not customer.get("Job"):
                raise KeyError(f"customer {customer_id} is not a sub-customer")
            return copy.deepcopy(customer)

    def add_class(self, name: str, *, active: bool = True, class_id: str | None = None) -> str:
        """A Class the bookkeeper set up (Settings > All lists > Classes); returns its Id."""
        with self._lock:
            return lists.add_tracking(self.company, "Class", name, active=active, record_id=class_id)

    def add_department(self, name: str, *, active: bool = True, department_id: str | None = None) -> str:
        """A Department (a "location" in QBO's UI); returns its Id."""
        with self._lock:
            return lists.add_tracking(
                self.company, "Department", name, active=active, record_id=department_id
            )

    def add_time_activity(self, fields: Mapping[str, Any]) -> str:
        """Test seeding, not vendor behaviour: a TimeActivity through the same rules as POST
        /timeactivity (references, duration, billing checked; its notice queued), without a request
        or the realm's rate limits, for benchmarks that need thousands already posted. Returns its Id."""
        spec = entity("TimeActivity")
        assert spec is not None
        with self._lock:
            return str(perform(self.company, spec, "create", dict(fields))[spec.name]["Id"])

    def add_employee(self, display_name: str, *, active: bool = True, email: str | None = None) -> str:
        """An Employee on the company's payroll list (Payroll > Employees); returns its Id.

        Its DisplayName shares one namespace with customers and vendors (6240 on a clash).
        """
        with self._lock:
            employee_id = time_activities.add_name(self.company, "Employee", display_name, active=active)
            if email is not None:
                self.company.table("Employee")[employee_id]["PrimaryEmailAddr"] = {"Address": email}
            return employee_id

    def add_item(self, name: str, *, item_id: str | None = None, income_account: str | None = None) -> str:
        """A service Item set up in the QBO UI (Sales > Products and services); returns its Id."""
        with self._lock:
            account = income_account or next(
                str(row["Id"]) for row in self.company.rows("Account") if row.get("AccountType") == "Income"
            )
            return lists.add_item(self.company, name, income_account=account, record_id=item_id)

    def add_vendor(self, display_name: str, *, active: bool = True) -> str:
        """A Vendor (a contractor whose time a TimeActivity with NameOf Vendor records); returns its Id."""
        with self._lock:
            return time_activities.add_name(self.company, "Vendor", display_name, active=active)

    def add_account(
        self,
        name: str,
        *,
        account_type: str = "Expense",
        sub_type: str | None = None,
        active: bool = True,
        account_id: str | None = None,
    ) -> str:
        """An account of the chart of accounts, set up in the QBO UI; returns its Id.

        A new company already has the accounts of `accounts.DEFAULT_ACCOUNTS` (e.g. "Checking").
        """
        with self._lock:
            return accounts.add_account(
                self.company,
                name,
                account_type=account_type,
                sub_type=sub_type,
                active=active,
                record_id=account_id,
            )

    def account_id(self, name: str) -> str:
        """The Id of the account named `name` (KeyError when there is none)."""
        with self._lock:
            for row in self.company.rows("Account"):
                if row["Name"] == name:
                    return str(row["Id"])
        raise KeyError(name)

    def add_tax_code(
        self,
        name: str,
        *,
        taxable: bool = True,
        active: bool = True,
        tax_code_id: str | None = None,
        rate: Decimal | str | None = None,
    ) -> str:
        """A sales tax code (the API reads them only; QBO creates them through TaxService) with its
        rate in percent (0 when not given); returns its Id."""
        with self._lock:
            record_id = accounts.add_tax_code(
                self.company, name, taxable=taxable, active=active, record_id=tax_code_id
            )
            books.books_of(self.company).tax_rates[record_id] = Decimal(str(rate or 0))
            return record_id

    def close_books(self, closing_date: str | None) -> None:
        """The bookkeeper closes the books through `closing_date` (ISO; None reopens them)."""
        with self._lock:
            books.books_of(self.company).book_close_date = closing_date

    def require_tax_per_line(self, required: bool = True) -> None:
        """The company tracks VAT / GST per line (a non-US realm): a sales line needs a TaxCodeRef."""
        with self._lock:
            books.books_of(self.company).tax_per_line = required

    def send_invoice(self, invoice_id: str) -> None:
        """The bookkeeper emails the invoice to the customer: EmailStatus EmailSent, an Emailed notice."""
        with self._lock:
            stored = self.company.table("Invoice")[invoice_id]
            stored["EmailStatus"] = "EmailSent"
            self.company.bump(stored)
            self.company.changed("Invoice", invoice_id, "Emailed")

    def purchase(self, purchase_id: str) -> dict[str, Any]:
        """A copy of the stored Purchase (KeyError when absent)."""
        with self._lock:
            return copy.deepcopy(self.company.table("Purchase")[purchase_id])

    def time_activity(self, activity_id: str) -> dict[str, Any]:
        """A copy of the stored TimeActivity (KeyError when absent)."""
        with self._lock:
            return copy.deepcopy(self.company.table("TimeActivity")[activity_id])

    def set_item_active(self, item_id: str, active: bool) -> None:
        """The bookkeeper makes a product/service inactive (Sales > Products and services) or active again."""
        with self._lock:
            lists.set_active(self.company, "Item", item_id, active)

    def set_class_active(self, class_id: str, active: bool) -> None:
        """The bookkeeper makes a Class inactive (Settings > All lists > Classes) or active again."""
        with self._lock:
            lists.set_active(self.company, "Class", class_id, active)

    def put_customer(self, fields: Mapping[str, Any]) -> str:
        """A bookkeeper's edit in the QBO UI: create, or (with "Id") update without a SyncToken check.

        Like any change it bumps the SyncToken and queues a webhook notice. Returns the Id.
        """
        with self._lock:
            body = dict(fields)
            customer_id = body.get("Id")
            if customer_id is None:
                return str(customers.create_customer(self.company, body)["Id"])
            current = self.company.table("Customer").get(str(customer_id))
            if current is None:
                raise KeyError(customer_id)
            body["SyncToken"] = current["SyncToken"]
            body.setdefault("sparse", True)
            return str(customers.update_customer(self.company, body)["Id"])

    def enter(self, entity_name: str, fields: Mapping[str, Any]) -> str:
        """A bookkeeper enters a transaction in the QBO UI (TimeActivity, Purchase, Invoice, Payment,
        CreditMemo): the same rules as a create through the API, a Fault raised as it is. Returns the Id."""
        spec = entity(entity_name)
        if spec is None:
            raise KeyError(entity_name)
        # As it arrives over the wire: JSON, numbers as the API's request parser reads them.
        body = json.loads(json.dumps(dict(fields), default=_wire_number))
        with self._lock:
            return str(perform(self.company, spec, "create", body)[spec.name]["Id"])

    def merge_customers(self, survivor_id: str, merged_id: str) -> None:
        """A bookkeeper merges customer `merged_id` into `survivor_id` (renaming it to the survivor's name).

        The merged-away customer is gone (reads answer 610), the survivor is edited, and one Merge
        notice names the survivor with the merged-away id: `deletedId` in the legacy format,
        `data.deletedid` in CloudEvents.
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/data-objects
        """
        with self._lock:
            table = self.company.table("Customer")
            survivor = table[survivor_id]
            del table[merged_id]  # its transactions would move to the survivor
            self.company.bump(survivor)
            self.company.changed("Customer", survivor_id, "Merge", merged_id)

    def void(self, entity: str, record_id: str) -> None:
        """A bookkeeper voids a transaction (Invoice, Payment, ...): a Void notice for it."""
        with self._lock:
            self.company.changed(entity, record_id, "Void")

    def subscribe(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        """Deliver webhooks to `url` (through `transport`, e.g. a WSGITransport, when given)."""
        self.notices.subscriber = Subscriber(url, transport)

    def drop_pending(self, record_id: str) -> int:
        """Lose the queued notices about `record_id` (a notice Intuit never delivered); returns how many.

        Intuit recommends ChangeDataCapture to catch up on what notices missed:
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices
        """
        return self.notices.outbox.discard(lambda event: event.record_id == record_id)

    @property
    def pending_notifications(self) -> int:
        """Change events queued and not yet acknowledged by the subscriber."""
        return len(self.notices.outbox)

    def deliver_pending(self) -> int:
        """POST every queued event in signed notifications; returns how many were acknowledged."""
        return self.notices.deliver_pending()

    def notify_for_other_company(self, realm_id: str, customer_id: str, operation: str = "Update") -> None:
        """Queue a notice about a customer of another company connected to the same Intuit app.

        One app endpoint receives the notices of every company connected to the app: in the same
        CloudEvents body when they fall in one window, in a legacy body of their own.
        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/managing-webhooks-notifications
        """
        self.notices.queue(ChangeEvent("Customer", customer_id, operation, self.clock(), realm_id))

    def fail_next(
        self,
        n: int,
        status: int,
        *,
        retry_after: int | None = None,
        path: str | None = None,
        after: bool = False,
    ) -> None:
        """Answer the next `n` API requests (on `path`, when given) with `status` and the matching Fault
        body (and Retry-After). `after`: the request is carried out and only its answer is lost, as
        when a gateway times out after QuickBooks wrote."""
        self.faults.arm(n, status, retry_after=retry_after, path=path, after=after)

    def set_rate_limit(self, enabled: bool, *, per_minute: int = PER_MINUTE_LIMIT) -> None:
        """Switch the per-realm throttle on or off (on by default, at Intuit's 500/min)."""
        with self._lock:
            self.rate.enabled = self.batch_rate.enabled = enabled
            self.rate.set_limit("minute", per_minute)
            self.rate.reset()
            self.batch_rate.reset()

    def _on_change(
        self, entity: str, record_id: str, operation: str, deleted_id: str | None, at: datetime
    ) -> None:
        self.notices.queue(ChangeEvent(entity, record_id, operation, at, self.realm_id, deleted_id))

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: WsgiStartResponse) -> Iterable[bytes]:
        request = Request(environ)
        with self.in_flight.request():
            response = self._dispatch(request)
        return response(environ, start_response)

    def _answer(self, status: int, body: Mapping[str, Any]) -> Response:
        return _json(status, {**body, "time": self.company.now_text()})

    def _dispatch(self, request: Request) -> Response:
        try:
            if request.path == TOKEN_PATH:
                return _json(*self.oauth.answer(request))
            match = _ROUTE.fullmatch(request.path)
            if match is None:
                raise fault(404, "404", "Resource not found", f"No route for {request.path}", "SERVICE")
            realm, resource, record_id = match.groups()
            with self._lock:
                injected = self.faults.take(request.path)
                if injected is not None and not injected.after:
                    raise injected_fault(injected.status, injected.retry_after)
                self._gate(request, realm)
                answer = self._route(request, resource, record_id)
                if injected is not None:
                    raise injected_fault(injected.status, injected.retry_after)
                return answer
        except Fault as failure:
            return _json(failure.status, failure.rendered(self.company.now_text()), failure.headers)

    def _route(self, request: Request, resource: str, record_id: str | None) -> Response:
        version = request.args.get("minorversion")
        if version:
            self.minor_versions_seen.add(version)
        method = request.method
        if resource == "query" and record_id is None and method in ("GET", "POST"):
            statement = request.args.get("query")
            if statement is None and method == "POST":
                statement = request.get_data(as_text=True)
            return self._answer(200, run_query(self.company, statement))
        if resource == "cdc" and record_id is None and method == "GET":
            found = change_data_capture(
                self.company, request.args.get("entities"), request.args.get("changedSince")
            )
            return self._answer(200, found)
        if resource == "batch" and record_id is None and method == "POST":
            if self.batch_rate.admit(self.clock()) is not None:
                raise throttle_fault()
            return self._replayable(
                request, batch.MAX_REQUEST_ID, lambda body: batch.run_batch(self.company, body)
            )
        spec = entity(resource)
        if spec is None or spec.resource != resource:
            raise fault(404, "404", "Resource not found", f"No route for {request.path}", "SERVICE")
        if record_id is not None and method == "GET":
            return self._answer(200, {spec.name: self.company.get(spec.name, record_id)})
        if record_id is None and method == "POST":
            operation = request.args.get("operation")
            if operation == "update" and request.args.get("include") == "void":
                # A Payment is voided with `?operation=update&include=void` (the Payment reference,
                # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment).
                operation = "void"

            def write(body: Any) -> dict[str, Any]:
                if not isinstance(body, dict):
                    raise invalid_property(f"Expected a {spec.name} object")
                chosen = operation or ("update" if body.get("Id") is not None else "create")
                return perform(self.company, spec, chosen, body)

            return self._replayable(request, MAX_REQUEST_ID, write)
        raise fault(405, "405", "Method not allowed", f"{method} {request.path}", "SERVICE")

    # --- gate: injected faults, bearer check, throttle ------------------------------------------

    def _gate(self, request: Request, realm: str) -> None:
        if not self.oauth.bearer_valid(request.headers.get("Authorization", "")):
            raise auth_fault()
        if realm != self.realm_id:
            raise fault(
                403,
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"This app is not connected to company {realm}",
                "AUTHORIZATION",
            )
        if not self.rate.enabled:
            return
        if self.in_flight.now > CONCURRENT_LIMIT:
            self.rate.refused += 1
            raise throttle_fault()
        if self.rate.admit(self.clock()) is not None:
            raise throttle_fault()

    # --- writes: requestid replay ------------------------------------------------------------------

    def _replayable(
        self, request: Request, longest_id: int, write: Callable[[Any], dict[str, Any]]
    ) -> Response:
        """Carry out a write once per `requestid`: a resend gets the original answer back.

        https://developer.intuit.com/hub/blog/2015/04/06/15346 (requestid: at most 50 characters, 36 in batch)
        """
        request_id = request.args.get("requestid")
        if request_id is not None and len(request_id) > longest_id:
            raise fault(
                400,
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"requestid: Min:1 Max:{longest_id} supported",
                "ValidationFault",
                "requestid",
            )
        if request_id and request_id in self._replies:
            status, stored = self._replies[request_id]
            return _json(status, stored)
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            raise invalid_property("Body is not JSON") from None
        try:
            status, reply = 200, {**write(body), "time": self.company.now_text()}
            self.writes += 1
        except Fault as failure:
            if failure.status != 400:
                raise
            status, reply = failure.status, failure.rendered(self.company.now_text())
        if request_id:
            # Business outcomes (success or a validation Fault) are what a resend gets back.
            self._replies[request_id] = (status, reply)
        return _json(status, reply)


def _wire_number(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
