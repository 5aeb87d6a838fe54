"""The local runtime renders a wiring on moto's server: API front, queues, bus, schedules, Step Functions."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from infra.local.clock import Clock
from infra.local.runtime import LocalRuntime
from infra.wiring_model import (
    Access,
    Api,
    ApiTrigger,
    Bus,
    Function,
    Queue,
    QueueTrigger,
    Rule,
    ScheduleTrigger,
    Secret,
    StateMachine,
    Table,
    TaskTrigger,
    Wiring,
)
from tests.local import handlers_fixture as handlers

HERE = Path(__file__).parent
STORE = Table("store", ttl_attribute="expires_at")
BUS = Bus("testbus")
WORK = Queue("work", max_receive_count=2)
CREDS = Secret("creds", "test credentials")

TEST_WIRING = Wiring(
    stack_name="c2ctest",
    api=Api("test-api", max_body_bytes=1024, throttle_rate_per_second=10, throttle_burst=10),
    bus=BUS,
    tables=(STORE,),
    queues=(WORK,),
    rules=(Rule("work-rule", bus=BUS.name, pattern={"source": ["test.source"]}, queue=WORK.name),),
    secrets=(CREDS,),
    functions=(
        Function(
            "api",
            handler="tests.local.handlers_fixture.api",
            trigger=ApiTrigger((("POST", "/hooks/{provider}"), ("GET", "/items/{item_id}"))),
            uses=(STORE.use(Access.READ_WRITE, "STORE_TABLE"), BUS.use(Access.PUT, "EVENT_BUS_NAME")),
            timeout_seconds=5,
        ),
        Function(
            "worker",
            handler="tests.local.handlers_fixture.worker",
            trigger=QueueTrigger(WORK.name, batch_size=3, max_batching_window_seconds=1),
            uses=(STORE.use(Access.READ_WRITE, "STORE_TABLE"), CREDS.use(Access.READ, "CREDS_SECRET")),
            timeout_seconds=10,
        ),
        Function(
            "ticker",
            handler="tests.local.handlers_fixture.ticker",
            trigger=ScheduleTrigger("rate(5 minutes)"),
        ),
        Function("flaky", handler="tests.local.handlers_fixture.flaky", trigger=TaskTrigger()),
    ),
    state_machines=(
        StateMachine("flow", definition=HERE / "flaky.asl.json", substitutions={"FlakyFunctionArn": "flaky"}),
    ),
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(
        TEST_WIRING, secrets={"creds": {"crm": {"token": "t"}}}, clock=Clock(fast_forward=True)
    ) as rt:
        yield rt


@pytest.fixture(autouse=True)
def _clean() -> None:
    handlers.reset()


def _client(rt: LocalRuntime, service: str):
    return boto3.client(
        service,
        endpoint_url=rt.moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_aws_cli_style_access_lists_the_provisioned_resources(runtime: LocalRuntime) -> None:
    # given a started runtime / when a client points at its moto endpoint
    tables = _client(runtime, "dynamodb").list_tables()["TableNames"]
    queues = _client(runtime, "sqs").list_queues()["QueueUrls"]
    secret = _client(runtime, "secretsmanager").get_secret_value(SecretId="c2ctest-creds")
    # then the physical, stack-prefixed resources are there, with the local secrets file's content
    assert tables == ["c2ctest-store"]
    assert sorted(q.rsplit("/", 1)[1] for q in queues) == ["c2ctest-work", "c2ctest-work-dlq"]
    assert json.loads(secret["SecretString"]) == {"crm": {"token": "t"}}
    attrs = _client(runtime, "sqs").get_queue_attributes(
        QueueUrl=runtime.resources.queues["work"].url, AttributeNames=["All"]
    )["Attributes"]
    assert attrs["VisibilityTimeout"] == "60"  # 6 x the worker's 10 s timeout
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] in (2, "2")


def test_handlers_see_the_environment_their_uses_declare(runtime: LocalRuntime) -> None:
    env = runtime.resources.env("worker")
    assert env["STORE_TABLE"] == "c2ctest-store"
    assert env["CREDS_SECRET"] == "c2ctest-creds"
    assert env["AWS_ENDPOINT_URL"] == runtime.moto_endpoint
    assert runtime.resources.env("api")["EVENT_BUS_NAME"] == "c2ctest-testbus"


def test_api_front_round_trips_text_and_raw_bytes(runtime: LocalRuntime) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=runtime.api_wsgi), base_url="http://local") as http:
        # when a webhook posts text, then the handler gets it unchanged, not base64
        text = http.post(
            "/hooks/xero?a=1&a=2&b=3", content="héllo {}".encode(), headers={"X-Signature": "s1"}
        )
        # when it posts bytes that are not UTF-8, then the handler gets them base64-encoded
        raw = b"\xff\xfe\x00signed"
        binary = http.post("/hooks/quickbooks", content=raw)
        # when the route is unknown, then 404 "no route" and no handler runs
        missing = http.post("/nowhere")
        wrong_method = http.get("/hooks/xero")
    assert text.status_code == 201
    echoed = text.json()
    assert echoed["body"] == "héllo {}" and echoed["isBase64Encoded"] is False
    assert echoed["pathParameters"] == {"provider": "xero"}
    assert echoed["resource"] == "/hooks/{provider}" and echoed["path"] == "/hooks/xero"
    assert echoed["query"] == {"a": "2", "b": "3"} and echoed["multiQuery"] == {"a": ["1", "2"], "b": ["3"]}
    assert echoed["signature"] == "s1" and echoed["table"] == "c2ctest-store"
    assert text.headers["X-Function"] == "c2ctest-api"
    assert text.headers.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert binary.json()["isBase64Encoded"] is True
    assert base64.b64decode(binary.json()["body"]) == raw
    assert missing.status_code == 404 and missing.json() == {"message": "no route"}
    assert wrong_method.status_code == 404


def test_api_is_served_on_a_loopback_port(runtime: LocalRuntime) -> None:
    base = runtime.serve_api()
    assert base.startswith("http://127.0.0.1:")
    response = httpx.get(f"{base}/items/42", timeout=5)
    assert response.status_code == 201
    assert response.json()["pathParameters"] == {"item_id": "42"} and response.json()["body"] is None


def test_bus_rule_delivers_to_the_queue_and_the_worker_gets_batches_of_at_most_three(
    runtime: LocalRuntime,
) -> None:
    # given 7 events put on the bus that match the rule, and one that does not
    entries = [
        {
            "Source": "test.source",
            "DetailType": "t",
            "Detail": json.dumps({"n": i}),
            "EventBusName": "c2ctest-testbus",
        }
        for i in range(7)
    ]
    entries.append({"Source": "other", "DetailType": "t", "Detail": "{}", "EventBusName": "c2ctest-testbus"})
    _client(runtime, "events").put_events(Entries=entries)
    # when the runtime drains
    report = runtime.drain(timeout=20)
    # then every matching event reached the worker once, in batches the trigger allows
    assert report.drained
    assert sorted(json.loads(r["body"])["detail"]["n"] for b in handlers.batches for r in b) == list(range(7))
    assert max(len(b) for b in handlers.batches) <= 3
    assert report.processed == 7 and report.failed == 0
    record = handlers.batches[0][0]
    assert (
        record["eventSource"] == "aws:sqs"
        and record["eventSourceARN"] == runtime.resources.queues["work"].arn
    )
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_partial_batch_failure_redelivers_only_the_failed_message_then_dead_letters_it(
    runtime: LocalRuntime,
) -> None:
    # given a batch of three where one message fails every time
    sqs = _client(runtime, "sqs")
    queue = runtime.resources.queues["work"]
    for detail in ({"n": 1}, {"n": 2, "fail": True}, {"n": 3}):
        sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({"detail": detail}))
    # when the runtime drains (the visibility timeout is fast-forwarded)
    report = runtime.drain(timeout=20)
    # then the good ones were handled once, the bad one maxReceiveCount times, and it sits in the DLQ
    seen = [json.loads(r["body"])["detail"]["n"] for b in handlers.batches for r in b]
    assert sorted(seen) == [1, 2, 2, 3]
    assert report.drained and report.processed == 2 and report.failed == 2 and report.sent_to_dlq == 1
    dead = sqs.receive_message(QueueUrl=queue.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["n"] for m in dead] == [2]


def test_step_functions_retry_completes_fast_on_the_fast_forward_clock(runtime: LocalRuntime) -> None:
    # given a state machine whose Task fails once (Retry after 60 s) and then waits an hour
    before = runtime.clock.offset_seconds
    # (counted from before the start: the first Task may run before drain() begins to count)
    invoked = runtime.invocations["flaky"]
    arn = runtime.start_execution("flow", {"order": "o-1"}, name="order-o-1")
    # when the runtime drains (it waits for running executions)
    report = runtime.drain(timeout=20)
    # then the execution succeeded after two calls, and the clock jumped instead of the test sleeping
    sfn = _client(runtime, "stepfunctions")
    described = sfn.describe_execution(executionArn=arn)
    assert report.drained and report.elapsed_seconds < 10
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["done"] is True
    assert arn.endswith(":order-o-1")
    assert len(handlers.flaky_calls) == 2 and runtime.invocations["flaky"] - invoked == 2
    assert runtime.clock.offset_seconds - before >= 60 + 3600


def test_scheduler_fires_a_rate_schedule_when_the_clock_advances(runtime: LocalRuntime) -> None:
    assert runtime.scheduler is not None
    # given whatever earlier tests' clock jumps made due has fired, and nothing is due now
    runtime.scheduler.tick()
    handlers.reset()
    assert runtime.scheduler.tick() == []
    # when five minutes pass on the clock
    runtime.clock.advance(5 * 60 + 1)
    fired = runtime.scheduler.tick()
    # then the schedule fired once with an EventBridge scheduled event
    assert fired == ["ticker"] and len(handlers.ticks) == 1
    event = handlers.ticks[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/c2ctest-ticker-schedule")
    assert runtime.scheduler.tick() == []


def test_a_handler_exception_fails_the_whole_batch_and_is_reported(runtime: LocalRuntime) -> None:
    sqs = _client(runtime, "sqs")
    queue = runtime.resources.queues["work"]
    sqs.send_message(QueueUrl=queue.url, MessageBody=json.dumps({"detail": {"n": 9, "explode": True}}))
    report = runtime.drain(timeout=20)
    assert report.drained and report.processed == 0 and report.sent_to_dlq == 1
    assert report.errors and "worker crashed" in report.errors[0]
    dead = sqs.receive_message(QueueUrl=queue.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["n"] for m in dead] == [9]


def test_background_mode_consumes_the_queue_until_stopped(runtime: LocalRuntime) -> None:
    sqs = _client(runtime, "sqs")
    runtime.start_background(interval=0.02)
    try:
        sqs.send_message(
            QueueUrl=runtime.resources.queues["work"].url, MessageBody=json.dumps({"detail": {"n": 5}})
        )
        deadline = time.monotonic() + 10
        while not handlers.batches and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        runtime.stop_background()
    assert [json.loads(r["body"])["detail"]["n"] for b in handlers.batches for r in b] == [5]
