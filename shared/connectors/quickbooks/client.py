"""httpx client for QuickBooks Online: OAuth 2.0 refresh with rotation, Customer endpoints, query paging.

Retries, Retry-After, the per-realm rate budget and status translation come from `VendorHttp`; the
rotating tokens are kept by `TokenKeeper` (shared with every container through a `TokenStore`). This
module adds what is QBO-specific: the token endpoint call, the `minorversion` and `requestid`
parameters, and reading Fault bodies into the hub's errors.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from pydantic import ValidationError

from shared.connectors.http import VendorHttp
from shared.connectors.oauth import IssuedTokens, MemoryTokenStore, RefreshRefused, TokenKeeper
from shared.connectors.quickbooks.connection import QuickBooksConnection
from shared.connectors.quickbooks.schemas import (
    Customer,
    FaultItem,
    TokenResponse,
    TrackingCategory,
    parse_faults,
)
from shared.domain.budgets import InMemoryBudgets, RateLimit
from shared.domain.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    TransientError,
    ValidationFailed,
)
from shared.domain.models import epoch_seconds
from shared.domain.tokens import OAuthTokens, TokenStore

if TYPE_CHECKING:
    from shared.domain.ports import RateBudget, RateBudgets

TokensRefreshed = Callable[[str, str], None]

# 500 requests per minute per realm, 10 per second per realm and app; after a 429 wait 60 s.
# https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
# https://blogs.intuit.com/blog/2016/08/08/idg-concurrent-api-use-changes-coming-soon/
PER_MINUTE_LIMIT = 500
PER_SECOND_LIMIT = 10
THROTTLE_WAIT_SECONDS = 60.0
# Both limits hold per realm for every container at once: the shared budget enforces them together.
# No burst inside the per-second limit (1/8 s apart: at most 9 in any second); the per-minute band
# then paces to 466 a minute, at most 475 in any minute. A burst of 3 would cap the sustained pace
# at 6/s (360 a minute), a quarter below what Intuit allows (the arithmetic: shared.domain.budgets).
REALM_LIMITS = (RateLimit(PER_SECOND_LIMIT, 1.0, burst=1), RateLimit(PER_MINUTE_LIMIT, 60.0))

# Intuit's page size ceiling for the query endpoint.
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
MAX_RESULTS = 1000
# "The maximum number of payloads in a single BatchItemRequest is 30"; batch requests have a limit
# of their own, 40 per minute per realm, besides the realm's 500 requests a minute.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
# https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
BATCH_MAX_ITEMS = 30
BATCH_LIMITS = (RateLimit(40, 60.0),)

# Fault codes the hub reacts to, from Intuit's error list and its "top errors" article.
# https://developer.intuit.com/hub/blog/2017/06/08/top-quickbooks-online-api-errors-and-how-to-handle-them
STALE_OBJECT = "5010"
CLOSED_PERIOD = "Account Period Closed"
DUPLICATE_NAME = "6240"
OBJECT_NOT_FOUND = "610"

# The token endpoint answers in well under a second; a short timeout keeps the refresh (and so the
# lock other containers wait on) brief even when Intuit is slow.
_TOKEN_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)


class StaleObjectError(TransientError):
    """QBO refused an update: the SyncToken sent is no longer the record's current one (5010)."""


class DuplicateNameError(ValidationFailed):
    """QBO refused a DisplayName that a customer, vendor or employee already uses (6240)."""


class QuickBooksFaultError(PermanentError):
    """Any other Fault the API returned; `faults` holds every error it listed."""

    def __init__(self, message: str, faults: list[FaultItem]) -> None:
        super().__init__(message)
        self.faults = faults


