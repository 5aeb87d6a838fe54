"""In-process Lambda for moto: the handler invoker, and the moto 5.2.5 internals patched to use it.

moto cannot run Lambda code without Docker, its DynamoDB copies whole tables per transaction
(infra/local/moto_dynamodb.py), its SQS counts a queue's messages for each one sent or received
(infra/local/moto_sqs.py), its EventBridge builds a parser per event (infra/local/moto_events.py),
its Step Functions interpreter really sleeps in Wait and Retry and waits in wall time for a Task's
TimeoutSeconds/HeartbeatSeconds, its SendTaskFailure drops `cause`, and its replays ignore their
window and FilterArns (infra/local/moto_replay.py). We patch exactly the internals named in
MOTO_INTERNALS and check that each still exists before touching it, so a moto upgrade fails loudly
instead of silently running the "happy path" stub.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import threading
import time
import traceback
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import moto
from moto.core.config import DefaultConfig

from infra.local import moto_atomic, moto_dynamodb, moto_events, moto_replay, moto_sqs
from infra.local.clock import Clock
from infra.local.containers import ContainerPool, private_copy
from infra.local.timeouts import call_with_timeout

PINNED_MOTO_VERSION = "5.2.5"

# (module, attribute path) of every moto internal this module replaces or relies on.
MOTO_INTERNALS: tuple[tuple[str, str], ...] = (
    ("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke"),
    ("moto.awslambda.models", "LambdaBackend.get_function"),
    ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time"),
    (
        "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
        "WaitFunction._wait_interval",
    ),
    ("moto.core.config", "default_user_config"),
    # EventBridge's Firehose targets, handed to the local Firehose twin (infra/local/firehose.py).
    ("moto.events.models", "Rule.send_to_targets"),
    # Task TimeoutSeconds (ExecutionState._evaluate_with_timeout waits on a threading.Event) and
    # waitForTaskToken / HeartbeatSeconds (the callback endpoints' Events) in virtual time.
    ("moto.stepfunctions.parser.asl.component.state.exec.execute_state", "threading"),
    ("moto.stepfunctions.parser.asl.eval.callback.callback", "Event"),
    # moto 5.2.5's response handler reads only taskToken and error; Catch wants the Cause too.
    ("moto.stepfunctions.responses", "StepFunctionResponse.send_task_failure"),
    # A handler's ChangeMessageVisibility (a Retry-After delay) must reach the pollers' virtual time.
    ("moto.sqs.models", "SQSBackend.change_message_visibility"),
    # DynamoDB at a cost per call that does not grow with the table (infra/local/moto_dynamodb.py).
    ("moto.dynamodb.models", "DynamoDBBackend.transact_write_items"),
    ("moto.dynamodb.models.table", "Table.query"),
    # SQS receives and sends without recounting the queue for each message (infra/local/moto_sqs.py).
    ("moto.sqs.models", "SQSBackend.is_message_valid_based_on_retention_period"),
    ("moto.sqs.models", "SQSBackend.send_message"),
    # EventBridge renders a target's input without rebuilding a JSONPath parser (infra/local/moto_events.py).
    ("moto.events.utils", "EventTemplateParser.parse"),
    # A replay takes only its window's events, to its FilterArns' rules only (infra/local/moto_replay.py).
    ("moto.events.models", "Replay.replay_events"),
    # Not moto: rate budgets (a vendor's hold after a 429) count in the runtime's time, as SQS does,
    # and a wait for a slot passes on that time (fast-forwarded, as Step Functions waits are).
    ("shared.aws.budget", "wall_time"),
    ("shared.aws.budget", "DynamoBudget.reserve"),
    # Not moto: the hub's own time (utcnow, token expiries) is the sandboxes' time, as NTP makes it.
    ("shared.domain.models", "host_time"),
)

Handler = Callable[[Any, Any], Any]


class MotoInternalsMovedError(RuntimeError):
    """A moto internal the local runtime patches is gone: moto was upgraded past the pinned version."""


class HandlerImportError(ImportError):
    """A function's handler path in the wiring cannot be imported (Lambda's Runtime.ImportModuleError)."""

    error_type = "Runtime.ImportModuleError"


def _lookup(module_name: str, path: str) -> Any:
    obj: Any = importlib.import_module(module_name)
    for part in path.split("."):
        # A class must define the attribute itself: one merely inherited (say, LambdaBackend.invoke once
        # LambdaSimpleBackend drops its override) is not the internal we studied.
        if isinstance(obj, type) and part not in vars(obj):
            raise AttributeError(f"{obj.__name__} no longer defines {part!r} itself")
        obj = getattr(obj, part)
    return obj


def verify_moto_internals() -> None:
    """Raise MotoInternalsMovedError naming every patched internal that no longer exists."""
    missing = []
    for module_name, path in MOTO_INTERNALS:
        try:
            _lookup(module_name, path)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{module_name}.{path} ({exc})")
    if missing:
        raise MotoInternalsMovedError(
            f"moto {moto.__version__} is installed but infra/local/moto_patches.py was written against moto "
            f"{PINNED_MOTO_VERSION}; these internals moved: " + "; ".join(missing)
        )


@dataclass(frozen=True)
class LambdaSpec:
    """What the invoker needs to know of one function: names, ARN, handler path and limits."""

    name: str  # logical name from the wiring
    physical_name: str
    arn: str
    handler: str  # dotted path module.attribute
    memory_mb: int
    timeout_seconds: int


class LocalLambdaContext:
    """The attributes and method of Lambda's Python context object that handlers and Powertools read."""

    def __init__(self, spec: LambdaSpec) -> None:
        self.function_name = spec.physical_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.physical_name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        # Handler time is real time (a handler's own work is not fast-forwarded).
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class Invoker:
    """Imports each function's handler once and calls it in-process with a Lambda-like context.

    Timeouts are enforced: past `timeout_seconds` the invocation fails with TaskTimedOut
    (infra/local/timeouts.py), as Lambda's does.

    Each invocation runs alone in a warm container of its function (infra/local/containers.py), as
    in Lambda: invocations at once get containers of their own, whose handler modules share no state
    (state a library keeps on a class is still shared: see the API front).
    """

    def __init__(self, specs: Iterable[LambdaSpec]) -> None:
        self.specs: dict[str, LambdaSpec] = {s.name: s for s in specs}
        self._by_physical = {s.physical_name: s.name for s in self.specs.values()}
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._containers = {
            name: ContainerPool(
                functools.partial(self.handler, name), functools.partial(self._private_handler, name)
            )
            for name in self.specs
        }
        self.invocations: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.active = 0  # invocations running now

    def name_of(self, physical_name: str) -> str | None:
        """Logical name of a physical function name, or None if it is not one of ours."""
        return self._by_physical.get(physical_name)

    def handler(self, name: str) -> Handler:
        """The imported handler of `name`; raises HandlerImportError with the wiring's path in it."""
        with self._lock:
            cached = self._handlers.get(name)
        if cached is not None:
            return cached
        spec = self.specs[name]
        module_name, _, attribute = spec.handler.rpartition(".")
        try:
            module = importlib.import_module(module_name)
            found = getattr(module, attribute)
        except Exception as exc:
            raise HandlerImportError(
                f"function {name!r}: cannot import handler {spec.handler!r} declared in the wiring: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not callable(found):
            raise HandlerImportError(f"function {name!r}: {spec.handler!r} is not callable")
        handler: Handler = found
        with self._lock:
            self._handlers[name] = handler
        return handler

    def _private_handler(self, name: str) -> Handler:
        self.handler(name)  # the wiring's path imports (and its errors are named) first
        return private_copy(self.specs[name].handler)

    def containers(self, name: str) -> int:
        """Warm containers `name` has started so far (each one a cold start)."""
        return self._containers[name].created

    def check(self) -> None:
        """Import every handler now; raise one HandlerImportError listing all that fail."""
        problems = []
        for name in self.specs:
            try:
                self.handler(name)
            except HandlerImportError as exc:
                problems.append(str(exc))
        if problems:
            raise HandlerImportError("\n".join(problems))

    def invoke(self, name: str, event: Any) -> Any:
        """Call the handler of `name` with `event`; exceptions propagate (the caller decides what fails)."""
        with self._lock:
            self.invocations[name] += 1
            self.active += 1
        spec = self.specs[name]
        try:
            # A container of its own for the whole call; its time starts once it runs.
            with self._containers[name].checkout() as handler:
                return call_with_timeout(handler, event, LocalLambdaContext(spec), spec.timeout_seconds)
        except BaseException:
            with self._lock:
                self.errors[name] += 1
            raise
        finally:
            with self._lock:
                self.active -= 1


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The JSON Lambda returns for an unhandled exception; Step Functions matches on errorType."""
    error_type = getattr(exc, "error_type", None) or type(exc).__name__
    return {
        "errorMessage": str(exc),
        "errorType": error_type,
        "stackTrace": traceback.format_exception(exc)[-10:],
    }


# --- the patches ------------------------------------------------------------------------------

_active_invoker: Invoker | None = None
_active_clock: Clock | None = None
_originals: dict[str, Any] = {}
_install_lock = threading.Lock()


def _patched_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> str | bytes | None:
    invoker = _active_invoker
    fn = self.get_function(function_name, qualifier)
    name = invoker.name_of(fn.function_name) if invoker is not None else None
    if invoker is None or name is None:
        original: Callable[..., str | bytes | None] = _originals["LambdaSimpleBackend.invoke"]
        return original(self, function_name, qualifier, body, headers, response_headers)
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    event = json.loads(raw) if raw else {}
    invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type == "Event":
        # Asynchronous invoke: Lambda queues it and answers 202 at once.
        threading.Thread(target=_invoke_quietly, args=(invoker, name, event), daemon=True).start()
        response_headers["Content-Length"] = "0"
        return b""
    try:
        result = invoker.invoke(name, event)
        payload = json.dumps(result, default=str).encode("utf-8")
    except Exception as exc:
        # Lambda reports a handler exception as a 200 with this header; Step Functions Retry/Catch key on it.
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = json.dumps(error_payload(exc)).encode("utf-8")
    response_headers["Content-Length"] = str(len(payload))
    return payload


def _invoke_quietly(invoker: Invoker, name: str, event: Any) -> None:
    # An async invoke's failure is only counted (Invoker.errors), as nobody waits for its result.
    with contextlib.suppress(Exception):
        invoker.invoke(name, event)


class _ClockedTime(types.SimpleNamespace):
    """Stands in for the `time` module inside moto's retrier so that Retry intervals use our clock."""

    @staticmethod
    def sleep(seconds: float) -> None:
        clock = _active_clock
        if clock is None:
            time.sleep(seconds)
        else:
            clock.sleep(seconds)

    @staticmethod
    def time() -> float:
        clock = _active_clock
        return time.time() if clock is None else clock.time()


def _patched_reserve(self: Any, *, max_wait: float) -> float:
    """A rate budget's slot, with the wait for it passed on the runtime's clock when it fast-forwards.

    The budget counts in the runtime's time (`wall_time` above) and the sandboxes count their
    windows in it too (`count_rates_on`), so jumping the clock to the slot keeps the vendor's pace
    in that time while the handler does not sleep through it in real time. Concurrent waits
    jump to the latest slot, not to the sum of the waits (`Clock.advance_to`).
    """
    original: Callable[..., float] = _originals["DynamoBudget.reserve"]
    wait = original(self, max_wait=max_wait)
    clock = _active_clock
    if clock is None or not clock.fast_forward or wait <= 0:
        return wait
    clock.advance_to(clock.time() + wait)
    return 0.0


def _patched_wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    clock = _active_clock
    if clock is not None and clock.fast_forward:
        clock.sleep(wait_seconds)
        return
    original: Callable[..., None] = _originals["WaitFunction._wait_interval"]
    original(self, env, wait_seconds)


class ClockedEvent(threading.Event):
    """A threading.Event whose `wait(timeout)` times out in the runtime clock's virtual time.

    moto waits for a Task's TimeoutSeconds and for a task token's answer with Event.wait(timeout) in
    wall time, so a one-day approval timeout would take a day. While a fast-forward clock is active,
    the wait is cut into short real slices and ends once virtual time passes the deadline: jumping
    the clock (Clock.advance) makes the timeout fire at once; answering the token still wakes it.
    """

    SLICE_SECONDS = 0.05

    def wait(self, timeout: float | None = None) -> bool:
        clock = _active_clock
        if timeout is None or clock is None or not clock.fast_forward:
            return super().wait(timeout)
        deadline = clock.time() + timeout
        key = object()
        with _waits_lock:
            _waits[key] = (clock, deadline)
        try:
            while True:
                remaining = deadline - clock.time()
                if remaining <= 0:
                    return self.is_set()
                if super().wait(min(remaining, self.SLICE_SECONDS)):
                    return True
        finally:
            with _waits_lock:
                del _waits[key]


# The ClockedEvent waits under way (their clock and deadline), so that whoever jumps the clock can
# tell when every timer it made due has fired (LocalEnvironment.pass_time lets them act before
# jumping again). A wait keeps the clock it started on: one left over from an environment already
# stopped (an approval nobody answered) is not this clock's business.
_waits: dict[object, tuple[Clock, float]] = {}
_waits_lock = threading.Lock()


def timers_due() -> bool:
    """Whether a virtual-time wait has reached its deadline and not yet woken up."""
    clock = _active_clock
    if clock is None:
        return False
    now = clock.time()
    with _waits_lock:
        return any(owner is clock and deadline <= now for owner, deadline in _waits.values())


class _ClockedThreading:
    """Stands in for the `threading` module inside moto's execute_state: only its Event is ours."""

    Event = ClockedEvent

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


def _patched_send_task_failure(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    # Same as moto's, plus `cause`: a Catch with ResultPath sees {"Error": ..., "Cause": ...} as in AWS.
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


# Visibility timeouts set by handlers, in virtual time, by receipt handle (read by the pollers).
_consumer_visibility: dict[str, float] = {}
_visibility_lock = threading.Lock()


def _patched_change_message_visibility(
    self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    original: Callable[..., None] = _originals["SQSBackend.change_message_visibility"]
    original(self, queue_name, receipt_handle, visibility_timeout)
    clock = _active_clock
    if clock is not None and int(visibility_timeout) > 0:
        with _visibility_lock:
            _consumer_visibility[receipt_handle] = clock.time() + int(visibility_timeout)


def take_consumer_visibility(receipt_handle: str) -> float | None:
    """When (virtual time) a handler asked for this received message to be visible again, if it did."""
    with _visibility_lock:
        return _consumer_visibility.pop(receipt_handle, None)


_EXECUTE_STATE = "moto.stepfunctions.parser.asl.component.state.exec.execute_state"
_SEND_TASK_FAILURE = "StepFunctionResponse.send_task_failure"


def _replacements() -> list[tuple[str, str, Any]]:
    # (module, attribute path, replacement); each entry is also listed in MOTO_INTERNALS.
    return [
        (_EXECUTE_STATE, "threading", _ClockedThreading()),
        ("moto.stepfunctions.parser.asl.eval.callback.callback", "Event", ClockedEvent),
        ("moto.stepfunctions.responses", _SEND_TASK_FAILURE, _patched_send_task_failure),
        ("moto.awslambda_simple.models", "LambdaSimpleBackend.invoke", _patched_invoke),
        ("moto.sqs.models", "SQSBackend.change_message_visibility", _patched_change_message_visibility),
        ("moto.stepfunctions.parser.asl.component.common.retry.retrier_decl", "time", _ClockedTime()),
        ("shared.aws.budget", "wall_time", _ClockedTime.time),
        ("shared.aws.budget", "DynamoBudget.reserve", _patched_reserve),
        ("shared.domain.models", "host_time", _ClockedTime.time),
        ("moto.dynamodb.models", "DynamoDBBackend.transact_write_items", moto_dynamodb.transact_write_items),
        ("moto.dynamodb.models.table", "Table.query", moto_dynamodb.partition_query),
        (
            "moto.sqs.models",
            "SQSBackend.is_message_valid_based_on_retention_period",
            moto_sqs.is_message_valid_based_on_retention_period,
        ),
        ("moto.sqs.models", "SQSBackend.send_message", moto_sqs.send_message),
        ("moto.events.utils", "EventTemplateParser.parse", staticmethod(moto_events.parse)),
        (
            "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function",
            "WaitFunction._wait_interval",
            _patched_wait_interval,
        ),
    ]


def _owner_and_attribute(module_name: str, path: str) -> tuple[Any, str]:
    owner_path, _, attribute = path.rpartition(".")
    owner = _lookup(module_name, owner_path) if owner_path else importlib.import_module(module_name)
    return owner, attribute


def install(invoker: Invoker, clock: Clock) -> None:
    """Route moto's Lambda invoke to `invoker` and Step Functions waits to `clock` (process-wide)."""
    global _active_invoker, _active_clock
    verify_moto_internals()
    with _install_lock:
        if not _originals:
            for module_name, path, replacement in _replacements():
                owner, attribute = _owner_and_attribute(module_name, path)
                _originals[path] = getattr(owner, attribute)
                setattr(owner, attribute, replacement)
            moto_atomic.install()  # the journaled transaction is one locked request too
        moto_replay.install()  # replays as AWS runs them (kept: it only brings moto closer to AWS)
        _active_invoker = invoker
        _active_clock = clock


def uninstall() -> None:
    """Restore moto's own internals."""
    global _active_invoker, _active_clock
    with _install_lock:
        if _originals:
            for module_name, path, _ in _replacements():
                owner, attribute = _owner_and_attribute(module_name, path)
                setattr(owner, attribute, _originals.pop(path))
        _active_invoker = None
        _active_clock = None


# moto's config switches the runtime needs: the Docker-less Lambda backend and real ASL execution.
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
