"""The webhook API: the wiring's routes, proxied to their function, throttled, logged and traced."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest

from infra.wiring import WIRING
from infra.wiring_model import ApiTrigger

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


def _acknowledged(construct) -> set[str]:
    """The cdk-nag rules acknowledged on `construct` or any scope above it (they apply downwards)."""
    rules: set[str] = set()
    for scope in construct.node.scopes:
        for entry in scope.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                rules |= {key.removeprefix("Annotation::") for key in entry.data}
    return rules


def test_approval_routes_need_a_token_of_the_approvers_user_pool_and_webhooks_stay_open(synth):
    # given the synthesized API
    methods = synth.of_type("AWS::ApiGateway::Method")
    [authorizer_id] = synth.of_type("AWS::ApiGateway::Authorizer")
    authorizer = synth.resources[authorizer_id]["Properties"]
    pool_id = synth.logical_id(synth.stack.api.user_pools["approvers"])
    # then the authorizer is API Gateway's Cognito one, on the approvers' pool, reading Authorization
    assert authorizer["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert [arn["Fn::GetAtt"][0] for arn in authorizer["ProviderARNs"]] == [pool_id]
    for props in (m["Properties"] for m in methods.values()):
        path = _resource_path(synth, props["ResourceId"]["Ref"])
        if path.startswith("/approvals"):
            # and every approval route is behind it
            assert props["AuthorizationType"] == "COGNITO_USER_POOLS", path
            assert props["AuthorizerId"] == {"Ref": authorizer_id}, path
        else:
            # while vendors reach the webhook route without one (they sign the body instead)
            assert path == "/webhooks/{provider}"
            assert props.get("AuthorizationType", "NONE") == "NONE"


def test_approvers_are_invited_not_self_signed_up_with_mfa_and_strong_passwords(synth):
    props = synth.resources[synth.logical_id(synth.stack.api.user_pools["approvers"])]["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["MfaConfiguration"] == "ON"
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )


def test_only_the_webhook_route_is_acknowledged_as_unauthenticated(synth):
    # "no authorization" (APIG4) and "no Cognito authorizer" (COG4) are true of the webhook route only
    for (method, path), (construct, pool) in synth.stack.api.methods.items():
        open_rules = {"AwsSolutions-APIG4", "AwsSolutions-COG4"} & _acknowledged(construct)
        if pool is None:
            assert open_rules == {"AwsSolutions-APIG4", "AwsSolutions-COG4"}, (method, path)
        else:
            assert open_rules == set(), (method, path)


def test_the_stack_outputs_what_an_operator_needs_to_invite_and_sign_in_approvers(synth):
    outputs = synth.template.to_json()["Outputs"]
    pool = synth.stack.api.user_pools["approvers"]
    assert outputs["ApproversUserPoolId"]["Value"] == {"Ref": synth.logical_id(pool)}
    assert "ApproversUserPoolClientId" in outputs