def describe_fault(response: httpx.Response) -> str:
    """A one-line summary of a QBO error response (Fault in either casing, or OAuth error JSON)."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    faults = parse_faults(body)
    if faults:
        return "; ".join(str(item) for item in faults)
    if isinstance(body, dict) and "error" in body:
        return f"{body.get('error')}: {body.get('error_description', '')}".strip()
    return response.text[:300]


def fault_error(faults: list[FaultItem], context: str) -> Exception:
    """The hub error for a list of QBO faults (the first decisive code wins)."""
    summary = f"quickbooks: {context}: " + "; ".join(str(item) for item in faults)
    codes = {item.code.lstrip("0") for item in faults}
    if any(item.code == STALE_OBJECT and CLOSED_PERIOD in item.message for item in faults):
        # 5010 is also "Account Period Closed" (a date on or before the books' closing date), which
        # no retry fixes: https://github.com/routablehq/python-quickbooks/issues/208
        return QuickBooksFaultError(summary, faults)
    if STALE_OBJECT in codes:
        return StaleObjectError(summary)
    if DUPLICATE_NAME in codes:
        return DuplicateNameError(summary)
    if OBJECT_NOT_FOUND in codes:
        return NotFoundError(summary)
    if any(item.fault_type.lower().startswith("validation") for item in faults):
        return ValidationFailed(summary)
    return QuickBooksFaultError(summary, faults)


class _BothBudgets:
    """A batch request takes a slot of the realm's budget and one of the batch budget (`RateBudget`)."""

    def __init__(self, *budgets: RateBudget) -> None:
        self._budgets = budgets

    def reserve(self, *, max_wait: float) -> float:
        return max(budget.reserve(max_wait=max_wait) for budget in self._budgets)

    def hold(self, seconds: float) -> None:
        for budget in self._budgets:
            budget.hold(seconds)


