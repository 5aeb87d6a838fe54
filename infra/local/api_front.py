"""A WSGI stand-in for API Gateway's REST proxy integration: HTTP request -> proxy event -> handler."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from infra.local.authorizer import LocalUserPoolAuthorizer
from infra.local.moto_patches import Invoker
from infra.wiring_model import ApiTrigger, Wiring

LOG = logging.getLogger(__name__)
STAGE = "local"
# API Gateway's own hard payload limit; the wiring's tighter max_body_bytes is the handler's to enforce.
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024
_PARAM = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$")


@dataclass(frozen=True)
class Route:
    """One (method, resource path) of an ApiTrigger, compiled for matching."""

    method: str
    resource: str  # e.g. /webhooks/{provider}
    function: str
    pattern: re.Pattern[str]
    authorizer: str | None = None  # the user pool whose signed-in users alone may call it

    @classmethod
    def compile(cls, method: str, resource: str, function: str, authorizer: str | None = None) -> Route:
        parts = []
        for segment in resource.strip("/").split("/"):
            param = _PARAM.match(segment)
            if param is None:
                parts.append(re.escape(segment))
            elif param.group(2):  # {proxy+}: greedy, may span segments
                parts.append(f"(?P<{param.group(1)}>.+)")
            else:
                parts.append(f"(?P<{param.group(1)}>[^/]+)")
        pattern = re.compile("^/" + "/".join(parts) + "/?$")
        return cls(method.upper(), resource, function, pattern, authorizer)


def routes_of(wiring: Wiring) -> list[Route]:
    """Every ApiTrigger route of the wiring; literal paths first, as API Gateway prefers them."""
    routes = [
        Route.compile(method, path, f.name, f.trigger.authorizer)
        for f in wiring.functions
        if isinstance(f.trigger, ApiTrigger)
        for method, path in f.trigger.routes
    ]
    return sorted(routes, key=lambda r: r.resource.count("{"))


def _json_response(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


class ApiGatewayMetrics:
    """Publishes per request what API Gateway publishes for a REST API, to moto's CloudWatch.

    Namespace AWS/ApiGateway, dimension ApiName, Count plus 4XXError and 5XXError as 0 or 1 per
    request (their Sum counts errors, their Average is the error rate), so `close2cash status`
    reads the same metrics locally as in AWS.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
    """

    NAMESPACE = "AWS/ApiGateway"

    def __init__(self, cloudwatch: Any, api_name: str) -> None:
        self._cloudwatch = cloudwatch
        self._dimensions = [{"Name": "ApiName", "Value": api_name}]

    def record(self, status: int) -> None:
        values = {"Count": 1, "4XXError": int(400 <= status < 500), "5XXError": int(status >= 500)}
        try:
            self._cloudwatch.put_metric_data(
                Namespace=self.NAMESPACE,
                MetricData=[
                    {"MetricName": name, "Dimensions": self._dimensions, "Value": value, "Unit": "Count"}
                    for name, value in values.items()
                ],
            )
        except Exception:
            # Metrics never fail a request (API Gateway's do not either).
            LOG.warning("could not publish the API metrics of a %s answer", status, exc_info=True)


class ApiFront:
    """The WSGI app: matches a wiring route, builds a proxy event (v1.0), maps the proxy result back."""

    def __init__(
        self,
        wiring: Wiring,
        invoker: Invoker,
        *,
        account_id: str = "123456789012",
        authorizers: Mapping[str, LocalUserPoolAuthorizer] | None = None,
        metrics: ApiGatewayMetrics | None = None,
    ) -> None:
        self.routes = routes_of(wiring)
        self._authorizers = dict(authorizers or {})
        missing = {r.authorizer for r in self.routes if r.authorizer} - set(self._authorizers)
        if missing:
            raise ValueError(f"routes need authorizers the front was not given: {sorted(missing)}")
        self._metrics = metrics
        # One request at a time reaches the functions. Powertools' event handler keeps the request
        # being resolved on its BaseRouter class (aws_lambda_powertools/event_handler/api_gateway.py:
        # `BaseRouter.current_event = ...`), which is one per process here but one per container in
        # Lambda: two requests resolved at once, even by two different functions, would each be
        # checked against the other's headers. Requests are milliseconds; the server still accepts
        # concurrent connections, and they queue here.
        self._one_at_a_time = threading.Lock()
        self._invoker = invoker
        self._account_id = account_id
        self._api_id = uuid.uuid5(uuid.NAMESPACE_URL, wiring.stack_name).hex[:10]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method not in (method.upper(), "ANY"):
                continue
            found = route.pattern.match(path)
            if found is not None:
                return route, found.groupdict()
        return None

    def event(self, request: Request, route: Route, path_parameters: dict[str, str]) -> dict[str, Any]:
        """The API Gateway REST proxy event (payload format 1.0) for `request`."""
        raw = request.get_data(cache=True)
        body: str | None
        if not raw:
            body, is_base64 = None, False
        else:
            try:
                # Text stays text, byte for byte, so a signature over the raw body still verifies.
                body, is_base64 = raw.decode("utf-8"), False
            except UnicodeDecodeError:
                body, is_base64 = base64.b64encode(raw).decode("ascii"), True
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        multi_query = {k: request.args.getlist(k) for k in request.args}
        now = time.time()
        request_id = str(uuid.uuid4())
        return {
            "resource": route.resource,
            "path": request.path,
            "httpMethod": request.method,
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": self._account_id,
                "apiId": self._api_id,
                "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, route.resource).hex[:6],
                "resourcePath": route.resource,
                "httpMethod": request.method,
                "extendedRequestId": request_id,
                "requestId": request_id,
                "path": f"/{STAGE}{request.path}",
                "stage": STAGE,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "domainName": request.host,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "identity": {
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent"),
                },
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    @staticmethod
    def response(result: Any) -> Response:
        """HTTP response from a proxy result; a malformed one is a 502, as API Gateway answers."""
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            LOG.error("malformed Lambda proxy response: %r", result)
            return _json_response(502, "Internal server error")
        headers = Headers()
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                headers.add(name, str(value))
        for name, value in (result.get("headers") or {}).items():
            headers.set(name, str(value))
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        if "Content-Type" not in headers:
            headers.set("Content-Type", "application/json")
        return Response(data, status=result["statusCode"], headers=headers)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        if self._metrics is not None:
            self._metrics.record(response.status_code)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def handle(self, request: Request) -> Response:
        matched = self.match(request.method, request.path)
        if matched is None:
            return _json_response(404, "no route")
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY:
            return _json_response(413, "Request Too Long")
        route, params = matched
        event = self.event(request, route, params)
        if route.authorizer is not None:
            # As API Gateway's Cognito authorizer: verified before the function runs, 401 without
            # invoking it, and the claims where the real authorizer puts them.
            claims = self._authorizers[route.authorizer].claims(request.headers.get("Authorization"))
            if claims is None:
                return _json_response(401, "Unauthorized")
            event["requestContext"]["authorizer"] = {"claims": claims}
        try:
            with self._one_at_a_time:
                result = self._invoker.invoke(route.function, event)
        except Exception:
            # API Gateway answers a failed Lambda integration with 502; the stack trace goes to the log.
            LOG.exception("function %s failed on %s %s", route.function, request.method, request.path)
            return _json_response(502, "Internal server error")
        return self.response(result)


class ApiServer:
    """Serves an ApiFront on a loopback port in a daemon thread."""

    def __init__(self, app: ApiFront, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="close2cash-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
