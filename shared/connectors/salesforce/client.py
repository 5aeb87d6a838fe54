"""Salesforce REST over VendorHttp: OAuth client credentials, sObject Rows (read, update), SOQL paging."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import httpx
from pydantic import ValidationError

from shared.connectors.http import RetryPolicy, VendorHttp
from shared.connectors.salesforce.connection import SalesforceConnection
from shared.connectors.salesforce.schemas import (
    ApiError,
    ApiUsage,
    OAuthError,
    QueryResult,
    SaveResult,
    TokenResponse,
    parse_limit_info,
)
from shared.domain.budgets import InMemoryBudgets, RateLimit
from shared.domain.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)

if TYPE_CHECKING:
    from shared.domain.ports import RateBudgets

VENDOR = "salesforce"

# The daily allocation is a rolling 24-hour window: usage drains gradually, so an hour is a fair
# first wait before the queue tries again (there is no Retry-After on this 403).
# https://help.salesforce.com/s/articleView?id=xcloud.setup_system_overview_api.htm&language=en_US&type=5
DAILY_LIMIT_RETRY_AFTER = 3600.0


_NUMBER = "\u0000num:"


def exact_json(body: Any) -> str:
    """JSON with Decimals as JSON numbers of their exact digits (currency and number fields take
    numbers; a float on the way would round 1234567.10)."""

    def mark(value: object) -> str:
        if isinstance(value, Decimal):
            return f"{_NUMBER}{format(value, 'f')}"
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    return re.sub(r'"\\u0000num:(-?[0-9.]+)"', r"\1", json.dumps(body, default=mark))


def describe_error(response: httpx.Response) -> str:
    """A readable message from a Salesforce error body.

    REST errors are a JSON array of {message, errorCode, fields}; the OAuth endpoint answers
    {error, error_description}; anything else is shown as text.
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
    """
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:500] or response.reason_phrase
    if isinstance(body, list):
        parts = []
        for item in body:
            if not isinstance(item, dict):
                continue
            error = ApiError.model_validate(item)
            where = f" (fields: {', '.join(error.fields)})" if error.fields else ""
            parts.append(f"{error.error_code or 'ERROR'}: {error.message}{where}")
        if parts:
            return "; ".join(parts)
    if isinstance(body, dict) and "error" in body:
        try:
            oauth = OAuthError.model_validate(body)
        except ValidationError:
            return response.text[:500]
        return f"{oauth.error}: {oauth.error_description or ''}".rstrip(": ")
    return response.text[:500]


def error_codes(response: httpx.Response) -> set[str]:
    """The errorCode values of a REST error array (empty when the body is not one)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return set()
    if not isinstance(body, list):
        return set()
    return {str(item.get("errorCode")) for item in body if isinstance(item, dict) and item.get("errorCode")}


class _LimitInfoTransport(httpx.BaseTransport):
    """Reads Sforce-Limit-Info from every response, errors included, before VendorHttp sees it."""

    def __init__(self, inner: httpx.BaseTransport, on_usage: Callable[[ApiUsage], None]) -> None:
        self._inner = inner
        self._on_usage = on_usage

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        usage = parse_limit_info(response.headers.get("sforce-limit-info"))
        if usage is not None:
            self._on_usage(usage)
        return response

    def close(self) -> None:
        self._inner.close()


