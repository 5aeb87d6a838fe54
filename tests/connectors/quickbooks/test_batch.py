"""Batch writes of TimeActivity against the QuickBooks sandbox: per-item Faults, SyncToken, replay.

https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/batch
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
https://developer.intuit.com/hub/blog/2015/04/06/15346
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector, build
from shared.connectors.quickbooks.batch import (
    BatchOperation,
    batch_write,
    employees,
    query_time_activities,
)
from shared.connectors.quickbooks.client import (
    BATCH_MAX_ITEMS,
    QuickBooksClient,
    StaleObjectError,
    encode_exact,
)
from shared.connectors.quickbooks.schemas import BillableStatus
from shared.domain.errors import TransientError
from tests.connectors.quickbooks.conftest import Recorder


@pytest.fixture
def client(connector: QuickBooksConnector) -> QuickBooksClient:
    return connector.client


@pytest.fixture
def refs(sandbox: QuickBooksSandbox, client: QuickBooksClient) -> dict[str, str]:
    """An employee (set up in the UI), a customer and a service item, the last two made by one batch."""
    made = batch_write(
        client,
        [
            BatchOperation("c", "Customer", "create", {"DisplayName": "Acme Corp"}),
            BatchOperation(
                "i",
                "Item",
                "create",
                {"Name": "Consulting", "Type": "Service", "IncomeAccountRef": {"value": "79"}},
            ),
        ],
        request_id="setup-refs",
    )
    assert all(result.ok for result in made.values())
    return {
        "employee": sandbox.add_employee("Emily Platt"),
        "customer": str(made["c"].record["Id"] if made["c"].record else ""),
        "item": str(made["i"].record["Id"] if made["i"].record else ""),
    }


def activity(refs: dict[str, str], n: int, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "NameOf": "Employee",
        "EmployeeRef": {"value": refs["employee"]},
        "CustomerRef": {"value": refs["customer"]},
        "ItemRef": {"value": refs["item"]},
        "TxnDate": "2026-11-18",
        "BillableStatus": "Billable",
        "HourlyRate": Decimal("152.35"),
        "Hours": 1 + n % 7,
        "Minutes": 15,
        "Description": f"psa:time_entry:{n}",
    }
    return {**body, **fields}


def creates(refs: dict[str, str], count: int) -> list[BatchOperation]:
    return [BatchOperation(str(n), "TimeActivity", "create", activity(refs, n)) for n in range(count)]


def test_thirty_creates_land_in_one_call(client: QuickBooksClient, refs: dict[str, str]) -> None:
    before = client.calls
    results = batch_write(client, creates(refs, BATCH_MAX_ITEMS), request_id="ta-30")
    assert client.calls - before == 1
    assert list(results) == [str(n) for n in range(BATCH_MAX_ITEMS)]
    activities = [result.time_activity() for result in results.values()]
    assert len({ta.Id for ta in activities}) == BATCH_MAX_ITEMS
    first = activities[0]
    assert first.HourlyRate == Decimal("152.35") and isinstance(first.HourlyRate, Decimal)
    assert first.BillableStatus is BillableStatus.BILLABLE
    assert (first.Hours, first.Minutes, first.Description) == (1, 15, "psa:time_entry:0")
    stored = query_time_activities(client, "TxnDate = '2026-11-18'")
    assert sorted(ta.Id or "" for ta in stored) == sorted(ta.Id or "" for ta in activities)
    assert all(ta.HourlyRate == Decimal("152.35") for ta in stored)


def test_a_faulted_item_fails_alone(client: QuickBooksClient, refs: dict[str, str]) -> None:
    operations = creates(refs, 5)
    operations[2] = BatchOperation(
        "2", "TimeActivity", "create", activity(refs, 2, ItemRef={"value": "999999"})
    )
    results = batch_write(client, operations, request_id="ta-mixed")
    assert [bid for bid, result in results.items() if not result.ok] == ["2"]
    fault = results["2"].faults[0]
    assert fault.code == "2500" and fault.element == "ItemRef"
    with pytest.raises(Exception, match="2500"):
        results["2"].time_activity()
    assert len(query_time_activities(client)) == 4


def test_update_over_sync_token_and_delete(client: QuickBooksClient, refs: dict[str, str]) -> None:
    made = batch_write(client, creates(refs, 3), request_id="ta-base")
    first, second, third = (made[str(n)].time_activity() for n in range(3))
    changed = {**activity(refs, 0, Hours=5, Minutes=45), "Id": first.Id, "SyncToken": first.SyncToken}
    stale = {**activity(refs, 1), "Id": second.Id, "SyncToken": "7"}
    gone = {"Id": third.Id, "SyncToken": third.SyncToken}
    results = batch_write(
        client,
        [
            BatchOperation("u", "TimeActivity", "update", changed),
            BatchOperation("s", "TimeActivity", "update", stale),
            BatchOperation("d", "TimeActivity", "delete", gone),
        ],
        request_id="ta-change",
    )
    updated = results["u"].time_activity()
    assert (updated.Id, updated.Hours, updated.Minutes) == (first.Id, 5, 45)
    assert updated.SyncToken != first.SyncToken
    assert results["s"].faults[0].code == "5010"
    assert isinstance(results["s"].error(), StaleObjectError)
    assert results["d"].ok
    assert sorted(ta.Id or "" for ta in query_time_activities(client)) == sorted(
        [first.Id or "", second.Id or ""]
    )


def test_the_same_request_id_replays_and_writes_nothing_twice(
    sandbox: QuickBooksSandbox, client: QuickBooksClient, refs: dict[str, str]
) -> None:
    # The crash case: the batch was written, the ledger write was not; the retry resends it unchanged.
    operations = creates(refs, 10)
    first = batch_write(client, operations, request_id="c2c-ledger-batch-0001")
    writes = sandbox.writes
    again = batch_write(client, operations, request_id="c2c-ledger-batch-0001")
    assert sandbox.writes == writes
    assert {bid: r.time_activity().Id for bid, r in again.items()} == {
        bid: r.time_activity().Id for bid, r in first.items()
    }
    assert len(query_time_activities(client)) == 10
    # A new id is a new write: the id, not the body, is what Intuit deduplicates on.
    batch_write(client, operations[:1], request_id="c2c-ledger-batch-0002")
    assert len(query_time_activities(client)) == 11


def test_a_request_id_over_36_characters_is_refused_before_sending(
    client: QuickBooksClient, refs: dict[str, str]
) -> None:
    before = client.calls
    with pytest.raises(ValueError, match="36"):
        batch_write(client, creates(refs, 1), request_id="x" * 37)
    with pytest.raises(ValueError, match="1 to"):
        batch_write(client, creates(refs, 1), request_id="")
    assert client.calls == before
    assert batch_write(client, creates(refs, 1), request_id="x" * 36)["0"].ok


def test_thirty_one_items_are_refused_before_sending(client: QuickBooksClient, refs: dict[str, str]) -> None:
    before = client.calls
    with pytest.raises(ValueError, match="30"):
        batch_write(client, creates(refs, BATCH_MAX_ITEMS + 1), request_id="ta-31")
    with pytest.raises(ValueError, match="unique"):
        batch_write(client, [*creates(refs, 2), creates(refs, 1)[0]], request_id="ta-dup")
    with pytest.raises(ValueError, match="SyncToken"):
        batch_write(client, [BatchOperation("u", "TimeActivity", "update", {"Id": "1"})], request_id="ta-u")
    assert client.calls == before


def test_a_missing_answer_is_transient(sandbox: QuickBooksSandbox, recorder: Recorder) -> None:
    def drop_last(request: httpx.Request) -> httpx.Response:
        inner = httpx.WSGITransport(app=sandbox).handle_request(request)
        inner.read()
        payload = json.loads(inner.content)
        if "BatchItemResponse" in payload:
            payload["BatchItemResponse"] = payload["BatchItemResponse"][:-1]
        return httpx.Response(inner.status_code, json=payload)

    client = build(
        sandbox.connection("http://qbo.sandbox"),
        transport=httpx.MockTransport(drop_last),
        clock=recorder.clock.time,
        sleep=recorder.sleep,
    ).client
    operations = [
        BatchOperation("a", "Customer", "create", {"DisplayName": "A"}),
        BatchOperation("b", "Customer", "create", {"DisplayName": "B"}),
    ]
    with pytest.raises(TransientError, match="no answer for item b"):
        batch_write(client, operations, request_id="lost-answer")


def test_request_level_throttle_goes_through_the_client(
    sandbox: QuickBooksSandbox, client: QuickBooksClient
) -> None:
    sandbox.fail_next(1, 503)
    results = batch_write(
        client, [BatchOperation("a", "Customer", "create", {"DisplayName": "A"})], request_id="r503"
    )
    assert results["a"].ok


def test_employees_are_queried(sandbox: QuickBooksSandbox, client: QuickBooksClient) -> None:
    kept = sandbox.add_employee("Emily Platt")
    sandbox.add_employee("Left Company", active=False)
    found = employees(client, "DisplayName = 'Emily Platt'")
    assert [(e.Id, e.DisplayName, e.Active) for e in found] == [(kept, "Emily Platt", True)]


def test_decimals_are_written_with_their_exact_digits() -> None:
    body = {"HourlyRate": Decimal("0.10"), "Nested": [Decimal("1234567890123456.01")], "Text": "0.10"}
    assert json.loads(encode_exact(body), parse_float=Decimal) == body
    assert b'"HourlyRate": 0.10' in encode_exact(body)
