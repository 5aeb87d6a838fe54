"""The NetSuite sandbox's WSGI app: routes, and the gate of every REST request (faults, bearer, concurrency).

Base URL `https://<account>.suitetalk.api.netsuite.com` is the app's root. Writes answer 204 No
Content; a create (and an upsert) carries `Location` with the record's URL, as NetSuite does.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html (upsert)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_161251386312.html (async)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.netsuite import records
from infra.local.sandboxes.netsuite.async_jobs import (
    ASYNC_PATH,
    IDEMPOTENCY_HEADER,
    job_body,
    task_body,
    tasks_body,
)
from infra.local.sandboxes.netsuite.control import Controls
from infra.local.sandboxes.netsuite.errors import (
    NetSuiteError,
    injected,
    invalid_content,
    invalid_header,
    invalid_parameter,
    method_not_allowed,
    nonexistent_id,
    not_found_url,
    unknown_record_type,
)
from infra.local.sandboxes.netsuite.governance import DEFAULT_ACCOUNT_LIMIT, GOVERNANCE_PATH, SERVER_TIME_PATH
from infra.local.sandboxes.netsuite.oauth import TOKEN_PATH, OAuthError
from infra.local.sandboxes.netsuite.schema import RecordSpec, spec_for
from infra.local.sandboxes.netsuite.suiteql import SUITEQL_PATH, run_suiteql
from infra.local.sandboxes.netsuite.wire import Clock, error_response, json_response, parse_body

WsgiStartResponse = Callable[..., Any]
Answer = tuple[int, Any, dict[str, str]]  # status, JSON body (None: no content), headers

_RECORD = re.compile(r"/services/rest/record/v1/([A-Za-z]+)(?:/([^/]+)(?:/([A-Za-z]+))?)?")
_JOB = re.compile(re.escape(ASYNC_PATH) + r"/(\d+)(/task(?:/(\d+)(/result)?)?)?")
_PROPERTY_VALIDATION = "X-NetSuite-PropertyNameValidation"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NetSuiteSandbox(Controls):
    """WSGI app + control API standing in for one NetSuite account's REST web services."""

    def __init__(
        self,
        account_id: str = "TSTDRV1234567",
        *,
        clock: Clock = _utcnow,
        concurrency_limit: int = DEFAULT_ACCOUNT_LIMIT,
        home_currency: str = "USD",
    ) -> None:
        super().__init__(account_id, clock, concurrency_limit=concurrency_limit, home_currency=home_currency)

    @property
    def app(self) -> NetSuiteSandbox:
        """The WSGI application (the sandbox itself is one)."""
        return self

    @property
    def wsgi(self) -> NetSuiteSandbox:
        """The WSGI application (alias of `app`)."""
        return self

    # --- WSGI -----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: WsgiStartResponse) -> Iterable[bytes]:
        request = Request(environ)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if request.path == TOKEN_PATH:
            return self._token(request)
        try:
            fault = self.faults.take(request.path)
            if fault is not None and not fault.after:
                raise injected(fault.status)
            integration = self.tokens.authenticate(request.headers.get("Authorization", ""))
            with self.governance.request(integration, list(self.tokens.integrations.values())):
                status, body, headers = self._route(request, integration.client_id)
            if fault is not None:
                raise injected(fault.status)
        except NetSuiteError as error:
            return error_response(error)
        if body is None:
            return Response(status=status, headers=headers)
        return json_response(status, body, headers)

    def _token(self, request: Request) -> Response:
        if request.method != "POST":
            return json_response(405, {"error": "invalid_request"})
        own_url = request.host_url.rstrip("/") + TOKEN_PATH
        try:
            with self._lock:
                return json_response(200, self.tokens.issue(request.get_data(as_text=True), own_url))
        except OAuthError as error:
            return json_response(error.status, error.body())

    # --- routes -----------------------------------------------------------------------------------

    def _route(self, request: Request, client_id: str) -> Answer:
        path, method = request.path, request.method
        base = request.host_url.rstrip("/")
        if path == GOVERNANCE_PATH:
            if method != "GET":
                raise method_not_allowed(method, path)
            integration = self.tokens.integrations[client_id]
            return 200, self.governance.limits(integration, list(self.tokens.integrations.values())), {}
        if path == SERVER_TIME_PATH:
            # The account's clock, in milliseconds, UTC:
            # https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0528010158.html
            if method != "GET":
                raise method_not_allowed(method, path)
            now = self.clock().astimezone(UTC)
            return (
                200,
                {"serverTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"},
                {},
            )
        if found := _JOB.fullmatch(path):
            if method != "GET":
                raise method_not_allowed(method, path)
            return self._job(found, base)
        if path == SUITEQL_PATH:
            if method != "POST":
                raise method_not_allowed(method, path)
            if "transient" not in request.headers.get("Prefer", "").lower():
                raise invalid_header(
                    "Prefer", "The SuiteQL resource requires the header 'Prefer: transient'."
                )
            return self._maybe_async(request, lambda: self._suiteql(request, base))
        if found := _RECORD.fullmatch(path):
            record_type, key, sublist = found.groups()
            spec = spec_for(record_type)
            if spec is None:
                raise unknown_record_type(record_type)
            return self._maybe_async(request, lambda: self._record(request, spec, key, sublist, base))
        raise not_found_url(path)

    def _maybe_async(self, request: Request, work: Callable[[], Answer]) -> Answer:
        if "respond-async" not in request.headers.get("Prefer", "").lower():
            with self._lock:
                return work()

        def run() -> Answer:
            with self._lock:
                try:
                    return work()
                except NetSuiteError as error:
                    return error.status, error.body(), {}

        # The key is read only for asynchronous requests ("executed synchronously, the idempotency
        # key is ignored").
        job = self.jobs.submit(run, request.headers.get(IDEMPOTENCY_HEADER))
        return 202, None, {"Location": f"{ASYNC_PATH}/{job.id}", "Preference-Applied": "respond-async"}

    def _job(self, found: re.Match[str], base: str) -> Answer:
        job = self.jobs.get(found.group(1))
        if found.group(2) is None:
            return 200, job_body(job, base), {}
        if found.group(3) is None:
            return 200, tasks_body(job, base), {}
        if found.group(3) != "1":
            raise nonexistent_id("task", found.group(3))
        if found.group(4) is None:
            return 200, task_body(job, base), {}
        if job.result is None:
            raise NetSuiteError(400, "USER_ERROR", "The task has not completed yet: no result is available.")
        return job.result

    def _suiteql(self, request: Request, base: str) -> Answer:
        body = parse_body(request.get_data())
        page = run_suiteql(
            self.account,
            body,
            limit_text=request.args.get("limit"),
            offset_text=request.args.get("offset"),
            base=base,
        )
        return 200, page, {}

    def _record(
        self, request: Request, spec: RecordSpec, key: str | None, sublist: str | None, base: str
    ) -> Answer:
        method = request.method
        strict = request.headers.get(_PROPERTY_VALIDATION, "Error").lower() == "error"
        replace = frozenset(
            part.strip() for part in request.args.get("replace", "").split(",") if part.strip()
        )
        if key is None:
            if method == "GET":
                return 200, self._list(request, spec, base), {}
            if method == "POST":
                created = records.create(
                    self.account, spec, parse_body(request.get_data()), strict_names=strict
                )
                return 204, None, {"Location": records.record_url(base, spec.name, created["id"])}
            raise method_not_allowed(method, request.path)
        if sublist is not None:
            stored = records.resolve(self.account, key, spec)
            lines = spec.sublists.get(sublist)
            if lines is None or method != "GET":
                raise not_found_url(request.path)
            own = records.record_url(base, spec.name, stored["id"])
            return (
                200,
                records.render_sublist(self.account, lines, stored.get(sublist, []), base, own, sublist),
                {},
            )
        if method == "PUT":
            return self._upsert(request, spec, key, base, strict, replace)
        if method not in ("GET", "PATCH", "DELETE"):
            raise method_not_allowed(method, request.path)
        stored = records.resolve(self.account, key, spec)
        if method == "GET":
            expand = request.args.get("expandSubResources", "false").lower() == "true"
            body = records.render(self.account, spec, stored, base, expand=expand)
            wanted = request.args.get("fields")
            if wanted:
                keep = {"links", "id", *(name.strip() for name in wanted.split(","))}
                body = {name: value for name, value in body.items() if name in keep}
            return 200, body, {}
        if method == "PATCH":
            body = parse_body(request.get_data())
            if (
                isinstance(body, dict)
                and "externalId" in body
                and key.startswith("eid:")
                and body["externalId"] != key[4:]
            ):
                raise invalid_content(
                    "The external ID in the body differs from the one in the URL.", error_path="externalId"
                )
            records.update(self.account, spec, stored, body, replace=replace, strict_names=strict)
            return 204, None, {}
        if method == "DELETE":
            records.delete(self.account, spec, stored)
            return 204, None, {}
        raise method_not_allowed(method, request.path)

    def _upsert(
        self, request: Request, spec: RecordSpec, key: str, base: str, strict: bool, replace: frozenset[str]
    ) -> Answer:
        # Upsert is PUT on `eid:{externalId}` only: it creates the record, or updates the one that
        # already carries that external id.
        if not key.startswith("eid:"):
            raise method_not_allowed("PUT", request.path)
        external = key[4:]
        records.check_external_id(external, "externalId")
        body = parse_body(request.get_data())
        if isinstance(body, dict) and body.get("externalId") not in (None, external):
            raise invalid_content(
                "The external ID in the body differs from the one in the URL.", error_path="externalId"
            )
        stored = self.account.by_external_id(spec, external)
        if stored is None:
            stored = records.create(self.account, spec, body, external_id=external, strict_names=strict)
        else:
            records.update(self.account, spec, stored, body, replace=replace, strict_names=strict)
        return 204, None, {"Location": records.record_url(base, spec.name, stored["id"])}

    def _list(self, request: Request, spec: RecordSpec, base: str) -> dict[str, Any]:
        # Collection paging: 1,000 per page by default.
        # https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
        if request.args.get("q"):
            raise invalid_parameter(
                "Record filtering with 'q' is not served by this sandbox: use SuiteQL.", query_param="q"
            )
        limit_text, offset_text = request.args.get("limit", "1000"), request.args.get("offset", "0")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            raise invalid_parameter(
                "The value of the query parameter 'limit' must be from 1 to 1000.", query_param="limit"
            )
        if not offset_text.isdigit():
            raise invalid_parameter(
                "The value of the query parameter 'offset' must be a whole number.", query_param="offset"
            )
        limit, offset = int(limit_text), int(offset_text)
        rows = self.account.rows(spec)
        page = rows[offset : offset + limit]
        url = f"{base}/services/rest/record/v1/{spec.name.lower()}"
        links = [{"rel": "self", "href": f"{url}?limit={limit}&offset={offset}"}]
        if offset + len(page) < len(rows):
            links.insert(0, {"rel": "next", "href": f"{url}?limit={limit}&offset={offset + limit}"})
        items = [
            {
                "links": [{"rel": "self", "href": records.record_url(base, spec.name, row["id"])}],
                "id": row["id"],
            }
            for row in page
        ]
        return {
            "links": links,
            "count": len(items),
            "hasMore": offset + len(page) < len(rows),
            "items": items,
            "offset": offset,
            "totalResults": len(rows),
        }