class SalesforceClient:
    """One org's REST API: caches the OAuth token, refreshes it on 401, follows query locators."""

    def __init__(
        self,
        connection: SalesforceConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.connection = connection
        self.api_usage: ApiUsage | None = None
        self._token: TokenResponse | None = None
        self._token_lock = threading.Lock()
        inner = transport if transport is not None else httpx.HTTPTransport()
        observed = _LimitInfoTransport(inner, self._record_usage)
        policy = retry or RetryPolicy()
        self._auth = VendorHttp(
            vendor=VENDOR,
            base_url=connection.login_url,
            describe_error=describe_error,
            retry=policy,
            transport=observed,
            sleep=sleep,
        )
        self._api = VendorHttp(
            vendor=VENDOR,
            base_url=connection.instance_url or connection.login_url,
            auth_headers=self._bearer,
            on_unauthorized=self.refresh_token,
            describe_error=describe_error,
            retry=policy,
            # The org's daily allocation, shared by every container: one sync storm cannot spend the day.
            budget=(budgets or InMemoryBudgets()).budget(
                VENDOR, connection.organization_id, (RateLimit(connection.daily_api_requests, 86_400.0),)
            ),
            transport=observed,
            sleep=sleep,
        )

    @property
    def calls(self) -> int:
        """Vendor API calls made so far (token requests included), attempts counted one by one."""
        return self._auth.calls + self._api.calls

    def close(self) -> None:
        self._auth.close()
        self._api.close()

    def _record_usage(self, usage: ApiUsage) -> None:
        self.api_usage = usage

    # --- OAuth -------------------------------------------------------------------------------

    # OAuth 2.0 Client Credentials Flow for Server-to-Server Integration:
    # POST {My Domain}/services/oauth2/token, grant_type=client_credentials, client_id, client_secret.
    # https://developer.salesforce.com/docs/atlas.en-us.262.0.chatterapi.meta/chatterapi/quickstart_connecting.htm
    def request_token(self) -> TokenResponse:
        """A fresh access token from the token endpoint (not cached; see `token`)."""
        form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.connection.client_id,
                "client_secret": self.connection.client_secret.get_secret_value(),
            }
        )
        try:
            response = self._auth.request(
                "POST",
                "/services/oauth2/token",
                content=form,
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            )
        except PermanentError as exc:
            # invalid_client / invalid_grant: the connected app or its secret is wrong, retrying won't help.
            raise ConfigurationError(f"Salesforce refused the client credentials: {exc}") from exc
        try:
            return TokenResponse.model_validate(response.json())
        except (ValidationError, json.JSONDecodeError) as exc:
            raise TransientError(f"salesforce: unreadable token response: {response.text[:200]}") from exc

    def token(self) -> TokenResponse:
        """The cached access token, requested once and shared by every call until a 401."""
        with self._token_lock:
            if self._token is None:
                self._token = self.request_token()
            return self._token

    def refresh_token(self) -> None:
        """Drop the cached token and get a new one: Salesforce answers 401 INVALID_SESSION_ID when a
        session expired or was revoked, and the client credentials flow issues no refresh token.
        """
        with self._token_lock:
            self._token = self.request_token()

    def _bearer(self) -> Mapping[str, str]:
        return {
            "Authorization": f"Bearer {self.token().access_token.get_secret_value()}",
            # Names the hub as the client of every call: Change Data Capture puts it in the
            # changeOrigin of the changes it writes, which is how their echoes are recognised.
            # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_calloptions.htm
            "Sforce-Call-Options": f"client={self.connection.api_client}",
        }

    def instance_url(self) -> str:
        """The org's instance URL: configured, else the token response's (no trailing slash)."""
        return self.connection.instance_url or self.token().instance_url.rstrip("/")

    def _url(self, path: str) -> str:
        """Absolute URL on the org's instance (known from the token response when not configured)."""
        return f"{self.instance_url()}{path}"

    def _data_path(self, suffix: str) -> str:
        return f"/services/data/v{self.connection.api_version}{suffix}"

    def _get(
        self, path: str, *, params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        """GET with the Salesforce-specific 403 rule; returns the decoded JSON body."""
        # 403 is let through VendorHttp so that REQUEST_LIMIT_EXCEEDED, which Salesforce sends instead
        # of a 429 when the org's daily allocation is spent, becomes a RateLimitedError.
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
        response = self._api.request(
            "GET",
            self._url(path),
            params=params,
            headers={"Accept": "application/json", **(headers or {})},
            ok_statuses=frozenset({403}),
        )
        self._refuse_403("GET", path, response)
        try:
            # Currency and quantity fields are JSON numbers: read them as Decimal, never as float,
            # so that 1234.10 stays exactly 1234.10.
            return json.loads(response.text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise TransientError(f"{VENDOR}: GET {path} returned no JSON: {response.text[:200]}") from exc

    def _refuse_403(self, method: str, path: str, response: httpx.Response) -> None:
        if response.status_code != 403:
            return
        message = f"{VENDOR}: {method} {path} -> 403: {describe_error(response)}"
        if "REQUEST_LIMIT_EXCEEDED" in error_codes(response):
            # The org's allocation is spent for every container, not only this one: hold the org's
            # shared budget, so that the others wait too instead of each spending a refused call.
            # https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
            if self._api.budget is not None:
                self._api.budget.hold(DAILY_LIMIT_RETRY_AFTER)
            raise RateLimitedError(message, retry_after=DAILY_LIMIT_RETRY_AFTER)
        raise PermanentError(message)

    # --- sObject Rows ------------------------------------------------------------------------

    # Get Records Using sObject Rows: GET /services/data/vXX.X/sobjects/Account/{id}
    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-sobject-retrieve.html
    def get_account(self, account_id: str) -> dict[str, Any]:
        """The Account record with every field the integration user can see."""
        body = self._get(self._data_path(f"/sobjects/Account/{quote(account_id, safe='')}"))
        if not isinstance(body, dict):
            raise TransientError(f"{VENDOR}: Account {account_id}: unexpected body {str(body)[:200]}")
        return body

    # Update a Record: PATCH /services/data/vXX.X/sobjects/{sObject}/{id} with the fields to change;
    # 204 No Content on success, the JSON error array otherwise. Fields left out stay as they are.
    # https://developer.salesforce.com/docs/platform/api-rest/guide/dome-update-fields.html
    def update_record(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """Set `fields` on one existing record (never creates one)."""
        path = self._data_path(f"/sobjects/{quote(sobject, safe='')}/{quote(record_id, safe='')}")
        response = self._api.request(
            "PATCH",
            self._url(path),
            content=json.dumps(dict(fields)),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            ok_statuses=frozenset({403}),
        )
        self._refuse_403("PATCH", path, response)

    # Composite: up to 25 subrequests in one API call, answered in order; `allOrNone` rolls back
    # every write of the call when one subrequest fails.
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite_post.htm
    def update_and_read(
        self, sobject: str, record_id: str, fields: Mapping[str, Any], read: tuple[str, ...]
    ) -> dict[str, Any]:
        """PATCH `fields` onto one record and read `read` back from it, in one composite call."""
        row = self._data_path(f"/sobjects/{quote(sobject, safe='')}/{quote(record_id, safe='')}")
        body = {
            "allOrNone": True,
            "compositeRequest": [
                {"method": "PATCH", "url": row, "referenceId": "write", "body": dict(fields)},
                {"method": "GET", "url": f"{row}?fields={','.join(read)}", "referenceId": "read"},
            ],
        }
        path = self._data_path("/composite")
        response = self._api.request(
            "POST",
            self._url(path),
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            ok_statuses=frozenset({403}),
        )
        self._refuse_403("POST", path, response)
        try:
            answers = json.loads(response.text, parse_float=Decimal)["compositeResponse"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TransientError(f"{VENDOR}: composite: unexpected body {response.text[:200]}") from exc
        for answer in answers:
            status = int(answer.get("httpStatusCode") or 0)
            if status >= 300:
                # The subrequest's own error array, as a request of its own would answer it.
                errors = answer.get("body") if isinstance(answer.get("body"), list) else []
                detail = "; ".join(
                    f"{e.get('errorCode')}: {e.get('message')}" for e in errors if isinstance(e, dict)
                )
                which = f"composite {answer.get('referenceId')} {sobject} {record_id}"
                message = f"{VENDOR}: {which} -> {status}: {detail}"
                if status == 404:
                    raise NotFoundError(message)
                raise PermanentError(message)
        read_back = answers[-1].get("body")
        if not isinstance(read_back, dict):
            raise TransientError(f"{VENDOR}: composite: {sobject} {record_id} was not read back")
        return read_back

    # --- sObject Collections -----------------------------------------------------------------

    # Update Multiple Records: PATCH /services/data/vXX.X/composite/sobjects, {"allOrNone": true,
    # "records": [{"attributes": {"type": ...}, "id": ..., fields...}]}, up to 200 records of any
    # types in one API call; 200 with one result per record, in order. With allOrNone a failed record
    # names its error and every other is rolled back (ALL_OR_NONE_OPERATION_ROLLED_BACK).
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_allornone.htm
    def update_records(self, records: list[tuple[str, str, Mapping[str, Any]]]) -> list[SaveResult]:
        """Set the fields of several existing records (sObject, id, fields) in one all-or-none call."""
        body = {
            "allOrNone": True,
            "records": [
                {"attributes": {"type": sobject}, "id": record_id, **fields}
                for sobject, record_id, fields in records
            ],
        }
        path = self._data_path("/composite/sobjects")
        response = self._api.request(
            "PATCH",
            self._url(path),
            content=exact_json(body),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            ok_statuses=frozenset({403}),
        )
        self._refuse_403("PATCH", path, response)
        try:
            answers = json.loads(response.text, parse_float=Decimal)
            return [SaveResult.model_validate(answer) for answer in answers]
        except (json.JSONDecodeError, TypeError, ValidationError) as exc:
            raise TransientError(f"{VENDOR}: collections: unexpected body {response.text[:200]}") from exc

    # --- SOQL --------------------------------------------------------------------------------

    # Query: GET /services/data/vXX.X/query?q=SOQL, then Query More Results through nextRecordsUrl
    # until done is true. Page size via the Sforce-Query-Options header (batchSize 200..2,000).
    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html
    # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.html
    # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
    def query_pages(self, soql: str) -> Iterator[QueryResult]:
        """Every page of a SOQL query, requested lazily one locator at a time."""
        body = self._get(self._data_path("/query"), params={"q": soql}, headers=self._query_options())
        first = QueryResult.model_validate(body)
        yield first
        yield from self.more_pages(first)

    def more_pages(self, page: QueryResult) -> Iterator[QueryResult]:
        """The pages after `page`, following nextRecordsUrl until done.

        Also used for a subquery's child records: a child result that is not done carries its own
        nextRecordsUrl, fetched the same way as the outer query's next page.
        https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_relationships_query_results.htm
        """
        while not page.done and page.next_records_url:
            page = QueryResult.model_validate(self._get(page.next_records_url, headers=self._query_options()))
            yield page

    def _query_options(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.connection.query_batch_size}"}

    def query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record a SOQL query returns, across all pages."""
        for page in self.query_pages(soql):
            yield from page.records

    # QueryAll: GET /services/data/vXX.X/queryAll?q=SOQL, the same as Query but including records
    # deleted by a delete or a merge (IsDeleted; MasterRecordId names a merge's survivor); its
    # nextRecordsUrl pages on like Query's.
    # https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html
    # https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_queryall.htm
    def query_all(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record, deleted ones included, a SOQL query returns, across all pages."""
        body = self._get(self._data_path("/queryAll"), params={"q": soql}, headers=self._query_options())
        first = QueryResult.model_validate(body)
        yield from first.records
        for page in self.more_pages(first):
            yield from page.records
