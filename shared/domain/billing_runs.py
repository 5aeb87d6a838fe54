"""A billing run: what one engagement bills for one period, composed into one canonical invoice.

The run gathers what is billable and turns it into invoice lines by the engagement's billing model:

- time & materials: every approved, posted, unbilled time entry and billable expense of the period,
  one line each (a time line is linked to the accounting record its entry was posted as, so the
  ledger marks that record billed; its amount is the posted amount, to the cent);
- fixed fee: each milestone the PSA reports completed and no earlier run billed, at the amount the
  contract gives it; the milestones billed together never exceed the fee;
- retainer: the period's fixed amount, plus the hours worked beyond the hours it includes (with the
  unused hours of the previous period added when the contract rolls them over), billed at the rate
  card's rate of each entry's role, latest entries first.

Everything here is pure: the use case (shared/sync/billing) reads the ports and stores the run.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from shared.domain.billing import Invoice, InvoiceLine
from shared.domain.decimals import CONTEXT, ExactDecimal
from shared.domain.dimensions import FinancialDimensions
from shared.domain.engagements import BillingModel, Milestone
from shared.domain.errors import ValidationFailed
from shared.domain.models import CanonicalModel, SourceRef, SystemName, UtcDateTime
from shared.domain.money import CURRENCIES, ROUNDING, Money

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# QuickBooks' DocNumber is at most 21 characters; every ledger we post to allows at least that.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
MAX_INVOICE_NUMBER = 21
# Hours on an invoice line: a time entry's minutes / 60 to this many places, nudged so that
# quantity x rate rounds to the amount posted for the entry (55 min at 180.00 bills 165.00).
HOURS_PLACES = 6


class BillingPeriod(CanonicalModel):
    """A calendar month, written `2026-11`: what one run bills."""

    month: str = Field(pattern=_PERIOD.pattern)

    @classmethod
    def parse(cls, text: str) -> BillingPeriod:
        """The period `text` names, or ValidationFailed saying the expected form."""
        if not _PERIOD.match(text.strip()):
            raise ValidationFailed(f"period {text!r} is not a month; expected YYYY-MM, e.g. 2026-11")
        return cls(month=text.strip())

    @classmethod
    def containing(cls, day: date) -> BillingPeriod:
        return cls(month=f"{day.year:04d}-{day.month:02d}")

    @property
    def first_day(self) -> date:
        year, month = (int(part) for part in self.month.split("-"))
        return date(year, month, 1)

    @property
    def last_day(self) -> date:
        first = self.first_day
        return first.replace(day=calendar.monthrange(first.year, first.month)[1])

    @property
    def previous(self) -> BillingPeriod:
        return BillingPeriod.containing(self.first_day - timedelta(days=1))

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day

    def __str__(self) -> str:
        return self.month


class MilestoneTerm(CanonicalModel):
    """A fixed-fee milestone as the contract prices it."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    amount: ExactDecimal = Field(gt=0)


def milestone_terms(milestones: Iterable[Milestone]) -> tuple[MilestoneTerm, ...]:
    """An engagement's milestones as the contract prices them (the amount without its currency)."""
    return tuple(MilestoneTerm(code=m.code, name=m.name, amount=m.amount.amount) for m in milestones)


class BillingTerms(CanonicalModel):
    """How an engagement is billed, as its contract says (kept with the booked engagement)."""

    model: BillingModel = BillingModel.TIME_AND_MATERIALS
    contract: str | None = Field(default=None, max_length=64, description="the contract / deal reference")
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    fixed_fee: ExactDecimal | None = None
    milestones: tuple[MilestoneTerm, ...] = ()
    retainer_amount: ExactDecimal | None = Field(default=None, description="billed every month")
    retainer_hours: ExactDecimal | None = Field(default=None, ge=0, description="hours included per month")
    rollover: bool = Field(default=False, description="unused included hours carry into the next month")

    @model_validator(mode="after")
    def _consistent(self) -> BillingTerms:
        if self.model is BillingModel.FIXED_FEE:
            if self.fixed_fee is None or not self.milestones:
                raise ValueError("a fixed_fee engagement needs fixed_fee and its milestones")
            total = sum((m.amount for m in self.milestones), Decimal(0))
            if total > self.fixed_fee:
                raise ValueError(f"milestones sum to {total}, more than the fixed fee {self.fixed_fee}")
        if self.model is BillingModel.RETAINER and self.retainer_amount is None:
            raise ValueError("a retainer engagement needs retainer_amount (billed every month)")
        return self


