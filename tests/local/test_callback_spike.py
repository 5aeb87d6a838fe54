"""moto 5.2.5's ASL interpreter on lambda:invoke.waitForTaskToken, as the local runtime patches it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local.clock import Clock
from infra.local.runtime import LocalRuntime
from infra.wiring_model import Api, Bus, Function, StateMachine, TaskTrigger, Wiring
from tests.local import callback_fixture as fixture

HERE = Path(__file__).parent

SPIKE_WIRING = Wiring(
    stack_name="c2cspike",
    api=Api("spike-api", max_body_bytes=1024, throttle_rate_per_second=10, throttle_burst=10),
    bus=Bus("spikebus"),
    tables=(),
    queues=(),
    rules=(),
    secrets=(),
    functions=(Function("request", handler="tests.local.callback_fixture.request", trigger=TaskTrigger()),),
    state_machines=(
        StateMachine(
            "ask", definition=HERE / "callback.asl.json", substitutions={"RequestFunctionArn": "request"}
        ),
    ),
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(SPIKE_WIRING, secrets={}, clock=Clock(fast_forward=True)) as rt:
        yield rt


def _start(rt: LocalRuntime, case: str, *, timeout: int = 3600, heartbeat: int = 1800) -> str:
    fixture.reset()
    return rt.start_execution("ask", {"case": case, "timeout": timeout, "heartbeat": heartbeat}, name=case)


def _token(case: str, *, attempt: int = 1, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if fixture.count(case) >= attempt:
            return fixture.latest(case)
        time.sleep(0.02)
    raise AssertionError(f"{case}: the Task never invoked the request function ({attempt} times)")


def _finished(rt: LocalRuntime, arn: str, *, within: float = 20.0) -> dict[str, Any]:
    sfn = rt.clients.stepfunctions()
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running after {within} s")


def test_send_task_success_resumes_the_execution_with_the_output(runtime: LocalRuntime) -> None:
    # given an execution paused on the token its Task handed to the request function
    arn = _start(runtime, "approve")
    token = _token("approve")
    assert runtime.clients.stepfunctions().describe_execution(executionArn=arn)["status"] == "RUNNING"
    # when the token is answered with success
    runtime.clients.stepfunctions().send_task_success(taskToken=token, output=json.dumps({"by": "ops"}))
    # then the execution continues with that output at the ResultPath
    described = _finished(runtime, arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["answer"] == {"by": "ops"}


def test_send_task_failure_is_caught_by_its_error_name(runtime: LocalRuntime) -> None:
    arn = _start(runtime, "reject")
    runtime.clients.stepfunctions().send_task_failure(
        taskToken=_token("reject"), error="Rejected", cause="budget too high"
    )
    described = _finished(runtime, arn)
    output = json.loads(described["output"])
    assert described["status"] == "SUCCEEDED"
    assert output["outcome"] == "rejected"
    # (moto 5.2.5 drops the cause; moto_patches passes it on, as AWS does)
    assert output["error"] == {"Error": "Rejected", "Cause": "budget too high"}


def test_send_task_failure_with_a_retried_error_invokes_the_task_again_with_a_new_token(
    runtime: LocalRuntime,
) -> None:
    before = runtime.clock.offset_seconds
    arn = _start(runtime, "again")
    first = _token("again")
    runtime.clients.stepfunctions().send_task_failure(taskToken=first, error="AskAgain", cause="later")
    second = _token("again", attempt=2)
    # moto re-invokes the Task on Retry but keeps the first attempt's token (AWS issues a new one), so
    # the approval route must always use the token it was last given, never assume it changed
    assert second == first
    runtime.clients.stepfunctions().send_task_success(taskToken=second, output="{}")
    assert _finished(runtime, arn)["status"] == "SUCCEEDED"
    # the Retry interval went by on the fast-forward clock (moto_patches' retrier patch)
    assert runtime.clock.offset_seconds - before >= 30


def test_timeout_seconds_fails_the_task_with_states_timeout(runtime: LocalRuntime) -> None:
    # given a 5 s TimeoutSeconds (from the input, TimeoutSecondsPath) and only a heartbeat answering
    # (the 4 s heartbeat window leaves a loaded machine time to send it before the token lapses)
    started = time.monotonic()
    arn = _start(runtime, "silence", timeout=5, heartbeat=4)
    _token("silence")
    runtime.clients.stepfunctions().send_task_heartbeat(taskToken=fixture.latest("silence"))
    described = _finished(runtime, arn)
    output = json.loads(described["output"])
    assert output["outcome"] == "timed out"
    assert output["error"]["Error"] in ("States.Timeout", "States.HeartbeatTimeout")
    assert time.monotonic() - started < 30  # the timeout fired, not the hour of the default


def test_heartbeat_seconds_fails_a_task_nobody_heartbeats(runtime: LocalRuntime) -> None:
    arn = _start(runtime, "no-heartbeat", timeout=30, heartbeat=1)
    _token("no-heartbeat")
    described = _finished(runtime, arn)
    # moto names a missed heartbeat States.Timeout (AWS: States.HeartbeatTimeout): Catch both
    assert json.loads(described["output"])["error"]["Error"] == "States.Timeout"


def test_a_timeout_in_virtual_time_fires_when_the_clock_jumps(runtime: LocalRuntime) -> None:
    # given a one-day approval timeout
    arn = _start(runtime, "a-day", timeout=86400, heartbeat=86399)
    _token("a-day")
    # when the fast-forward clock jumps a day and a minute
    runtime.clock.advance(86400 + 60)
    # then the Task times out at once, not a day later in wall time
    described = _finished(runtime, arn, within=10)
    assert json.loads(described["output"])["error"]["Error"] in ("States.Timeout", "States.HeartbeatTimeout")
