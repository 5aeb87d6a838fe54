"""Engagement setup when things go wrong, on the Salesforce, Productive and QuickBooks sandboxes.

A transient vendor failure (retried by the workflow, one engagement), a permanent one (exception
naming step and cause, then `close2cash workflow retry` completes it once) and an approval nobody
answers (a reminder, then an exception) — through the real connectors, workflow and CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from infra import cli
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.ports import EngagementStatus
from shared.domain.systems import Role
from shared.settings import Settings
from tests.flows.deals import decide, engagements, pending_for, setup_status, won_deal

pytestmark = pytest.mark.flow

IMPLEMENTATION_CLASS = "100000000000128002"  # infra/landscapes/demo.toml, classes: Implementation


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    # These tests let days of virtual time pass in seconds (reminders, approval timeouts), with the
    # catch-up sweep on its default schedule: the sandboxes count their rate windows and token
    # lives in the same virtual time, so a week's sweeps cost what a real week's would.
    with local_environment() as environment:
        yield environment


def _projects_for(env: LocalEnvironment, opportunity_id: str) -> list[dict[str, Any]]:
    stamp = f"salesforce-{opportunity_id}"
    return [p for p in env.productive.projects() if p["attributes"].get("project_number") == stamp]


def _sub_customers_for(env: LocalEnvironment, opportunity_id: str) -> list[dict[str, Any]]:
    return [c for c in env.quickbooks.customers() if c.get("Job") and opportunity_id in str(c.get("Notes"))]


def _exceptions_for(opportunity_id: str, *, state: str = "open") -> list[dict[str, str | None]]:
    every = bootstrap.services().ledger.exceptions()
    return [e for e in every if opportunity_id in (e["subject"] or "") and e["state"] == state]


def test_a_transient_productive_outage_is_retried_by_the_workflow_and_makes_one_project(
    env: LocalEnvironment,
) -> None:
    # given Productive answers 503 to the template copy more often than one request retries it
    env.productive.fail_next(6, 503, path="/projects/copy")
    # when a deal is won and approved
    opportunity_id = won_deal(env, "Outage Proof Rollout")
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    # then the step's Retry got through: one project, one financial project, the deal is active
    assert setup_status(env, opportunity_id, "active") == "active"
    assert len(_projects_for(env, opportunity_id)) == 1
    assert len(_sub_customers_for(env, opportunity_id)) == 1
    assert _exceptions_for(opportunity_id) == []
    # and it was the workflow's Retry, not luck: one task attempt failed, the next one went through
    events = _history(env, opportunity_id)
    assert events.count("LambdaFunctionFailed") == 1 and "ExecutionSucceeded" in events


def test_a_template_copy_whose_answer_was_lost_is_adopted_not_copied_again(env: LocalEnvironment) -> None:
    # given Productive makes the copy but its answer is lost (a gateway timeout after the write)
    env.productive.fail_next(1, 504, path="/projects/copy", after=True)
    # when a deal is won and approved
    opportunity_id = won_deal(env, "Lost Answer Rollout")
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    # then the retried step found that copy and stamped it: one project, never two
    assert setup_status(env, opportunity_id, "active") == "active"
    named = [p for p in env.productive.projects() if p["attributes"]["name"] == "Lost Answer Rollout"]
    assert len(named) == 1 and named[0]["attributes"]["project_number"] == f"salesforce-{opportunity_id}"
    assert _history(env, opportunity_id).count("LambdaFunctionFailed") == 1


def _history(env: LocalEnvironment, opportunity_id: str) -> list[str]:
    assert env.runtime is not None
    sfn = env.runtime.clients.stepfunctions()
    arn = env.runtime.resources.state_machines["close-to-cash"]
    [execution] = [
        e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if opportunity_id in e["name"]
    ]
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    return [str(event["type"]) for event in history]


def test_a_permanent_failure_names_step_and_cause_and_the_retry_completes_it_once(
    env: LocalEnvironment,
) -> None:
    assert env.runtime is not None
    # given the bookkeeper made the engagement's class inactive in QuickBooks
    env.quickbooks.set_class_active(IMPLEMENTATION_CLASS, False)
    # when a deal is won, setup fails: the exception names the step, the cause and the retry command
    opportunity_id = won_deal(env, "Inactive Class Rollout")
    assert setup_status(env, opportunity_id, "failed") == "failed"
    [exception] = _exceptions_for(opportunity_id)
    reason = exception["reason"] or ""
    assert "step generate_shell failed" in reason and f"class '{IMPLEMENTATION_CLASS}'" in reason
    assert "is inactive" in reason
    # and the Productive shell made in the same step was closed, not left behind
    found = engagements(opportunity_id)
    assert found[Role.PSA] is not None and found[Role.PSA].status is EngagementStatus.CLOSED
    assert found[Role.ACCOUNTING] is None
    # when the class is made active again and the retry command from the exception is run
    env.quickbooks.set_class_active(IMPLEMENTATION_CLASS, True)
    command = reason.rsplit("retry with: ", 1)[1].split()
    started = CliRunner().invoke(cli.app, [*command[1:], "--endpoint-url", env.runtime.moto_endpoint])
    assert started.exit_code == 0, started.output
    # then it asks for approval again, and once approved the deal is active with one of everything
    assert decide(env, pending_for(env, opportunity_id)["id"]).status_code == 200
    assert setup_status(env, opportunity_id, "active") == "active"
    [project] = _projects_for(env, opportunity_id)
    [sub_customer] = _sub_customers_for(env, opportunity_id)
    assert project["attributes"]["archived_at"] is None and sub_customer["Active"] is True
    record = env.salesforce.opportunity(opportunity_id)
    assert record["C2C_PSA_Project_Id__c"] == project["id"]
    assert record["C2C_Accounting_Project_Id__c"] == sub_customer["Id"]
    assert (
        _exceptions_for(opportunity_id) == [] and len(_exceptions_for(opportunity_id, state="resolved")) == 1
    )


def test_an_unanswered_approval_is_reminded_then_times_out_into_an_exception(env: LocalEnvironment) -> None:
    settings = Settings.from_env()
    opportunity_id = won_deal(env, "Forgotten Approval Rollout")
    request = pending_for(env, opportunity_id)
    env.delivery_ops()  # what was said before (activations of earlier tests) is not this test's
    # when nobody decides for longer than the reminder threshold
    # (six hours at a time: the hourly reminder schedule fires at each step, as it would at the first
    # hour past the threshold; the workflow timer fires when its time comes, whatever the step)
    env.pass_time(settings.approval_reminder_seconds + 3600, step=6 * 3600)
    reminders = [m for m in env.delivery_ops() if m["kind"] == "approval_reminder"]
    assert [request["id"] in m["message"] for m in reminders] == [True]
    assert env.salesforce.opportunity(opportunity_id).get("C2C_Setup_Status__c") is None  # still waiting
    # and then past the approval timeout
    env.pass_time(settings.approval_timeout_seconds, step=6 * 3600)
    # then the setup is compensated, the CRM shows it failed, and an exception says why
    assert setup_status(env, opportunity_id, "failed") == "failed"
    assert "no approval decision before the timeout" in (
        env.salesforce.opportunity(opportunity_id)["C2C_Setup_Detail__c"] or ""
    )
    found = engagements(opportunity_id)
    assert all(r is not None and r.status is EngagementStatus.CLOSED for r in found.values()), found
    [exception] = _exceptions_for(opportunity_id)
    assert "step request_approval failed" in (exception["reason"] or "")
    # and a late approval is refused: the request is no longer pending
    late = decide(env, request["id"])
    assert late.status_code == 409, late.text
