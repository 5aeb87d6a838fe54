"""A cutover's shadow diff: what the new accounting system would hold, against what the old one holds.

Before a legal entity moves from one accounting system to another, every document of its shadow
period (posted to the old system) is also computed for the new one, never written there. The diff
compares the two document by document, in terms both systems share: for a time or expense entry the
date, the minutes, the rate and the amount to the cent; for an invoice its number, issue and due
dates and its total with tax, to the cent. Codes are not compared (an item id in QuickBooks and one in
NetSuite are different things by design); a document the new system could not take at all (no
service item mapped, no employee, no project there yet) is a line too, saying what is missing.

Each line has a stable id, so a person's acknowledgement ("the new tax code rounds per line, as
agreed with the controller") survives the next run of the diff; the cutover may go ahead only when
the diff is clear: no line, or every line acknowledged.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from pydantic import Field

from shared.domain.billing import Invoice
from shared.domain.cash import InvoiceStanding
from shared.domain.models import CanonicalModel, SystemName, UtcDateTime
from shared.domain.money import Money
from shared.domain.postings import Posting, WorkKind, amount_for


class Figures(CanonicalModel):
    """What both systems say about one document, in their shared terms."""

    worked_on: date | None = None
    minutes: int | None = None
    rate: Money | None = None
    amount: Money | None = None

    @classmethod
    def of_posting(cls, posting: Posting) -> Figures:
        return cls(
            worked_on=posting.worked_on,
            minutes=posting.minutes if posting.kind is WorkKind.TIME else None,
            rate=posting.rate,
            amount=posting.amount,
        )

    @classmethod
    def of_held(cls, kind: WorkKind, fields: dict[str, Any], *, currency: str) -> Figures:
        """From a target's held fields (`PostingTarget.held_postings`): a time record keeps minutes at
        a rate (its amount is rate x minutes / 60, as posted); an expense keeps its amount."""
        held_currency = str(fields.get("currency") or currency)
        day = _day(fields.get("worked_on"))
        if kind is WorkKind.TIME:
            minutes = fields.get("minutes")
            rate = _money(fields.get("rate"), held_currency)
            amount = amount_for(rate, minutes) if rate is not None and isinstance(minutes, int) else None
            return cls(worked_on=day, minutes=minutes, rate=rate, amount=amount)
        return cls(worked_on=day, amount=_money(fields.get("amount"), held_currency))


class InvoiceFigures(CanonicalModel):
    """What both systems say about one invoice, in their shared terms (`amount` is its total with tax)."""

    number: str | None = None
    issued_on: date | None = None
    due_on: date | None = None
    amount: Money | None = None

    @classmethod
    def of_invoice(cls, invoice: Invoice) -> InvoiceFigures:
        """The invoice as the hub composes it (what the new system would receive)."""
        return cls(
            number=invoice.number,
            issued_on=invoice.issue_date,
            due_on=invoice.due_date,
            amount=invoice.total,
        )

    @classmethod
    def of_standing(cls, standing: InvoiceStanding) -> InvoiceFigures:
        """The invoice as the old system holds it (its tax computed there)."""
        return cls(
            number=standing.number,
            issued_on=standing.issued_on,
            due_on=standing.due_on,
            amount=standing.total,
        )


def _day(value: object) -> date | None:
    """A held date: a date, or an ISO date string as a vendor answers it."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None


def _money(value: object, currency: str) -> Money | None:
    """A held amount: Money, or a number in the record's currency."""
    if value is None or isinstance(value, Money):
        return value
    if isinstance(value, Decimal | int | str):
        return Money.of(value, currency)
    return Money.of(str(value), currency)


class LineKind(StrEnum):
    """How a document differs between the two systems."""

    DIFFERS = "differs"  # both hold it; a shared figure is not the same
    CANNOT_POST = "cannot_post"  # the new system could not take it: the reason says what is missing
    ONLY_IN_OLD = "only_in_old"  # posted to the old system, and the hub would post nothing now
    NOT_IN_OLD = "not_in_old"  # the hub would post it, but the old system does not hold it


class Acknowledgement(CanonicalModel):
    """A person accepted a line as it is: who, when and why."""

    by: str = Field(min_length=1)
    at: UtcDateTime
    note: str = Field(min_length=1, max_length=1000)


