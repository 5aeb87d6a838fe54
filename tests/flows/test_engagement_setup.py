"""Closed-won to active engagement on the local runtime, with in-memory vendors injected through bootstrap.

The workflow, its Retry/Catch, the approval routes and the CLI are the real ones; the vendors are fakes
so a test can fail any operation on cue. tests/flows/test_engagement_on_sandboxes.py runs the same
flows against the vendor sandboxes through the real connectors.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from infra import cli
from infra.local.clock import Clock
from infra.local.runtime import LocalRuntime
from infra.wiring import WIRING
from shared import bootstrap
from shared.aws.events import source_for
from shared.aws.ledger import DynamoLedger
from shared.bootstrap import Services
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName
from shared.settings import Settings
from tests.engagement_fakes import FakeEngagementTarget, FakeOpportunities
from tests.fakes import FakeCrm, FakeTarget

DEMO_LANDSCAPE = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"
APPROVER = "ops@northwind.example"
APPROVER_TOKEN = "approver-secret-token"
TIMEOUT_SECONDS = 3 * 86400
REMINDER_SECONDS = 86400


class FakeSalesforce:
    """The CRM: accounts (FakeCrm) and opportunities (FakeOpportunities) in one connector."""

    system = SystemName.SALESFORCE

    def __init__(self) -> None:
        self.crm = FakeCrm()
        self.opportunities = FakeOpportunities()

    def __getattr__(self, name: str) -> Any:
        return getattr(
            self.crm if name in ("fetch_account", "accounts", "put_account") else self.opportunities, name
        )


class FakeHolder:
    """A PSA or accounting system: customers (FakeTarget) and engagements (FakeEngagementTarget)."""

    def __init__(self, system: SystemName) -> None:
        self.system = system
        self.customers = FakeTarget(system)
        self.projects = FakeEngagementTarget(system)

    def __getattr__(self, name: str) -> Any:
        engagement = {
            "find_engagement",
            "create_engagement",
            "apply_rate_card",
            "activate_engagement",
            "close_engagement",
            "reopen_engagement",
        }
        return getattr(self.projects if name in engagement else self.customers, name)


@dataclass
class Flow:
    rt: LocalRuntime
    salesforce: FakeSalesforce
    psa: FakeHolder
    accounting: FakeHolder
    api: httpx.Client
    reminders_queue: str

    def closed_won(
        self, opportunity_id: str, *, event_id: str, version: str = "2025-03-01T10:00:00.000Z"
    ) -> None:
        self.salesforce.crm.put(f"acc-{opportunity_id}", f"Customer {opportunity_id}", phone="+1 555 0100")
        self.salesforce.opportunities.put(opportunity_id, f"acc-{opportunity_id}", version=version)
        self.notice(opportunity_id, event_id=event_id)

    def notice(self, opportunity_id: str, *, event_id: str) -> None:
        detail = {
            "provider": "salesforce",
            "event_id": event_id,
            "entity": "opportunity",
            "vendor_type": "Opportunity",
            "record_id": opportunity_id,
            "operation": "updated",
        }
        self.rt.clients.events().put_events(
            Entries=[
                {
                    "EventBusName": self.rt.resources.bus_name,
                    "Source": source_for("salesforce"),
                    "DetailType": "ChangeNotice",
                    "Detail": json.dumps(detail),
                }
            ]
        )
        self.rt.drain(timeout=20, executions=False)

    def executions(self) -> list[dict[str, Any]]:
        sfn = self.rt.clients.stepfunctions()
        arn = self.rt.resources.state_machines["close-to-cash"]
        return list(sfn.list_executions(stateMachineArn=arn)["executions"])

    def pending(self, *, within: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            answer = self.api.get("/approvals", headers=_auth())
            assert answer.status_code == 200, answer.text
            if answer.json():
                return list(answer.json())
            time.sleep(0.05)
        raise AssertionError("no approval request appeared")

    def finished(self, name: str, *, within: float = 20.0) -> dict[str, Any]:
        sfn = self.rt.clients.stepfunctions()
        arn = next(e["executionArn"] for e in self.executions() if e["name"] == name)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return dict(described)
            time.sleep(0.05)
        raise AssertionError(f"{name} still running")

    def reminders(self) -> list[dict[str, Any]]:
        messages = self.rt.clients.sqs().receive_message(
            QueueUrl=self.reminders_queue, MaxNumberOfMessages=10
        )
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {APPROVER_TOKEN}"}


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    secrets = {"connections": {"approvers": {APPROVER: hashlib.sha256(APPROVER_TOKEN.encode()).hexdigest()}}}
    with LocalRuntime(WIRING, secrets=secrets, clock=Clock(fast_forward=True)) as rt:
        monkeypatch.setenv("LANDSCAPE_FILE", str(DEMO_LANDSCAPE))
        salesforce = FakeSalesforce()
        psa, accounting = FakeHolder(SystemName.PRODUCTIVE), FakeHolder(SystemName.QUICKBOOKS)
        settings = Settings.from_env().model_copy(
            update={
                "approval_timeout_seconds": TIMEOUT_SECONDS,
                "approval_reminder_seconds": REMINDER_SECONDS,
            }
        )
        services = Services(
            settings=settings,
            secrets_loader=lambda name: secrets["connections"],
            _connectors={
                SystemName.SALESFORCE: salesforce,
                SystemName.PRODUCTIVE: psa,
                SystemName.QUICKBOOKS: accounting,
            },
        )
        bootstrap.override(services)
        # Reminders and activations land on the topic; a queue subscribed to it lets the test read them.
        sqs = rt.clients.sqs()
        queue = sqs.create_queue(QueueName="c2c-test-delivery-ops")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rt.clients.sns().subscribe(
            TopicArn=rt.resources.topics["delivery-ops"], Protocol="sqs", Endpoint=queue_arn
        )
        api = httpx.Client(transport=httpx.WSGITransport(app=rt.api_wsgi), base_url="http://local")
        try:
            yield Flow(rt, salesforce, psa, accounting, api, queue)
        finally:
            bootstrap.override(None)


def test_approved_closed_won_becomes_an_active_engagement(flow: Flow) -> None:
    # given a closed-won opportunity whose customer was never synced
    flow.closed_won("006A", event_id="n-1")
    # when the approver sees the request and approves it through the API
    [request] = flow.pending()
    assert request["budget"] == "120000.00 USD" and "task_token" not in request
    answer = flow.api.post(f"/approvals/{request['id']}/approve", headers=_auth())
    assert answer.status_code == 200, answer.text
    # then the execution succeeds; PSA and accounting hold one active engagement; the CRM shows it
    assert flow.finished(request["id"])["status"] == "SUCCEEDED"
    assert flow.psa.projects.statuses() == [EngagementStatus.ACTIVE]
    assert flow.accounting.projects.statuses() == [EngagementStatus.ACTIVE]
    assert flow.salesforce.opportunities.last_status("006A") == "active"
    assert len(flow.psa.customers.records) == 1  # synced first, once
    assert any(m.get("Subject", "").startswith("Engagement active") for m in flow.reminders())


def test_rejected_closed_won_is_compensated_and_the_crm_shows_rejected(flow: Flow) -> None:
    flow.closed_won("006R", event_id="n-2")
    [request] = flow.pending()
    answer = flow.api.post(
        f"/approvals/{request['id']}/reject", headers=_auth(), json={"reason": "budget not signed off"}
    )
    assert answer.status_code == 200, answer.text
    described = flow.finished(request["id"])
    assert described["status"] == "FAILED"
    assert flow.psa.projects.statuses() == [EngagementStatus.CLOSED]
    assert flow.accounting.projects.statuses() == [EngagementStatus.CLOSED]
    assert flow.salesforce.opportunities.last_status("006R") == "rejected"
    [exception] = DynamoLedger(flow.rt.resources.tables["ledger"]).open_exceptions()
    assert "budget not signed off" in (exception["reason"] or "")
    # and `close2cash workflow list / show` against the moto endpoint tell the same story
    runner, endpoint = CliRunner(), ["--endpoint-url", flow.rt.moto_endpoint]
    listed = runner.invoke(cli.app, ["workflow", "list", *endpoint])
    assert request["id"] in listed.output and "FAILED" in listed.output
    shown = runner.invoke(cli.app, ["workflow", "show", request["id"], *endpoint])
    assert "failed step:      request_approval" in shown.output, shown.output
    assert "budget not signed off" in shown.output


def test_unanswered_approval_gets_a_reminder_then_times_out_into_an_exception(flow: Flow) -> None:
    flow.closed_won("006T", event_id="n-3")
    [request] = flow.pending()
    shown = CliRunner().invoke(
        cli.app, ["workflow", "show", request["id"], "--endpoint-url", flow.rt.moto_endpoint]
    )
    assert "approval pending: yes" in shown.output, shown.output
    # with what is to be approved, so the approver can decide from the command line's answer
    assert "  budget:         120000.00 USD" in shown.output and "Consultant 180.00 USD" in shown.output
    assert flow.rt.scheduler is not None
    # when a day and two hours pass on the clock, hour by hour, the hourly reminder finds it once
    for _ in range(REMINDER_SECONDS // 3600 + 2):
        flow.rt.clock.advance(3600)
        flow.rt.scheduler.tick()
    assert any(m.get("Subject", "").startswith("Approval pending") for m in flow.reminders())
    # and when the approval timeout passes, the setup is compensated and an exception is open
    flow.rt.clock.advance(TIMEOUT_SECONDS)
    assert flow.finished(request["id"])["status"] == "FAILED"
    assert flow.psa.projects.statuses() == [EngagementStatus.CLOSED]
    [exception] = DynamoLedger(flow.rt.resources.tables["ledger"]).open_exceptions()
    assert "request_approval" in (exception["reason"] or "") and "timeout" in (exception["reason"] or "")


def test_duplicate_closed_won_notices_start_one_execution(flow: Flow) -> None:
    flow.closed_won("006D", event_id="n-4")
    flow.notice("006D", event_id="n-5")  # the same close, notified again
    flow.notice("006D", event_id="n-6")
    assert [e["name"] for e in flow.executions()] == ["opp-006D-2025-03-01T10-00-00-000Z"]
    assert flow.rt.invocations["workflow_start"] == 3


def _approved_but_failing_activation(flow: Flow, opportunity_id: str, *, event_id: str) -> dict[str, Any]:
    """A deal won and approved whose PSA activation fails permanently: the request of a FAILED setup."""
    flow.psa.projects.fail_next["activate"] = [ValidationFailed("project manager is required")]
    flow.closed_won(opportunity_id, event_id=event_id)
    [request] = flow.pending()
    assert flow.api.post(f"/approvals/{request['id']}/approve", headers=_auth()).status_code == 200
    assert flow.finished(request["id"])["status"] == "FAILED"
    return request


def test_a_permanent_failure_is_retried_by_the_cli_and_completes_once(flow: Flow) -> None:
    # given a setup whose activation fails permanently in the PSA (a person must fix something)
    request = _approved_but_failing_activation(flow, "006P", event_id="n-7")
    [exception] = DynamoLedger(flow.rt.resources.tables["ledger"]).open_exceptions()
    assert "step activate failed: project manager is required" in (exception["reason"] or "")
    assert flow.psa.projects.statuses() == [EngagementStatus.CLOSED]
    # when the cause is fixed and the retry command from the exception is run
    runner, endpoint = CliRunner(), ["--endpoint-url", flow.rt.moto_endpoint]
    command = (exception["reason"] or "").rsplit("retry with: ", 1)[1].split()
    assert command[:3] == ["close2cash", "workflow", "retry"]
    started = runner.invoke(cli.app, [*command[1:], *endpoint])
    assert started.exit_code == 0 and f"started {request['id']}-r1" in started.output, started.output
    # then a new approval is asked for, and once approved the same engagement is active, once
    [again] = flow.pending()
    assert again["id"] == request["id"] and again["state"] == "pending"
    assert flow.api.post(f"/approvals/{again['id']}/approve", headers=_auth()).status_code == 200
    assert flow.finished(f"{request['id']}-r1")["status"] == "SUCCEEDED"
    assert flow.psa.projects.statuses() == [EngagementStatus.ACTIVE]
    assert flow.accounting.projects.statuses() == [EngagementStatus.ACTIVE]
    assert len(flow.psa.projects.reopened) == 1
    assert flow.salesforce.opportunities.last_status("006P") == "active"
    assert DynamoLedger(flow.rt.resources.tables["ledger"]).open_exceptions() == []
    listed = runner.invoke(cli.app, ["exceptions", "list", "--all", *endpoint])
    assert "[resolved] engagement_setup_failed" in listed.output and "engagement active" in listed.output
    # and retrying again (the command typed twice) starts nothing
    twice = runner.invoke(cli.app, [*command[1:], *endpoint])
    assert twice.exit_code == 1 and "already succeeded" in twice.output, twice.output
    assert len(flow.executions()) == 2


def test_status_shows_what_needs_a_person_on_one_screen(flow: Flow) -> None:
    # given one setup failed for good and one waits for its approval
    failed = _approved_but_failing_activation(flow, "006F", event_id="n-8")
    flow.closed_won("006Q", event_id="n-9")
    waiting = next(r for r in flow.pending() if r["opportunity"]["id"] == "006Q")
    # when the operator asks for the status
    shown = CliRunner().invoke(cli.app, ["status", "--endpoint-url", flow.rt.moto_endpoint])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    # then the failed setup, the pending approval, the open exception and the queues are there
    assert "workflow close-to-cash: 1 running, 1 failed" in lines
    assert f"  needs a retry or a decision: {failed['id']} (close2cash workflow show {failed['id']})" in lines
    assert "approvals pending: 1" in lines and any(line.startswith(f"  {waiting['id']}: ") for line in lines)
    assert "open exceptions: 1 (1 engagement_setup_failed)" in lines
    assert "queue opportunity-changes: waiting 0, dead-lettered 0" in lines
