"""Reconciliation: what the systems hold, compared copy by copy and to the cent; each difference a break.

Three scopes, each over what the systems *return* (the censuses of `reconciliation_ports`):
- customers: every CRM account has exactly one copy in each target (the ledger's cross-reference
  and the hub's stamp agree), the copy holds what the hub would write there now, no target record
  claims an account the CRM no longer has, and no second record in a target is the same customer;
- engagements: every won deal is one project in the PSA and one in accounting, in the same status;
- money, per engagement and month, in minor units: the deal's amount = the PSA budget; the PSA's
  approved billable work = what accounting holds posted; work approved in a month whose invoice is
  out is billed; each invoice = the work it bills; invoiced, paid and open agree in accounting, in
  the PSA's copy and in the CRM's figures.

A break's id is stable (scope, subject, check): the same difference found again is the same break,
and a run that no longer finds it resolves it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field

from shared.domain.account_ports import TargetRecord
from shared.domain.cash import CommercialHealth
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import Account, CanonicalModel, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.ports import Evidence
from shared.domain.reconciliation_ports import HeldEngagement, HeldInvoice, HeldWork


class Scope(StrEnum):
    """What a break is about."""

    CUSTOMER = "customer"
    ENGAGEMENT = "engagement"
    MONEY = "money"


class Break(CanonicalModel):
    """One difference between systems that should agree: each side, and what a person should do."""

    scope: Scope
    check: str = Field(
        min_length=1, description="which agreement failed, e.g. copy:quickbooks, posted:2026-11"
    )
    subject: SourceRef = Field(description="the CRM account or deal (or the orphan record itself)")
    summary: str = Field(min_length=1, max_length=2000)
    evidence: tuple[Evidence, ...] = ()
    action: str = Field(min_length=1, max_length=2000)
    at_stake: Money | None = None

    @property
    def id(self) -> str:
        return f"reconciliation:{self.scope}:{self.subject.system}:{self.subject.id}:{self.check}"


def _money(value: Money | None) -> str:
    return "none" if value is None else f"{value.amount} {value.currency}"


def _side(system: SystemName, record: str | None, value: str | None, link: str | None = None) -> Evidence:
    return Evidence(system=system, record=record, value=value, link=link)


# --- customers ----------------------------------------------------------------------------------


class CustomerLinks(CanonicalModel):
    """What the hub's ledger says of one CRM account: its copy in each target."""

    account: SourceRef
    copies: dict[SystemName, str] = Field(default_factory=dict, description="target -> record id (active)")


def customer_breaks(
    accounts: Sequence[TargetRecord],
    held: Mapping[SystemName, Sequence[TargetRecord]],
    links: Mapping[str, CustomerLinks],
    expected: Callable[[Account, SystemName], Account],
    namesake: Callable[[Account], str | None],
) -> list[Break]:
    """The customer breaks over the CRM's `accounts` and each target's records (`held`).

    `links`: the ledger's cross-references by CRM account id. `expected(account, target)`: the copy
    as the hub would write it now. `namesake`: the matching key that makes two records one customer.
    """
    known = {record.ref.id for record in accounts}
    breaks: list[Break] = []
    for system, records in held.items():
        by_id = {record.ref.id: record for record in records}
        stamped: dict[str, list[TargetRecord]] = defaultdict(list)
        for record in records:
            if record.origin is not None:
                stamped[record.origin.id].append(record)
        claimed: dict[str, str] = {}  # target record id -> CRM account id
        for account in accounts:
            linked = links.get(account.ref.id)
            copy_id = linked.copies.get(system) if linked else None
            mine = {r.ref.id for r in stamped.get(account.ref.id, []) if r.active}
            if copy_id is not None:
                mine.add(copy_id)
            for record_id in mine:
                claimed[record_id] = account.ref.id
            breaks += _account_copies(system, account, copy_id, mine, by_id, expected)
        breaks += _namesakes(system, accounts, records, claimed, namesake)
        breaks += _orphans(system, records, known)
    return breaks


