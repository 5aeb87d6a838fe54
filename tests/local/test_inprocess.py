"""The same provisioning under in-process mock_aws, and the real wiring renders on this machine."""

from __future__ import annotations

import json

import boto3

from infra.local.runtime import LocalRuntime
from infra.wiring import WIRING
from tests.local import handlers_fixture as handlers
from tests.local.test_runtime import TEST_WIRING


def test_inprocess_mode_runs_queue_and_step_functions_without_a_server() -> None:
    handlers.reset()
    with LocalRuntime(TEST_WIRING, secrets={}, mode="inprocess") as rt:
        # given a message on the work queue and an execution started
        sqs = boto3.client("sqs", region_name="us-east-1")
        sqs.send_message(
            QueueUrl=rt.resources.queues["work"].url, MessageBody=json.dumps({"detail": {"n": 1}})
        )
        arn = rt.start_execution("flow", {"order": "in-1"}, name="in-1")
        # when the runtime drains
        report = rt.drain(timeout=20)
        status = boto3.client("stepfunctions", region_name="us-east-1").describe_execution(executionArn=arn)
    # then both were handled in this process
    assert report.drained and report.processed == 1
    assert status["status"] == "SUCCEEDED"


def test_the_real_wiring_provisions_and_gives_each_function_its_environment() -> None:
    with LocalRuntime(WIRING, secrets={"connections": {}}, mode="inprocess") as rt:
        env = rt.resources.env()
        tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
    for function in WIRING.functions:
        for use in function.uses:
            assert env[use.env], f"{function.name}: {use.env} is empty"
    assert sorted(tables) == sorted(f"close2cash-{t.name}" for t in WIRING.tables)
    assert env["EVENT_BUS_NAME"] == "close2cash"
