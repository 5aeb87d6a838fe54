"""Asynchronous requests (`Prefer: respond-async`) and the idempotency key that stops a second write.

https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_161251386312.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_164494900632.html
"""

from __future__ import annotations

import uuid

import httpx

from infra.local.sandboxes.netsuite import NetSuiteSandbox
from tests.local.sandboxes.netsuite.conftest import BASE, RECORDS, error_of

ASYNC = {"Prefer": "respond-async"}


def _submit(api: httpx.Client, key: str | None = None, name: str = "Acme Corp") -> httpx.Response:
    headers = dict(ASYNC)
    if key is not None:
        headers["X-NetSuite-Idempotency-Key"] = key
    return api.put(f"{RECORDS}/customer/eid:SF-1", json={"companyName": name}, headers=headers)


def test_an_async_request_is_accepted_then_its_job_task_and_result_are_read(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    # when the client sends an upsert asynchronously
    accepted = _submit(api)
    # then it is accepted with the job's location, and nothing in the body
    assert accepted.status_code == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    job_url = accepted.headers["Location"]
    assert job_url.startswith("/services/rest/async/v1/job/")
    # the job reports completion and links its task
    job = api.get(job_url).json()
    assert job["completed"] is True
    assert job["progress"] == "succeeded"
    task_list = api.get(job["task"]["links"][0]["href"]).json()
    task = api.get(task_list["items"][0]["links"][0]["href"]).json()
    assert task["progress"] == "succeeded"
    # the task's result is the synchronous answer: 204 with the record's location
    result_url = next(link["href"] for link in task["links"] if link["rel"] == "related")
    result = api.get(result_url)
    assert result.status_code == 204
    assert result.headers["Location"].startswith(f"{BASE}{RECORDS}/customer/")
    assert netsuite.by_external_id("customer", "SF-1") is not None


def test_a_held_job_is_pending_until_the_queue_runs(api: httpx.Client, netsuite: NetSuiteSandbox) -> None:
    netsuite.hold_async_jobs()
    job_url = _submit(api).headers["Location"]
    assert api.get(job_url).json()["progress"] == "pending"
    assert netsuite.records("customer") == []
    assert netsuite.run_async_jobs() == 1
    assert api.get(job_url).json()["completed"] is True
    assert len(netsuite.records("customer")) == 1


def test_a_repeated_idempotency_key_points_to_the_first_job_and_writes_nothing_again(
    api: httpx.Client, netsuite: NetSuiteSandbox
) -> None:
    key = str(uuid.uuid4())
    first = _submit(api, key)
    writes = netsuite.writes
    # when the client retries after a lost answer, with the same key (and even another body)
    again = _submit(api, key, name="Changed")
    # then NetSuite answers 400 Conflict with IDEMPOTENCY_ERROR and the first job's Location
    assert again.status_code == 400
    assert again.json()["title"] == "Conflict"
    assert error_of(again)["o:errorCode"] == "IDEMPOTENCY_ERROR"
    assert again.headers["Location"] == first.headers["Location"]
    # and nothing is written again
    assert netsuite.writes == writes
    stored = netsuite.by_external_id("customer", "SF-1")
    assert stored is not None
    assert stored["companyName"] == "Acme Corp"


def test_an_idempotency_key_must_be_a_uuid(api: httpx.Client) -> None:
    answer = _submit(api, "not-a-uuid")
    assert answer.status_code == 400
    assert error_of(answer)["o:errorHeader"] == "X-NetSuite-Idempotency-Key"


def test_the_key_is_ignored_on_a_synchronous_request(api: httpx.Client) -> None:
    key = str(uuid.uuid4())
    headers = {"X-NetSuite-Idempotency-Key": key}
    body = {"companyName": "Acme"}
    assert api.put(f"{RECORDS}/customer/eid:SF-2", json=body, headers=headers).status_code == 204
    assert api.put(f"{RECORDS}/customer/eid:SF-2", json=body, headers=headers).status_code == 204


def test_a_failed_job_keeps_the_error_as_its_result(api: httpx.Client) -> None:
    accepted = api.post(f"{RECORDS}/customer", json={"email": "x@acme.example"}, headers=ASYNC)
    job_url = accepted.headers["Location"]
    assert api.get(job_url).json()["progress"] == "failed"
    result = api.get(f"{job_url}/task/1/result")
    assert result.status_code == 400
    assert error_of(result)["o:errorCode"] == "USER_ERROR"


def test_an_unknown_job_is_not_found(api: httpx.Client) -> None:
    answer = api.get("/services/rest/async/v1/job/999")
    assert answer.status_code == 404
    assert error_of(answer)["o:errorCode"] == "NONEXISTENT_ID"


def test_suiteql_runs_asynchronously_too(api: httpx.Client) -> None:
    accepted = api.post(
        "/services/rest/query/v1/suiteql",
        json={"q": "SELECT COUNT(*) AS n FROM customer"},
        headers={"Prefer": "transient, respond-async"},
    )
    assert accepted.status_code == 202
    result = api.get(accepted.headers["Location"] + "/task/1/result").json()
    assert result["items"] == [{"links": [], "n": "0"}]