class LineKind(StrEnum):
    """What an invoice line bills."""

    TIME = "time"
    EXPENSE = "expense"
    MILESTONE = "milestone"
    RETAINER = "retainer"
    OVERAGE = "overage"  # retainer hours beyond those included


class BillableWork(CanonicalModel):
    """Approved work posted to accounting and not billed yet, as the ledger of postings holds it."""

    key: str = Field(min_length=1, description="work_key")
    kind: LineKind
    work: SourceRef = Field(description="the PSA entry")
    role: str = Field(min_length=1, description="the service: the role, or the expense kind")
    worked_on: date
    minutes: int = 0
    amount: Money
    rate: Money | None = None
    item: str | None = None
    tax_code: str = Field(min_length=1)
    record: str = Field(min_length=1, description="the accounting record it was posted as")
    description: str = Field(min_length=1, max_length=4000)


class CompletedMilestone(CanonicalModel):
    """A milestone the PSA reports completed."""

    code: str = Field(min_length=1)
    completed_on: date


@dataclass(frozen=True)
class InvoiceContext:
    """What every invoice of an engagement carries: who is billed, in which ledger, with which codes."""

    engagement: SourceRef
    name: str
    customer: SourceRef  # the engagement's sub-customer in the accounting system
    legal_entity: str
    currency: str
    terms: BillingTerms
    item: str | None  # the service item a milestone or retainer line is posted with
    tax_code: str  # the tax code of a milestone or retainer line
    tax_rates: dict[str, Decimal]  # tax code -> percent, for this legal entity
    dimensions: FinancialDimensions | None = None  # class, department, location as accounting names them


@dataclass(frozen=True)
class Composition:
    """A run's invoice (None: nothing to bill) and what the next run must know."""

    invoice: Invoice | None
    unused_minutes: int = 0  # retainer: included minutes left, carried over if the contract says so
    skipped: tuple[str, ...] = ()  # why billable items were left out (a milestone over the fee, ...)


def invoice_number(project: str, period: BillingPeriod) -> str:
    """The invoice's number: stable for engagement and period (a rerun finds it), <= 21 characters."""
    number = f"{project}-{period.month.replace('-', '')}"
    if len(number) > MAX_INVOICE_NUMBER:
        # Very long PSA ids keep their tail, which is what distinguishes them.
        number = number[-MAX_INVOICE_NUMBER:]
    return number


def hours_quantity(minutes: int, rate: Money, amount: Money) -> Decimal:
    """Hours to `HOURS_PLACES` places whose product with `rate` rounds to `amount` (the posted figure)."""
    quantum = Decimal(1).scaleb(-HOURS_PLACES)
    cent = Decimal(1).scaleb(-CURRENCIES[rate.currency])
    nearest = CONTEXT.divide(Decimal(minutes), Decimal(60)).quantize(quantum, ROUNDING, CONTEXT)
    for step in (0, 1, -1, 2, -2, 3, -3):
        candidate = nearest + step * quantum
        product = CONTEXT.multiply(candidate, rate.amount).quantize(cent, ROUNDING, CONTEXT)
        if product == amount.amount:
            return candidate
    raise ValidationFailed(f"no {HOURS_PLACES}-place hour count of {minutes} min at {rate} bills {amount}")


def _rate(context: InvoiceContext, code: str) -> Decimal:
    rate = context.tax_rates.get(code)
    if rate is None:
        raise ValidationFailed(
            f"tax code {code!r} has no rate for legal entity {context.legal_entity}; "
            "add it to [[tax_rates]] in the landscape"
        )
    return rate


