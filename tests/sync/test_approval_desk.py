"""Approval decisions against fakes: the one conditional write first, then the callback, at least once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.engagement_ports import ApprovalState, Decision
from shared.domain.errors import TransientError
from shared.sync.engagements.approvals import DELIVERY_LEASE, AlreadyDecided
from tests.sync.test_engagements import BEFORE_APPROVAL, DEMO_LANDSCAPE, World, _start, make_world

OPS, FINANCE = "ops@northwind.example", "finance@northwind.example"


@pytest.fixture
def world() -> World:
    return make_world(DEMO_LANDSCAPE.read_text())


def _waiting(world: World) -> str:
    world.opportunities.put("006W", "001A")
    world.run(BEFORE_APPROVAL, _start(world))
    [pending] = world.desk.pending()
    return pending.id


def _crash_after_the_write(world: World, approval_id: str) -> None:
    """The deciding invocation recorded its decision, then died before answering the workflow."""
    now = world.now[0]
    assert world.approvals.decide(
        approval_id,
        Decision(state=ApprovalState.APPROVED, by=OPS, at=now, deliver_until=now + DELIVERY_LEASE),
    )


def test_the_second_decision_is_refused_and_changes_nothing(world: World) -> None:
    approval_id = _waiting(world)
    world.desk.approve(approval_id, by=OPS)
    with pytest.raises(AlreadyDecided, match=f"already approved by {OPS}"):
        world.desk.reject(approval_id, by=FINANCE, reason="too late")
    recorded = world.approvals.requests[approval_id]
    assert (recorded.state, recorded.decided_by, recorded.reason) == (ApprovalState.APPROVED, OPS, None)
    assert [kind for kind, _, _ in world.callback.answers] == ["success"]


def test_a_decision_left_undelivered_by_a_crash_is_completed_by_the_same_approver_retrying(
    world: World,
) -> None:
    approval_id = _waiting(world)
    _crash_after_the_write(world, approval_id)
    # while the crashed writer could still be delivering, nobody else answers the workflow
    with pytest.raises(AlreadyDecided, match="delivery to the workflow is in progress"):
        world.desk.approve(approval_id, by=OPS)
    # another approver cannot overturn the recorded decision, before or after the lease
    world.now[0] += DELIVERY_LEASE + timedelta(seconds=1)
    with pytest.raises(AlreadyDecided, match=f"already approved by {OPS}"):
        world.desk.reject(approval_id, by=FINANCE, reason="no")
    # the same approver repeating the decision completes it: one answer, the recorded one
    assert world.desk.approve(approval_id, by=OPS).state is ApprovalState.APPROVED
    assert [kind for kind, _, _ in world.callback.answers] == ["success"]
    assert world.approvals.requests[approval_id].delivered_at is not None
    with pytest.raises(AlreadyDecided):
        world.desk.approve(approval_id, by=OPS)
    assert len(world.callback.answers) == 1


def test_the_reminder_delivers_a_decision_whose_writer_died(world: World) -> None:
    approval_id = _waiting(world)
    _crash_after_the_write(world, approval_id)
    assert world.desk.complete_deliveries(now=world.now[0]) == []  # the writer's lease still runs
    later = world.now[0] + DELIVERY_LEASE + timedelta(seconds=1)
    assert world.desk.complete_deliveries(now=later) == [approval_id]
    assert world.desk.complete_deliveries(now=later) == []
    assert [(kind, token) for kind, token, _ in world.callback.answers] == [
        ("success", world.approvals.requests[approval_id].task_token)
    ]


def test_a_callback_that_failed_can_be_retried_at_once_by_the_same_approver(world: World) -> None:
    approval_id = _waiting(world)
    broken = world.callback.succeed

    def outage(*args: object, **kwargs: object) -> None:
        raise TransientError("Step Functions throttled")

    world.callback.succeed = outage  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        world.desk.approve(approval_id, by=OPS)
    # the decision stands (another approver is refused), and its approver's retry delivers it now
    with pytest.raises(AlreadyDecided):
        world.desk.reject(approval_id, by=FINANCE, reason="no")
    world.callback.succeed = broken  # type: ignore[method-assign]
    world.desk.approve(approval_id, by=OPS)
    assert [kind for kind, _, _ in world.callback.answers] == ["success"]


def test_a_timeout_after_an_undelivered_decision_records_the_timeout(world: World) -> None:
    # the workflow never heard the decision: its timeout's compensation is the truth
    world.opportunities.put("006W", "001A")
    state = world.run(BEFORE_APPROVAL, _start(world))
    _crash_after_the_write(world, state["execution"])
    world.setup.compensate({**state, "approval_id": None}, {"Error": "States.Timeout", "Cause": None})
    assert world.approvals.requests[state["execution"]].state is ApprovalState.TIMED_OUT
    assert world.desk.complete_deliveries(now=world.now[0] + DELIVERY_LEASE * 2) == []