class CutoverLine(CanonicalModel):
    """One difference of one document."""

    id: str = Field(min_length=1, description="stable across runs: entity, document and field")
    document: str = Field(min_length=1, description="the PSA entry, as a person finds it")
    kind: LineKind
    field: str | None = None
    old: str | None = Field(default=None, description="what the old system holds")
    new: str | None = Field(default=None, description="what the new system would hold, or why not")
    at_stake: Money | None = Field(default=None, description="the amount the difference moves")
    acknowledged: Acknowledgement | None = None


class Confirmation(CanonicalModel):
    """A person let the cutover go ahead over a clear diff: postings from its date go to the new system."""

    by: str = Field(min_length=1)
    at: UtcDateTime
    documents: int = Field(ge=0, description="documents the diff compared")
    acknowledged: int = Field(ge=0, description="lines accepted as they were")


class CutoverDiff(CanonicalModel):
    """The shadow period of one legal entity's cutover, compared document by document."""

    legal_entity: str
    old: SystemName
    new: SystemName
    cutover_on: date
    shadow_from: date | None
    documents: int = Field(ge=0, description="documents compared")
    lines: list[CutoverLine] = Field(default_factory=list)
    to_set_up: list[str] = Field(
        default_factory=list, description="engagements the cutover sets up in the new system"
    )
    confirmed: Confirmation | None = None

    @property
    def open_lines(self) -> list[CutoverLine]:
        return [line for line in self.lines if line.acknowledged is None]

    @property
    def clear(self) -> bool:
        """The cutover may go ahead: no line, or every line acknowledged."""
        return not self.open_lines


def _shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Money):
        return f"{value.amount} {value.currency}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _moved(held: object, would: object) -> Money | None:
    """How much an amount moves between the two systems (None: not comparable in one currency)."""
    if isinstance(held, Money) and isinstance(would, Money) and held.currency == would.currency:
        return Money(amount=abs(would.amount - held.amount), currency=held.currency)
    return None


def compare(
    line_id: str,
    document: str,
    old: Figures | InvoiceFigures | None,
    new: Figures | InvoiceFigures | Posting | str | None,
) -> list[CutoverLine]:
    """The lines of one document: `old` as the old system holds it (None: not there), `new` what
    the new system would receive (a str: why it could take nothing; None: nothing to send)."""
    if isinstance(new, str):
        return [CutoverLine(id=f"{line_id}:post", document=document, kind=LineKind.CANNOT_POST, new=new)]
    shadow = Figures.of_posting(new) if isinstance(new, Posting) else new
    if shadow is None:
        if old is None:
            return []
        return [
            CutoverLine(
                id=f"{line_id}:only-old",
                document=document,
                kind=LineKind.ONLY_IN_OLD,
                old=_shown(old.amount),
                at_stake=old.amount,
            )
        ]
    if old is None:
        return [
            CutoverLine(
                id=f"{line_id}:not-in-old",
                document=document,
                kind=LineKind.NOT_IN_OLD,
                new=_shown(shadow.amount),
                at_stake=shadow.amount,
            )
        ]
    lines: list[CutoverLine] = []
    for name in type(shadow).model_fields:
        held, would = getattr(old, name, None), getattr(shadow, name)
        if would is None:
            continue  # a figure the new document does not carry (an expense has no minutes)
        if held != would:
            lines.append(
                CutoverLine(
                    id=f"{line_id}:{name}",
                    document=document,
                    kind=LineKind.DIFFERS,
                    field=name,
                    old=_shown(held),
                    new=_shown(would),
                    at_stake=_moved(held, would) if name == "amount" else None,
                )
            )
    return lines


class CutoverBook(Protocol):
    """Where acknowledgements and confirmations are kept (the ledger table)."""

    def acknowledgements(self, legal_entity: str, new: SystemName) -> dict[str, Acknowledgement]: ...

    def acknowledge(self, legal_entity: str, new: SystemName, line_id: str, nod: Acknowledgement) -> None: ...

    def confirmation(self, legal_entity: str, new: SystemName) -> Confirmation | None: ...

    def confirm(self, legal_entity: str, new: SystemName, confirmation: Confirmation) -> bool:
        """Record the confirmation once; False when the cutover was already confirmed."""
        ...