def _account_copies(
    system: SystemName,
    account: TargetRecord,
    copy_id: str | None,
    mine: set[str],
    by_id: Mapping[str, TargetRecord],
    expected: Callable[[Account, SystemName], Account],
) -> list[Break]:
    crm = _side(account.ref.system, account.ref.id, account.view.name)
    if copy_id is not None and copy_id not in by_id:
        return [
            Break(
                scope=Scope.CUSTOMER,
                check=f"copy:{system}",
                subject=account.ref,
                summary=f"{account.view.name}: the hub's copy in {system} ({copy_id}) is no longer there",
                evidence=(crm, _side(system, copy_id, "missing")),
                action=f"restore customer {copy_id} in {system} (it was deleted or merged by hand), or "
                "edit the account in the CRM so the hub writes it again",
            )
        ]
    if not mine:
        return [
            Break(
                scope=Scope.CUSTOMER,
                check=f"copy:{system}",
                subject=account.ref,
                summary=f"{account.view.name} has no copy in {system}",
                evidence=(crm, _side(system, None, "missing")),
                action="see `close2cash exceptions list` for why its sync stopped; fix that, then edit "
                "the account in the CRM (or run the account sweep) so the hub writes it",
            )
        ]
    if len(mine) > 1:
        ids = sorted(mine)
        return [
            Break(
                scope=Scope.CUSTOMER,
                check=f"duplicate:{system}",
                subject=account.ref,
                summary=f"{account.view.name} is {len(ids)} customers in {system}: {', '.join(ids)}",
                evidence=(crm, *(_side(system, i, by_id[i].view.name if i in by_id else None) for i in ids)),
                action=f"merge them in {system} into {copy_id or ids[0]} (the one the hub links); the "
                "hub follows the merge",
            )
        ]
    [record_id] = mine
    record = by_id.get(record_id)
    if record is None:
        return []
    want = expected(account.view, system).synced_fields()
    have = record.view.synced_fields()
    differ = sorted(field for field, value in want.items() if have.get(field) != value)
    if not differ:
        return []
    return [
        Break(
            scope=Scope.CUSTOMER,
            check=f"fields:{system}",
            subject=account.ref,
            summary=f"{account.view.name}: {', '.join(differ)} in {system} differ from what the hub writes",
            evidence=(
                _side(account.ref.system, account.ref.id, _fields(want, differ)),
                _side(system, record_id, _fields(have, differ)),
            ),
            action="the CRM owns these fields: correct them in the CRM, or let the hub write them again "
            "(edit the account); a change made in the target on purpose belongs in the CRM",
        )
    ]


def _fields(values: Mapping[str, Any], fields: Iterable[str]) -> str:
    return "; ".join(f"{field}={values.get(field)!r}" for field in fields)[:1000]


def _namesakes(
    system: SystemName,
    accounts: Sequence[TargetRecord],
    records: Sequence[TargetRecord],
    claimed: Mapping[str, str],
    namesake: Callable[[Account], str | None],
) -> list[Break]:
    """A record nobody claims that is the same customer as a claimed one: a duplicate made by hand."""
    by_key: dict[str, list[TargetRecord]] = defaultdict(list)
    for record in records:
        key = namesake(record.view)
        if key is not None and record.active:
            by_key[key].append(record)
    names = {a.ref.id: a for a in accounts}
    breaks: list[Break] = []
    for group in by_key.values():
        owners = {claimed[r.ref.id] for r in group if r.ref.id in claimed}
        strays = sorted((r for r in group if r.ref.id not in claimed), key=lambda r: r.ref.id)
        if len(owners) != 1 or not strays:
            continue
        [owner] = owners
        account = names[owner]
        kept = next(r for r in group if claimed.get(r.ref.id) == owner)
        breaks.append(
            Break(
                scope=Scope.CUSTOMER,
                check=f"duplicate:{system}",
                subject=account.ref,
                summary=f"{account.view.name} has a second customer in {system} the hub did not make: "
                + ", ".join(f"{r.ref.id} ({r.view.name})" for r in strays),
                evidence=(
                    _side(account.ref.system, account.ref.id, account.view.name),
                    _side(system, kept.ref.id, f"{kept.view.name} (the hub's copy)"),
                    *(_side(system, r.ref.id, f"{r.view.name} (made by hand)") for r in strays),
                ),
                action=f"merge {', '.join(r.ref.id for r in strays)} into {kept.ref.id} in {system} "
                "(QuickBooks: rename it to the same name and confirm the merge); the hub follows it",
            )
        )
    return breaks


