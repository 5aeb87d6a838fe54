"""What `close2cash time list` prints: one line per entry of an engagement, and the totals per state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from shared.domain.delivery_ports import WorkRecord
from shared.domain.postings import WorkKind


def hours(minutes: int) -> str:
    """Minutes as hours and minutes (`7:05`), exactly as the PSA reported them."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def work_lines(records: Sequence[WorkRecord], *, engagement: str) -> list[str]:
    """A table of the engagement's work, then how many entries and how much money stand in each state."""
    if not records:
        return [f"engagement {engagement}: no time or expenses recorded by the hub"]
    lines = [
        f"{'psa id':>10}  {'date':10}  {'kind':7}  {'hours':>6}  {'amount':>14}  {'state':11}  accounting"
    ]
    minutes: Counter[str] = Counter()
    amounts: dict[tuple[str, str], Decimal] = {}
    for record in records:
        amount = f"{record.amount.amount} {record.amount.currency}" if record.amount is not None else ""
        where = f"{record.target} {record.record.id}" if record.target and record.record else "-"
        shown_hours = hours(record.minutes) if record.kind is WorkKind.TIME else ""
        lines.append(
            f"{record.source.id:>10}  {record.worked_on.isoformat():10}  {record.kind.value:7}  "
            f"{shown_hours:>6}  {amount:>14}  {record.state.value:11}  {where}"
        )
        if record.reason:
            lines.append(f"{'':>12}{record.reason}")
        minutes[record.state.value] += record.minutes
        if record.amount is not None:
            key = (record.state.value, record.amount.currency)
            amounts[key] = amounts.get(key, Decimal(0)) + record.amount.amount
    states = Counter(record.state.value for record in records)
    for state, count in sorted(states.items()):
        money = ", ".join(
            f"{total} {currency}" for (s, currency), total in sorted(amounts.items()) if s == state
        )
        lines.append(
            f"{state}: {count} entr{'y' if count == 1 else 'ies'}, {hours(minutes[state])} h, {money or '-'}"
        )
    return lines
