"""The webhook API: the wiring's routes, proxied to their function, throttled, logged and traced."""

from __future__ import annotations

import re

import pytest

from infra.wiring import WIRING, ApiTrigger

pytestmark = pytest.mark.infra

ROUTES = [
    (f.name, method, path)
    for f in WIRING.functions
    if isinstance(f.trigger, ApiTrigger)
    for method, path in f.trigger.routes
]


def _resource_path(synth, resource_id):
    """Rebuild `/a/{b}` from the chain of AWS::ApiGateway::Resource parents."""
    parts = []
    while resource_id is not None and resource_id in synth.resources:
        props = synth.resources[resource_id]["Properties"]
        parts.append(props["PathPart"])
        parent = props["ParentId"]
        resource_id = parent.get("Ref")
    return "/" + "/".join(reversed(parts))


@pytest.mark.parametrize(("fn_name", "method", "path"), ROUTES)
def test_each_route_is_a_lambda_proxy_to_its_function(synth, fn_name, method, path):
    fn_id = synth.logical_id(synth.stack.functions.functions[fn_name])
    matches = [
        m["Properties"]
        for m in synth.of_type("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == method
        and _resource_path(synth, m["Properties"]["ResourceId"]["Ref"]) == path
    ]
    assert len(matches) == 1, f"{method} {path} not found exactly once"
    method_props = matches[0]
    assert method_props["Integration"]["Type"] == "AWS_PROXY"
    assert fn_id in str(method_props["Integration"]["Uri"])
    # path parameters are required, and API Gateway checks them before the function runs
    params = {f"method.request.path.{name}": True for name in re.findall(r"\{(\w+)\}", path)}
    if not params:
        assert "RequestParameters" not in method_props
        return
    assert method_props["RequestParameters"] == params
    validator = synth.resources[method_props["RequestValidatorId"]["Ref"]]["Properties"]
    assert validator["ValidateRequestParameters"] is True


def test_webhook_route_is_declared():
    assert ("webhook_ingest", "POST", "/webhooks/{provider}") in ROUTES


def test_approval_routes_are_declared():
    assert {(m, p) for f, m, p in ROUTES if f == "approvals_api"} == {
        ("GET", "/approvals"),
        ("POST", "/approvals/{approval_id}/approve"),
        ("POST", "/approvals/{approval_id}/reject"),
    }


def test_stage_is_throttled_logged_and_traced(synth):
    [stage] = synth.of_type("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    [settings] = props["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == WIRING.api.throttle_rate_per_second
    assert settings["ThrottlingBurstLimit"] == WIRING.api.throttle_burst
    assert settings["DataTraceEnabled"] is False
    assert "DestinationArn" in props["AccessLogSetting"]
    assert props["TracingEnabled"] is True