def _orphans(system: SystemName, records: Sequence[TargetRecord], known: set[str]) -> list[Break]:
    breaks: list[Break] = []
    for record in records:
        origin = record.origin
        if origin is None or origin.id in known or not record.active:
            continue
        breaks.append(
            Break(
                scope=Scope.CUSTOMER,
                check="orphan",
                subject=record.ref,
                summary=f"{system} customer {record.ref.id} ({record.view.name}) was made for CRM account "
                f"{origin.id}, which the CRM no longer has",
                evidence=(
                    _side(origin.system, origin.id, "missing"),
                    _side(system, record.ref.id, record.view.name),
                ),
                action=f"make it inactive in {system}, or restore the account in the CRM",
            )
        )
    return breaks


# --- engagements --------------------------------------------------------------------------------


def engagement_breaks(
    deals: Sequence[HeldEngagement],
    held: Mapping[SystemName, Sequence[HeldEngagement]],
    homes: Mapping[str, frozenset[SystemName]] | None = None,
) -> list[Break]:
    """Each won deal is one engagement in each system of `held`, in the status the deal's setup says.

    `homes`: the systems a deal's engagement was set up in (its PSA and the ledgers its booking
    names), by deal id. With two ledgers, a deal routed to one is owed nothing in the other; a deal
    with no booking is owed an engagement everywhere.
    """
    breaks: list[Break] = []
    won = {deal.ref.id for deal in deals}
    for system, engagements in held.items():
        by_deal: dict[str, list[HeldEngagement]] = defaultdict(list)
        for engagement in engagements:
            if engagement.opportunity is not None:
                by_deal[engagement.opportunity.id].append(engagement)
        for deal in deals:
            found = by_deal.get(deal.ref.id, [])
            home = (homes or {}).get(deal.ref.id)
            if home is not None and system not in home and not found:
                continue
            crm = _side(deal.ref.system, deal.ref.id, _status(deal), deal.link)
            if not found:
                if deal.status in (None, EngagementStatus.CLOSED):
                    continue  # not set up (or set up and rejected): nothing is owed in the others
                breaks.append(
                    Break(
                        scope=Scope.ENGAGEMENT,
                        check=f"engagement:{system}",
                        subject=deal.ref,
                        summary=f"won deal {deal.name} has no engagement in {system}",
                        evidence=(crm, _side(system, None, "missing")),
                        action="see `close2cash workflow list` for its setup; retry it with "
                        "`close2cash workflow retry`",
                    )
                )
            elif len(found) > 1:
                breaks.append(
                    Break(
                        scope=Scope.ENGAGEMENT,
                        check=f"duplicate:{system}",
                        subject=deal.ref,
                        summary=f"won deal {deal.name} is {len(found)} engagements in {system}",
                        evidence=(crm, *(_side(system, e.ref.id, _status(e), e.link) for e in found)),
                        action=f"close the extra ones in {system} (keep the one with time on it)",
                    )
                )
            elif deal.status is not None and found[0].status not in (None, deal.status):
                breaks.append(
                    Break(
                        scope=Scope.ENGAGEMENT,
                        check=f"status:{system}",
                        subject=deal.ref,
                        summary=f"{deal.name} is {_status(deal)} in the CRM but {_status(found[0])} "
                        f"in {system}",
                        evidence=(crm, _side(system, found[0].ref.id, _status(found[0]), found[0].link)),
                        action="approve or reject the setup on the approval desk, or retry the workflow, so "
                        "both systems end in the same state",
                    )
                )
        for engagement in engagements:
            stamp = engagement.opportunity
            if stamp is not None and stamp.id not in won and engagement.status is not EngagementStatus.CLOSED:
                breaks.append(
                    Break(
                        scope=Scope.ENGAGEMENT,
                        check="orphan",
                        subject=engagement.ref,
                        summary=f"{system} engagement {engagement.name} was set up for deal {stamp.id}, "
                        "which the CRM does not hold as won",
                        evidence=(
                            _side(stamp.system, stamp.id, "not won"),
                            _side(system, engagement.ref.id, _status(engagement), engagement.link),
                        ),
                        action=f"close it in {system}, or mark the deal won again in the CRM",
                    )
                )
    return breaks


