"""Issue 12's figures: one reconciliation of 1,000 customers, 100 engagements and 20,000 time entries.

The sandboxes are seeded directly through their Python control APIs (test seeding, not vendor
behaviour: no webhook is delivered, no hub flow runs), each copy stamped as the hub stamps it and
the ledger given the cross-references and booked engagements the hub would have recorded, so the
systems agree and a correct run finds no break. Then `services().reconciliation.run(since=...)`
runs once, its AWS calls counted and its wall time measured, and the calls it made are set beside
the least the vendors' published limits allow.

One run: `python -m tests.benchmarks.reconcile` (optionally sizes: customers engagements entries,
e.g. `python -m tests.benchmarks.reconcile 20 5 200`).
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.connectors.productive import mapper as productive_mapper
from shared.connectors.quickbooks import mapper as quickbooks_mapper
from shared.connectors.salesforce.mapper import OPPORTUNITY_TYPE, SETUP_STATUS_FIELD
from shared.domain.delivery_ports import BookedEngagement
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import EntityType, SourceRef, SystemName, utcnow
from shared.domain.money import Money
from shared.domain.ports import CrossReference, SyncAction
from shared.domain.postings import reference_to
from shared.sync.reconcile.run import ReconcileReport
from tests.benchmarks.calls import counting_aws_calls
from tests.benchmarks.logs import environment_logged_to

CUSTOMERS = 1_000
ENGAGEMENTS = 100
ENTRIES = 20_000
SINCE = date(2026, 1, 1)
MONTHS = 10  # January to October 2026
ROLE = "Consultant"
RATE = Decimal("150.00")
HOURS_SOLD = Decimal(200)
CURRENCY = "USD"
LEGAL_ENTITY = "US01"

# The vendors' published limits (/work/shared/VENDORS.md).
# Salesforce: SOQL query batches of at most 2,000 rows; no per-second limit, a daily allocation.
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
SALESFORCE_PAGE = 2_000
# QuickBooks Online: MAXRESULTS 1,000 a page; 500 requests a minute per realm, 10 at once.
# https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
QUICKBOOKS_PAGE = 1_000
QUICKBOOKS_PER_MINUTE = 500
QUICKBOOKS_CONCURRENT = 10
# Productive: page[size] at most 200; 100 requests per 10 s (and 4,000 per 30 min).
# https://developer.productive.io/guides/pagination https://developer.productive.io/guides/rate-limits
PRODUCTIVE_PAGE = 200
PRODUCTIVE_PER_10S = 100


@dataclass
class Seeded:
    """What the seeding made, and how long it took."""

    accounts: list[str] = field(default_factory=list)  # Salesforce Account ids
    companies: dict[str, str] = field(default_factory=dict)  # account id -> Productive company
    customers: dict[str, str] = field(default_factory=dict)  # account id -> QuickBooks customer
    projects: list[tuple[str, str, str]] = field(default_factory=list)  # (opportunity, project, service)
    jobs: dict[str, str] = field(default_factory=dict)  # project -> QuickBooks sub-customer
    entries: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Bound:
    """The least one vendor's limits allow for what the run read."""

    vendor: str
    pages: dict[str, int]
    seconds: float
    rule: str

    @property
    def calls(self) -> int:
        return sum(self.pages.values())


@dataclass
class ReconcileFigures:
    seeded: Seeded
    report: ReconcileReport
    aws_calls: Counter[str]
    seconds: float
    bounds: list[Bound]


def _timed(seeded: Seeded, label: str, step: Callable[[], None]) -> None:
    started = time.perf_counter()
    step()
    seeded.seconds[label] = time.perf_counter() - started


def _pages(rows: int, page: int) -> int:
    return max(1, math.ceil(rows / page))


def seed_customers(env: LocalEnvironment, seeded: Seeded, count: int) -> None:
    """Accounts in Salesforce, their copies in Productive and QuickBooks as the hub writes them, and
    the ledger's cross-references (`AccountSync._record`)."""
    hub = bootstrap.services()
    for n in range(count):
        seeded.accounts.append(
            env.salesforce.put_account({"Name": f"Recon Bench {n:04d} Ltd", "CurrencyIsoCode": CURRENCY})
        )
    crm = hub.connector(SystemName.SALESFORCE)
    wanted = set(seeded.accounts)
    accounts = [r.view for r in crm.census_customers() if r.ref.id in wanted]
    expected = hub.account_sync.expected_copy
    for account in accounts:
        attributes = productive_mapper.company_attributes(expected(account, SystemName.PRODUCTIVE))
        seeded.companies[account.source.id] = env.productive.put_company(attributes)
        payload = quickbooks_mapper.create_payload(expected(account, SystemName.QUICKBOOKS))
        seeded.customers[account.source.id] = env.quickbooks.put_customer(payload)
    by_account = {a.source.id: a for a in accounts}
    for system in (SystemName.PRODUCTIVE, SystemName.QUICKBOOKS):
        for record in hub.connector(system).census_customers():
            if record.origin is None or record.origin.id not in by_account:
                continue
            hub.ledger.record_sync(
                CrossReference(
                    entity=EntityType.ACCOUNT,
                    source=by_account[record.origin.id].source,
                    target=record.ref,
                    checksum=record.view.checksum(),
                    synced_at=utcnow(),
                    content=record.view.synced_fields(),
                    target_modified_at=record.view.modified_at,
                ),
                SyncAction.CREATED,
            )


