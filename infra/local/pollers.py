"""SQS pollers with Lambda's event source mapping semantics (moto's own ESM is unbatched, all-or-nothing)."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from infra.local.clock import Clock
from infra.local.moto_patches import Invoker, take_consumer_visibility
from infra.local.provision import QueueResource
from infra.wiring_model import Function, QueueTrigger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

LOG = logging.getLogger(__name__)
SQS_MAX_RECEIVE = 10  # ReceiveMessage returns at most 10 messages per call


@dataclass
class PollerStats:
    """Cumulative counts of one poller."""

    batches: int = 0
    received: int = 0
    processed: int = 0  # succeeded and deleted
    failed: int = 0  # reported failed (batchItemFailures) or in a batch whose handler raised
    sent_to_dlq: int = 0  # failed on their last allowed receive: the next receive redrives them
    errors: list[str] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)  # visibility timeouts handlers set on failed messages
    peak_concurrency: int = 0  # most batches invoked at once


@dataclass(frozen=True)
class _Pending:
    receipt_handle: str
    visible_at: float  # virtual time
    last_attempt: bool


def _attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    binary = value.get("BinaryValue")
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": base64.b64encode(binary).decode("ascii") if binary is not None else None,
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(b).decode("ascii") for b in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }


def sqs_record(message: MessageTypeDef, *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event, from a ReceiveMessage result."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {k: _attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(result: Any, batch_ids: Sequence[str]) -> set[str]:
    """Ids to retry from a handler's response, as Lambda reads ReportBatchItemFailures.

    An empty/None result or one without failures means all succeeded; a malformed failure entry (no
    itemIdentifier, or one not in the batch) makes Lambda treat the whole batch as failed.
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
    """
    if not isinstance(result, dict):
        return set()
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    ids: set[str] = set()
    for failure in failures:
        item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not item or item not in batch_ids:
            return set(batch_ids)
        ids.add(item)
    return ids


class QueuePoller:
    """Polls one queue for the function it triggers, the way Lambda's SQS event source mapping does."""

    def __init__(
        self,
        function: Function,
        queue: QueueResource,
        *,
        sqs: SQSClient,
        invoker: Invoker,
        clock: Clock,
        region: str,
    ) -> None:
        if not isinstance(function.trigger, QueueTrigger):
            raise TypeError(f"function {function.name!r} is not triggered by a queue")
        self.function = function
        self.trigger: QueueTrigger = function.trigger
        self.queue = queue
        self.stats = PollerStats()
        self._sqs = sqs
        self._invoker = invoker
        self._clock = clock
        self._region = region
        self._pending: list[_Pending] = []
        self._lock = threading.RLock()
        # Batches run in worker threads while poll_once holds _lock: they record errors under their own.
        self._errors_lock = threading.Lock()

    def _receive_batch(self) -> list[MessageTypeDef]:
        batch: list[MessageTypeDef] = []
        window_end = time.monotonic() + self.trigger.max_batching_window_seconds
        while len(batch) < self.trigger.batch_size:
            got = self._sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(SQS_MAX_RECEIVE, self.trigger.batch_size - len(batch)),
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            batch.extend(got)
            if got:
                continue
            # Lambda waits up to the batching window for a fuller batch; fast-forwarding skips the wait.
            if not batch or self._clock.fast_forward or time.monotonic() >= window_end:
                break
            time.sleep(0.02)
        return batch

    @property
    def concurrency(self) -> int:
        """Batches invoked at once: the trigger's max_concurrency (Lambda scales up to it), else 1."""
        return self.trigger.max_concurrency or 1

    def _invoke(self, batch: list[MessageTypeDef]) -> set[str]:
        """Invoke the handler with one batch; returns the ids of the messages that failed."""
        event = {"Records": [sqs_record(m, queue_arn=self.queue.arn, region=self._region) for m in batch]}
        ids = [m["MessageId"] for m in batch]
        try:
            return failed_message_ids(self._invoker.invoke(self.function.name, event), ids)
        except Exception as exc:
            # A handler exception (or a timeout) fails the whole batch: every message comes back.
            LOG.exception(
                "function %s failed a batch of %d from %s", self.function.name, len(batch), self.queue.name
            )
            with self._errors_lock:
                self.stats.errors.append(f"{self.function.name}: {type(exc).__name__}: {exc}")
            return set(ids)

    def poll_once(self) -> int:
        """Receive up to `concurrency` batches, invoke them at once, settle each; returns the messages."""
        with self._lock:
            batches: list[list[MessageTypeDef]] = []
            while len(batches) < self.concurrency:
                batch = self._receive_batch()
                if not batch:
                    break
                batches.append(batch)
                if len(batch) < self.trigger.batch_size:
                    break  # the queue is drained for now: no second batch to run beside this one
            if not batches:
                return 0
            self.stats.batches += len(batches)
            self.stats.received += sum(len(b) for b in batches)
            self.stats.peak_concurrency = max(self.stats.peak_concurrency, len(batches))
            if len(batches) == 1:
                outcomes = [self._invoke(batches[0])]
            else:
                with ThreadPoolExecutor(len(batches), thread_name_prefix=f"esm:{self.function.name}") as pool:
                    outcomes = list(pool.map(self._invoke, batches))
            for batch, failed in zip(batches, outcomes, strict=True):
                self._settle(batch, failed)
            return sum(len(b) for b in batches)

    def _settle(self, batch: list[MessageTypeDef], failed: set[str]) -> None:
        done = [m for m in batch if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_RECEIVE):
            chunk = done[start : start + SQS_MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        self.stats.processed += len(done)
        visible_at = self._clock.time() + self.queue.visibility_timeout
        for message in batch:
            if message["MessageId"] not in failed:
                continue
            self.stats.failed += 1
            count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            # The failed message stays invisible for the queue's visibility timeout (on our clock),
            # or for as long as the handler asked with ChangeMessageVisibility (a Retry-After).
            asked = take_consumer_visibility(message["ReceiptHandle"])
            if asked is not None:
                self.stats.delays.append(round(asked - self._clock.time(), 1))
            self._pending.append(
                _Pending(
                    message["ReceiptHandle"],
                    visible_at if asked is None else asked,
                    count >= self.queue.max_receive_count,
                )
            )

    def release_due(self) -> int:
        """Make failed messages whose visibility timeout has passed (virtual time) visible again."""
        with self._lock:
            now = self._clock.time()
            due = [p for p in self._pending if p.visible_at <= now]
            self._pending = [p for p in self._pending if p.visible_at > now]
        for pending in due:
            try:
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue.url, ReceiptHandle=pending.receipt_handle, VisibilityTimeout=0
                )
            except self._sqs.exceptions.ClientError:
                # moto's own (wall-clock) timeout may have released it already; the next receive sees it.
                LOG.debug("message already visible again in %s", self.queue.name)
            if pending.last_attempt:
                # SQS moves it to the DLQ on the next receive, without handing it to the consumer.
                self.stats.sent_to_dlq += 1
        return len(due)

    def next_due(self) -> float | None:
        """Virtual time at which the earliest failed message becomes visible again."""
        with self._lock:
            return min((p.visible_at for p in self._pending), default=None)

    def has_pending(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def queue_is_empty(self) -> bool:
        """No visible, in-flight or delayed message left on the queue."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue.url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return all(int(v) == 0 for v in attributes.values())


class PollerGroup:
    """All of the wiring's queue pollers: drained on demand, or run by a background thread."""

    def __init__(self, pollers: Sequence[QueuePoller], clock: Clock) -> None:
        self.pollers = list(pollers)
        self._clock = clock
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def step(self) -> bool:
        """Poll every queue once and release due failures; True if anything happened."""
        worked = False
        for poller in self.pollers:
            worked = poller.release_due() > 0 or worked
            worked = poller.poll_once() > 0 or worked
        return worked

    def quiet(self) -> bool:
        """Nothing to receive, nothing in flight, no failure waiting for its visibility timeout."""
        return all(not p.has_pending() and p.queue_is_empty() for p in self.pollers)

    def skip_to_next_due(self) -> bool:
        """When fast-forwarding and idle, jump the clock to the next redelivery; True if it jumped."""
        if not self._clock.fast_forward:
            return False
        due = [d for d in (p.next_due() for p in self.pollers) if d is not None]
        if not due:
            return False
        self._clock.advance_to(min(due))
        return True

    def drain(self, timeout: float, *, also_busy: Callable[[], bool] | None = None) -> bool:
        """Process until every queue is quiet (and `also_busy` is false); False if `timeout` ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.step():
                continue
            if self.quiet():
                if also_busy is None or not also_busy():
                    return True
            elif self.skip_to_next_due():
                continue
            time.sleep(0.02)
        return False

    def start(self, *, on_idle: Callable[[], None] | None = None, interval: float = 0.05) -> None:
        """Poll in a daemon thread until stop(); `on_idle` runs between rounds (the scheduler's tick)."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    worked = self.step()
                    if on_idle is not None:
                        on_idle()
                    if not worked and not self.skip_to_next_due():
                        self._stop.wait(interval)
                except Exception:
                    LOG.exception("local pollers: round failed; carrying on")
                    self._stop.wait(interval)

        self._thread = threading.Thread(target=loop, name="close2cash-pollers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
