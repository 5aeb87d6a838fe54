"""Renderer paths today's wiring does not use yet: schedules, task functions, workflow starts, queue sends."""

from __future__ import annotations

import dataclasses
import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.cdk.app import nag_packs
from infra.cdk.nag import acknowledge
from infra.cdk.stack import Close2CashStack
from infra.wiring import WIRING
from infra.wiring_model import Access, Function, ScheduleTrigger, StateMachine, TaskTrigger, Use

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    # given a wiring that adds a scheduled poller (starts the workflow, sends to a queue) and a task function
    folder = tmp_path_factory.mktemp("variant")
    asl = folder / "flow.asl.json"
    asl.write_text(
        json.dumps(
            {
                "StartAt": "Work",
                "States": {"Work": {"Type": "Task", "Resource": "${WorkFunctionArn}", "End": True}},
            }
        )
    )
    queue = WIRING.queues[0].name
    wiring = dataclasses.replace(
        WIRING,
        functions=(
            *WIRING.functions,
            Function(
                "poller",
                handler="functions.poller.handler.handler",
                trigger=ScheduleTrigger("rate(5 minutes)"),
                uses=(Use("flow", Access.START, "FLOW_ARN"), Use(queue, Access.SEND, "WORK_QUEUE_URL")),
                reserved_concurrency=1,
            ),
            Function("work", handler="functions.work.handler.handler", trigger=TaskTrigger()),
        ),
        state_machines=(
            *WIRING.state_machines,
            StateMachine("flow", definition=asl, substitutions={"WorkFunctionArn": "work"}),
        ),
    )
    app = cdk.App(outdir=str(folder / "cdk.out"))
    stack = Close2CashStack(app, "variant", wiring=wiring)
    acknowledge(stack)
    return stack, Template.from_stack(stack).to_json()


def test_scheduled_function_gets_a_schedule_and_a_dlq(variant):
    stack, template = variant
    fn_id = stack.resolve(stack.get_logical_id(stack.functions.functions["poller"].node.default_child))
    props = template["Resources"][fn_id]["Properties"]
    assert "DeadLetterConfig" in props
    assert props["ReservedConcurrentExecutions"] == 1
    rules = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    assert any(r.get("ScheduleExpression") == "rate(5 minutes)" for r in rules)


def test_uses_render_as_env_and_grants(variant):
    stack, template = variant
    fn_id = stack.resolve(stack.get_logical_id(stack.functions.functions["poller"].node.default_child))
    env = template["Resources"][fn_id]["Properties"]["Environment"]["Variables"]
    assert {"FLOW_ARN", "WORK_QUEUE_URL"} <= set(env)
    policies = json.dumps([r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Policy"])
    assert "states:StartExecution" in policies
    assert "sqs:SendMessage" in policies


def test_state_machine_substitutes_the_task_function_arn(variant):
    stack, template = variant
    machine = stack.workflows.state_machines["flow"]
    props = template["Resources"][stack.resolve(stack.get_logical_id(machine.node.default_child))][
        "Properties"
    ]
    work_id = stack.resolve(stack.get_logical_id(stack.functions.functions["work"].node.default_child))
    assert props["DefinitionSubstitutions"] == {"WorkFunctionArn": {"Fn::GetAtt": [work_id, "Arn"]}}


def test_variant_is_still_nag_clean(variant):
    stack, _ = variant
    findings = [
        f"{v.rule_name} at {r.construct_path}"
        for pack in nag_packs(None)
        for v in pack.validate_scope(stack).violations
        for r in v.violating_resources
    ]
    assert findings == []
