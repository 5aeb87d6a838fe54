"""Asynchronous requests: `Prefer: respond-async` queues any REST request as a job; idempotency keys.

The request is answered 202 Accepted with `Location: /services/rest/async/v1/job/{id}`; the job,
its task and the task's result are then read with GETs. With `X-NetSuite-Idempotency-Key` (a UUID),
a second request with the same key is refused 400 Conflict / IDEMPOTENCY_ERROR with the Location of
the job first submitted, and nothing runs again. Jobs run when submitted unless `hold` is set (then
they stay `pending` until `run_pending`).
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_161251386312.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161278579295.html (job)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161252896355.html (task)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_161252889998.html (result)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html (idempotency)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra.local.sandboxes.netsuite.errors import NetSuiteError, invalid_header, nonexistent_id
from infra.local.sandboxes.netsuite.wire import Clock, utc_text

ASYNC_PATH = "/services/rest/async/v1/job"
IDEMPOTENCY_HEADER = "X-NetSuite-Idempotency-Key"
# What a job replays: () -> (status, JSON body or None, headers).
Work = Callable[[], tuple[int, Any, dict[str, str]]]


@dataclass
class Job:
    """One submitted request: its work, its progress, and the answer it produced."""

    id: str
    work: Work
    submitted_at: datetime
    idempotency_key: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    result: tuple[int, Any, dict[str, str]] | None = None
    runs: int = 0

    @property
    def completed(self) -> bool:
        """Whether the job has run."""
        return self.result is not None

    @property
    def progress(self) -> str:
        """pending, succeeded or failed (a 4xx/5xx answer)."""
        if self.result is None:
            return "pending"
        return "succeeded" if self.result[0] < 400 else "failed"


@dataclass
class AsyncJobs:
    """The account's jobs by id and by idempotency key."""

    clock: Clock
    hold: bool = False  # True: jobs stay pending until run_pending()
    jobs: dict[str, Job] = field(default_factory=dict)
    _by_key: dict[str, str] = field(default_factory=dict)
    _next: int = 1
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def submit(self, work: Work, idempotency_key: str | None) -> Job:
        """Queue `work` (and run it unless held); IDEMPOTENCY_ERROR when the key was used before."""
        if idempotency_key is not None:
            try:
                uuid.UUID(idempotency_key)
            except ValueError:
                raise invalid_header(
                    IDEMPOTENCY_HEADER, "The idempotency key must be a UUID (RFC 4122)."
                ) from None
        with self._lock:
            if idempotency_key is not None and idempotency_key in self._by_key:
                earlier = self._by_key[idempotency_key]
                raise NetSuiteError(
                    400,
                    "IDEMPOTENCY_ERROR",
                    "A request with the same idempotency key is already submitted. "
                    'See the "Location" header for a link to the previously submitted job',
                    title="Conflict",
                    headers={"Location": f"{ASYNC_PATH}/{earlier}", "Preference-Applied": "respond-async"},
                )
            job = Job(str(self._next), work, self.clock(), idempotency_key)
            self._next += 1
            self.jobs[job.id] = job
            if idempotency_key is not None:
                self._by_key[idempotency_key] = job.id
        if not self.hold:
            self.run(job)
        return job

    def run(self, job: Job) -> None:
        """Carry out a pending job once."""
        with self._lock:
            if job.completed:
                return
            job.started_at = self.clock()
            job.runs += 1
            job.result = job.work()
            job.ended_at = self.clock()

    def run_pending(self) -> int:
        """Run every pending job (oldest first); returns how many ran."""
        pending = [job for job in self.jobs.values() if not job.completed]
        for job in pending:
            self.run(job)
        return len(pending)

    def get(self, job_id: str) -> Job:
        """The job, or 404 NONEXISTENT_ID."""
        job = self.jobs.get(job_id)
        if job is None:
            raise nonexistent_id("job", job_id)
        return job


def job_body(job: Job, base: str) -> dict[str, Any]:
    """GET .../job/{id}."""
    url = f"{base}{ASYNC_PATH}/{job.id}"
    return {
        "links": [{"rel": "self", "href": url}],
        "completed": job.completed,
        "id": job.id,
        "progress": job.progress,
        "task": {"links": [{"rel": "self", "href": f"{url}/task"}]},
    }


def tasks_body(job: Job, base: str) -> dict[str, Any]:
    """GET .../job/{id}/task: the job's one task."""
    url = f"{base}{ASYNC_PATH}/{job.id}/task"
    return {
        "links": [{"rel": "self", "href": url}],
        "count": 1,
        "hasMore": False,
        "items": [{"links": [{"rel": "self", "href": f"{url}/1"}], "id": "1"}],
        "offset": 0,
        "totalResults": 1,
    }


def task_body(job: Job, base: str) -> dict[str, Any]:
    """GET .../job/{id}/task/1."""
    url = f"{base}{ASYNC_PATH}/{job.id}/task/1"
    body: dict[str, Any] = {
        "links": [{"rel": "related", "href": f"{url}/result"}, {"rel": "self", "href": url}],
        "completed": job.completed,
        "id": "1",
        "progress": job.progress,
    }
    if job.started_at is not None:
        body["startTime"] = utc_text(job.started_at)
    if job.ended_at is not None:
        body["endTime"] = utc_text(job.ended_at)
    return body