class QuickBooksClient:
    """One realm's QuickBooks Online API; its rotating OAuth tokens are shared through `token_store`."""

    def __init__(
        self,
        connection: QuickBooksConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = epoch_seconds,
        sleep: Callable[[float], None] = time.sleep,
        on_tokens_refreshed: TokensRefreshed | None = None,
        token_store: TokenStore | None = None,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.connection = connection
        self.on_tokens_refreshed = on_tokens_refreshed
        shared = budgets or InMemoryBudgets(clock=clock)
        realm_budget = shared.budget("quickbooks", connection.realm_id, REALM_LIMITS)
        self.tokens = TokenKeeper(
            token_key(connection.realm_id),
            seed_refresh_token=connection.refresh_token.get_secret_value(),
            refresh=self._request_tokens,
            # Without a shared store (unit tests, one-off scripts) the tokens live in this process only.
            store=token_store if token_store is not None else MemoryTokenStore(),
            clock=clock,
            sleep=sleep,
            on_refreshed=self._handed_over,
            vendor="quickbooks",
        )
        # One budget per realm, shared by every container when `budgets` is the DynamoDB one; batch
        # requests take a slot of the batch limit together with the realm's. The batch budget goes
        # first: it is the scarcer one (40 a minute), so when it is full (or background work waits
        # for its share of it) no realm slot has been spent on a request that is not sent yet.
        self.api = self._api_http(realm_budget, transport, sleep)
        self.batch_api = self._api_http(
            _BothBudgets(shared.budget("quickbooks-batch", connection.realm_id, BATCH_LIMITS), realm_budget),
            transport,
            sleep,
        )
        token_origin = urlsplit(connection.token_url)
        self.oauth = VendorHttp(
            vendor="quickbooks-oauth",
            base_url=f"{token_origin.scheme}://{token_origin.netloc}",
            describe_error=describe_fault,
            transport=transport,
            sleep=sleep,
            timeout=_TOKEN_TIMEOUT,
        )
        # The access token each thread last sent, so that a 401 names the token it refused.

    def _api_http(
        self, budget: RateBudget, transport: httpx.BaseTransport | None, sleep: Callable[[float], None]
    ) -> VendorHttp:
        return VendorHttp(
            vendor="quickbooks",
            base_url=self.connection.base_url,
            auth_headers=self._auth_headers,
            on_unauthorized=self._on_unauthorized,
            describe_error=describe_fault,
            budget=budget,
            # Intuit asks for a full minute after a 429, whatever Retry-After said (often nothing):
            # the realm's budget is held that long for every container, and the error carries it.
            # https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles
            throttle_wait=THROTTLE_WAIT_SECONDS,
            transport=transport,
            sleep=sleep,
        )

    @property
    def calls(self) -> int:
        """Vendor calls made so far (API and token endpoint, every attempt counted)."""
        return self.api.calls + self.batch_api.calls + self.oauth.calls

    @property
    def refresh_token(self) -> str:
        """The newest refresh token this process knows (it rotates; the token store holds the shared one)."""
        return self.tokens.refresh_token

    def close(self) -> None:
        self.api.close()
        self.batch_api.close()
        self.oauth.close()

    # --- OAuth 2.0 ------------------------------------------------------------------------------

    def _auth_headers(self) -> Mapping[str, str]:
        return self.tokens.bearer_headers()

    def _on_unauthorized(self) -> None:
        # A 401 (fault code 3200) means the access token expired or was revoked early: get one
        # other than the refused one (another container may already have it in the store).
        # https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
        self.tokens.renew_refused()

    def refresh_tokens(self, *, stale: str | None = None) -> str:
        """A fresh access token other than `stale`, refreshing (once across containers) if need be."""
        return self.tokens.renew(stale=stale)

    def _handed_over(self, tokens: OAuthTokens) -> None:
        if self.on_tokens_refreshed is not None and tokens.access_token is not None:
            self.on_tokens_refreshed(tokens.access_token, tokens.refresh_token)

    def _request_tokens(self, refresh_token: str) -> IssuedTokens:
        """Exchange `refresh_token` at Intuit's token endpoint; raises `RefreshRefused` on invalid_grant.

        POST with `grant_type=refresh_token`, client id and secret in HTTP Basic auth
        (`client_secret_basic`, listed in Intuit's discovery document). Intuit rotates refresh
        tokens: the answer's `refresh_token` replaces the one sent, which stops working, so the
        keeper stores it before anyone else refreshes. Access tokens live 3600 s
        (`expires_in`); `x_refresh_token_expires_in` is the refresh token's remaining life.
        https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
        https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq
        https://developer.intuit.com/.well-known/openid-sandbox-configuration
        https://blogs.a.intuit.com/2025/11/12/important-changes-to-refresh-token-policy
        """
        secret = self.connection.client_secret.get_secret_value()
        basic = base64.b64encode(f"{self.connection.client_id}:{secret}".encode()).decode()
        response = self.oauth.request(
            "POST",
            self.connection.token_url,
            content=urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token}),
            headers={
                "Authorization": f"Basic {basic}",
                "Accept": "application/json",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            ok_statuses=frozenset({400, 401}),
        )
        if response.status_code in (400, 401):
            summary = describe_fault(response)
            if _oauth_error(response) == "invalid_grant":
                # This refresh token expired, was revoked or was rotated away (Intuit answers a
                # bare {"error":"invalid_grant"}): the keeper tries the others it knows.
                # https://github.com/intuit/oauth-jsclient/issues/77
                raise RefreshRefused(summary)
            # invalid_client (wrong id/secret) and the like do not heal with another token.
            raise ConfigurationError(
                f"quickbooks: token refresh refused ({summary}); "
                "check the client id and secret of the QuickBooks connection"
            )
        try:
            tokens = TokenResponse.model_validate_json(response.content)
        except ValidationError as exc:
            raise TransientError(f"quickbooks: unreadable token response: {exc}") from exc
        return IssuedTokens(
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=float(tokens.expires_in),
            refresh_expires_in=(
                float(tokens.x_refresh_token_expires_in)
                if tokens.x_refresh_token_expires_in is not None
                else None
            ),
        )

    # --- the API --------------------------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        realm = quote(self.connection.realm_id, safe="")
        return "/".join([f"/v3/company/{realm}", *(quote(part, safe="") for part in parts)])

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        context: str,
        http: VendorHttp | None = None,
        item_faults_fail: bool = True,
    ) -> dict[str, Any]:
        """One API request; a Fault in the answer (the request's own, and its items' unless
        `item_faults_fail` is False) is raised as the hub's error."""
        query = {"minorversion": self.connection.minor_version, **(params or {})}
        # A 429 comes back as RateLimitedError with at least Intuit's 60 s (`throttle_wait` above);
        # a slot of the realm's budget that is too far (or held) with exactly the time until it.
        response = (http or self.api).request(
            method,
            path,
            params=query,
            content=encode_exact(body) if body is not None else None,
            headers={"Content-Type": "application/json"} if body is not None else None,
            # 400 carries the Fault the hub must read (stale SyncToken, duplicate name, ...).
            ok_statuses=frozenset({400}),
        )
        payload = read_json(response, context)
        # A 200 may still carry a Fault (Intuit's error page says so): check the body, not just the status.
        faults = parse_faults(payload, nested=item_faults_fail)
        if faults or response.status_code >= 400:
            raise fault_error(faults or [FaultItem(message=response.text[:300])], context)
        if not isinstance(payload, dict):
            raise TransientError(f"quickbooks: {context}: unexpected response shape")
        return payload

    @staticmethod
    def _customer(payload: Mapping[str, Any], context: str) -> Customer:
        try:
            return Customer.model_validate(payload["Customer"])
        except (KeyError, ValidationError) as exc:
            raise TransientError(f"quickbooks: {context}: response has no readable Customer") from exc

    def read_customer(self, customer_id: str) -> Customer:
        """GET /v3/company/{realm}/customer/{id}.

        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        context = f"read customer {customer_id}"
        return self._customer(
            self._send("GET", self._path("customer", customer_id), context=context), context
        )

    def create_customer(self, body: Mapping[str, Any], *, request_id: str) -> Customer:
        """POST /v3/company/{realm}/customer?requestid=... (a resend returns the original response).

        `requestid` must be unique per company and at most 50 characters.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        https://blogs.intuit.com/blog/2015/04/06/15346/
        """
        context = "create customer"
        payload = self._send(
            "POST", self._path("customer"), params={"requestid": request_id}, body=body, context=context
        )
        return self._customer(payload, context)

    def update_customer(self, body: Mapping[str, Any], *, request_id: str) -> Customer:
        """Sparse update: POST /v3/company/{realm}/customer with Id, SyncToken and `sparse: true`.

        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        https://blogs.intuit.com/blog/2015/04/06/15346/
        """
        context = f"update customer {body.get('Id')}"
        payload = self._send(
            "POST", self._path("customer"), params={"requestid": request_id}, body=body, context=context
        )
        return self._customer(payload, context)

    def query_customers(
        self, where: str | None = None, *, page_size: int = MAX_RESULTS, limit: int | None = None
    ) -> list[Customer]:
        """Every customer matching `where` (or the first `limit`), paging with STARTPOSITION/MAXRESULTS.

        GET /v3/company/{realm}/query?query=select * from Customer ... STARTPOSITION n MAXRESULTS m
        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        rows = self._query("Customer", where, page_size=page_size, limit=limit)
        try:
            return [Customer.model_validate(row) for row in rows]
        except ValidationError as exc:
            raise TransientError(f"quickbooks: query customers: unreadable row: {exc}") from exc

    def batch_queries(self, queries: Sequence[tuple[str, str | None, int]]) -> list[list[dict[str, Any]]]:
        """Several `select * from <entity> [where ...] MAXRESULTS n` in one batch request, rows in order.

        POST /v3/company/{realm}/batch with one {bId, Query} item per query; each item is answered
        with its own QueryResponse or Fault, and any Fault is raised as the hub's error.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
        """
        if not 1 <= len(queries) <= BATCH_MAX_ITEMS:
            raise ValueError(f"a QuickBooks batch carries 1 to {BATCH_MAX_ITEMS} items, not {len(queries)}")
        items = []
        for n, (entity, where, limit) in enumerate(queries):
            # `entity` is one of this module's fixed names; values in `where` go through quote_literal.
            statement = f"select * from {entity}" + (f" where {where}" if where else "")  # noqa: S608
            items.append({"bId": str(n), "Query": f"{statement} STARTPOSITION 1 MAXRESULTS {limit}"})
        payload = self._send(
            "POST",
            self._path("batch"),
            body={"BatchItemRequest": items},
            context="batch query",
            http=self.batch_api,
        )
        answers = {str(a.get("bId")): a for a in payload.get("BatchItemResponse", []) if isinstance(a, dict)}
        rows: list[list[dict[str, Any]]] = []
        for n, (entity, _, _) in enumerate(queries):
            answer = answers.get(str(n))
            if answer is None:
                raise TransientError(f"quickbooks: batch query {entity}: no answer for item {n}")
            found = answer.get("QueryResponse", {}).get(entity, [])
            if not isinstance(found, list) or not all(isinstance(row, dict) for row in found):
                raise TransientError(f"quickbooks: batch query {entity}: unexpected response shape")
            rows.append(found)
        return rows

    def query_classes(self, where: str | None = None) -> list[TrackingCategory]:
        """Classes matching `where`: GET /v3/company/{realm}/query?query=select * from Class ...

        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/class
        """
        return self._tracking("Class", where)

    def query_departments(self, where: str | None = None) -> list[TrackingCategory]:
        """Departments (QBO's UI calls them locations): select * from Department ...

        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/department
        """
        return self._tracking("Department", where)

    def change_data_capture(self, entities: str, changed_since: str) -> dict[str, Any]:
        """GET /v3/company/{realm}/cdc?entities=...&changedSince=... (the answer as Intuit sends it).

        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
        """
        return self._send(
            "GET",
            self._path("cdc"),
            params={"entities": entities, "changedSince": changed_since},
            context=f"cdc {entities}",
        )

    def _tracking(self, entity: str, where: str | None) -> list[TrackingCategory]:
        rows = self._query(entity, where, page_size=MAX_RESULTS, limit=None)
        try:
            return [TrackingCategory.model_validate(row) for row in rows]
        except ValidationError as exc:
            raise TransientError(f"quickbooks: query {entity}: unreadable row: {exc}") from exc

    def _query(
        self, entity: str, where: str | None, *, page_size: int, limit: int | None
    ) -> list[dict[str, Any]]:
        """Rows of `select * from <entity> [where ...]`, page by page until a short page or `limit`.

        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        page_size = max(1, min(page_size, MAX_RESULTS, limit or MAX_RESULTS))
        found: list[dict[str, Any]] = []
        start = 1
        while True:
            # `entity` is one of this module's fixed names; values in `where` go through quote_literal.
            statement = f"select * from {entity}"  # noqa: S608
            if where:
                statement += f" where {where}"
            statement += f" STARTPOSITION {start} MAXRESULTS {page_size}"
            payload = self._send(
                "GET", self._path("query"), params={"query": statement}, context=f"query {entity}"
            )
            rows = payload.get("QueryResponse", {}).get(entity, [])
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise TransientError(f"quickbooks: query {entity}: unexpected response shape")
            found.extend(rows)
            if len(rows) < page_size or (limit is not None and len(found) >= limit):
                return found[:limit] if limit is not None else found
            start += page_size


def read_json(response: httpx.Response, context: str) -> Any:
    """The JSON body of an answer, numbers with a fraction as Decimal (money never passes through float)."""
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        if response.status_code >= 400:
            raise PermanentError(
                f"quickbooks: {context}: {response.status_code} {response.text[:300]}"
            ) from exc
        raise TransientError(f"quickbooks: {context}: response is not JSON") from exc


def encode_exact(body: Any) -> bytes:
    """JSON for `body` with each Decimal written as a number with exactly its digits (no float)."""
    marker = uuid.uuid4().hex
    numbers: list[str] = []

    def number(value: object) -> str:
        if isinstance(value, Decimal) and value.is_finite():
            numbers.append(format(value, "f"))
            return f"{marker}:{len(numbers) - 1}"
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=number)
    return re.sub(f'"{marker}:([0-9]+)"', lambda found: numbers[int(found.group(1))], text).encode()


def token_key(realm_id: str) -> str:
    """The token store's key for one company: tokens are per app and realm."""
    return f"quickbooks/{realm_id}"


def _oauth_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def like_prefix(value: str) -> str:
    """A LIKE pattern for strings starting with `value`: `'Acme Consulting%'`, quotes escaped.

    `%` is the only wildcard the query language has and there is no way to escape it, so a `%`
    inside `value` also matches anything: the search can only come back wider, never narrower.
    https://blogs.intuit.com/2017/02/08/deep-dive-sql-queries/
    """
    return quote_literal(value + "%")


def quote_literal(value: str) -> str:
    """A string literal for the QBO query language: single quotes escaped with a backslash.

    https://gist.github.com/IntuitDeveloperRelations/6582149
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
