"""What billing and cash feedback learned, as domain events: invoices as the ledger holds them,
payments received, credit memos issued, and those deleted or voided since (pure).

Ids are derived from the fact (`DomainEvent.fact`): an invoice is a new event when its ledger
version, status or balance changes, and the same event when it is read again unchanged. The
invoice's lines are the ones the billing run composed (the ledger's standing carries its total,
balance and status, not its lines); a line a bookkeeper added in the ledger shows in
reconciliation, not here. A credit memo is read from the ledger as its total: it is stated as one
line of that total (tax included, `TOTAL_TAX_CODE`), so its total is the ledger's to the cent.

`occurred_at` is when the hub read the ledger's answer (`read_at`), or the instant the ledger's
change carried: the ledger's records do not say when a payment was applied or an invoice voided.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from shared.domain.billing import CreditMemo, Invoice, InvoiceLine, InvoiceStatus, Payment, PaymentAllocation
from shared.domain.billing_ports import InvoiceRecord
from shared.domain.cash import InvoiceStanding, IssuedCredit, ReceivedPayment
from shared.domain.events import (
    CreditMemoIssued,
    InvoicePosted,
    PaymentReceived,
    RecordWithdrawal,
    RecordWithdrawn,
)
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import sum_money

logger = logging.getLogger(__name__)

INVOICE, PAYMENT, CREDIT_MEMO, CUSTOMER = "invoice", "payment", "credit_memo", "customer"
# The tax code of the one line a credit memo is stated as: its total, tax included.
TOTAL_TAX_CODE = "total-incl-tax"


def ledger_ref(system: SystemName, kind: str, record_id: str, version: str | None = None) -> SourceRef:
    """A billing record in its ledger (system + type + id, the version when known)."""
    return SourceRef(system=system, type=kind, id=record_id, version=version)


def status_of(standing: InvoiceStanding) -> InvoiceStatus:
    """The invoice's status as its ledger's standing says: void, paid (nothing owed) or open."""
    if standing.voided:
        return InvoiceStatus.VOID
    return InvoiceStatus.PAID if standing.balance.amount <= 0 else InvoiceStatus.OPEN


def ledger_invoice(record: InvoiceRecord) -> Invoice:
    """The invoice the hub posted, as its ledger holds it now: its id, version, status and balance."""
    standing = record.standing
    return Invoice.model_validate(
        {
            **record.invoice.model_dump(),
            "source": ledger_ref(record.system, INVOICE, record.id, standing.version),
            "number": standing.number or record.invoice.number,
            "status": status_of(standing),
            "balance": standing.balance,
            "account": record.account,
        }
    )


def invoice_fact(record: InvoiceRecord) -> InvoicePosted:
    """`InvoicePosted` of `record`'s invoice as the ledger holds it (correlated with its billing run)."""
    return InvoicePosted.fact(
        ledger_invoice(record), correlation_id=record.run, occurred_at=record.standing.read_at
    )


def payment_fact(
    system: SystemName,
    payment_id: str,
    payment: ReceivedPayment | None,
    *,
    occurred_at: datetime,
    account: SourceRef | None = None,
) -> PaymentReceived | RecordWithdrawn | None:
    """`PaymentReceived` for a payment the ledger holds (`account`: the CRM account of the invoices it
    pays); `RecordWithdrawn` for one deleted or voided; None for a zero payment, or one the domain
    refuses (logged)."""
    ref = ledger_ref(system, PAYMENT, payment_id)
    if payment is None or payment.voided:
        why = "deleted in the ledger" if payment is None else "voided in the ledger"
        return _withdrawn(ref, PaymentReceived.event_type(), why, occurred_at)
    if payment.total.amount <= 0:
        # A zero payment only applies a credit memo to an invoice (QuickBooks): no cash received.
        return None
    currency = payment.total.currency
    allocations = tuple(
        PaymentAllocation(invoice=ledger_ref(system, INVOICE, line.invoice), amount=line.amount)
        for line in payment.lines
        if line.invoice and line.amount.amount > 0 and line.amount.currency == currency
    )
    if sum_money((a.amount for a in allocations), currency) > payment.total:
        # Credits applied in the same payment: how it splits is not recorded (see cash.py).
        allocations = ()
    try:
        stated = Payment(
            source=ref,
            customer=ledger_ref(system, CUSTOMER, payment.customer),
            amount=payment.total,
            received_on=payment.received_on,
            allocations=allocations,
            account=account,
        )
    except ValidationError as refused:
        logger.warning("payment %s is not stated as received: %s", ref, refused)
        return None
    return PaymentReceived.fact(
        stated, correlation_id=f"payment:{system}:{payment_id}", occurred_at=occurred_at
    )


def credit_fact(
    system: SystemName,
    credit_id: str,
    credit: IssuedCredit | None,
    credited: InvoiceRecord | None,
    *,
    occurred_at: datetime,
) -> CreditMemoIssued | RecordWithdrawn | None:
    """`CreditMemoIssued` for a credit memo against an invoice the hub posted (`credited`);
    `RecordWithdrawn` for one deleted or voided; None for a credit against another invoice."""
    ref = ledger_ref(system, CREDIT_MEMO, credit_id)
    if credit is None or credit.voided:
        why = "deleted in the ledger" if credit is None else "voided in the ledger"
        return _withdrawn(ref, CreditMemoIssued.event_type(), why, occurred_at)
    if credited is None:
        return None
    invoice = credited.invoice
    try:
        memo = CreditMemo(
            source=ref,
            number=credit.number or credit.id,
            customer=invoice.customer,
            legal_entity=invoice.legal_entity,
            currency=invoice.currency,
            issue_date=credit.issued_on,
            lines=(
                InvoiceLine(
                    description=f"Credit memo {credit.number or credit.id} (total as the ledger holds it)",
                    quantity=Decimal(1),
                    unit_price=credit.total,
                    tax_code=TOTAL_TAX_CODE,
                    tax_rate=Decimal(0),
                ),
            ),
            engagement=invoice.engagement,
            contract=invoice.contract,
            credits_invoice=ledger_ref(system, INVOICE, credited.id),
            account=credited.account,
        )
    except ValidationError as refused:
        logger.warning("credit memo %s is not stated as issued: %s", ref, refused)
        return None
    return CreditMemoIssued.fact(memo, correlation_id=credited.run, occurred_at=occurred_at)


def _withdrawn(ref: SourceRef, withdraws: str, reason: str, occurred_at: datetime) -> RecordWithdrawn:
    withdrawal = RecordWithdrawal(record=ref, withdraws=withdraws, reason=reason)
    return RecordWithdrawn.fact(
        withdrawal, correlation_id=f"{ref.type}:{ref.system}:{ref.id}", occurred_at=occurred_at
    )
