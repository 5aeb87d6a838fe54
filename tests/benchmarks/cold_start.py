"""The webhook handler's cold start against the local runtime: import, then its first QuickBooks notice.

QuickBooks is the tightest deadline (an answer within 3 s, import and first invocation included).
https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from infra.local.environment import LocalEnvironment
from infra.wiring import WIRING
from shared.connectors.quickbooks.webhooks import SIGNATURE_HEADER, sign
from tests.benchmarks.imports import FirstInvocation, first_invocation


def quickbooks_notice_event(verifier_token: str, realm: str, n: int) -> str:
    """An API Gateway REST proxy event carrying one signed QuickBooks Customer notice."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    entity = {"name": "Customer", "id": str(700000 + n), "operation": "Update", "lastUpdated": stamp}
    body = json.dumps({"eventNotifications": [{"realmId": realm, "dataChangeEvent": {"entities": [entity]}}]})
    request_id = str(uuid.uuid4())
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(verifier_token, body.encode())}
    return json.dumps(
        {
            "resource": "/webhooks/{provider}",
            "path": "/webhooks/quickbooks",
            "httpMethod": "POST",
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"provider": "quickbooks"},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/webhooks/{provider}",
                "httpMethod": "POST",
                "requestId": request_id,
                "path": "/prod/webhooks/quickbooks",
                "stage": "prod",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "body": body,
            "isBase64Encoded": False,
        }
    )


def measure(env: LocalEnvironment) -> FirstInvocation:
    """Cold starts of webhook_ingest, each answering one fresh QuickBooks notice."""
    connection = env.connections()["quickbooks"]
    handler = WIRING.function("webhook_ingest").handler
    return first_invocation(
        handler,
        lambda n: quickbooks_notice_event(connection["verifier_token"], connection["realm_id"], n),
    )
