"""One billing run of 50 lines and one payment: calls, state transitions, modelled cost, latency."""

from __future__ import annotations

import io
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.domain.billing_runs import BillingPeriod
from shared.domain.models import SourceRef, SystemName
from tests.benchmarks.calls import counting_aws_calls
from tests.benchmarks.engagement import EngagementFigures

LINES = 50
PERIOD = BillingPeriod(month="2026-11")
RUNTIME_ONLY = ("sqs:ReceiveMessage", "sqs:GetQueueAttributes", "sqs:DeleteMessageBatch")


@dataclass
class Counted:
    """What one step of the money path cost: AWS calls, vendor calls, invocations, wall time."""

    aws_calls: Counter[str] = field(default_factory=Counter)
    vendor_calls: dict[str, int] = field(default_factory=dict)
    invocations: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class BillingFigures:
    invoice: Counted
    payment: Counted
    transitions: int
    lines: int
    posted: bool

    def cost_per_10k_invoices(self) -> dict[str, float]:
        """The invoice and one payment per invoice, at the engagement bench's list prices."""
        both = Counted(
            aws_calls=self.invoice.aws_calls + self.payment.aws_calls,
            invocations=self.invoice.invocations + self.payment.invocations,
        )
        model = EngagementFigures(
            transitions=self.transitions,
            invocations=both.invocations,
            aws_calls=both.aws_calls,
            vendor_calls={},
            active=True,
        )
        return {k: v * 10 for k, v in model.cost_per_thousand().items()}


def _counted(env: LocalEnvironment, action: Callable[[], Any]) -> Counted:
    assert env.runtime is not None
    invocations = Counter(env.runtime.invocations)
    vendor = bootstrap.services().vendor_calls()
    started = time.monotonic()
    with counting_aws_calls() as counts:
        action()
    seconds = time.monotonic() - started
    after = Counter(env.runtime.invocations)
    after.subtract(invocations)
    for key in [k for k in counts if k in RUNTIME_ONLY or k.startswith(("states:", "lambda:"))]:
        del counts[key]
    vendor_after = bootstrap.services().vendor_calls()
    return Counted(
        aws_calls=counts,
        vendor_calls={k: v - vendor.get(k, 0) for k, v in vendor_after.items() if v - vendor.get(k, 0)},
        invocations=+after,
        seconds=seconds,
    )


def measure(env: LocalEnvironment) -> BillingFigures:
    """An active engagement with 50 approved November entries; its run; then one payment."""
    assert env.runtime is not None
    account_id = env.salesforce.put_account({"Name": "Bench Billing Co", "CurrencyIsoCode": "USD"})
    env.settle()
    report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    stamp = f"salesforce-{report.opportunity_id}"
    [project] = [p for p in env.productive.projects() if p["attributes"].get("project_number") == stamp]
    services = {s["attributes"]["name"]: s["id"] for s in env.productive.services(project["id"])}
    person = env.productive.add_person("Ada", "Bench", email="ada.bench@northwind.example")
    env.quickbooks.add_employee("Ada Bench", email="ada.bench@northwind.example")
    service = services.get("Senior Consultant") or next(iter(services.values()))
    for n in range(LINES):
        entry = env.productive.add_time_entry(person, service, f"2026-11-{1 + n % 28:02d}", 30 + n)
        env.productive.approve_time_entry(entry)
    env.settle()
    hub = bootstrap.services()
    engagement = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id=project["id"])
    auth = {"Authorization": f"Bearer {env.approver_token}"}

    def bill() -> None:
        name, _ = hub.billing_runs.start(engagement, PERIOD)
        env.settle()
        waiting = httpx.get(f"{env.api_url}/approvals", headers=auth, timeout=10).json()
        if any(a["id"] == name for a in waiting):
            httpx.post(f"{env.api_url}/approvals/{name}/approve", headers=auth, timeout=10).raise_for_status()
            env.settle()

    invoice = _counted(env, bill)
    [run] = hub.billing_store.runs(engagement)
    posted = run.invoice_id is not None and run.invoice is not None
    sfn = env.runtime.clients.stepfunctions()
    arn = env.runtime.resources.state_machines["billing-run"]
    [execution] = sfn.list_executions(stateMachineArn=arn)["executions"][:1]
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    transitions = sum(1 for event in history if event["type"].endswith("StateEntered"))
    payment = Counted()
    if posted and run.invoice is not None and run.invoice_id is not None:
        connector = hub.connector(SystemName.QUICKBOOKS)
        amount = (run.invoice.total.amount / 2).quantize(Decimal("0.01"))
        body = {
            "CustomerRef": {"value": run.invoice.customer.id},
            "TotalAmt": amount,
            "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": run.invoice_id, "TxnType": "Invoice"}]}],
        }

        def pay() -> None:
            connector.client._send(
                "POST", connector.client._path("payment"), body=body, context="bench payment"
            )
            env.settle()

        payment = _counted(env, pay)
        # The bookkeeper's own call is not the hub's.
        payment.vendor_calls["quickbooks"] = payment.vendor_calls.get("quickbooks", 1) - 1
    return BillingFigures(
        invoice=invoice,
        payment=payment,
        transitions=transitions,
        lines=len(run.invoice.lines) if run.invoice else 0,
        posted=posted,
    )