def _status(engagement: HeldEngagement) -> str:
    return engagement.status.value if engagement.status is not None else "no status"


# --- money --------------------------------------------------------------------------------------


class EngagementMoney(CanonicalModel):
    """One engagement's money in each system that holds it, as the censuses returned it."""

    deal: HeldEngagement = Field(description="the CRM's won deal (booked amount, commercial health)")
    psa: HeldEngagement | None = None
    accounting: HeldEngagement | None = None
    currency: str
    psa_work: tuple[HeldWork, ...] = ()
    posted_work: tuple[HeldWork, ...] = ()
    invoices: tuple[HeldInvoice, ...] = Field(default=(), description="accounting's invoices for it")
    mirrors: tuple[HeldInvoice, ...] = Field(default=(), description="the PSA's copies of them")
    billed_periods: dict[str, str] = Field(
        default_factory=dict, description="month (YYYY-MM) -> the invoice id its billing run posted"
    )
    billed_lines: dict[str, Money] = Field(
        default_factory=dict,
        description="invoice id -> the net amount of the work it bills (the run's lines)",
    )
    numbers: dict[str, str] = Field(default_factory=dict, description="invoice id -> its number")


def money_breaks(
    engagement: EngagementMoney, price: Callable[[HeldWork], Money | None], since: date
) -> list[Break]:
    """The money breaks of one engagement; `price` values PSA time at the engagement's rate card."""
    breaks: list[Break] = []
    deal, psa, books = engagement.deal, engagement.psa, engagement.accounting
    zero = Money.zero(engagement.currency)
    if psa is not None and deal.booked is not None and psa.booked is not None and deal.booked != psa.booked:
        breaks.append(
            _money_break(
                engagement,
                "booked",
                f"{deal.name}: booked {_money(deal.booked)} in the CRM, "
                f"budget {_money(psa.booked)} in {psa.system}",
                (
                    _side(deal.system, deal.ref.id, _money(deal.booked), deal.link),
                    _side(psa.system, psa.ref.id, _money(psa.booked), psa.link),
                ),
                "the deal's amount is the contract: correct the budget in the PSA, or the amount in the CRM",
                abs(deal.booked - psa.booked),
            )
        )
    approved: dict[str, Money] = defaultdict(lambda: zero)
    late: dict[str, Money] = defaultdict(lambda: zero)
    for work in engagement.psa_work:
        if not (work.approved and work.billable) or work.worked_on < since:
            continue
        value = work.amount if work.amount is not None else price(work)
        if value is None:
            continue
        month = work.worked_on.strftime("%Y-%m")
        approved[month] = approved[month] + value
        if month in engagement.billed_periods and not work.billed:
            late[month] = late[month] + value
    posted: dict[str, Money] = defaultdict(lambda: zero)
    for work in engagement.posted_work:
        if work.worked_on >= since and work.amount is not None:
            month = work.worked_on.strftime("%Y-%m")
            posted[month] = posted[month] + work.amount
    systems = (psa.system if psa else None, books.system if books else None)
    for month in sorted(set(approved) | set(posted)):
        if books is None or psa is None or approved[month] == posted[month]:
            continue
        breaks.append(
            _money_break(
                engagement,
                f"posted:{month}",
                f"{deal.name}, {month}: approved billable {_money(approved[month])} in {systems[0]}, "
                f"posted {_money(posted[month])} in {systems[1]}",
                (
                    _side(
                        systems[0] or deal.system,
                        psa.ref.id if psa else None,
                        _money(approved[month]),
                        psa.link if psa else None,
                    ),
                    _side(books.system, books.ref.id, _money(posted[month]), books.link),
                ),
                "work approved but not in accounting: `close2cash time list --engagement` says why (parked, "
                "exception); work in accounting the PSA no longer approves: correct it in the PSA",
                abs(approved[month] - posted[month]),
            )
        )
    for month, unbilled in sorted(late.items()):
        if unbilled.amount == 0:
            continue
        posted_id = engagement.billed_periods[month]
        breaks.append(
            _money_break(
                engagement,
                f"unbilled:{month}",
                f"{deal.name}, {month}: {_money(unbilled)} of work was approved after the month's invoice "
                f"{engagement.numbers.get(posted_id, posted_id)} "
                "was posted, and no invoice bills it",
                (
                    _side(
                        systems[0] or deal.system,
                        psa.ref.id if psa else None,
                        f"{_money(unbilled)} unbilled",
                        psa.link if psa else None,
                    ),
                    _side(
                        books.system if books else deal.system,
                        engagement.billed_periods[month],
                        "invoice posted",
                    ),
                ),
                "bill it: move the entries into an open month in the PSA (the next run bills them), or "
                "issue a supplementary invoice in accounting",
                unbilled,
            )
        )
    for invoice in engagement.invoices:
        billed = engagement.billed_lines.get(invoice.ref.id)
        net = invoice.total - (invoice.tax if invoice.tax is not None else zero)
        if billed is None or invoice.voided or net == billed:
            continue
        breaks.append(
            _money_break(
                engagement,
                f"invoice:{invoice.ref.id}",
                f"invoice {invoice.number or invoice.ref.id}: {_money(net)} before tax in {invoice.system}, "
                f"but the work it bills is {_money(billed)}",
                (
                    _side(invoice.system, invoice.ref.id, _money(net), invoice.link),
                    _side(
                        systems[0] or deal.system,
                        psa.ref.id if psa else None,
                        f"{_money(billed)} billed work",
                        psa.link if psa else None,
                    ),
                ),
                "the invoice was edited in accounting: put the lines back, or credit the difference with a "
                "credit memo so the invoice equals the work",
                abs(net - billed),
            )
        )
    breaks += _totals(engagement, zero)
    return breaks


