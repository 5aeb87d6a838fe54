"""The invoker runs each invocation alone in a container of its function, as Lambda does.

A handler's module globals (a Powertools resolver's current event, say) belong to the invocation
running in its container; two requests sharing them would see each other's headers.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from infra.local.containers import MAX_CONTAINERS
from infra.local.moto_patches import Invoker, LambdaSpec

_lock = threading.Lock()
_state: dict[str, Any] = {"current": None}
_b_ran = threading.Event()


def resolver_like(event: dict[str, Any], context: Any) -> Any:
    """Keeps the event in a module global, as APIGatewayRestResolver keeps current_event."""
    with _lock:
        _state["current"] = event
    time.sleep(0.005)  # a handler doing its work: another invocation could run meanwhile
    with _lock:
        return _state["current"]["id"]


def waits_for_b(event: dict[str, Any], context: Any) -> bool:
    return _b_ran.wait(timeout=10)


def b(event: dict[str, Any], context: Any) -> bool:
    _b_ran.set()
    return True


def _spec(name: str) -> LambdaSpec:
    return LambdaSpec(
        name, f"c2c-{name}", f"arn:aws:lambda:us-east-1:1:function:c2c-{name}", f"{__name__}.{name}", 128, 10
    )


def test_concurrent_invocations_of_one_function_each_see_their_own_event() -> None:
    # given 20 requests arriving at once for one function whose handler keeps the event in a global
    invoker = Invoker([_spec("resolver_like")])
    barrier = threading.Barrier(20)

    def call(n: int) -> Any:
        barrier.wait()
        return invoker.invoke("resolver_like", {"id": n})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(call, range(20)))
    # then each invocation answered from its own event, each in a container of its own
    assert answers == list(range(20))
    assert 1 <= invoker.containers("resolver_like") <= MAX_CONTAINERS


def test_different_functions_run_side_by_side() -> None:
    # given one function that waits until another has run
    invoker = Invoker([_spec("waits_for_b"), _spec("b")])
    with ThreadPoolExecutor(max_workers=2) as pool:
        waiting = pool.submit(invoker.invoke, "waits_for_b", {})
        # when the other function is invoked meanwhile, it is not queued behind the first
        assert pool.submit(invoker.invoke, "b", {}).result() is True
        assert waiting.result() is True
