"""Reconciliation's censuses on QuickBooks Online: customers, engagements, postings, invoices (1,000 a page).

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from infra.local.sandboxes.quickbooks import QuickBooksSandbox
from shared.connectors.quickbooks import QuickBooksConnector
from shared.connectors.quickbooks.mapper import crm_stamp, engagement_notes, notes_with_closed_reason
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import WorkKind
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus
from tests.connectors.quickbooks.conftest import make_account
from tests.connectors.quickbooks.test_invoice_standing import void_invoice
from tests.connectors.quickbooks.test_invoicing import invoice_for, pay
from tests.connectors.quickbooks.test_postings import books, create, expense_posting, posted, time_posting
from tests.local.sandboxes.quickbooks.test_time_activities import activity

__all__ = ["books"]

SINCE = date(2026, 11, 1)


def _key(ref: SourceRef | None) -> tuple[str, str, str] | None:
    return None if ref is None else (ref.system, ref.type, ref.id)


def _calls_of(connector: QuickBooksConnector, read: Any) -> tuple[list[Any], int]:
    """What `read()` returns and the vendor calls it took (the first token refresh is not the census's)."""
    if connector.http_calls == 0:
        connector.client.refresh_tokens()
    before = connector.http_calls
    found = list(read())
    return found, connector.http_calls - before


def test_accounting_answers_all_four_censuses(connector: QuickBooksConnector) -> None:
    for port in (CustomerCensus, EngagementCensus, WorkCensus, InvoiceCensus):
        assert isinstance(connector, port)


def test_every_customer_active_or_not_comes_back_once_in_three_queries_for_2500(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given 2,499 customers a bookkeeper made (one of them inactive) and one the hub made for a CRM account
    sandbox.set_rate_limit(False)
    made = [sandbox.put_customer({"DisplayName": f"Customer {n:04d}"}) for n in range(2_499)]
    sandbox.put_customer({"Id": made[7], "Active": False})
    account = make_account("001ACME")
    hub = connector.create_account(account, idempotency_key="acct-1").ref.id
    # and two engagements (sub-customers), which are not customers of their own
    for name in ("Acme - Rollout", "Acme - Phase 2"):
        sandbox.put_customer({"DisplayName": name, "Job": True, "ParentRef": {"value": hub}})
    # when reconciliation takes the customer census
    records, calls = _calls_of(connector, connector.census_customers)
    # then the 2,500 customers are there exactly once, read in three pages of at most 1,000
    assert sorted(record.ref.id for record in records) == sorted([*made, hub])
    assert calls == 3
    # the hub's customer names its CRM account, the bookkeeper's name none; the inactive one is there
    by_id = {record.ref.id: record for record in records}
    assert _key(by_id[hub].origin) == _key(account.source)
    assert by_id[made[0]].origin is None
    assert by_id[made[7]].view.name == "Customer 0007"
    assert by_id[made[7]].active is False and by_id[made[0]].active is True
    # and each is the view read_account gives
    assert by_id[hub] == connector.read_account(hub)


def test_the_hubs_sub_customers_are_the_engagements_with_their_deal_and_status(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox
) -> None:
    # given a customer with three engagements the hub set up (active, a draft, a closed one)
    parent = sandbox.put_customer({"DisplayName": "Acme Corp"})
    deals = [SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id=f"006A{n}") for n in range(3)]
    notes = [engagement_notes(deal, class_id="5", department_id=None) for deal in deals]
    active, draft, closed = (
        sandbox.put_customer(
            {
                "DisplayName": f"Acme Corp - {name}",
                "Job": True,
                "ParentRef": {"value": parent},
                "Active": name == "Rollout",
                "Notes": note if name != "Audit" else notes_with_closed_reason(note, "setup rejected"),
            }
        )
        for name, note in zip(("Rollout", "Phase 2", "Audit"), notes, strict=True)
    )
    # and a job a bookkeeper made by hand (no stamp)
    sandbox.put_customer({"DisplayName": "Acme Corp - Misc", "Job": True, "ParentRef": {"value": parent}})
    # when the engagement census is read
    held, calls = _calls_of(connector, connector.census_engagements)
    # then only the hub's three are there, in one query, each naming its deal and its customer
    by_id = {engagement.ref.id: engagement for engagement in held}
    assert set(by_id) == {active, draft, closed}
    assert calls == 1
    assert [_key(by_id[i].opportunity) for i in (active, draft, closed)] == [_key(d) for d in deals]
    assert [by_id[i].status for i in (active, draft, closed)] == [
        EngagementStatus.ACTIVE,
        EngagementStatus.DRAFT,
        EngagementStatus.CLOSED,
    ]
    rollout = by_id[active]
    assert (rollout.customer, rollout.name, rollout.booked, rollout.system) == (
        parent,
        "Acme Corp - Rollout",
        None,
        SystemName.QUICKBOOKS,
    )
    assert rollout.link == f"https://app.qbo.intuit.com/app/customerdetail?nameId={active}"
    assert crm_stamp(deals[0]) in sandbox.customer(active)["Notes"]


def test_posted_time_and_expenses_come_back_with_their_psa_entry_and_exact_amounts(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # given two time entries and an expense the hub posted in November, one entry billed since
    time_1, time_2 = time_posting(books, 1), time_posting(books, 2, minutes=125)
    expense = expense_posting(books)
    answers = connector.write_postings("census-1", [create(time_1), create(time_2), create(expense)])
    ids = [answer.record.id for answer in answers if answer.record is not None]
    invoice = connector.post_invoice("bill-c1", invoice_for(books, ids[0]))
    # and a bookkeeper's own time on the engagement, and the hub's time from October (outside the window)
    hand = sandbox.enter(
        "TimeActivity", activity(books, TxnDate="2026-11-20", BillableStatus="NotBillable", Hours=1)
    )
    posted(connector, time_posting(books, 3, worked_on=date(2026, 10, 31)), "census-2")
    # when reconciliation takes the work census from 1 November
    held, calls = _calls_of(connector, lambda: connector.census_work(SINCE))
    # then the four November records are there once: TimeActivity, sub-customers, Purchase queries
    # (ids are per entity in QuickBooks: a TimeActivity and a Purchase may both be 1)
    by_id = {(work.ref.type, work.ref.id): work for work in held}
    kinds = ("time_activity", "time_activity", "purchase", "time_activity")
    assert set(by_id) == set(zip(kinds, [*ids, hand], strict=True))
    assert len(held) == 4
    assert calls == 3
    first, second, spent, own = (by_id[key] for key in zip(kinds, [*ids, hand], strict=True))
    # the time at the posted rate, to the cent: 55 min and 125 min at 152.35
    assert (first.kind, first.minutes, first.amount) == (WorkKind.TIME, 55, Money.of("139.65", "USD"))
    assert (second.minutes, second.amount) == (125, Money.of("317.40", "USD"))
    assert (first.billed, second.billed, first.engagement) == (True, False, books["customer"])
    assert [_key(w.origin) for w in (first, second, spent)] == [
        _key(p.work) for p in (time_1, time_2, expense)
    ]
    # the expense as its line holds it
    assert (spent.kind, spent.amount, spent.billable, spent.billed) == (
        WorkKind.EXPENSE,
        Money.of("86.40", "USD"),
        True,
        False,
    )
    assert spent.worked_on == date(2026, 11, 19)
    # the bookkeeper's time names no PSA entry and is not billable
    assert (own.origin, own.billable, own.minutes) == (None, False, 90)
    assert invoice.id


def test_invoices_read_back_total_paid_credited_and_open_from_bulk_payments(
    connector: QuickBooksConnector, sandbox: QuickBooksSandbox, books: dict[str, str]
) -> None:
    # given three November invoices: one partly paid, one credited in full, one voided
    records = [posted(connector, time_posting(books, 10 + n), f"post-c{n}") for n in range(4)]
    paid, credited, voided, old = (
        connector.post_invoice(f"bill-c{n}", invoice_for(books, record.id, number=f"C{n}")).id
        for n, record in enumerate(records)
    )
    pay(connector, paid, books["customer"], "100.00", "2026-12-05")
    # a payment dated before the window that the first invoice's LinkedTxn names all the same
    pay(connector, paid, books["customer"], "0.65", "2026-10-15")
    memo = sandbox.enter(
        "CreditMemo",
        {
            "CustomerRef": {"value": books["customer"]},
            "Line": [
                {
                    "Amount": Decimal("139.65"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": books["item"]}},
                }
            ],
        },
    )
    sandbox.enter(
        "Payment",
        {
            "CustomerRef": {"value": books["customer"]},
            "TotalAmt": 0,
            "Line": [
                {"Amount": Decimal("139.65"), "LinkedTxn": [{"TxnId": credited, "TxnType": "Invoice"}]},
                {"Amount": Decimal("139.65"), "LinkedTxn": [{"TxnId": memo, "TxnType": "CreditMemo"}]},
            ],
        },
    )
    void_invoice(connector, voided)
    sandbox.edit_transaction("Invoice", old, {"TxnDate": "2026-10-30"})
    # when reconciliation takes the invoice census from 1 November
    held, calls = _calls_of(connector, lambda: connector.census_invoices(SINCE))
    # then the three are there once: invoices, the window's payments, the earlier one by Id
    by_id = {invoice.ref.id: invoice for invoice in held}
    assert set(by_id) == {paid, credited, voided}
    assert calls == 3
    usd = "USD"
    first = by_id[paid]
    assert (first.total, first.paid, first.credited, first.open) == (
        Money.of("139.65", usd),
        Money.of("100.65", usd),
        Money.of("0.00", usd),
        Money.of("39.00", usd),
    )
    assert (first.number, first.engagement, first.issued_on) == ("C0", books["customer"], date(2026, 12, 1))
    assert first.link == f"https://app.qbo.intuit.com/app/invoice?txnId={paid}"
    second = by_id[credited]
    assert (second.credited, second.paid, second.open) == (
        Money.of("139.65", usd),
        Money.of("0.00", usd),
        Money.of("0.00", usd),
    )
    assert by_id[voided].voided and by_id[voided].open.amount == 0