def seed_engagements(env: LocalEnvironment, seeded: Seeded, count: int) -> None:
    """Won deals (setup active), their Productive projects with a budget and a priced service, their
    QuickBooks sub-customers, and the booked engagements in the postings ledger."""
    hub = bootstrap.services()
    amount = RATE * HOURS_SOLD
    sandbox = env.productive
    for n in range(count):
        account = seeded.accounts[n % len(seeded.accounts)]
        name = f"Recon Bench Engagement {n:03d}"
        opportunity = env.salesforce.put_opportunity(
            {
                "Name": name,
                "AccountId": account,
                "StageName": "Closed Won",
                "CloseDate": "2026-01-02",
                "Amount": amount,
                "CurrencyIsoCode": CURRENCY,
                SETUP_STATUS_FIELD: "active",
            }
        )
        deal = SourceRef(system=SystemName.SALESFORCE, type=OPPORTUNITY_TYPE, id=opportunity)
        project, _ = sandbox.add_engagement(
            name,
            project_number=productive_mapper.engagement_reference(deal),
            company_id=seeded.companies[account],
            currency=CURRENCY,
            start="2026-01-02",
        )
        service = sandbox.add_service(
            project,
            ROLE,
            billing_type_id=productive_mapper.BILLING_ACTUALS,
            price=int(RATE * 100),
            quantity=str(HOURS_SOLD),
        )
        job = env.quickbooks.put_customer(
            {
                "DisplayName": quickbooks_mapper.display_name(name),
                "Job": True,
                "ParentRef": {"value": seeded.customers[account]},
                "BillWithParent": True,
                "Active": True,
                "CurrencyRef": {"value": CURRENCY},
                "Notes": quickbooks_mapper.engagement_notes(deal, class_id=None, department_id=None),
            }
        )
        seeded.projects.append((opportunity, project, service))
        seeded.jobs[project] = job
        hub.postings.save_engagement(
            BookedEngagement(
                psa=productive_mapper.project_ref(project),
                opportunity=deal,
                name=name,
                legal_entity=LEGAL_ENTITY,
                currency=CURRENCY,
                status=EngagementStatus.ACTIVE,
                accounting={SystemName.QUICKBOOKS: job},
                rates={ROLE: RATE},
                account=SourceRef(system=SystemName.SALESFORCE, type="Account", id=account),
                booked=Money.of(amount, CURRENCY),
                updated_at=utcnow(),
            )
        )


