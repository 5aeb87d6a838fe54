"""The sweep's window: complete up to NetSuite's clock, or (capped) up to where the next read starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.connectors.netsuite import queries
from shared.connectors.netsuite.changes import change_window
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.mapper import query_zone
from shared.connectors.netsuite.schemas import CustomerRow
from shared.domain.errors import TransientError

SINCE = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
END = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def settings(connection: dict[str, Any]) -> NetSuiteConnection:
    return NetSuiteConnection.parse(connection)


def _rows(*times: str) -> list[CustomerRow]:
    return [CustomerRow(id=str(n), lastmodified=when) for n, when in enumerate(times, start=100)]


def test_a_complete_sweep_covers_up_to_its_end(settings: NetSuiteConnection) -> None:
    window = change_window(
        _rows("2026-12-03T07:10:00"), since=SINCE, end=END, capped=False, connection=settings
    )
    assert window.complete and window.covered_until == END and window.realm == "1234567_SB1"
    assert [(c.record_id, c.vendor_type, c.changed_at) for c in window.changes] == [
        ("100", "customer", datetime(2026, 12, 3, 7, 10, tzinfo=UTC))
    ]


def test_a_capped_sweep_reads_on_from_the_second_before_its_latest_change(
    settings: NetSuiteConnection,
) -> None:
    # given a sweep cut off at its row cap, the last rows in the second 07:20:05
    rows = _rows("2026-12-03T07:10:00", "2026-12-03T07:20:05", "2026-12-03T07:20:05")
    window = change_window(rows, since=SINCE, end=END, capped=True, connection=settings)
    # then it covers only up to 07:20:04, so the next read takes the rest of 07:20:05 again
    assert not window.complete
    assert window.covered_until == datetime(2026, 12, 3, 7, 20, 4, tzinfo=UTC)
    assert len(window.changes) == 3


def test_a_capped_sweep_within_one_second_still_moves_on(settings: NetSuiteConnection) -> None:
    rows = _rows("2026-12-03T07:00:00", "2026-12-03T07:00:00")
    window = change_window(rows, since=SINCE, end=END, capped=True, connection=settings)
    assert window.covered_until == SINCE and not window.complete


def test_a_row_without_a_time_is_transient(settings: NetSuiteConnection) -> None:
    with pytest.raises(TransientError, match="lastmodifieddate"):
        change_window([CustomerRow(id="7")], since=SINCE, end=END, capped=False, connection=settings)


def test_the_window_is_written_in_suiteqls_zone(connection: dict[str, Any]) -> None:
    # given an integration user whose preference is Pacific time
    pacific = NetSuiteConnection.parse({**connection, "suiteql_time_zone": "America/Los_Angeles"})
    statement = queries.changed_between(SINCE, SINCE + timedelta(hours=1), query_zone(pacific))
    # then the statement names the same instants in that zone
    assert "lastmodifieddate > TO_TIMESTAMP('2026-12-02 23:00:00', 'YYYY-MM-DD HH24:MI:SS')" in statement
    assert "lastmodifieddate <= TO_TIMESTAMP('2026-12-03 00:00:00', 'YYYY-MM-DD HH24:MI:SS')" in statement
