"""Reconciliation's comparisons: each kind of break found, and agreeing systems give none."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.domain.account_ports import TargetRecord
from shared.domain.cash import CommercialHealth
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import Account, SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import WorkKind
from shared.domain.reconciliation import (
    CustomerLinks,
    EngagementMoney,
    Scope,
    customer_breaks,
    engagement_breaks,
    money_breaks,
)
from shared.domain.reconciliation_ports import HeldEngagement, HeldInvoice, HeldWork

SF, PR, QB = SystemName.SALESFORCE, SystemName.PRODUCTIVE, SystemName.QUICKBOOKS


def ref(system: SystemName, kind: str, record: str) -> SourceRef:
    return SourceRef(system=system, type=kind, id=record)


def account(system: SystemName, record: str, name: str, *, origin: str | None = None, **fields: object):
    source = ref(system, "account", record)
    view = Account(source=source, name=name, **fields)  # type: ignore[arg-type]
    return TargetRecord(ref=source, view=view, origin=ref(SF, "Account", origin) if origin else None)


def as_held_by(crm: Account, system: SystemName) -> Account:
    return crm  # the copy holds what the CRM says (no mapping tables in these tests)


def name_key(customer: Account) -> str | None:
    return customer.name.casefold().replace(" ltd", "").strip()


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


# --- customers ----------------------------------------------------------------------------------


def customers(
    *copies: TargetRecord, links: dict[str, str] | None = None, crm: list[TargetRecord] | None = None
):
    accounts = (
        crm if crm is not None else [account(SF, "001A", "Northwind Ltd", email="ap@northwind.example")]
    )
    links = links or {}
    linked = {
        a.ref.id: CustomerLinks(account=a.ref, copies={QB: links[a.ref.id]} if a.ref.id in links else {})
        for a in accounts
    }
    return customer_breaks(accounts, {QB: list(copies)}, linked, as_held_by, name_key)


def test_one_linked_copy_holding_what_the_hub_writes_is_no_break() -> None:
    copy = account(QB, "58", "Northwind Ltd", origin="001A", email="ap@northwind.example")
    assert customers(copy, links={"001A": "58"}) == []


def test_a_missing_copy_a_dangling_link_and_changed_fields_are_breaks() -> None:
    # no copy at all
    [missing] = customers(links={})
    assert (missing.scope, missing.check) == (Scope.CUSTOMER, "copy:quickbooks")
    # the ledger links a copy the target no longer holds
    [dangling] = customers(links={"001A": "58"})
    assert "no longer there" in dangling.summary and dangling.evidence[1].value == "missing"
    # the copy's email was changed in QuickBooks, which does not own it
    copy = account(QB, "58", "Northwind Ltd", origin="001A", email="someone@else.example")
    [fields] = customers(copy, links={"001A": "58"})
    assert fields.check == "fields:quickbooks" and "email" in fields.summary
    assert [e.value for e in fields.evidence] == [
        "email='ap@northwind.example'",
        "email='someone@else.example'",
    ]


def test_a_customer_made_twice_by_hand_in_accounting_is_a_duplicate_with_both_records() -> None:
    # given the hub's copy and a namesake a bookkeeper created (no stamp, no link)
    ours = account(QB, "58", "Northwind Ltd", origin="001A", email="ap@northwind.example")
    by_hand = account(QB, "71", "NORTHWIND", email="ap@northwind.example")
    [duplicate] = customers(ours, by_hand, links={"001A": "58"})
    assert duplicate.check == "duplicate:quickbooks"
    assert [e.record for e in duplicate.evidence] == ["001A", "58", "71"]
    assert "merge 71 into 58" in duplicate.action
    # and two stamped copies of one account are a duplicate too
    again = account(QB, "72", "Northwind Ltd", origin="001A", email="ap@northwind.example")
    [twice] = customers(ours, again, links={"001A": "58"})
    assert twice.check == "duplicate:quickbooks" and "58, 72" in twice.summary


def test_a_copy_made_for_an_account_the_crm_no_longer_has_is_an_orphan() -> None:
    ours = account(QB, "58", "Northwind Ltd", origin="001A", email="ap@northwind.example")
    orphan = account(QB, "90", "Gone Corp", origin="001Z")
    [found] = customers(ours, orphan, links={"001A": "58"})
    assert (found.check, found.subject.id) == ("orphan", "90")
    # an inactive one is not
    assert customers(ours, orphan.model_copy(update={"active": False}), links={"001A": "58"}) == []


# --- engagements --------------------------------------------------------------------------------


def deal(status: EngagementStatus | None = EngagementStatus.ACTIVE, **extra: object) -> HeldEngagement:
    return HeldEngagement(
        system=SF,
        ref=ref(SF, "Opportunity", "006A"),
        name="Operating model review",
        opportunity=ref(SF, "Opportunity", "006A"),
        status=status,
        booked=usd("46400.00"),
        **extra,  # type: ignore[arg-type]
    )


def project(system: SystemName, record: str, status: EngagementStatus | None, *, opportunity: str = "006A"):
    return HeldEngagement(
        system=system,
        ref=ref(system, "project", record),
        name="Operating model review",
        opportunity=ref(SF, "Opportunity", opportunity),
        status=status,
        booked=usd("46400.00") if system is PR else None,
    )


def test_with_two_ledgers_a_deal_is_owed_an_engagement_only_in_the_ledger_it_was_set_up_in() -> None:
    # given a deal set up in Productive and QuickBooks, in a landscape that also connects NetSuite
    ns = SystemName.NETSUITE
    held = {
        PR: [project(PR, "10", EngagementStatus.ACTIVE)],
        QB: [project(QB, "7", EngagementStatus.ACTIVE)],
        ns: [],
    }
    homes = {"006A": frozenset({PR, QB})}
    # then NetSuite owes it nothing; without its booking it would be missing there
    assert engagement_breaks([deal()], held, homes) == []
    [missing] = engagement_breaks([deal()], held)
    assert missing.check == "engagement:netsuite"


def test_a_won_deal_is_one_engagement_in_each_system_in_the_same_status() -> None:
    held = {PR: [project(PR, "10", EngagementStatus.ACTIVE)], QB: [project(QB, "7", EngagementStatus.ACTIVE)]}
    assert engagement_breaks([deal()], held) == []
    # missing in accounting, twice in the PSA, and a draft where the CRM says active
    held = {
        PR: [project(PR, "10", EngagementStatus.ACTIVE), project(PR, "11", EngagementStatus.DRAFT)],
        QB: [],
    }
    checks = sorted(b.check for b in engagement_breaks([deal()], held))
    assert checks == ["duplicate:productive", "engagement:quickbooks"]
    [status] = engagement_breaks([deal()], {PR: [project(PR, "10", EngagementStatus.DRAFT)]})
    assert status.check == "status:productive"
    # a project set up for a deal the CRM does not hold as won is an orphan
    stray = project(PR, "12", EngagementStatus.ACTIVE, opportunity="006Z")
    [orphan] = engagement_breaks([deal()], {PR: [project(PR, "10", EngagementStatus.ACTIVE), stray]})
    assert (orphan.check, orphan.subject.id) == ("orphan", "12")


# --- money --------------------------------------------------------------------------------------


def work(
    system: SystemName,
    record: str,
    minutes: int,
    *,
    amount: str | None = None,
    billed: bool = False,
    on: date = date(2026, 11, 3),
):
    return HeldWork(
        system=system,
        ref=ref(system, "time", record),
        kind=WorkKind.TIME,
        engagement="10" if system is PR else "7",
        worked_on=on,
        minutes=minutes,
        amount=usd(amount) if amount else None,
        service="Consultant",
        billed=billed,
    )


def invoice(system: SystemName, total: str, paid: str, *, tax: str = "0.00") -> HeldInvoice:
    open_ = Decimal(total) - Decimal(paid)
    return HeldInvoice(
        system=system,
        ref=ref(system, "invoice", "130" if system is QB else "55"),
        number="10-202611",
        engagement="7",
        issued_on=date(2026, 12, 1),
        total=usd(total),
        tax=usd(tax),
        credited=usd("0.00"),
        paid=usd(paid),
        open=usd(str(open_)),
    )


def health(invoiced: str, paid: str) -> CommercialHealth:
    return CommercialHealth(
        currency="USD",
        invoiced=usd(invoiced),
        credited=usd("0"),
        paid=usd(paid),
        open=usd(str(Decimal(invoiced) - Decimal(paid))),
        overdue=usd("0"),
        invoices=1,
        as_of=date(2026, 12, 2),
    )


def engagement(**update: object) -> EngagementMoney:
    base = EngagementMoney(
        deal=deal(health=health("360.00", "100.00")),
        psa=project(PR, "10", EngagementStatus.ACTIVE),
        accounting=project(QB, "7", EngagementStatus.ACTIVE),
        currency="USD",
        psa_work=(work(PR, "1", 120, billed=True),),
        posted_work=(work(QB, "T1", 120, amount="360.00", billed=True),),
        invoices=(invoice(QB, "360.00", "100.00"),),
        mirrors=(invoice(PR, "360.00", "100.00"),),
        billed_periods={"2026-11": "130"},
        billed_lines={"130": usd("360.00")},
    )
    return base.model_copy(update=update)


def price(held: HeldWork) -> Money:
    return Money.of(Decimal(180) * held.minutes / 60, "USD").rounded()


SINCE = date(2026, 1, 1)


def test_agreeing_money_is_no_break() -> None:
    assert money_breaks(engagement(), price, SINCE) == []


def test_each_money_difference_is_a_break_with_what_is_at_stake() -> None:
    # the budget differs from the deal
    [booked] = money_breaks(
        engagement(
            psa=project(PR, "10", EngagementStatus.ACTIVE).model_copy(update={"booked": usd("40000.00")})
        ),
        price,
        SINCE,
    )
    assert (booked.check, booked.at_stake) == ("booked", usd("6400.00"))
    # an hour approved in November after its invoice: approved > posted is not it (it is posted), unbilled is
    late = work(PR, "2", 60)
    posted_late = work(QB, "T2", 60, amount="180.00")
    found = money_breaks(
        engagement(
            psa_work=(*engagement().psa_work, late), posted_work=(*engagement().posted_work, posted_late)
        ),
        price,
        SINCE,
    )
    [unbilled] = found
    assert (unbilled.check, unbilled.at_stake) == ("unbilled:2026-11", usd("180.00"))
    # approved work that never reached accounting
    [posted] = money_breaks(engagement(posted_work=()), price, SINCE)
    assert (posted.check, posted.at_stake) == ("posted:2026-11", usd("360.00"))


def test_an_invoice_edited_in_accounting_and_copies_that_lag_are_breaks() -> None:
    # a bookkeeper raised the invoice to 400.00: the copies followed, the work did not
    edited = engagement(
        invoices=(invoice(QB, "400.00", "100.00"),),
        mirrors=(invoice(PR, "400.00", "100.00"),),
        deal=deal(health=health("400.00", "100.00")),
    )
    [wrong] = money_breaks(edited, price, SINCE)
    assert (wrong.check, wrong.at_stake) == ("invoice:130", usd("40.00"))
    # tax on the invoice is not a difference from the work
    taxed = engagement(
        invoices=(invoice(QB, "432.00", "100.00", tax="72.00"),),
        mirrors=(invoice(PR, "432.00", "100.00"),),
        deal=deal(health=health("432.00", "100.00")),
    )
    assert money_breaks(taxed, price, SINCE) == []
    # a payment the PSA and the CRM never heard of
    paid = engagement(invoices=(invoice(QB, "360.00", "360.00"),))
    checks = {b.check: b.at_stake for b in money_breaks(paid, price, SINCE)}
    assert checks == {"paid": usd("260.00"), "open": usd("260.00")}
