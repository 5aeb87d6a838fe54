"""The shadow diff of a cutover compares documents in the terms both ledgers share, to the cent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from shared.domain.cutover import Acknowledgement, CutoverDiff, Figures, LineKind, compare
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import Posting, WorkKind, amount_for

RATE = Money.of("150.00", "USD")


def shadow(minutes: int = 90, *, rate: Money = RATE, day: date = date(2026, 12, 3)) -> Posting:
    """What NetSuite would receive for one time entry."""
    return Posting(
        work=SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id="te-1", version="v1"),
        kind=WorkKind.TIME,
        target=SystemName.NETSUITE,
        legal_entity="US01",
        customer="PRJ-7",
        worker="EMP-3",
        worked_on=day,
        minutes=minutes,
        rate=rate,
        amount=amount_for(rate, minutes),
        item="SVC-CONS",
        description="Consulting",
    )


def held_time(minutes: int = 90, rate: str = "150.00", day: str = "2026-12-03") -> Figures:
    """A QuickBooks TimeActivity as its connector reads it back (held fields)."""
    fields = {"worked_on": day, "minutes": minutes, "rate": Decimal(rate), "item": "9003", "taxable": False}
    return Figures.of_held(WorkKind.TIME, fields, currency="USD")


def test_the_same_work_at_the_same_rate_is_no_line_whatever_the_codes():
    # given QuickBooks' item 9003 and NetSuite's SVC-CONS for the same 90 minutes at 150.00
    assert compare("US01:time:te-1", "time entry te-1", held_time(), shadow()) == []


def test_a_different_rate_is_a_line_on_the_rate_and_on_the_amount_at_stake_to_the_cent():
    # given NetSuite's rate card would price the hour at 150.01
    lines = compare("US01:time:te-1", "time entry te-1", held_time(), shadow(rate=Money.of("150.01", "USD")))
    by_field = {line.field: line for line in lines}
    assert set(by_field) == {"rate", "amount"}
    assert (by_field["amount"].old, by_field["amount"].new) == ("225.00 USD", "225.02 USD")
    assert by_field["amount"].at_stake == Money.of("0.02", "USD")
    assert all(line.kind is LineKind.DIFFERS for line in lines)


def test_a_document_the_new_ledger_could_not_take_says_why():
    lines = compare(
        "US01:time:te-1", "time entry te-1", held_time(), "no service item for 'Consulting' in netsuite"
    )
    assert [(line.kind, line.new) for line in lines] == [
        (LineKind.CANNOT_POST, "no service item for 'Consulting' in netsuite")
    ]


def test_posted_to_the_old_ledger_only_and_due_to_the_new_only_are_lines_with_their_amounts():
    [only_old] = compare("a", "time entry te-1", held_time(), None)
    [not_in_old] = compare("a", "time entry te-1", None, shadow(60))
    assert (only_old.kind, only_old.at_stake) == (LineKind.ONLY_IN_OLD, Money.of("225.00", "USD"))
    assert (not_in_old.kind, not_in_old.at_stake) == (LineKind.NOT_IN_OLD, Money.of("150.00", "USD"))
    assert compare("a", "time entry te-1", None, None) == []


def test_the_diff_is_clear_only_when_every_line_is_acknowledged():
    lines = compare("US01:time:te-1", "time entry te-1", held_time(91), shadow(90))
    diff = CutoverDiff(
        legal_entity="US01",
        old=SystemName.QUICKBOOKS,
        new=SystemName.NETSUITE,
        cutover_on=date(2027, 1, 1),
        shadow_from=date(2026, 12, 1),
        documents=1,
        lines=lines,
    )
    assert not diff.clear and {line.field for line in diff.open_lines} == {"minutes", "amount"}
    nod = Acknowledgement(
        by="controller@northwind.example", at=datetime(2026, 12, 4, tzinfo=UTC), note="PSA rounding"
    )
    acknowledged = diff.model_copy(
        update={"lines": [line.model_copy(update={"acknowledged": nod}) for line in lines]}
    )
    assert acknowledged.clear
