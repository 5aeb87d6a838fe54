"""httpx client for NetSuite REST web services: records, upsert by external id, SuiteQL (async: jobs.py).

Retries, Retry-After, the account's shared budget and status translation come from `VendorHttp`;
the access token is kept by `TokenKeeper` (shared with every container through a `TokenStore`).
This module adds what is NetSuite's: the record and query paths, the `Prefer` headers, and the
error body (`o:errorDetails`, read in errors.py) raised as the hub's errors.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from shared.connectors.http import VendorHttp
from shared.connectors.netsuite.auth import NO_REFRESH_TOKEN, ClientCredentials, token_key
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.errors import (
    describe_error,
    error_for,
    location_id,
    read_json,
)
from shared.connectors.netsuite.jobs import AsyncRequests
from shared.connectors.netsuite.schemas import SuiteQLPage
from shared.connectors.oauth import MemoryTokenStore, TokenKeeper
from shared.domain.budgets import InMemoryBudgets, RateLimit
from shared.domain.errors import RateLimitedError, TransientError
from shared.domain.models import epoch_seconds
from shared.domain.tokens import TokenStore

if TYPE_CHECKING:
    from shared.domain.ports import RateBudget, RateBudgets

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
SERVER_TIME_PATH = "/services/rest/system/v1/serverTime"

# SuiteQL pages hold at most 1,000 rows, and one query reaches at most 100,000 rows (without
# SuiteAnalytics Connect); beyond that the statement must be narrowed.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
MAX_PAGE = 1000
MAX_QUERY_ROWS = 100_000

# NetSuite limits requests *in flight* per account (shared by SOAP, REST and RESTlets, every
# integration of the account), not requests per minute. The budget port paces request *starts*;
# by Little's law, starts per second x seconds per request = requests in flight, so pacing the
# account to its limit (less the budget's margin) per ASSUMED_REQUEST_SECONDS keeps the requests in
# flight under the limit while requests take at most that long. A slower request can still crowd
# the account: NetSuite then answers 429 and the whole budget is held for every container.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_1559222360.html
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_0827103226.html
ASSUMED_REQUEST_SECONDS = 2.0
# External ids may hold letters, digits, `_` and `-` (a pipe would be read as a delimiter).
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_-]+$")

_TOKEN_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)


def account_limits(connection: NetSuiteConnection) -> tuple[RateLimit, ...]:
    """The account's concurrency limit as the rate the budget port can enforce (see above)."""
    return (RateLimit(connection.concurrency_limit, ASSUMED_REQUEST_SECONDS),)


