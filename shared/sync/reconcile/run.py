"""A reconciliation run: read every system's copies, compare them, file each break for a person.

The reads are the censuses (`shared.domain.reconciliation_ports`), each connector on its vendor's
bulk path, so a run costs pages, not records; the ledger is asked only what it alone knows (which
record is meant to be a copy of which: one query per account on the cross-reference key, the
booked engagements on their status index, each engagement's runs on its own key). The comparison
is pure (`shared.domain.reconciliation`). Each break is an exception of kind `reconciliation`,
opened once and kept current while it lasts; a break the run no longer finds, within what the run
covered, is resolved ("the systems agree again").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import Field

from shared.domain.account_ports import TargetRecord
from shared.domain.billing_ports import BillingStore
from shared.domain.billing_runs import RunState
from shared.domain.delivery_ports import BookedEngagement, PostingStore
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.metrics import BusinessMetric
from shared.domain.models import Account, CanonicalModel, EntityType, SystemName, utcnow
from shared.domain.money import Money
from shared.domain.ports import CrossReference, ExceptionRecord, Ledger, Metrics
from shared.domain.postings import WorkKind, amount_for
from shared.domain.reconciliation import (
    Break,
    CustomerLinks,
    EngagementMoney,
    Scope,
    at_stake_by_currency,
    customer_breaks,
    engagement_breaks,
    money_breaks,
)
from shared.domain.reconciliation_ports import (
    CustomerCensus,
    EngagementCensus,
    ExceptionDesk,
    HeldEngagement,
    HeldInvoice,
    HeldWork,
    InvoiceCensus,
    WorkCensus,
)
from shared.sync.exceptions import open_exception, resolve_exception

logger = logging.getLogger(__name__)

KIND = "reconciliation"
# How far back a run compares work and invoices unless told: this year and last, month by month.
WINDOW = timedelta(days=400)
ENTITY = {Scope.CUSTOMER: EntityType.ACCOUNT, Scope.ENGAGEMENT: EntityType.OPPORTUNITY}


class Census(CanonicalModel):
    """How much each run read, per system."""

    customers: dict[str, int] = Field(default_factory=dict)
    engagements: dict[str, int] = Field(default_factory=dict)
    work: dict[str, int] = Field(default_factory=dict)
    invoices: dict[str, int] = Field(default_factory=dict)


class ReconcileReport(CanonicalModel):
    """What one run read, found, opened and resolved, and what it cost."""

    since: date
    engagement: str | None = None
    started_at: datetime
    finished_at: datetime
    census: Census
    breaks: list[Break]
    opened: int = 0
    resolved: int = 0
    backlog: int = 0
    oldest_seconds: float = 0.0
    at_stake: dict[str, Decimal] = Field(default_factory=dict)
    vendor_calls: dict[str, int] = Field(default_factory=dict)


class Reconciliation:
    """The use case behind `close2cash reconcile` and the nightly schedule."""

    def __init__(
        self,
        *,
        crm: Callable[[], CustomerCensus | EngagementCensus],
        psa: Callable[[], object],
        accounting: Callable[[], Sequence[object]],
        ledger: Ledger,
        desk: ExceptionDesk,
        postings: PostingStore,
        billing: BillingStore,
        expected: Callable[[Account, SystemName, Sequence[CrossReference]], Account],
        namesake: Callable[[Account], str | None],
        metrics: Metrics,
        vendor_calls: Callable[[], dict[str, int]] = dict,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._crm = crm
        self._psa = psa
        self._accounting = accounting
        self._ledger = ledger
        self._desk = desk
        self._postings = postings
        self._billing = billing
        self._expected = expected
        self._namesake = namesake
        self._metrics = metrics
        self._vendor_calls = vendor_calls
        self._clock = clock

    def run(self, *, since: date | None = None, engagement: str | None = None) -> ReconcileReport:
        """Reconcile everything (or one PSA project's engagement and its customer) from `since` on
        (default: the first of the month `WINDOW` ago)."""
        started = self._clock()
        since = since or (started - WINDOW).date().replace(day=1)
        calls_before = self._vendor_calls()
        census = Census()
        booked = self._booked(engagement)
        deal_ids = {b.opportunity.id for b in booked}
        account_ids = {b.account.id for b in booked if b.account is not None} if engagement else None

        crm = self._crm()
        accounts = [a for a in _census_customers(crm) if account_ids is None or a.ref.id in account_ids]
        held_customers: dict[SystemName, list[TargetRecord]] = {}
        for copies in self._copy_systems():
            records = list(copies.census_customers())
            held_customers[copies.system] = records
            census.customers[copies.system.value] = len(records)
        census.customers[crm.system.value] = len(accounts)
        # One query per account on the cross-reference key: the links, and what the expected copy
        # needs of fields owned elsewhere (no second read per target).
        xrefs = {a.ref.id: self._ledger.cross_references(EntityType.ACCOUNT, a.ref) for a in accounts}
        links = {
            a.ref.id: CustomerLinks(
                account=a.ref, copies={x.target.system: x.target.id for x in xrefs[a.ref.id] if x.active}
            )
            for a in accounts
        }

        def expected(account: Account, system: SystemName) -> Account:
            return self._expected(account, system, xrefs.get(account.source.id, []))

        breaks = customer_breaks(accounts, held_customers, links, expected, self._namesake)
        if engagement is not None:
            breaks = [b for b in breaks if b.subject.id in (account_ids or set())]

        deals = [d for d in _census_engagements(crm) if not engagement or d.ref.id in deal_ids]
        census.engagements[crm.system.value] = len(deals)
        held_engagements: dict[SystemName, list[HeldEngagement]] = {}
        for holder in self._engagement_systems():
            found = [e for e in holder.census_engagements() if _in_scope(e, engagement, deal_ids)]
            held_engagements[holder.system] = found
            census.engagements[holder.system.value] = len(found)
        homes = {b.opportunity.id: frozenset({b.psa.system, *b.accounting}) for b in booked}
        breaks += engagement_breaks(deals, held_engagements, homes)

        breaks += self._money(booked, deals, held_engagements, since, census)
        opened, resolved, backlog = self._file(
            breaks, covered=None if engagement is None else deal_ids | (account_ids or set())
        )
        now = self._clock()
        oldest = min(
            (datetime.fromisoformat(e["opened_at"] or now.isoformat()) for e in backlog), default=now
        )
        report = ReconcileReport(
            since=since,
            engagement=engagement,
            started_at=started,
            finished_at=now,
            census=census,
            breaks=breaks,
            opened=opened,
            resolved=resolved,
            backlog=len(backlog),
            oldest_seconds=max((now - oldest).total_seconds(), 0.0),
            at_stake=at_stake_by_currency(breaks),
            vendor_calls=_spent(calls_before, self._vendor_calls()),
        )
        self._measure(report)
        return report

    # --- reading --------------------------------------------------------------------------------

    def _copy_systems(self) -> list[CustomerCensus]:
        return [s for s in (self._psa(), *self._accounting()) if isinstance(s, CustomerCensus)]

    def _engagement_systems(self) -> list[EngagementCensus]:
        return [s for s in (self._psa(), *self._accounting()) if isinstance(s, EngagementCensus)]

    def _booked(self, engagement: str | None) -> list[BookedEngagement]:
        every = [b for status in EngagementStatus for b in self._postings.engagements(status)]
        return [b for b in every if engagement is None or b.psa.id == engagement]

    def _money(
        self,
        booked: Sequence[BookedEngagement],
        deals: Sequence[HeldEngagement],
        held: dict[SystemName, list[HeldEngagement]],
        since: date,
        census: Census,
    ) -> list[Break]:
        psa = self._psa()
        deal_of = {d.ref.id: d for d in deals}
        psa_work: dict[str, list[HeldWork]] = defaultdict(list)
        if isinstance(psa, WorkCensus):
            entries = list(psa.census_work(since))
            census.work[psa.system.value] = len(entries)
            for work in entries:
                psa_work[work.engagement].append(work)
        mirrors: dict[str, HeldInvoice] = {}
        if isinstance(psa, InvoiceCensus):
            copies = list(psa.census_invoices(since))
            census.invoices[psa.system.value] = len(copies)
            mirrors = {i.number: i for i in copies if i.number}
        posted: dict[tuple[SystemName, str], list[HeldWork]] = defaultdict(list)
        invoices: dict[tuple[SystemName, str], list[HeldInvoice]] = defaultdict(list)
        for books in self._accounting():
            if isinstance(books, WorkCensus):
                held_work = list(books.census_work(since))
                census.work[books.system.value] = len(held_work)
                for work in held_work:
                    posted[(books.system, work.engagement)].append(work)
            if isinstance(books, InvoiceCensus):
                held_invoices = list(books.census_invoices(since))
                census.invoices[books.system.value] = len(held_invoices)
                for invoice in held_invoices:
                    invoices[(books.system, invoice.engagement or "")].append(invoice)
        breaks: list[Break] = []
        for engagement in booked:
            deal = deal_of.get(engagement.opportunity.id)
            if deal is None:
                continue  # no longer a won deal: the engagement scope says so
            system, job = next(iter(engagement.accounting.items()), (None, None))
            # After a cutover an engagement lives in two ledgers: its work and invoices are in both.
            ledgers = list(engagement.accounting.items())
            its_invoices = tuple(i for key in ledgers for i in invoices.get(key, []))
            runs = [
                r for r in self._billing.runs(engagement.psa) if r.state is RunState.POSTED and r.invoice_id
            ]
            money = EngagementMoney(
                deal=deal,
                psa=_one(held.get(engagement.psa.system, []), engagement.psa.id),
                accounting=_one(held.get(system, []), job) if system and job else None,
                currency=engagement.currency,
                psa_work=tuple(psa_work.get(engagement.psa.id, [])),
                posted_work=tuple(w for key in ledgers for w in posted.get(key, [])),
                invoices=its_invoices,
                mirrors=tuple(mirrors[i.number] for i in its_invoices if i.number in mirrors),
                billed_periods={r.period.month: r.invoice_id for r in runs if r.invoice_id},
                billed_lines={r.invoice_id: r.invoice.subtotal for r in runs if r.invoice_id and r.invoice},
                numbers={r.invoice_id: r.invoice.number for r in runs if r.invoice_id and r.invoice},
            )
            breaks += money_breaks(money, _pricer(engagement), since)
        return breaks

    # --- filing ---------------------------------------------------------------------------------

    def _file(
        self, breaks: Sequence[Break], *, covered: set[str] | None
    ) -> tuple[int, int, list[dict[str, str | None]]]:
        """File each break (opened once, kept current), resolve the ones no longer found within what
        the run covered; (opened, resolved, the reconciliation exceptions still open)."""
        now = self._clock()
        opened = 0
        found = {b.id for b in breaks}
        for item in breaks:
            record = ExceptionRecord(
                id=item.id,
                kind=KIND,
                entity=ENTITY.get(item.scope, EntityType.OPPORTUNITY),
                subject=item.subject,
                reason=item.summary,
                owner="finance-ops" if item.scope is Scope.MONEY else "integration-ops",
                step=f"reconcile:{item.scope}",
                opened_at=now,
                evidence=item.evidence,
                action=item.action,
                at_stake=item.at_stake,
            )
            if open_exception(self._ledger, self._metrics, record):
                opened += 1
            else:
                self._desk.refresh_exception(record)
        # One read of the open exceptions (the status index): what to resolve, and what stays open.
        resolved, backlog = 0, []
        for known in self._desk.open_exceptions():
            exception_id = known.get("id") or ""
            if known.get("kind") != KIND:
                continue
            outside = covered is not None and not any(
                f":{subject}:" in f"{exception_id}:" for subject in covered
            )  # outside this run's engagement: not looked at, so not resolved
            if (
                exception_id not in found
                and not outside
                and resolve_exception(
                    self._ledger, self._metrics, exception_id, resolution="the systems agree again", at=now
                )
            ):
                resolved += 1
            else:
                backlog.append(known)
        return opened, resolved, backlog

    def _measure(self, report: ReconcileReport) -> None:
        self._metrics.count(BusinessMetric.RECONCILIATION_BACKLOG, report.backlog)
        self._metrics.count(BusinessMetric.RECONCILIATION_BACKLOG_AGE, report.oldest_seconds)
        for currency, amount in report.at_stake.items():
            self._metrics.count(
                BusinessMetric.RECONCILIATION_AT_STAKE, float(amount), dimensions={"currency": currency}
            )
        self._metrics.count(BusinessMetric.RECONCILIATION_BREAKS, len(report.breaks))
        # A duplicate made by hand (or by a write that bypassed the ledger) is found only here: the
        # hub's own writes are idempotent, so DuplicatesPrevented never counts these.
        duplicates = sum(1 for found in report.breaks if found.check.startswith("duplicate:"))
        self._metrics.count(BusinessMetric.DUPLICATES_CREATED, duplicates)


def _census_customers(crm: object) -> list[TargetRecord]:
    return list(crm.census_customers()) if isinstance(crm, CustomerCensus) else []


def _census_engagements(crm: object) -> list[HeldEngagement]:
    return list(crm.census_engagements()) if isinstance(crm, EngagementCensus) else []


def _in_scope(engagement: HeldEngagement, project: str | None, deals: set[str]) -> bool:
    if project is None:
        return True
    return engagement.opportunity is not None and engagement.opportunity.id in deals


def _one(held: Sequence[HeldEngagement], record_id: str | None) -> HeldEngagement | None:
    return next((e for e in held if e.ref.id == record_id), None)


def _pricer(engagement: BookedEngagement) -> Callable[[HeldWork], Money | None]:
    """PSA time at the engagement's rate card (the rates its budget was set up with)."""

    def price(work: HeldWork) -> Money | None:
        if work.kind is not WorkKind.TIME or work.service is None:
            return work.amount
        rate = engagement.rate(work.service)
        return None if rate is None else amount_for(rate, work.minutes)

    return price


def _spent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {
        system: calls - before.get(system, 0)
        for system, calls in after.items()
        if calls - before.get(system, 0)
    }
