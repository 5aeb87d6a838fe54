"""The webhook handler's answers to API Gateway events that name no provider it serves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from functions.webhook_ingest.handler import handler
from shared import bootstrap


@dataclass
class Context:
    function_name: str = "webhook-ingest"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:webhook-ingest"
    aws_request_id: str = "request-1"


def _event(method: str, path: str, provider: str | None) -> dict[str, Any]:
    return {
        "resource": "/webhooks/{provider}",
        "httpMethod": method,
        "path": path,
        "pathParameters": {"provider": provider} if provider else None,
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": None,
        "body": "{}",
        "isBase64Encoded": False,
        "requestContext": {"requestId": "api-request-1"},
    }


@pytest.mark.parametrize(
    ("method", "path", "provider"),
    [("POST", "/webhooks/", None), ("GET", "/webhooks/quickbooks", "quickbooks")],
)
def test_a_request_outside_post_webhooks_provider_is_a_json_404_and_builds_nothing(
    method: str, path: str, provider: str | None
) -> None:
    # given no services built yet in this process
    bootstrap.override(None)
    # when API Gateway hands the handler a request that is not POST /webhooks/{provider}
    answer = handler(_event(method, path, provider), Context())
    # then it is answered 404 with the JSON reason every refused webhook gets, before anything is built
    assert answer["statusCode"] == 404
    assert answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"]) == {
        "error": "unknown_provider",
        "message": f"no webhook route for {path!r}",
    }
    assert bootstrap._services is None