def write_json(value: Any) -> str:
    """JSON text of a request body, each Decimal written as a number with exactly its digits (a
    rate or an amount never passes through float)."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        return format(value, "f")
    if isinstance(value, Mapping):
        members = (f"{json.dumps(str(key))}: {write_json(item)}" for key, item in value.items())
        return "{" + ", ".join(members) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(write_json(item) for item in value) + "]"
    return json.dumps(value)


def record_path(record_type: str, record_id: str) -> str:
    """`/services/rest/record/v1/{type}/{id}`; an `eid:` reference is kept as it is."""
    if record_id.startswith("eid:") and not EXTERNAL_ID.match(record_id[4:]):
        raise ValueError(f"not a NetSuite external id: {record_id[4:]!r}")
    return f"{RECORD_PATH}/{quote(record_type, safe='')}/{quote(record_id, safe=':')}"


class NetSuiteClient(AsyncRequests):
    """One account's REST web services; its access token is shared through `token_store`."""

    def __init__(
        self,
        connection: NetSuiteConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = epoch_seconds,
        sleep: Callable[[float], None] = time.sleep,
        token_store: TokenStore | None = None,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.connection = connection
        self.sleep = sleep
        shared = budgets or InMemoryBudgets(clock=clock)
        # ONE budget per account: every flow and container of this hub calling the account takes
        # its slots from it (the DynamoDB budget in AWS).
        self.budget: RateBudget = shared.budget("netsuite", connection.account_id, account_limits(connection))
        self.oauth = VendorHttp(
            vendor="netsuite-oauth",
            base_url=connection.api_url,
            describe_error=describe_error,
            transport=transport,
            sleep=sleep,
            timeout=_TOKEN_TIMEOUT,
        )
        self.credentials = ClientCredentials(connection, self.oauth, clock)
        self.tokens = TokenKeeper(
            token_key(connection),
            seed_refresh_token=NO_REFRESH_TOKEN,
            refresh=self.credentials.issue,
            # Without a shared store (unit tests, one-off scripts) the token lives in this process only.
            store=token_store if token_store is not None else MemoryTokenStore(),
            clock=clock,
            sleep=sleep,
            vendor="netsuite",
        )
        self.api = VendorHttp(
            vendor="netsuite",
            base_url=connection.api_url,
            auth_headers=self._auth_headers,
            on_unauthorized=self._on_unauthorized,
            describe_error=describe_error,
            budget=self.budget,
            transport=transport,
            sleep=sleep,
        )

    @property
    def calls(self) -> int:
        """Vendor calls made so far (API and token endpoint, every attempt counted)."""
        return self.api.calls + self.oauth.calls

    def close(self) -> None:
        self.api.close()
        self.oauth.close()

    # --- OAuth 2.0 ------------------------------------------------------------------------------

    def _auth_headers(self) -> Mapping[str, str]:
        return self.tokens.bearer_headers()

    def _on_unauthorized(self) -> None:
        # A 401 (INVALID_LOGIN) with a token the keeper thought fresh: it expired or was revoked
        # early. Get one other than the refused one (another container may already have it).
        # https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html
        self.tokens.renew_refused()

    # --- requests -------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        context: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        ok: frozenset[int] = frozenset(),
        replay_safe: bool = True,
    ) -> httpx.Response:
        """One request; a 4xx answer (other than 404 and those in `ok`) raised as the hub's error.

        429 and 5xx are retried by VendorHttp (Retry-After honoured, the budget held after a 429)
        and raised as RateLimitedError / TransientError when they persist; 404 is NotFoundError.
        """
        sent_headers = (
            {"Content-Type": "application/json", **(headers or {})} if body is not None else headers
        )
        response = self.api.request(
            method,
            path,
            params=params,
            content=None if body is None else write_json(body).encode(),
            headers=sent_headers,
            ok_statuses=frozenset({400, 401, 403, 405, 409, 415, 422}),
            replay_safe=replay_safe,
        )
        if response.status_code < 300 or response.status_code in ok:
            return response
        error = error_for(response, context)
        if isinstance(error, RateLimitedError) and error.retry_after:
            self.budget.hold(error.retry_after)
        raise error

    def get_record(self, record_type: str, record_id: str, *, expand: bool = False) -> dict[str, Any]:
        """GET /services/rest/record/v1/{type}/{id or eid:externalId}[?expandSubResources=true].

        Sublists and subrecords come back as links unless `expandSubResources` is asked for.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545141947.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html
        """
        context = f"read {record_type} {record_id}"
        params = {"expandSubResources": "true"} if expand else None
        payload = read_json(
            self._send("GET", record_path(record_type, record_id), params=params, context=context), context
        )
        if not isinstance(payload, dict):
            raise TransientError(f"netsuite: {context}: unexpected response shape")
        return payload

    def create_record(self, record_type: str, body: Mapping[str, Any]) -> str:
        """POST /services/rest/record/v1/{type}: the new record's id, from the Location header.

        Not idempotent by itself: prefer `upsert_record` (external id) or `run_async` (key).
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_161581923822.html
        """
        context = f"create {record_type}"
        # Sent again only when NetSuite surely did not act on it (no connection made, 429, 503).
        path = f"{RECORD_PATH}/{quote(record_type, safe='')}"
        response = self._send("POST", path, body=dict(body), context=context, replay_safe=False)
        created = location_id(response)
        if created is None:
            raise TransientError(f"netsuite: {context}: the answer names no new record (no Location)")
        return created

    def upsert_record(
        self, record_type: str, external_id: str, body: Mapping[str, Any], *, replace: Sequence[str] = ()
    ) -> str | None:
        """PUT /services/rest/record/v1/{type}/eid:{externalId}: create it, or update the one with it.

        The only upsert REST offers; a resend finds the record the first one made, so a retried
        create never makes a second record. Returns the record's id when the answer's Location names it.
        `replace` names sublists sent whole, so a resent upsert replaces their lines, not adds them.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
        """
        context = f"upsert {record_type} eid:{external_id}"
        response = self._send(
            "PUT",
            record_path(record_type, f"eid:{external_id}"),
            params={"replace": ",".join(replace)} if replace else None,
            body=dict(body),
            context=context,
        )
        found = location_id(response)
        return None if found is None or found.startswith("eid:") else found

    def update_record(
        self,
        record_type: str,
        record_id: str,
        body: Mapping[str, Any],
        *,
        replace: Sequence[str] = (),
    ) -> None:
        """PATCH /services/rest/record/v1/{type}/{id}: the fields sent change, the others stay.

        `replace` names sublists sent whole: their lines not in the body are removed.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
        """
        params = {"replace": ",".join(replace)} if replace else None
        self._send(
            "PATCH",
            record_path(record_type, record_id),
            params=params,
            body=dict(body),
            context=f"update {record_type} {record_id}",
        )

    def delete_record(self, record_type: str, record_id: str) -> None:
        """DELETE /services/rest/record/v1/{type}/{id} (204); a record already gone is NotFoundError.

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1545142287.html
        """
        self._send("DELETE", record_path(record_type, record_id), context=f"delete {record_type} {record_id}")

    # --- SuiteQL ----------------------------------------------------------------------------------

    def suiteql(self, query: str, *, limit: int = MAX_PAGE, offset: int = 0) -> SuiteQLPage:
        """POST /services/rest/query/v1/suiteql?limit=&offset= with `{"q": ...}` and `Prefer: transient`.

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
        """
        if not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"a SuiteQL page holds 1 to {MAX_PAGE} rows, not {limit}")
        context = "suiteql"
        response = self._send(
            "POST",
            SUITEQL_PATH,
            params={"limit": limit, "offset": offset},
            body={"q": query},
            headers={"Prefer": "transient"},
            context=context,
        )
        try:
            return SuiteQLPage.model_validate(read_json(response, context))
        except ValidationError as exc:
            raise TransientError(f"netsuite: suiteql: unreadable page: {exc}") from exc

    def suiteql_rows(
        self, query: str, *, page_size: int = MAX_PAGE, max_rows: int = MAX_QUERY_ROWS
    ) -> tuple[list[dict[str, Any]], bool]:
        """Rows of `query` page by page (same page size, so every offset is a multiple of it); and
        whether more rows exist than were read (`max_rows`, at most the 100,000 a query reaches).

        The statement must end in a unique ORDER BY, or pages may repeat or skip rows.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157960491275.html
        """
        if "order by" not in query.lower():
            raise ValueError("a paged SuiteQL statement needs a unique ORDER BY")
        max_rows = min(max_rows, MAX_QUERY_ROWS)
        page_size = max(1, min(page_size, MAX_PAGE, max_rows))
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = self.suiteql(query, limit=page_size, offset=offset)
            rows.extend(page.items)
            if not page.hasMore or not page.items:
                return rows[:max_rows], len(rows) > max_rows
            if len(rows) >= max_rows:
                return rows[:max_rows], True
            offset += page_size

    def server_time(self) -> datetime:
        """GET /services/rest/system/v1/serverTime: NetSuite's clock in UTC (the end of a sweep).

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0528010158.html
        """
        payload = read_json(self._send("GET", SERVER_TIME_PATH, context="server time"), "server time")
        value = payload.get("serverTime") if isinstance(payload, dict) else None
        try:
            when = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise TransientError(f"netsuite: server time: unreadable {value!r}") from exc
        if when.tzinfo is None:
            raise TransientError(f"netsuite: server time without a zone: {value!r}")
        return when