def _work_line(context: InvoiceContext, work: BillableWork) -> InvoiceLine:
    if work.kind is LineKind.TIME:
        if work.rate is None:
            raise ValidationFailed(f"{work.key}: posted time without a rate")
        quantity, price = hours_quantity(work.minutes, work.rate, work.amount), work.rate
    else:
        quantity, price = Decimal(1), work.amount
    return InvoiceLine(
        description=work.description[:4000],
        quantity=quantity,
        unit_price=price,
        tax_code=work.tax_code,
        tax_rate=_rate(context, work.tax_code),
        engagement=context.engagement,
        dimensions=context.dimensions,
        service_date=work.worked_on,
        origin=work.key,
        item=work.item,
        bills=work.record,
    )


def _fixed_line(
    context: InvoiceContext, origin: str, description: str, amount: Money, on: date
) -> InvoiceLine:
    return InvoiceLine(
        description=description,
        quantity=Decimal(1),
        unit_price=amount,
        tax_code=context.tax_code,
        tax_rate=_rate(context, context.tax_code),
        engagement=context.engagement,
        dimensions=context.dimensions,
        service_date=on,
        origin=origin,
        item=context.item,
    )


def _milestone_lines(
    context: InvoiceContext, completed: list[CompletedMilestone], billed: set[str], period: BillingPeriod
) -> tuple[list[InvoiceLine], list[str]]:
    terms, lines, skipped = context.terms, [], []
    fee = terms.fixed_fee or Decimal(0)
    so_far = sum((m.amount for m in terms.milestones if m.code in billed), Decimal(0))
    done = {m.code: m.completed_on for m in completed if m.completed_on <= period.last_day}
    for milestone in terms.milestones:
        if milestone.code in billed or milestone.code not in done:
            continue
        if so_far + milestone.amount > fee:
            skipped.append(
                f"milestone {milestone.code} would bill {so_far + milestone.amount}, over the fee {fee}"
            )
            continue
        so_far += milestone.amount
        lines.append(
            _fixed_line(
                context,
                f"milestone:{milestone.code}",
                f"Milestone {milestone.code}: {milestone.name}",
                Money.of(milestone.amount, context.currency),
                done[milestone.code],
            )
        )
    unknown = sorted(set(done) - {m.code for m in terms.milestones})
    skipped.extend(f"milestone {code} is completed in the PSA but not in the contract" for code in unknown)
    return lines, skipped


def _retainer_lines(
    context: InvoiceContext, works: list[BillableWork], period: BillingPeriod, carried_minutes: int
) -> tuple[list[InvoiceLine], int]:
    terms = context.terms
    amount = Money.of(terms.retainer_amount or Decimal(0), context.currency)
    lines = [
        _fixed_line(
            context, f"retainer:{period}", f"Retainer {period}: {context.name}", amount, period.first_day
        )
    ]
    included = int(CONTEXT.multiply(terms.retainer_hours or Decimal(0), Decimal(60)))
    allowance = included + (carried_minutes if terms.rollover else 0)
    times = sorted((w for w in works if w.kind is LineKind.TIME), key=lambda w: (w.worked_on, w.key))
    used = sum(w.minutes for w in times)
    over = max(0, used - allowance)
    # The hours beyond the allowance are the latest ones: walk back from the newest entry.
    for work in reversed(times):
        if over <= 0:
            break
        minutes = min(over, work.minutes)
        over -= minutes
        if work.rate is None:
            raise ValidationFailed(f"{work.key}: time over the retainer needs its rate")
        exact = CONTEXT.divide(CONTEXT.multiply(work.rate.amount, Decimal(minutes)), Decimal(60))
        billed = Money(amount=exact, currency=work.rate.currency).rounded()
        lines.append(
            InvoiceLine(
                description=f"Hours over the retainer: {work.role}, {work.worked_on} ({minutes} min)",
                quantity=hours_quantity(minutes, work.rate, billed),
                unit_price=work.rate,
                tax_code=work.tax_code,
                tax_rate=_rate(context, work.tax_code),
                engagement=context.engagement,
                dimensions=context.dimensions,
                service_date=work.worked_on,
                origin=f"overage:{work.key}",
                item=work.item,
            )
        )
    expenses = [_work_line(context, w) for w in works if w.kind is LineKind.EXPENSE]
    return lines + expenses, max(0, allowance - used)


