"""Approved time and expenses reach QuickBooks once, on the local runtime against the vendor sandboxes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from infra.local.environment import LocalEnvironment, local_environment
from infra.status import StatusReport
from shared import bootstrap
from shared.domain.models import SystemName
from shared.domain.postings import PostingState, WorkKind, work_key
from tests.flows.deals import decide, pending_for, setup_status, staffed, sub_customer, won_deal

pytestmark = pytest.mark.flow

SWEEP_SECONDS = 16 * 60  # the delivery sweep runs every 15 minutes


@dataclass
class Engagement:
    opportunity_id: str
    project_id: str
    sub_customer_id: str
    consultant_service: str
    person_id: str


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


@pytest.fixture(scope="module")
def engagement(env: LocalEnvironment) -> Engagement:
    """A won deal (a Consultant at 200.00 USD) waiting for its approval, and a consultant in both systems."""
    opportunity_id = won_deal(env, "Time Flow Corp rollout")
    pending_for(env, opportunity_id)
    project, service, person = staffed(
        env,
        opportunity_id,
        person=("Grace", "Hopper", "grace@northwind.example"),
        accounting_email="Grace@Northwind.example",
    )
    return Engagement(opportunity_id, project, sub_customer(env, opportunity_id), service, person)


def activate(env: LocalEnvironment, engagement: Engagement) -> None:
    """The engagement approved and active (the first test approves it; alone, a test does it here)."""
    if env.salesforce.opportunity(engagement.opportunity_id).get("C2C_Setup_Status__c") != "active":
        request = pending_for(env, engagement.opportunity_id)
        assert decide(env, request["id"]).status_code == 200
    assert setup_status(env, engagement.opportunity_id, "active") == "active"


def activities(env: LocalEnvironment) -> list[dict[str, Any]]:
    return [dict(row) for row in env.quickbooks.company.rows("TimeActivity")]


def for_entry(env: LocalEnvironment, entry_id: str) -> list[dict[str, Any]]:
    reference = f"close2cash productive/time_entries/{entry_id}]"
    return [a for a in activities(env) if str(a.get("Description", "")).endswith(reference)]


def state_of(entry_id: str, kind: WorkKind = WorkKind.TIME) -> PostingState | None:
    key = work_key(SystemName.PRODUCTIVE, kind, entry_id)
    record = bootstrap.services().postings.works([key]).get(key)
    return None if record is None else record.state


def test_time_approved_while_the_engagement_waits_for_approval_is_parked_then_posted(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    # given 90 minutes approved while the engagement still waits for its approval
    entry = env.productive.add_time_entry(
        engagement.person_id, engagement.consultant_service, "2026-12-01", 90
    )
    env.productive.approve_time_entry(entry)
    env.settle()
    # then it is parked, not failed, and status says for which engagement
    assert state_of(entry) is PostingState.PARKED and for_entry(env, entry) == []
    assert env.runtime is not None
    clients = env.runtime.clients
    lines = StatusReport(sfn=clients.stepfunctions(), dynamodb=clients.dynamodb(), sqs=clients.sqs()).lines(
        now=env.clock.now()
    )
    assert "work parked: 1 (posts when its engagement is active)" in lines
    assert any(line.startswith(f"  project {engagement.project_id}: 1 entry") for line in lines)
    # when delivery operations approves the engagement
    request = pending_for(env, engagement.opportunity_id)
    assert decide(env, request["id"]).status_code == 200
    assert setup_status(env, engagement.opportunity_id, "active") == "active"
    env.settle()
    # then the entry posts once: 1 h 30 at the card's 200.00 on the sub-customer, billable
    [activity] = for_entry(env, entry)
    assert (activity["Hours"], activity["Minutes"], Decimal(str(activity["HourlyRate"]))) == (
        1,
        30,
        Decimal(200),
    )
    assert activity["CustomerRef"]["value"] == engagement.sub_customer_id
    assert activity["BillableStatus"] == "Billable" and activity["ItemRef"]["value"] == "9003"
    assert state_of(entry) is PostingState.POSTED


def test_an_approval_whose_webhook_is_lost_is_posted_by_the_sweep_once(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    activate(env, engagement)
    entry = env.productive.add_time_entry(
        engagement.person_id, engagement.consultant_service, "2026-12-02", 45
    )
    env.settle()
    # when it is approved and Productive's webhook never arrives
    env.productive.approve_time_entry(entry)
    assert env.productive.drop_pending("time_entries", entry) == 1
    env.settle()
    assert for_entry(env, entry) == []
    # then the next sweep posts it, and the one after writes nothing more
    env.pass_time(SWEEP_SECONDS)
    assert len(for_entry(env, entry)) == 1
    env.pass_time(SWEEP_SECONDS)
    assert len(for_entry(env, entry)) == 1


def test_an_edit_before_billing_updates_and_after_billing_opens_an_exception(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    activate(env, engagement)
    entry = env.productive.add_time_entry(
        engagement.person_id, engagement.consultant_service, "2026-12-03", 60
    )
    env.productive.approve_time_entry(entry)
    env.settle()
    # when the approver corrects it to 2 hours while it is unbilled
    env.productive.edit_time_entry(entry, minutes=120)
    env.settle()
    [activity] = for_entry(env, entry)
    assert (activity["Hours"], activity["Minutes"]) == (2, 0)
    assert state_of(entry) is PostingState.CORRECTED
    # and once it is billed on an invoice, edited again
    env.quickbooks.bill_time_activity(str(activity["Id"]), "1042")
    env.productive.edit_time_entry(entry, minutes=150)
    env.settle()
    # then QuickBooks keeps the billed 2 hours and an exception names the entry and the invoice
    [activity] = for_entry(env, entry)
    assert (activity["Hours"], activity["Minutes"]) == (2, 0)
    reasons = [e["reason"] or "" for e in bootstrap.services().ledger.open_exceptions()]
    assert any(entry in r and "1042" in r and "minutes 120 -> 150" in r for r in reasons), reasons


def test_non_billable_and_unapproved_time_never_posts(env: LocalEnvironment, engagement: Engagement) -> None:
    activate(env, engagement)
    internal = env.productive.add_time_entry(
        engagement.person_id, engagement.consultant_service, "2026-12-04", 60, billable_time=0
    )
    waiting = env.productive.add_time_entry(
        engagement.person_id, engagement.consultant_service, "2026-12-04", 30
    )
    env.productive.approve_time_entry(internal)
    env.settle()
    assert for_entry(env, internal) == [] and for_entry(env, waiting) == []


def test_an_approved_billable_expense_becomes_a_billable_purchase_line(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    activate(env, engagement)
    service = env.productive.add_service(engagement.project_id, "Expenses")
    expense = env.productive.add_expense(
        engagement.person_id, service, "2026-12-02", 41237, "USD", name="Train"
    )
    env.productive.approve_expense(expense)
    env.settle()
    reference = f"close2cash productive/expenses/{expense}"
    [purchase] = [p for p in env.quickbooks.company.rows("Purchase") if p.get("PrivateNote") == reference]
    [line] = purchase["Line"]
    detail = line["AccountBasedExpenseLineDetail"]
    assert str(line["Amount"]) == "412.37" and detail["BillableStatus"] == "Billable"
    assert detail["CustomerRef"]["value"] == engagement.sub_customer_id
    assert (detail["AccountRef"]["value"], purchase["AccountRef"]["value"]) == ("9101", "9102")
    assert state_of(expense, WorkKind.EXPENSE) is PostingState.POSTED


def _approved(env: LocalEnvironment, engagement: Engagement, count: int, day: str) -> list[str]:
    entries = [
        env.productive.add_time_entry(engagement.person_id, engagement.consultant_service, day, 30 + n)
        for n in range(count)
    ]
    for entry in entries:
        env.productive.approve_time_entry(entry)
    return entries


def test_a_429_storm_drains_with_nothing_lost_or_doubled(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    activate(env, engagement)
    # given QuickBooks answers the next batch requests 429 (Retry-After 60 s)
    env.quickbooks.fail_next(4, 429, retry_after=60, path="/batch")
    entries = _approved(env, engagement, 23, "2026-12-07")
    env.settle()
    # when the delayed messages come back after the wait
    env.pass_time(5 * 60, step=30)
    # then the storm was met (every armed 429 answered) and every entry is in QuickBooks exactly once
    assert len(env.quickbooks.faults) == 0
    assert [len(for_entry(env, entry)) for entry in entries] == [1] * len(entries)


def test_a_batch_written_but_whose_answer_was_lost_is_found_again_not_written_twice(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    activate(env, engagement)
    # given QuickBooks writes the next batch but its answer never arrives (a gateway timeout)
    env.quickbooks.fail_next(1, 504, path="/batch", after=True)
    entries = _approved(env, engagement, 3, "2026-12-08")
    env.settle()
    env.pass_time(5 * 60, step=30)
    # then the resend with the same request id is answered from what QuickBooks did: once each
    assert len(env.quickbooks.faults) == 0
    assert [len(for_entry(env, entry)) for entry in entries] == [1, 1, 1]
    assert all(state_of(entry) is PostingState.POSTED for entry in entries)


def test_with_no_productive_webhooks_at_all_every_approved_entry_still_posts(
    env: LocalEnvironment, engagement: Engagement
) -> None:
    activate(env, engagement)
    # given every webhook about these entries is lost (created, approved)
    entries = _approved(env, engagement, 12, "2026-12-09")
    for entry in entries:
        env.productive.drop_pending("time_entries", entry)
    env.settle()
    assert all(for_entry(env, entry) == [] for entry in entries)
    # when the sweep runs
    env.pass_time(SWEEP_SECONDS)
    # then each is in QuickBooks once
    assert [len(for_entry(env, entry)) for entry in entries] == [1] * len(entries)
