"""Every function in the wiring is deployed as declared: arm64, Python 3.12, its size, env and grants."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from infra.wiring import OAUTH_TOKENS, REPLAYED_NOTICES, REPLAYS, WIRING
from infra.wiring_model import Access, QueueTrigger

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("spec", WIRING.functions, ids=lambda f: f.name)
def test_each_wiring_function_is_deployed_as_declared(synth, spec):
    # given the wiring's declaration, when rendered, then the function has exactly that shape
    fn = synth.resources[synth.logical_id(synth.stack.functions.functions[spec.name])]
    props = fn["Properties"]
    assert props["Architectures"] == ["arm64"]
    assert props["Runtime"] == "python3.12"
    assert props["Handler"] == spec.handler
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_seconds
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props.get("ReservedConcurrentExecutions") == spec.reserved_concurrency
    env = props["Environment"]["Variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == spec.name
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "close2cash"
    assert "LOG_LEVEL" in env
    for use in spec.uses:
        assert use.env in env, f"{spec.name} lacks {use.env} for {use.resource}"


def test_all_functions_share_one_code_asset(synth):
    # the hub's functions; CDK's own AwsCustomResource provider (the Athena views) brings its own code
    hub = [synth.resources[synth.logical_id(fn)] for fn in synth.stack.functions.functions.values()]
    keys = {json.dumps(f["Properties"]["Code"]) for f in hub}
    assert len(keys) == 1
    assert len(synth.of_type("AWS::Lambda::Function")) == len(hub) + 1


def test_every_function_keeps_its_logs_for_a_bounded_time(synth):
    for name, fn in synth.stack.functions.functions.items():
        props = synth.resources[synth.logical_id(fn)]["Properties"]
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert synth.resources[log_group]["Properties"]["RetentionInDays"] > 0, name


def _actions_of(synth, fn_name):
    role_id = synth.logical_id(synth.stack.functions.functions[fn_name].role)
    actions = set()
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                acts = statement["Action"]
                actions.update([acts] if isinstance(acts, str) else acts)
    return actions


@pytest.mark.parametrize("spec", WIRING.functions, ids=lambda f: f.name)
def test_grants_follow_the_wiring_uses(synth, spec):
    # a function may publish to the bus only if the wiring says so, and reads its secret if it uses one
    actions = _actions_of(synth, spec.name)
    uses_bus = any(u.resource == WIRING.bus.name and u.access is Access.PUT for u in spec.uses)
    assert ("events:PutEvents" in actions) == uses_bus
    uses_secret = any(u.resource in {s.name for s in WIRING.secrets} for u in spec.uses)
    assert ("secretsmanager:GetSecretValue" in actions) == uses_secret
    writes_tables = any(
        u.access in (Access.WRITE, Access.READ_WRITE)
        for u in spec.uses
        if u.resource in {t.name for t in WIRING.tables}
    )
    assert ("dynamodb:PutItem" in actions) == writes_tables


def _statements_of(synth, fn_name):
    role_id = synth.logical_id(synth.stack.functions.functions[fn_name].role)
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            yield from policy["Properties"]["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("spec", WIRING.functions, ids=lambda f: f.name)
def test_only_the_functions_that_refresh_quickbooks_tokens_may_write_the_token_secret(synth, spec):
    # given the wiring says which functions write rotated OAuth tokens (those that call QuickBooks)
    writes = any(u.resource == OAUTH_TOKENS.name and u.access is Access.READ_WRITE for u in spec.uses)
    tokens_arn = {"Ref": synth.logical_id(synth.stack.state.secrets[OAUTH_TOKENS.name])}
    # when rendered, then exactly those may PutSecretValue, on that secret alone, and nobody may
    # change a secret's settings or version stages
    puts = [s for s in _statements_of(synth, spec.name) if "secretsmanager:PutSecretValue" in s["Action"]]
    assert bool(puts) == writes
    for statement in puts:
        assert statement["Action"] == "secretsmanager:PutSecretValue"
        assert statement["Resource"] == tokens_arn
    actions = _actions_of(synth, spec.name)
    assert not actions & {"secretsmanager:UpdateSecret", "secretsmanager:UpdateSecretVersionStage"}


def test_no_function_uses_the_broad_managed_execution_role(synth):
    for name, fn in synth.stack.functions.functions.items():
        role = synth.resources[synth.logical_id(fn.role)]
        assert "ManagedPolicyArns" not in role["Properties"], name


def test_sqs_event_sources_report_partial_batch_failures(synth):
    for spec in WIRING.functions:
        trigger = spec.trigger
        if not isinstance(trigger, QueueTrigger):
            continue
        queue_id = synth.logical_id(synth.stack.messaging.queues[trigger.queue])
        synth.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
                "FunctionName": {"Ref": synth.logical_id(synth.stack.functions.functions[spec.name])},
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "BatchSize": trigger.batch_size,
                "MaximumBatchingWindowInSeconds": trigger.max_batching_window_seconds or Match.absent(),
            },
        )


def test_queue_consumers_are_capped_at_the_wiring_concurrency(synth):
    # given the wiring caps account_sync (QuickBooks allows 10 concurrent requests per realm)
    capped = [
        spec
        for spec in WIRING.functions
        if isinstance(spec.trigger, QueueTrigger) and spec.trigger.max_concurrency is not None
    ]
    assert any(spec.name == "account_sync" for spec in capped)
    # when the stack is synthesized, then each event source mapping carries its cap
    for spec in capped:
        assert isinstance(spec.trigger, QueueTrigger)
        queue_id = synth.logical_id(synth.stack.messaging.queues[spec.trigger.queue])
        synth.template.has_resource_properties(
            "AWS::Lambda::EventSourceMapping",
            {
                "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
                "ScalingConfig": {"MaximumConcurrency": spec.trigger.max_concurrency},
            },
        )


def test_queue_consumers_may_delay_their_own_messages(synth):
    # given a consumer that puts a rate-limited message back for the vendor's Retry-After
    for spec in WIRING.functions:
        if isinstance(spec.trigger, QueueTrigger):
            # then its role may change the visibility of the messages it receives
            assert "sqs:ChangeMessageVisibility" in _actions_of(synth, spec.name)


def test_the_replay_function_may_replay_the_archive_and_drain_its_queue_only(synth):
    # given the wiring's replay function (invoked by `close2cash replay`, no trigger of its own)
    statements = list(_statements_of(synth, "replay"))
    archive_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.messaging.archive), "Arn"]}
    queue_arn = {"Fn::GetAtt": [synth.logical_id(synth.stack.messaging.queues[REPLAYED_NOTICES.name]), "Arn"]}

    def allowed(action):
        found = [
            s
            for s in statements
            if action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        ]
        return [
            r
            for s in found
            for r in ([s["Resource"]] if isinstance(s["Resource"], dict | str) else s["Resource"])
        ]

    # then it may start replays of the bus's archive under the hub's replay names, and describe those
    start = allowed("events:StartReplay")
    assert archive_arn in start
    replays = [r for r in start if r != archive_arn]
    assert len(replays) == 1 and "replay/c2c-replay-*" in json.dumps(replays[0])
    assert allowed("events:DescribeReplay") == replays
    # and receive and delete on the replayed-notices queue alone, and put nothing on the bus
    assert allowed("sqs:ReceiveMessage") == [queue_arn]
    assert allowed("sqs:DeleteMessage") == [queue_arn]
    assert "events:PutEvents" not in _actions_of(synth, "replay")
    fn_ref = {"Ref": synth.logical_id(synth.stack.functions.functions["replay"])}
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert all(m["Properties"]["FunctionName"] != fn_ref for m in mappings)
    # and its environment names the archive, the bus, the replays rule and the queue
    env = synth.resources[fn_ref["Ref"]]["Properties"]["Environment"]["Variables"]
    assert env["EVENT_ARCHIVE_ARN"] == archive_arn
    assert env["EVENT_BUS_ARN"] == {"Fn::GetAtt": [synth.logical_id(synth.stack.messaging.bus), "Arn"]}
    assert env["REPLAY_RULE_ARN"] == {
        "Fn::GetAtt": [synth.logical_id(synth.stack.messaging.rules[REPLAYS.name]), "Arn"]
    }
    assert env["REPLAY_QUEUE_URL"] == {
        "Ref": synth.logical_id(synth.stack.messaging.queues[REPLAYED_NOTICES.name])
    }


@pytest.mark.parametrize("spec", WIRING.functions, ids=lambda f: f.name)
def test_only_the_replay_function_may_replay(synth, spec):
    replays = any(u.access is Access.REPLAY for u in spec.uses)
    assert ("events:StartReplay" in _actions_of(synth, spec.name)) == replays