def compose(
    context: InvoiceContext,
    period: BillingPeriod,
    *,
    works: list[BillableWork],
    completed: Sequence[CompletedMilestone] = (),
    billed_milestones: AbstractSet[str] = frozenset(),
    carried_minutes: int = 0,
    issued_on: date,
    run_id: str,
) -> Composition:
    """The invoice one run posts for `period`, by the engagement's billing model (see the module)."""
    in_period = [w for w in works if period.covers(w.worked_on)]
    skipped: list[str] = []
    unused = 0
    match context.terms.model:
        case BillingModel.TIME_AND_MATERIALS:
            ordered = sorted(in_period, key=lambda w: (w.worked_on, w.kind, w.key))
            lines = [_work_line(context, work) for work in ordered]
        case BillingModel.FIXED_FEE:
            # Time on a fixed-fee engagement is not billed by the hour; its expenses are.
            lines, skipped = _milestone_lines(context, list(completed), set(billed_milestones), period)
            lines += [_work_line(context, w) for w in in_period if w.kind is LineKind.EXPENSE]
        case BillingModel.RETAINER:
            lines, unused = _retainer_lines(context, in_period, period, carried_minutes)
    if not lines:
        return Composition(invoice=None, unused_minutes=unused, skipped=tuple(skipped))
    contract = context.terms.contract
    invoice = Invoice(
        source=SourceRef(system=context.customer.system, type="billing_run", id=run_id),
        number=invoice_number(context.engagement.id, period),
        customer=context.customer,
        legal_entity=context.legal_entity,
        currency=context.currency,
        issue_date=issued_on,
        due_date=issued_on + timedelta(days=context.terms.payment_terms_days),
        lines=tuple(lines),
        engagement=context.engagement,
        memo=f"{context.name} - period {period}" + (f" - contract {contract}" if contract else ""),
    )
    return Composition(invoice=invoice, unused_minutes=unused, skipped=tuple(skipped))


class RunState(StrEnum):
    """Where a billing run stands (`close2cash billing list`)."""

    COMPOSED = "composed"  # the invoice is built, not yet posted
    AWAITING_APPROVAL = "awaiting_approval"  # over the landscape's threshold: a person decides
    POSTED = "posted"  # in accounting
    REFUSED = "refused"  # accounting refused it: an exception is open, `billing retry` posts again
    REJECTED = "rejected"  # the approver said no
    NOTHING_TO_BILL = "nothing_to_bill"


class BillingRun(CanonicalModel):
    """One engagement's run for one period: its invoice and where it stands."""

    id: str = Field(min_length=1, max_length=80, description="<psa system>-<project>-<YYYYMM>")
    engagement: SourceRef = Field(description="the PSA project")
    period: BillingPeriod
    state: RunState
    target: SystemName | None = None
    invoice: Invoice | None = None
    invoice_id: str | None = Field(default=None, description="the invoice's id in the accounting system")
    reason: str | None = Field(default=None, max_length=2000)
    unused_minutes: int = 0
    skipped: tuple[str, ...] = ()
    approval: str | None = Field(default=None, description="the approval request, when one was needed")
    attempt: int = Field(default=1, ge=1, description="raised by each `billing retry`")
    last_approved_at: UtcDateTime | None = Field(default=None, description="the latest entry approval billed")
    created_at: UtcDateTime
    posted_at: UtcDateTime | None = None
    revision: str | None = None

    @property
    def total(self) -> Money | None:
        return None if self.invoice is None else self.invoice.total


def run_id(engagement: SourceRef, period: BillingPeriod) -> str:
    """A run's id: one per engagement and period, so a repeated run finds the first."""
    return f"{engagement.system}-{engagement.id}-{period.month.replace('-', '')}"