def seed_time(env: LocalEnvironment, seeded: Seeded, count: int) -> None:
    """Approved entries spread over the projects and months, each posted to QuickBooks as the hub posts
    one (a billable TimeActivity at the rate card's rate, its Description the reference back)."""
    person = env.productive.add_person("Rhea", "Bench", email="rhea.bench@northwind.example")
    employee = env.quickbooks.add_employee("Rhea Bench", email="rhea.bench@northwind.example")
    item = env.quickbooks.add_item(f"Recon Bench {ROLE}")
    for n in range(count):
        _, project, service = seeded.projects[n % len(seeded.projects)]
        month = 1 + (n // len(seeded.projects)) % MONTHS
        worked_on = f"2026-{month:02d}-{1 + n % 28:02d}"
        minutes = 30 + (n % 8) * 15
        entry = env.productive.add_time_entry(person, service, worked_on, minutes)
        env.productive.approve_time_entry(entry)
        work = SourceRef(system=SystemName.PRODUCTIVE, type="time_entries", id=entry)
        body: dict[str, Any] = {
            "NameOf": "Employee",
            "EmployeeRef": {"value": employee},
            "CustomerRef": {"value": seeded.jobs[project]},
            "ItemRef": {"value": item},
            "TxnDate": worked_on,
            "Hours": minutes // 60,
            "Minutes": minutes % 60,
            "BillableStatus": "Billable",
            "HourlyRate": float(RATE),
            "Description": reference_to(work),
        }
        env.quickbooks.add_time_activity(body)
        seeded.entries += 1


def lower_bounds(report: ReconcileReport) -> list[Bound]:
    """The fewest calls (and seconds) the vendors' page sizes and rate limits allow for what was read."""
    census = report.census
    sf = SystemName.SALESFORCE.value
    qb = SystemName.QUICKBOOKS.value
    pr = SystemName.PRODUCTIVE.value
    bounds = [
        Bound(
            "salesforce",
            {
                "Account": _pages(census.customers.get(sf, 0), SALESFORCE_PAGE),
                "Opportunity": _pages(census.engagements.get(sf, 0), SALESFORCE_PAGE),
            },
            0.0,
            "2,000 rows a batch; a daily allocation, no per-second limit",
        )
    ]
    if qb in census.customers:
        # Customers and sub-customers are one entity: the census reads both.
        customers = census.customers.get(qb, 0) + census.engagements.get(qb, 0)
        pages = {
            "Customer": _pages(customers, QUICKBOOKS_PAGE),
            "TimeActivity+Purchase": _pages(census.work.get(qb, 0), QUICKBOOKS_PAGE) + 1,
            "Invoice": _pages(census.invoices.get(qb, 0), QUICKBOOKS_PAGE),
        }
        calls = sum(pages.values())
        # 500 a minute sustained; below that only the 10-at-once ceiling binds (no wait).
        seconds = max(0.0, (calls - QUICKBOOKS_PER_MINUTE) / QUICKBOOKS_PER_MINUTE * 60)
        bounds.append(Bound("quickbooks", pages, seconds, "1,000 rows a page; 500/min, 10 at once"))
    if pr in census.customers:
        pages = {
            "companies": _pages(census.customers.get(pr, 0), PRODUCTIVE_PAGE),
            "projects+budgets": _pages(census.engagements.get(pr, 0), PRODUCTIVE_PAGE) * 2,
            "time_entries+expenses": _pages(census.work.get(pr, 0), PRODUCTIVE_PAGE) + 1,
            "invoices": _pages(census.invoices.get(pr, 0), PRODUCTIVE_PAGE),
        }
        calls = sum(pages.values())
        # 100 in any 10 s: the 101st waits 10 s after the first.
        seconds = 10.0 * ((calls - 1) // PRODUCTIVE_PER_10S)
        bounds.append(Bound("productive", pages, seconds, "200 a page; 100 per 10 s"))
    return bounds


def measure(
    env: LocalEnvironment,
    *,
    customers: int = CUSTOMERS,
    engagements: int = ENGAGEMENTS,
    entries: int = ENTRIES,
    say: Callable[[str], None] = print,
) -> ReconcileFigures:
    seeded = Seeded()
    _timed(seeded, "customers", lambda: seed_customers(env, seeded, customers))
    say(f"  seeded {customers} customers in {seeded.seconds['customers']:.1f} s")
    _timed(seeded, "engagements", lambda: seed_engagements(env, seeded, engagements))
    say(f"  seeded {engagements} engagements in {seeded.seconds['engagements']:.1f} s")
    _timed(seeded, "time", lambda: seed_time(env, seeded, entries))
    say(f"  seeded {entries} entries in {seeded.seconds['time']:.1f} s")
    reconciliation = bootstrap.services().reconciliation
    with counting_aws_calls() as counts:
        started = time.perf_counter()
        report = reconciliation.run(since=SINCE)
        seconds = time.perf_counter() - started
    return ReconcileFigures(seeded, report, Counter(counts), seconds, lower_bounds(report))


def print_figures(figures: ReconcileFigures, say: Callable[[str], None]) -> None:
    report = figures.report
    census = report.census
    for label, counts in (
        ("customers", census.customers),
        ("engagements", census.engagements),
        ("work", census.work),
        ("invoices", census.invoices),
    ):
        say(f"  read {label:<12} " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    say("  vendor calls      " + ", ".join(f"{k} {v}" for k, v in sorted(report.vendor_calls.items())))
    aws = figures.aws_calls
    say(
        f"  AWS calls         {sum(aws.values())} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(aws.items()))
        + ")"
    )
    say(f"  wall time         {figures.seconds:.1f} s (seeding not included)")
    say(f"  breaks            {len(report.breaks)} (goal 0 on agreeing data)")
    for item in report.breaks[:8]:
        say(f"    {item.id}: {item.summary[:200]}")
    say("  lower bound from the vendors' limits vs the run:")
    for bound in figures.bounds:
        made = report.vendor_calls.get(bound.vendor, 0)
        pages = ", ".join(f"{k} {v}" for k, v in bound.pages.items())
        say(
            f"    {bound.vendor:<10} min {bound.calls} calls ({pages}), min {bound.seconds:.0f} s"
            f" [{bound.rule}]; run made {made}"
        )


def run(sizes: Sequence[int] = (), *, say: Callable[[str], None] = print) -> ReconcileFigures:
    """Seed, run once and print (handler output goes to .close2cash/bench-reconcile.log)."""
    defaults = (CUSTOMERS, ENGAGEMENTS, ENTRIES)
    customers, engagements, entries = (*sizes, *defaults[len(sizes) :])[:3]
    say(
        f"\n== Reconciliation of {customers:,} customers, {engagements} engagements, {entries:,} approved"
        " entries on the sandboxes (seeded directly; one run) =="
    )
    with environment_logged_to(Path(".close2cash/bench-reconcile.log")) as env:
        figures = measure(env, customers=customers, engagements=engagements, entries=entries, say=say)
    print_figures(figures, say)
    return figures


def main(argv: Sequence[str]) -> int:
    say = lambda text: print(text, file=sys.__stdout__, flush=True)  # noqa: E731 - the log takes stdout
    run([int(a) for a in argv], say=say)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
