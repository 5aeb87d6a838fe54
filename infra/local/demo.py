"""`make demo`: a customer master sync, end to end on the local runtime, with a report.

Sales creates and edits accounts in Salesforce; Salesforce delivers its outbound messages to
`POST /webhooks/salesforce` (or, with `--intake cdc`, relays its Change Data Capture events to the
EventBridge partner bus); the hub fetches each account and upserts the Productive company and
the QuickBooks customer. Productive and QuickBooks then notify the hub of those very writes (echoes)
and a bookkeeper edits one customer by hand (drift). The run fails unless every account arrived
exactly once in each system, and one edit's outbound message is dropped on purpose: the catch-up
sweep must bring it, exactly once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from infra.local import demo_analytics, demo_cash, demo_cutover, demo_reconcile, demo_replay, demo_time
from infra.local.demo_sweep import lost_notice
from infra.local.demo_time import TimeChapter
from infra.local.environment import DEFAULT_LANDSCAPE, LocalEnvironment, local_environment
from infra.report import write_report
from infra.status import StatusReport
from infra.wiring import SALESFORCE_EVENTS
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.systems import Intake
from shared.observability import logger

DEFAULT_LOG = Path(".close2cash/demo-handlers.log")
REPORT_FILE = Path(".close2cash/report.html")

ACCOUNTS: list[dict[str, str]] = [
    {
        "Name": "Northwind Advisory",
        "Phone": "+1 212 555 0101",
        "Website": "https://northwind.example",
        "BillingStreet": "200 Park Ave",
        "BillingCity": "New York",
        "BillingState": "NY",
        "BillingPostalCode": "10166",
        "BillingCountry": "US",
        "CurrencyIsoCode": "USD",
    },
    {
        "Name": "Fabrikam Health",
        "Phone": "+1 617 555 0142",
        "BillingStreet": "1 Kendall Sq",
        "BillingCity": "Cambridge",
        "BillingState": "MA",
        "BillingPostalCode": "02139",
        "BillingCountry": "US",
    },
    {
        "Name": "Contoso Pharma GmbH",
        "Phone": "+49 69 5550 1234",
        "BillingCity": "Frankfurt",
        "BillingCountry": "DE",
    },
    {"Name": "Tailspin Logistics", "Website": "https://tailspin.example", "BillingCity": "Denver"},
    {
        "Name": "Wingtip Retail",
        "Phone": "+44 20 7946 0018",
        "BillingCity": "London",
        "BillingCountry": "GB",
        "CurrencyIsoCode": "GBP",
    },
    {"Name": "Adatum Energy", "BillingCity": "Houston", "BillingState": "TX", "BillingCountry": "US"},
]


@dataclass
class AccountRow:
    """One line of the final report."""

    name: str
    salesforce_id: str
    productive_id: str | None
    quickbooks_id: str | None
    actions: str
    in_productive: int
    in_quickbooks: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.in_productive == 1
            and self.in_quickbooks == 1
            and self.productive_id is not None
            and self.quickbooks_id is not None
        )


def _id_of(record: dict[str, Any]) -> str | None:
    value = record.get("id", record.get("Id"))
    return None if value is None else str(value)


def _name_of(record: dict[str, Any]) -> str | None:
    attributes = record.get("attributes")
    if isinstance(attributes, dict) and "name" in attributes:
        return str(attributes["name"])
    for key in ("name", "DisplayName", "Name"):
        if key in record:
            return str(record[key])
    return None


def _report_rows(env: LocalEnvironment, account_ids: list[str]) -> list[AccountRow]:
    ledger = bootstrap.services().ledger
    companies = env.productive.companies()
    customers = env.quickbooks.customers()

    def copies(records: list[dict[str, Any]], linked_id: str | None, name: str) -> int:
        # A copy is the linked record, or any other record carrying the account's name: a duplicate.
        return sum(1 for r in records if _id_of(r) == linked_id or _name_of(r) == name)

    rows = []
    for account_id in account_ids:
        name = str(env.salesforce.account(account_id)["Name"])
        source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
        xrefs = {x.target.system: x.target.id for x in ledger.cross_references(EntityType.ACCOUNT, source)}
        history = ledger.history(EntityType.ACCOUNT, source)
        actions: dict[str, list[str]] = {}
        for entry in history:
            done = actions.setdefault(str(entry["target_system"]), [])
            if entry["action"] not in done:
                done.append(str(entry["action"]))
        rows.append(
            AccountRow(
                name=name,
                salesforce_id=account_id,
                productive_id=xrefs.get(SystemName.PRODUCTIVE),
                quickbooks_id=xrefs.get(SystemName.QUICKBOOKS),
                actions=" · ".join(f"{system}: {', '.join(done)}" for system, done in actions.items()) or "-",
                in_productive=copies(companies, xrefs.get(SystemName.PRODUCTIVE), name),
                in_quickbooks=copies(customers, xrefs.get(SystemName.QUICKBOOKS), name),
            )
        )
    return rows


DEAL: dict[str, Any] = {
    "Name": "Northwind: operating model review",
    "StageName": "Proposal/Price Quote",
    "CloseDate": "2026-12-15",
    "Service_Line__c": "Advisory",
    "Billing_Model__c": "Time and Materials",
    "Department__c": "Strategy",
    "Delivery_Location__c": "New York",
    "Cost_Center__c": "CC-100",
    "CurrencyIsoCode": "USD",
}
DEAL_LINES = [
    {"Product": "Engagement Partner", "Quantity": 40, "UnitPrice": 320, "Role__c": "Partner"},
    {"Product": "Senior Consultant", "Quantity": 160, "UnitPrice": 210, "Role__c": "Senior Consultant"},
]


@dataclass
class EngagementReport:
    """What the closed-won deal became."""

    opportunity_id: str
    approval: dict[str, Any]
    write_back: dict[str, Any]
    psa_projects: list[dict[str, Any]]
    accounting_projects: list[dict[str, Any]]
    turnaround_seconds: float
    # The dashboard's three workflow figures, as the handlers emitted them (EMF) in this run.
    metrics: dict[str, str] = field(default_factory=dict)

    @property
    def active_once(self) -> bool:
        live = [p for p in self.psa_projects if not p["attributes"].get("archived_at")]
        active = [c for c in self.accounting_projects if c.get("Active")]
        return (
            self.write_back.get("C2C_Setup_Status__c") == "active"
            and len(self.psa_projects) == 1
            and len(live) == 1
            and len(self.accounting_projects) == 1
            and len(active) == 1
        )


def engagement_setup(
    env: LocalEnvironment,
    console: Console,
    *,
    account_id: str,
    while_pending: Callable[[str], None] | None = None,
) -> EngagementReport:
    """A won deal: the workflow runs to the approval checkpoint, the demo approves it, it activates.

    `while_pending(opportunity_id)` runs at the checkpoint, before the approval (work booked early).
    """
    auth = {"Authorization": f"Bearer {env.approver_token}"}  # signed in as env.approver
    with console.status("Sales wins a deal in Salesforce (Advisory, two roles); setup runs to approval"):
        opportunity_id = env.salesforce.put_opportunity(
            {**DEAL, "AccountId": account_id}, line_items=DEAL_LINES
        )
        env.settle()
        started = time.monotonic()
        env.salesforce.close_won(opportunity_id)
        pending: list[dict[str, Any]] = []
        while not pending and time.monotonic() - started < 30:
            env.settle()
            pending = httpx.get(f"{env.api_url}/approvals", headers=auth, timeout=10).json()
    if not pending:
        console.print("  [red]no approval request appeared[/]")
        approval: dict[str, Any] = {}
    else:
        approval = pending[0]
        rates = ", ".join(f"{r['role']} {r['rate']} {r['currency']}" for r in approval["rates"])
        console.print(
            f"  pending approval {approval['id']}: {approval['engagement']},"
            f" budget {approval['budget']}, rates {rates}"
        )
        if while_pending is not None:
            while_pending(opportunity_id)
        with console.status(f"{env.approver} approves it through POST /approvals/{{id}}/approve, signed in"):
            answer = httpx.post(f"{env.api_url}/approvals/{approval['id']}/approve", headers=auth, timeout=10)
            answer.raise_for_status()
            console.print(f"  approved by {env.approver}, signed in with that approver's own token")
            while time.monotonic() - started < 60:
                env.settle()
                if env.salesforce.opportunity(opportunity_id).get("C2C_Setup_Status__c") == "active":
                    break
    turnaround = time.monotonic() - started
    record = env.salesforce.opportunity(opportunity_id)
    stamp = f"salesforce-{opportunity_id}"
    return EngagementReport(
        opportunity_id=opportunity_id,
        approval=approval,
        write_back={k: v for k, v in record.items() if k.startswith("C2C_")},
        psa_projects=[p for p in env.productive.projects() if p["attributes"].get("project_number") == stamp],
        accounting_projects=[
            c for c in env.quickbooks.customers() if c.get("Job") and opportunity_id in str(c.get("Notes"))
        ],
        turnaround_seconds=turnaround,
    )


def _workflow_metrics() -> dict[str, str]:
    services = bootstrap.services()
    totals = services.metrics.totals
    failures = sum(v for k, v in totals.items() if k.startswith("WorkflowFailures"))
    return {
        "ProjectSetupTurnaround": f"{totals['ProjectSetupTurnaround']:.1f}s",
        "ApprovalsPending": str(len(services.approvals.pending())),
        "WorkflowFailures": str(int(failures)),
    }


def _print_engagement(console: Console, report: EngagementReport) -> None:
    table = Table(title="Closed-won → active engagement (Step Functions, approval, write-back)")
    for column in (
        "opportunity",
        "Productive project",
        "QuickBooks project",
        "dimensions",
        "rates",
        "status",
    ):
        table.add_column(column)
    dimensions = report.approval.get("dimensions") or {}
    table.add_row(
        report.opportunity_id,
        str(report.write_back.get("C2C_PSA_Project_Id__c")),
        str(report.write_back.get("C2C_Accounting_Project_Id__c")),
        ", ".join(f"{k} {v}" for k, v in dimensions.items() if v),
        ", ".join(f"{r['role']} {r['rate']}" for r in report.approval.get("rates", [])),
        str(report.write_back.get("C2C_Setup_Status__c")),
    )
    console.print(table)
    console.print(f"setup turnaround (close → active, approval included): {report.turnaround_seconds:.1f}s")
    console.print(
        "dashboard metrics (execution start → write-back): "
        + " · ".join(f"{name} {value}" for name, value in report.metrics.items())
    )


def _intake_story(env: LocalEnvironment) -> str:
    if env.salesforce_intake is Intake.CHANGE_DATA_CAPTURE:
        bus = env.runtime.resources.partner_buses[SALESFORCE_EVENTS.name] if env.runtime else "?"
        return f"change data capture, relayed to the partner bus {bus}"
    return "outbound messages to POST /webhooks/salesforce"


def _redeliver(env: LocalEnvironment) -> int:
    """Salesforce sends again what it sent: the last outbound message, or (change data capture)
    every retained event, as a relay resumed with ReplayRecovery EARLIEST does."""
    if env.salesforce_intake is Intake.CHANGE_DATA_CAPTURE:
        return env.salesforce.replay_retained()
    return env.salesforce.replay_last_delivery()


def run(
    console: Console | None = None, *, log_file: Path = DEFAULT_LOG, landscape: Path = DEFAULT_LANDSCAPE
) -> int:
    """Run the demo; returns the process exit code (0 only if every account arrived exactly once)."""
    console = console or Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    started = time.monotonic()
    # What the handlers print (JSON logs, EMF metrics) goes to a file, as it would go to CloudWatch;
    # the console keeps the story.
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with (
        log_file.open("w") as log_stream,
        contextlib.redirect_stdout(log_stream),
        local_environment(landscape=landscape) as env,
    ):
        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(log_stream)
        assert env.runtime is not None
        console.print(f"[bold]close2cash[/] local runtime up: webhooks at {env.api_url}")
        console.print(f"moto (AWS APIs) at {env.runtime.moto_endpoint}")
        console.print(f"sandboxes: {', '.join(f'{k} {v}' for k, v in env.urls.items())}")
        console.print(f"salesforce intake: {_intake_story(env)}")

        since = datetime.now(UTC)  # the demo's window of notices, replayed at the end
        with console.status("Sales creates 6 accounts in Salesforce; the hub syncs them") as status:
            ids = [env.salesforce.put_account(dict(fields)) for fields in ACCOUNTS]
            settled = env.settle()
            status.update("done")
        console.print(
            f"  created {len(ids)} accounts; {settled.delivered} notices delivered in {settled.seconds:.2f}s"
        )

        with console.status("Sales edits 2 accounts (a new phone, a new name)"):
            env.salesforce.put_account({"Phone": "+1 212 555 0199"}, account_id=ids[0])
            env.salesforce.put_account({"Name": "Tailspin Logistics Group"}, account_id=ids[3])
            settled = env.settle()
        console.print(f"  edited 2 accounts; {settled.delivered} notices delivered in {settled.seconds:.2f}s")

        with console.status("Salesforce delivers the same changes again (at-least-once)"):
            replayed = _redeliver(env)
            settled = env.settle()
        console.print(f"  replayed {replayed} notifications; nothing may be written twice")

        with console.status("Sales renames an account and Salesforce drops its outbound message"):
            swept = lost_notice(env, account_id=ids[5], name="Adatum Energy Partners")
        console.print(f"  {swept.line()}")

        with console.status("A bookkeeper renames a customer in QuickBooks by hand"):
            rows = _report_rows(env, ids)
            customer_id = rows[1].quickbooks_id
            if customer_id is not None:
                env.quickbooks.put_customer({"Id": customer_id, "DisplayName": "FABRIKAM (old)"})
            settled = env.settle()
        console.print("  QuickBooks notified the hub; the CRM owns accounts, so this is drift, not a change")

        rows = _report_rows(env, ids)
        chapter = TimeChapter()
        engagement = engagement_setup(
            env,
            console,
            account_id=ids[0],
            while_pending=functools.partial(demo_time.while_pending, env, console, chapter),
        )
        engagement.metrics = _workflow_metrics()
        if chapter.project_id:
            with console.status(
                "The consultants' first week: time, a correction, a lost webhook, an expense"
            ):
                demo_time.after_activation(env, console, chapter)
        demo_time.tally(env, chapter)
        cash = (
            demo_cash.run(env, console, chapter, opportunity_id=engagement.opportunity_id)
            if chapter.project_id
            else demo_cash.CashChapter()
        )
        reconciled = (
            demo_reconcile.run(env, console, chapter, invoice_id=cash.invoice_id, account_id=ids[0])
            if cash.invoice_id
            else demo_reconcile.ReconcileChapter()
        )
        replayed_window = (
            demo_replay.run(
                env,
                console,
                since=since,
                customer_id=rows[2].quickbooks_id,
                landscape=landscape,
                scratch=log_file.parent,
            )
            if rows[2].quickbooks_id
            else demo_replay.ReplayChapter()
        )
        # With the coexistence landscape: US01's shadow diff, the go-ahead, January in NetSuite.
        cutover = demo_cutover.run(env, console, chapter)
        demo_cutover.print_chapter(console, env, cutover)
        # What `close2cash status --endpoint-url MOTO` would print now: what needs a person.
        clients = env.runtime.clients
        at_a_glance = StatusReport(
            sfn=clients.stepfunctions(), dynamodb=clients.dynamodb(), sqs=clients.sqs()
        )
        status_lines = at_a_glance.lines(now=env.runtime.clock.now())
        env.runtime.flush_metrics()
        report_file = write_report(
            REPORT_FILE,
            sfn=clients.stepfunctions(),
            dynamodb=clients.dynamodb(),
            sqs=clients.sqs(),
            cloudwatch=clients.cloudwatch(),
            source="the local runtime (make demo)",
            now=env.runtime.clock.now(),
        )

        # What the run published, landed and answered (`close2cash analytics report`).
        analytics = demo_analytics.run(env)

        services = bootstrap.services()
        totals = services.metrics.totals
        exceptions = services.ledger.open_exceptions()
        elapsed = time.monotonic() - started

    table = Table(title="Customer master sync: Salesforce → Productive + QuickBooks")
    for column in (
        "account",
        "Salesforce id",
        "Productive id",
        "QuickBooks id",
        "what happened",
        "exactly once",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.name,
            row.salesforce_id,
            row.productive_id or "missing",
            row.quickbooks_id or "missing",
            row.actions,
            "yes" if row.exactly_once else f"NO (P {row.in_productive}, Q {row.in_quickbooks})",
        )
    console.print(table)
    figures = {
        "records synced": totals["RecordsSynced"],
        "duplicates prevented": totals["DuplicatesPrevented"],
        "echoes suppressed": totals["EchoesSuppressed"],
        "drift recorded": totals["DriftDetected"],
        "open exceptions": len(exceptions),
    }
    console.print(" · ".join(f"{k} {int(v)}" for k, v in figures.items()) + f" · wall time {elapsed:.1f}s")
    for exception in exceptions:
        console.print(f"  exception [{exception['kind']}] {exception['subject']}: {exception['reason']}")
    console.print(swept.line())
    _print_engagement(console, engagement)
    demo_time.print_chapter(console, chapter)
    demo_cash.print_chapter(console, cash)
    console.print("[bold]close2cash status[/] (what needs a person, at a glance):")
    for line in status_lines:
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(f"run report (one HTML page, open it in a browser): {report_file}")
    console.print("[bold]close2cash analytics report[/] (the landed events, as of now):")
    for line in analytics.lines:
        console.print(f"  {line}", markup=False, highlight=False)
    failed = [row for row in rows if not row.exactly_once]
    if not engagement.active_once:
        console.print(f"handler logs: {log_file}")
        console.print(
            "[red]FAILED[/]: the won deal did not become exactly one active engagement in each system"
        )
        return 1
    if not (chapter.parked_before_activation and chapter.equal_to_the_cent and chapter.exactly_once):
        console.print(f"handler logs: {log_file}")
        console.print(
            "[red]FAILED[/]: approved time and expenses did not reach QuickBooks exactly once, equal to"
            " the cent (or the entry approved before activation was not parked)"
        )
        return 1
    if not cash.equal_to_the_cent:
        console.print(f"handler logs: {log_file}")
        console.print(
            "[red]FAILED[/]: the November invoice, its credit and payments do not agree to the cent in"
            " Productive, QuickBooks and Salesforce"
        )
        return 1
    if not reconciled.found_each:
        console.print(f"handler logs: {log_file}")
        console.print(
            "[red]FAILED[/]: reconciliation did not find each break made by hand, or did not resolve "
            "the one fixed"
        )
        return 1
    if not replayed_window.diffed_and_idempotent:
        console.print(f"handler logs: {log_file}")
        console.print(
            "[red]FAILED[/]: the replay's dry run did not show exactly the company the new landscape "
            "version changes, or the replay under the landscape in force found something to write"
        )
        return 1
    if not cutover.cut_over:
        console.print(f"handler logs: {log_file}")
        console.print(
            "[red]FAILED[/]: the cutover's shadow diff did not name what the new ledger lacked, clear "
            "once fixed, confirm, and bill January from the new ledger"
        )
        return 1
    if not swept.brought_once:
        console.print(f"handler logs: {log_file}")
        console.print("[red]FAILED[/]: the catch-up sweep did not bring the dropped notice exactly once")
        return 1
    if failed:
        console.print(f"handler logs: {log_file}")
        console.print(f"[red]FAILED[/]: {len(failed)} account(s) did not arrive exactly once")
        return 1
    console.print(f"handler logs and EMF metrics (JSON, correlation id = notice id): {log_file}")
    console.print(
        "[green]OK[/]: every account arrived exactly once in Productive and QuickBooks,"
        " the won deal is one active engagement in each, and its approved time and expenses are in"
        " QuickBooks exactly once, equal to the cent; November's invoice, its credit and payments agree"
        " to the cent in Productive, QuickBooks and Salesforce; reconciliation found each break made by"
        " hand and resolved the one fixed; a replay of the demo's window diffed a new landscape version"
        " and, under the one in force, had nothing to write"
    )
    return 0