def _totals(engagement: EngagementMoney, zero: Money) -> list[Break]:
    """Invoiced, paid and open: accounting's figures, the PSA's copy and the CRM's fields agree."""
    kept = [i for i in engagement.invoices if not i.voided]
    mirrors = [i for i in engagement.mirrors if not i.voided]

    def total(invoices: Sequence[HeldInvoice], figure: str) -> Money:
        return sum((getattr(i, figure) for i in invoices), zero)

    health: CommercialHealth | None = engagement.deal.health
    deal, books, psa = engagement.deal, engagement.accounting, engagement.psa
    breaks: list[Break] = []
    if books is None:
        return breaks
    for figure in ("total", "paid", "open"):
        truth = total(kept, figure)
        sides = [_side(books.system, books.ref.id, _money(truth), books.link)]
        differ: list[Money] = []
        if psa is not None and (mirrors or kept):
            copy = total(mirrors, figure)
            sides.append(_side(psa.system, psa.ref.id, _money(copy), psa.link))
            differ.append(copy)
        if (
            health is not None
            and health.currency == engagement.currency
            and (kept or health.invoiced.amount != 0)
        ):
            crm = {"total": health.invoiced, "paid": health.paid, "open": health.open}[figure]
            sides.append(_side(deal.system, deal.ref.id, _money(crm), deal.link))
            differ.append(crm)
        worst = max((abs(value - truth) for value in differ), default=zero)
        if worst.amount == 0:
            continue
        label = "invoiced" if figure == "total" else figure
        breaks.append(
            _money_break(
                engagement,
                label,
                f"{deal.name}: {label} is {_money(truth)} in {books.system}, the copies say otherwise",
                tuple(sides),
                "accounting is the truth: `close2cash billing list` and the cash feedback's sweep bring "
                "the copies back (a lost webhook); if accounting is wrong, correct it there",
                worst,
            )
        )
    return breaks


def _money_break(
    engagement: EngagementMoney,
    check: str,
    summary: str,
    evidence: tuple[Evidence, ...],
    action: str,
    at_stake: Money,
) -> Break:
    return Break(
        scope=Scope.MONEY,
        check=check,
        subject=engagement.deal.ref,
        summary=summary,
        evidence=evidence,
        action=action,
        at_stake=at_stake,
    )


def at_stake_by_currency(breaks: Iterable[Break]) -> dict[str, Decimal]:
    """The money the open breaks are about, per currency."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for found in breaks:
        if found.at_stake is not None:
            totals[found.at_stake.currency] += found.at_stake.amount
    return dict(totals)
