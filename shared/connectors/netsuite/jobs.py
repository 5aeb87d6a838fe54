"""Asynchronous requests: `Prefer: respond-async` with an idempotency key, the job polled, its result read.

A request sent this way is queued by NetSuite and answered 202 with the job's Location; a resend with
the same key is refused (IDEMPOTENCY_ERROR) with the first job's Location, so it runs once.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_161251386312.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError
from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential

from shared.connectors.http import VendorHttp
from shared.connectors.netsuite.errors import (
    NetSuiteRecordError,
    error_for,
    json_or_none,
    location_id,
    read_json,
)
from shared.connectors.netsuite.schemas import AsyncJob, parse_error
from shared.domain.errors import TransientError

ASYNC_PATH = "/services/rest/async/v1/job"
# A resent asynchronous request with the same idempotency key is refused with this code and a
# Location naming the job of the first one.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html
IDEMPOTENCY_ERROR = "IDEMPOTENCY_ERROR"
# Polling an async job: backoff from 0.5 s up to 5 s between polls, ~1 minute in all; a job that
# is not done by then is left running and the caller's queue asks again later (same key).
JOB_POLLS = 16

_IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d3b0e-7c2a-5d4e-9b8f-0a1c2e3d4f50")


class AsyncJobPending(TransientError):
    """An asynchronous job still running after the polls one call may make; ask again later."""


@dataclass(frozen=True)
class AsyncOutcome:
    """What a finished asynchronous request produced: its job, task, and the task's result body."""

    job_id: str
    task_id: str
    progress: str | None
    result: Mapping[str, Any]


def idempotency_uuid(key: str) -> str:
    """The idempotency key header's value for the hub's stable `key`: a UUID, as Oracle's example
    key is (the same `key` gives the same UUID, version 5, on every resend).
    https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html
    """
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return str(uuid.uuid5(_IDEMPOTENCY_NAMESPACE, key))


class AsyncRequests:
    """The asynchronous half of `NetSuiteClient` (which provides `api`, `sleep` and `_send`)."""

    api: VendorHttp
    sleep: Callable[[float], None]
    _send: Callable[..., httpx.Response]  # NetSuiteClient._send: one request, 4xx raised

    def run_async(
        self, method: str, path: str, body: Mapping[str, Any] | None, *, idempotency_key: str
    ) -> AsyncOutcome:
        """Send a request with `Prefer: respond-async` and an idempotency key; wait for its result.

        202 names the job in Location. A resend with the same key (a redelivered message) is refused
        with IDEMPOTENCY_ERROR and a Location naming the first request's job, which is then
        followed instead: the request is carried out once, however often it is sent.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161278579295.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html
        """
        context = f"async {method} {path}"
        response = self._send(
            method,
            path,
            body=dict(body) if body is not None else None,
            headers={
                "Prefer": "respond-async",
                "X-NetSuite-Idempotency-Key": idempotency_uuid(idempotency_key),
            },
            context=context,
            ok=frozenset({400}),
        )
        if response.status_code == 400:
            parsed = parse_error(json_or_none(response))
            codes = {d.error_code for d in parsed.details} if parsed is not None else set()
            if IDEMPOTENCY_ERROR not in codes or location_id(response) is None:
                raise error_for(response, context)
        job_id = location_id(response)
        if job_id is None:
            raise TransientError(f"netsuite: {context}: {response.status_code} without a job Location")
        return self.job_outcome(job_id)

    def job(self, job_id: str) -> AsyncJob:
        """GET /services/rest/async/v1/job/{id}: whether the job has completed.

        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161278579295.html
        """
        return self._async_model(f"{ASYNC_PATH}/{quote(job_id, safe='')}", f"job {job_id}")

    def job_outcome(self, job_id: str) -> AsyncOutcome:
        """Poll the job until it completes (tenacity, bounded), then read its task and the task's result.

        GET .../job/{id}/task lists the tasks, GET .../task/{tid} says how it went,
        GET .../task/{tid}/result is what the request would have answered synchronously.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161252896355.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161252889998.html
        """
        polling = Retrying(
            retry=retry_if_result(lambda job: not job.completed),
            wait=wait_exponential(multiplier=0.5, max=5.0),
            stop=stop_after_attempt(JOB_POLLS),
            sleep=self.sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else AsyncJob(),
        )
        job = polling(self.job, job_id)
        if not job.completed:
            raise AsyncJobPending(
                f"netsuite: job {job_id} is still {job.progress or 'pending'}", retry_after=30.0
            )
        base = f"{ASYNC_PATH}/{quote(job_id, safe='')}/task"
        listing = read_json(
            self._send("GET", base, context=f"tasks of job {job_id}"), f"tasks of job {job_id}"
        )
        items = listing.get("items", []) if isinstance(listing, dict) else []
        task_id = _first_task_id(items)
        if task_id is None:
            raise TransientError(f"netsuite: job {job_id} lists no task")
        task = self._async_model(f"{base}/{quote(task_id, safe='')}", f"task {task_id} of job {job_id}")
        context = f"result of job {job_id}"
        answer = self.api.request(
            "GET", f"{base}/{quote(task_id, safe='')}/result", ok_statuses=frozenset({400, 404})
        )
        result = json_or_none(answer) if answer.content else {}
        failed = parse_error(result)
        if failed is not None or (task.progress or "").lower() == "failed":
            summary = "; ".join(str(d) for d in failed.details) if failed is not None else "failed"
            raise NetSuiteRecordError(f"netsuite: {context}: {summary}", failed)
        return AsyncOutcome(
            job_id=job_id,
            task_id=task_id,
            progress=task.progress,
            result=result if isinstance(result, dict) else {},
        )

    def _async_model(self, path: str, context: str) -> AsyncJob:
        try:
            return AsyncJob.model_validate(read_json(self._send("GET", path, context=context), context))
        except ValidationError as exc:
            raise TransientError(f"netsuite: {context}: unreadable: {exc}") from exc


def _first_task_id(items: Sequence[Any]) -> str | None:
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("id"):
            return str(item["id"])
        for link in item.get("links") or []:
            if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
                return str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
    return None
