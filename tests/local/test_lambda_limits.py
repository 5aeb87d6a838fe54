"""The local runtime runs functions as Lambda does: timeouts enforced, max_concurrency batches at once."""

from __future__ import annotations

import json
import threading
import time

from infra.local.clock import Clock
from infra.local.runtime import DrainReport, LocalRuntime
from infra.wiring_model import Api, Bus, Function, Queue, QueueTrigger, Wiring
from tests.local import handlers_fixture as handlers

SLOW = Queue("slow-work", max_receive_count=3)
BUSY = Queue("busy-work")
FAILING = Queue("failing-work")
WIRING = Wiring(
    stack_name="c2ctimeout",
    api=Api("test-api", max_body_bytes=1024, throttle_rate_per_second=10, throttle_burst=10),
    bus=Bus("testbus"),
    tables=(),
    queues=(SLOW, BUSY, FAILING),
    rules=(),
    secrets=(),
    functions=(
        Function(
            "slow",
            handler="tests.local.handlers_fixture.slow",
            trigger=QueueTrigger(SLOW.name, batch_size=1),
            timeout_seconds=1,
        ),
        Function(
            "busy",
            handler="tests.local.handlers_fixture.busy",
            trigger=QueueTrigger(BUSY.name, batch_size=1, max_concurrency=2),
        ),
        Function(
            "fails_first",
            handler="tests.local.handlers_fixture.fails_first",
            trigger=QueueTrigger(FAILING.name, batch_size=1, max_concurrency=2),
        ),
    ),
    state_machines=(),
)


def test_an_invocation_past_its_timeout_fails_and_its_message_comes_back() -> None:
    handlers.reset()
    with LocalRuntime(WIRING, secrets={}, mode="inprocess", clock=Clock(fast_forward=True)) as rt:
        # given a message whose first delivery makes the function work for 10 s (its timeout is 1 s)
        queue = rt.resources.queues[SLOW.name]
        sent = rt.clients.sqs().send_message(QueueUrl=queue.url, MessageBody=json.dumps({"n": 1}))
        # when the runtime delivers it
        before = rt.clock.time()
        report = rt.drain(timeout=30)
        time.sleep(0.2)  # what the stopped handler would still do, had it not been stopped
        # then the first invocation failed as Lambda fails it, at the timeout
        assert report.errors == ("slow: TaskTimedOut: Task timed out after 1.00 seconds",)
        # and the message came back after the queue's visibility timeout and was handled the second time
        assert report.invocations == {"slow": 2}
        assert (report.failed, report.processed, report.sent_to_dlq) == (1, 1, 0)
        assert rt.clock.time() - before >= queue.visibility_timeout
        # and the timed-out handler was stopped: it never finished its work
        assert handlers.slow_marks == [f"finished {sent['MessageId']}"]


def test_a_consumer_never_runs_more_batches_at_once_than_its_max_concurrency() -> None:
    handlers.reset()
    with LocalRuntime(WIRING, secrets={}, mode="inprocess", clock=Clock(fast_forward=True)) as rt:
        # given six messages for a consumer capped at 2 concurrent batches of 1
        queue = rt.resources.queues[BUSY.name]
        for n in range(6):
            rt.clients.sqs().send_message(QueueUrl=queue.url, MessageBody=json.dumps({"n": n}))
        # when the runtime works through them
        report = rt.drain(timeout=30)
        # then all were handled, two at a time and never more
        assert (report.processed, report.invocations) == (6, {"busy": 6})
        assert max(handlers.running) == 2


def test_batches_that_fail_side_by_side_come_back_and_are_handled() -> None:
    handlers.reset()
    with LocalRuntime(WIRING, secrets={}, mode="inprocess", clock=Clock(fast_forward=True)) as rt:
        # given two messages for a consumer capped at 2 concurrent batches, each failing its first delivery
        queue = rt.resources.queues[FAILING.name]
        for n in range(2):
            rt.clients.sqs().send_message(QueueUrl=queue.url, MessageBody=json.dumps({"n": n}))
        # when the runtime works through them (two failing batches at once)
        reports: list[DrainReport] = []
        worker = threading.Thread(target=lambda: reports.append(rt.drain(timeout=30)), daemon=True)
        worker.start()
        worker.join(timeout=60)
        # then the runtime did not hang on the failures, and each message came back and was handled
        assert not worker.is_alive(), "the pollers hung on two failing batches"
        report = reports[0]
        assert (report.processed, report.failed) == (2, 2)
        assert len(report.errors) == 2
