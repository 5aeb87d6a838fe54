"""The webhook handler's cold start: what its import loads, and what verifying a webhook builds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.connectors.http import VendorHttp

ROOT = Path(__file__).resolve().parents[2]
# Lambda's environment as far as imports care: LAMBDA_TASK_ROOT turns Powertools Tracer on.
LAMBDA_ENV = {"LAMBDA_TASK_ROOT": str(ROOT), "AWS_LAMBDA_FUNCTION_NAME": "webhook-ingest"}
# The trace header Lambda sets for each invocation of a function with tracing Active.
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def _fresh_interpreter(code: str) -> dict[str, object]:
    env = {**os.environ, **LAMBDA_ENV}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    answer: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_importing_the_webhook_handler_loads_only_what_receiving_a_webhook_needs() -> None:
    # given a fresh interpreter set up as Lambda's, tracing on
    # when the webhook handler is imported (Lambda's init phase)
    loaded = _fresh_interpreter(
        "import json, sys, functions.webhook_ingest.handler\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'requests', 'shared', 'aws_xray_sdk', 'asyncio'))))"
    )
    modules = set(loaded)
    # then no vendor HTTP library and no landscape rules are loaded yet (X-Ray's patch-everything
    # default imported httpx and requests on every cold start), and X-Ray's recorder waits for the
    # first trace (the next test shows that trace is complete)
    assert not {m for m in modules if m.split(".")[0] in ("httpx", "requests", "aws_xray_sdk", "asyncio")}
    assert not {m for m in modules if m.startswith(("shared.governance", "shared.connectors"))}


def test_in_lambda_an_invocation_is_traced_with_its_aws_calls_and_vendor_calls_once_asked() -> None:
    # given a fresh interpreter set up as Lambda's (tracing on), with an X-Ray daemon listening
    # when a traced handler asks twice for vendor tracing and calls AWS (refused: nothing listens)
    traced = _fresh_interpreter(
        "import json, os, socket\n"
        "daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "daemon.bind(('127.0.0.1', 0)); daemon.settimeout(0.5)\n"
        "os.environ['AWS_XRAY_DAEMON_ADDRESS'] = '127.0.0.1:%d' % daemon.getsockname()[1]\n"
        f"os.environ['_X_AMZN_TRACE_ID'] = '{TRACE_HEADER}'\n"
        "import boto3, botocore.config, botocore.exceptions\n"
        "from shared.observability import trace_vendor_calls, tracer\n"
        "@tracer.capture_lambda_handler\n"
        "def handler(event, context):\n"
        "    trace_vendor_calls(); trace_vendor_calls()\n"
        "    config = botocore.config.Config(retries={'total_max_attempts': 1}, connect_timeout=1)\n"
        "    client = boto3.client('dynamodb', region_name='us-east-1', endpoint_url='http://127.0.0.1:9',"
        " aws_access_key_id='x', aws_secret_access_key='y', config=config)\n"
        "    try:\n"
        "        client.list_tables()\n"
        "    except botocore.exceptions.BotoCoreError:\n"
        "        pass\n"
        "handler({}, None)\n"
        "from aws_xray_sdk.core.patcher import _PATCHED_MODULES\n"
        "sent = []\n"
        "while True:\n"
        "    try:\n"
        "        sent.append(json.loads(daemon.recv(65535).split(b'\\n', 1)[1]))\n"
        "    except socket.timeout:\n"
        "        break\n"
        "print(json.dumps({'sent': sorted(doc['name'] for doc in sent),"
        " 'traces': sorted({doc['trace_id'] for doc in sent}), 'patched': sorted(_PATCHED_MODULES)}))"
    )
    # then the daemon got the handler's subsegment and the AWS call's, under the invocation's trace,
    # and httpx is traced from then on (patched once however often it is asked)
    assert traced == {
        "sent": ["## handler", "dynamodb"],
        "traces": [TRACE_HEADER.split(";")[0].removeprefix("Root=")],
        "patched": ["botocore", "httpx"],
    }


def test_verifying_a_webhook_builds_no_connector_and_loads_no_vendor_client() -> None:
    # given the composition root of a fresh interpreter, with a QuickBooks connection in its secret
    # when it verifies and parses one signed QuickBooks notice (the webhook handler's first invocation)
    answer = _fresh_interpreter(
        "import json, sys\n"
        "from shared.bootstrap import Services\n"
        "from shared.connectors.quickbooks.webhooks import SIGNATURE_HEADER, sign\n"
        "from shared.domain.models import SystemName\n"
        "from shared.domain.intake_ports import WebhookRequest\n"
        "from shared.settings import Settings\n"
        "conn = {'client_id': 'c', 'client_secret': 's', 'refresh_token': 'r', 'realm_id': '9130',"
        " 'verifier_token': 'v'}\n"
        "settings = Settings(ledger_table='ledger', connections_secret='connections')\n"
        "services = Services(settings=settings, secrets_loader=lambda name: {'quickbooks': conn})\n"
        "entity = {'name': 'Customer', 'id': '7', 'operation': 'Update',"
        " 'lastUpdated': '2026-12-01T10:00:00.000Z'}\n"
        "body = json.dumps({'eventNotifications': [{'realmId': '9130',"
        " 'dataChangeEvent': {'entities': [entity]}}]}).encode()\n"
        "request = WebhookRequest(method='POST', path='/webhooks/quickbooks', query={},"
        " headers={SIGNATURE_HEADER: sign('v', body)}, body=body)\n"
        "received = services.receiver(SystemName.QUICKBOOKS).receive(request)\n"
        "print(json.dumps({'notices': [n.record_id for n in received.notices],"
        " 'built': sorted(s.value for s in services._connectors),"
        " 'modules': sorted(m for m in sys.modules if m.split('.')[0] == 'httpx' or m in"
        " ('shared.connectors.quickbooks.client', 'shared.connectors.quickbooks.mapper',"
        " 'shared.connectors.quickbooks.schemas', 'shared.aws.tokens', 'shared.aws.budget'))}))"
    )
    # then the notice is read, and no connector was built: no API client, httpx, payload models,
    # token store or rate budget (a connector is built by the worker that fetches the record)
    assert answer == {"notices": ["7"], "built": [], "modules": []}


def test_a_vendor_client_is_made_on_its_first_call_not_when_the_connector_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    real = httpx.Client

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kwargs: object) -> None:
            made.append(str(kwargs.get("base_url")))
            super().__init__(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx, "Client", Counted)
    # given a vendor's HTTP client as a connector builds it (a webhook is verified without it)
    http = VendorHttp(
        vendor="acme", base_url="http://acme", transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    # then no httpx client (and so no TLS context) exists yet
    assert made == []
    # when it calls the vendor twice, then one client serves both calls
    http.request("GET", "/things")
    http.request("GET", "/things")
    assert made == ["http://acme"]
    http.close()
