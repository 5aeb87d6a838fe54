"""What `close2cash time list` shows a person: each entry, its state and accounting id, the totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from infra.time_view import work_lines
from shared.domain.delivery_ports import WorkRecord
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import PostedRecord, PostingState, WorkKind


def _record(entry: str, minutes: int, amount: str, state: PostingState, **fields: object) -> WorkRecord:
    return WorkRecord(
        key=f"productive:time:{entry}",
        kind=WorkKind.TIME,
        source=SourceRef(system=SystemName.PRODUCTIVE, type="time_entries", id=entry),
        project="7",
        worked_on=date(2026, 12, 1),
        state=state,
        minutes=minutes,
        amount=Money(amount=Decimal(amount), currency="USD"),
        **fields,  # type: ignore[arg-type]
    )


def test_each_entry_shows_its_hours_amount_state_and_accounting_record_then_totals_per_state() -> None:
    records = [
        _record(
            "15",
            55,
            "165.00",
            PostingState.POSTED,
            target=SystemName.QUICKBOOKS,
            record=PostedRecord(id="41"),
        ),
        _record("16", 90, "270.00", PostingState.PARKED, reason="engagement Acme (project 7) is draft"),
        _record(
            "17",
            60,
            "180.00",
            PostingState.POSTED,
            target=SystemName.QUICKBOOKS,
            record=PostedRecord(id="42"),
        ),
    ]
    lines = work_lines(records, engagement="7")
    assert (
        "0:55" in lines[1]
        and "165.00 USD" in lines[1]
        and "posted" in lines[1]
        and "quickbooks 41" in lines[1]
    )
    assert "parked" in lines[2] and lines[3].strip() == "engagement Acme (project 7) is draft"
    assert lines[-1] == "posted: 2 entries, 1:55 h, 345.00 USD"
    assert lines[-2] == "parked: 1 entry, 1:30 h, 270.00 USD"


def test_an_engagement_with_no_work_says_so() -> None:
    assert work_lines([], engagement="9") == ["engagement 9: no time or expenses recorded by the hub"]
