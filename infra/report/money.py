"""The money waterfall of one engagement: booked -> approved -> posted -> invoiced -> paid, per currency.

Each figure is what the hub's ledger holds, summed as `Money` (Decimal) and rounded to the
currency's minor unit at the end:
- booked: the amount won on the deal, kept with the booked engagement at setup (a fixed fee's fee
  for an engagement set up before the amount was kept);
- approved: approved billable work the ledger knows of, posted or not (parked, in exception);
- posted: the part of it that accounting holds (posted, or posted and corrected since);
- invoiced / paid: the invoices the billing runs posted, as accounting last reported their standing
  (total; paid in cash, credits apart; the balance is the open AR). A voided invoice counts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from infra.report.models import Waterfall
from shared.domain.billing_ports import InvoiceRecord
from shared.domain.delivery_ports import BookedEngagement, WorkRecord
from shared.domain.engagements import BillingModel
from shared.domain.money import Money, sum_money
from shared.domain.postings import PostingState

POSTED_STATES = frozenset({PostingState.POSTED, PostingState.CORRECTED})
APPROVED_STATES = POSTED_STATES | {PostingState.PARKED, PostingState.EXCEPTION}


def _total(items: Iterable[Money], currency: str) -> Decimal:
    return sum_money((m for m in items if m.currency == currency), currency).rounded().amount


def _booked(engagement: BookedEngagement, currency: str) -> Decimal | None:
    if engagement.booked is not None:
        return engagement.booked.rounded().amount if engagement.booked.currency == currency else None
    terms = engagement.billing
    if (
        terms.model is BillingModel.FIXED_FEE
        and terms.fixed_fee is not None
        and currency == engagement.currency
    ):
        return Money(amount=terms.fixed_fee, currency=currency).rounded().amount
    return None


def waterfalls(
    engagement: BookedEngagement, works: Sequence[WorkRecord], invoices: Sequence[InvoiceRecord]
) -> list[Waterfall]:
    """One waterfall per currency the engagement's deal, work or invoices are in (its own first)."""
    approved = [w for w in works if w.billable and w.amount is not None and w.state in APPROVED_STATES]
    standing = [i.standing for i in invoices if not i.standing.voided]
    seen = [engagement.currency, *(w.amount.currency for w in approved if w.amount is not None)]
    seen += [s.total.currency for s in standing]
    rows: list[Waterfall] = []
    for currency in dict.fromkeys(seen):
        rows.append(
            Waterfall(
                engagement=f"{engagement.psa.system}/{engagement.psa.id}",
                name=engagement.name,
                currency=currency,
                status=str(engagement.status),
                booked=_booked(engagement, currency),
                approved=_total((w.amount for w in approved if w.amount is not None), currency),
                posted=_total(
                    (w.amount for w in approved if w.amount is not None and w.state in POSTED_STATES),
                    currency,
                ),
                invoiced=_total((s.total for s in standing), currency),
                paid=_total((s.paid for s in standing), currency),
                credited=_total((s.credited for s in standing), currency),
                open_ar=_total((s.balance for s in standing), currency),
                invoices=sum(1 for s in standing if s.total.currency == currency),
                entries=sum(1 for w in approved if w.amount is not None and w.amount.currency == currency),
            )
        )
    return rows
