"""Approval requests on moto: one decision wins a race, settled requests leave the index, no scans."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from infra.status import StatusReport
from shared.aws.approvals import DynamoApprovals
from shared.aws.ledger import DynamoLedger
from shared.domain.engagement_ports import ApprovalState, Decision
from shared.sync.engagements.approvals import AlreadyDecided, ApprovalDesk
from tests.benchmarks.ledger_reads import ASKED, approval_request, open_exception
from tests.benchmarks.ledger_reads import measure as ledger_reads
from tests.engagement_fakes import FakeCallback, FakeNotifier
from tests.fakes import FakeMetrics


@pytest.fixture
def approvals(dynamodb) -> DynamoApprovals:
    return DynamoApprovals("ledger", client=dynamodb)


def test_of_concurrent_decisions_exactly_one_is_recorded(approvals: DynamoApprovals) -> None:
    # given one pending request
    approvals.put(approval_request("opp-1"))
    won: list[str] = []
    start = threading.Barrier(12)

    def decide(n: int) -> None:
        state = ApprovalState.APPROVED if n % 2 else ApprovalState.REJECTED
        start.wait()
        now = datetime.now(UTC)
        decision = Decision(
            state=state,
            by=f"approver-{n}",
            at=now,
            reason="no" if n % 2 == 0 else None,
            deliver_until=now + timedelta(minutes=1),
        )
        if approvals.decide("opp-1", decision):
            won.append(f"approver-{n}:{state}")

    # when twelve approvers decide at once
    threads = [threading.Thread(target=decide, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one decision is recorded, and the record is that winner's
    [winner] = won
    recorded = approvals.get("opp-1")
    assert recorded is not None
    assert f"{recorded.decided_by}:{recorded.state}" == winner
    assert approvals.pending() == []


def test_a_decided_request_awaits_its_delivery_then_leaves_the_index(approvals: DynamoApprovals) -> None:
    approvals.put(approval_request("opp-1"))
    approvals.put(approval_request("opp-2", at=ASKED + timedelta(hours=1)))
    now = datetime.now(UTC)
    assert approvals.decide(
        "opp-1",
        Decision(state=ApprovalState.APPROVED, by="ops", at=now, deliver_until=now + timedelta(minutes=1)),
    )
    # a decision not yet delivered is not pending, and cannot be taken over while its writer holds it
    assert [r.id for r in approvals.pending()] == ["opp-2"]
    assert [r.id for r in approvals.undelivered()] == ["opp-1"]
    assert not approvals.claim_delivery("opp-1", now=now, until=now + timedelta(minutes=1))
    # once its time ran out (the writer died), one taker gets it
    later = now + timedelta(minutes=2)
    assert approvals.claim_delivery("opp-1", now=later, until=later + timedelta(minutes=1))
    assert not approvals.claim_delivery("opp-1", now=later, until=later + timedelta(minutes=1))
    approvals.delivered("opp-1", at=later)
    assert approvals.undelivered() == []
    settled = approvals.get("opp-1")
    assert (
        settled is not None and settled.delivered_at is not None and settled.state is ApprovalState.APPROVED
    )


def test_a_timed_out_request_is_neither_pending_nor_awaiting_delivery(approvals: DynamoApprovals) -> None:
    approvals.put(approval_request("opp-1"))
    assert approvals.time_out("opp-1") and not approvals.time_out("opp-unknown")
    assert approvals.pending() == [] and approvals.undelivered() == []
    timed_out = approvals.get("opp-1")
    assert timed_out is not None and timed_out.state is ApprovalState.TIMED_OUT


def test_exceptions_are_listed_from_the_index_open_then_resolved(dynamodb) -> None:
    ledger = DynamoLedger("ledger", client=dynamodb)
    for n in range(3):
        ledger.record_exception(open_exception(f"x{n}", at=ASKED + timedelta(hours=n)))
    ledger.resolve_exception("x0", resolution="fixed by hand", at=ASKED + timedelta(days=1))
    assert [e["id"] for e in ledger.open_exceptions()] == ["x1", "x2"]
    assert [(e["id"], e["state"]) for e in ledger.exceptions()] == [
        ("x1", "open"),
        ("x2", "open"),
        ("x0", "resolved"),
    ]


def test_get_approvals_reads_the_same_few_items_however_large_the_ledger_grows() -> None:
    # given ledgers of 500 and of 5,000 items, each with 5 pending approvals and 3 open exceptions
    small, large = ledger_reads(500), ledger_reads(5_000)
    # then GET /approvals costs both the same: one index query reading only what it lists
    assert small.listed == large.listed == 5
    assert small.calls == large.calls == {"Query": 1}
    assert small.items_read == large.items_read == 5
    print(f"\nledger reads per GET /approvals: {small} / {large}")


def test_status_shows_a_decision_its_workflow_has_not_heard_yet(dynamodb, approvals: DynamoApprovals) -> None:
    # given one request waiting and one decided by a call that died before its callback
    approvals.put(approval_request("opp-1"))
    approvals.put(approval_request("opp-2"))
    now = datetime.now(UTC)
    approvals.decide(
        "opp-2", Decision(state=ApprovalState.REJECTED, by="finance", at=now, reason="no", deliver_until=now)
    )
    # when the operator looks at the status
    lines = StatusReport(
        sfn=boto3.client("stepfunctions", region_name="us-east-1"),
        dynamodb=dynamodb,
        sqs=boto3.client("sqs", region_name="us-east-1"),
    ).lines(now=now)
    # then both are there, each with what happens next
    assert "approvals pending: 1" in lines
    assert any(line.startswith("  opp-2: rejected by finance, not yet delivered") for line in lines), lines


def test_concurrent_containers_deciding_one_request_answer_its_workflow_once(
    approvals: DynamoApprovals,
) -> None:
    # given one pending request and twelve Lambda containers of approvals_api, each with its own desk
    approvals.put(approval_request("opp-1"))
    callback = FakeCallback()
    metrics = FakeMetrics()
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def container(n: int) -> None:
        desk = ApprovalDesk(
            approvals=approvals, callback=lambda: callback, notifier=FakeNotifier, metrics=metrics
        )
        start.wait()
        try:
            if n % 2:
                desk.approve("opp-1", by="ops")
            else:
                desk.reject("opp-1", by="finance", reason="no")
            outcomes.append("200")
        except AlreadyDecided:
            outcomes.append("409")

    # when each decides at the same instant (API Gateway spreads them over containers)
    threads = [threading.Thread(target=container, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one is accepted, the workflow hears exactly one answer, and it is the recorded one
    assert sorted(outcomes) == ["200"] + ["409"] * 11
    [(kind, token, _)] = callback.answers
    recorded = approvals.get("opp-1")
    assert recorded is not None and token == recorded.task_token and recorded.delivered_at is not None
    assert (kind, recorded.decided_by) in {("success", "ops"), ("failure", "finance")}
    assert recorded.state is (ApprovalState.APPROVED if kind == "success" else ApprovalState.REJECTED)
