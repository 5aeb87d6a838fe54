"""Handlers of the test wiring: they record what they receive so the tests can look."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

# A second container of a function runs a private copy of this module (infra/local/containers.py);
# what the tests look at stays in the module they imported, shared by every copy.
_home = sys.modules.get(__name__)
_lock: threading.Lock = getattr(_home, "_lock", threading.Lock())
batches: list[list[dict[str, Any]]] = getattr(_home, "batches", [])
ticks: list[dict[str, Any]] = getattr(_home, "ticks", [])
flaky_calls: list[dict[str, Any]] = getattr(_home, "flaky_calls", [])


class FlakyError(Exception):
    """Raised by the flaky task on its first call per order, to exercise Step Functions Retry."""


def reset() -> None:
    with _lock:
        slow_marks.clear()
        running.clear()
        batches.clear()
        ticks.clear()
        flaky_calls.clear()


def api(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Echo the proxy event's parts back, so the test sees what the front built."""
    return {
        "statusCode": 201,
        "headers": {"Content-Type": "application/json", "X-Function": context.function_name},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(
            {
                "resource": event["resource"],
                "path": event["path"],
                "method": event["httpMethod"],
                "pathParameters": event["pathParameters"],
                "query": event["queryStringParameters"],
                "multiQuery": event["multiValueQueryStringParameters"],
                "body": event["body"],
                "isBase64Encoded": event["isBase64Encoded"],
                "signature": (event["headers"] or {}).get("X-Signature"),
                "stage": event["requestContext"]["stage"],
                "sourceIp": event["requestContext"]["identity"]["sourceIp"],
                "table": os.environ.get("STORE_TABLE"),
            }
        ),
        "isBase64Encoded": False,
    }


def worker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fail every record whose body says so; the rest succeed."""
    records = event["Records"]
    with _lock:
        batches.append(records)
    if any(json.loads(r["body"]).get("detail", {}).get("explode") for r in records):
        raise RuntimeError("worker crashed")
    failures = [
        {"itemIdentifier": r["messageId"]}
        for r in records
        if json.loads(r["body"]).get("detail", {}).get("fail")
    ]
    return {"batchItemFailures": failures}


def ticker(event: dict[str, Any], context: Any) -> None:
    with _lock:
        ticks.append(event)


def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails the first call for an order, succeeds after (a Retry in the state machine covers it)."""
    with _lock:
        flaky_calls.append(event)
        first = sum(1 for c in flaky_calls if c.get("order") == event.get("order")) == 1
    if first:
        raise FlakyError(f"order {event.get('order')} not ready yet")
    return {"order": event.get("order"), "done": True, "remaining_ms": context.get_remaining_time_in_millis()}


slow_marks: list[str] = getattr(_home, "slow_marks", [])


def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """On a record's first delivery, works far past any timeout; on a later one, finishes at once."""
    for record in event["Records"]:
        if record["attributes"].get("ApproximateReceiveCount") == "1":
            for _ in range(200):  # 10 s of work, in steps
                time.sleep(0.05)
            with _lock:
                slow_marks.append(f"finished late {record['messageId']}")
        else:
            with _lock:
                slow_marks.append(f"finished {record['messageId']}")
    return {"batchItemFailures": []}


running: list[int] = getattr(
    _home, "running", []
)  # how many `busy` invocations were running, seen by each when it started


def busy(event: dict[str, Any], context: Any) -> None:
    """Holds its batch for a moment, noting how many invocations of it run at once (one thread each)."""
    with _lock:
        running.append(sum(1 for t in threading.enumerate() if t.name == f"lambda:{context.function_name}"))
    time.sleep(0.2)


def fails_first(event: dict[str, Any], context: Any) -> None:
    """Raises on a batch's first delivery (the whole batch fails), succeeds on the next."""
    if any(r["attributes"].get("ApproximateReceiveCount") == "1" for r in event["Records"]):
        raise FlakyError("not ready yet")
