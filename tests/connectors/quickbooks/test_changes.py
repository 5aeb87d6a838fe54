"""QuickBooks ChangeDataCapture answers read as change windows (shape as Intuit documents it).

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.connectors.quickbooks.changes import CDC_MAX_OBJECTS, change_window, changed_since_param

SINCE = datetime(2015, 12, 23, 17, 0, tzinfo=UTC)
UNTIL = datetime(2015, 12, 23, 18, 0, tzinfo=UTC)


def _answer(customers: list[dict[str, Any]], time: str = "2015-12-23T10:00:01.034-08:00") -> dict[str, Any]:
    return {
        "CDCResponse": [
            {"QueryResponse": [{"Customer": customers, "startPosition": 1, "maxResults": len(customers)}]}
        ],
        "time": time,
    }


def _customer(customer_id: str, sync_token: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {
        "domain": "QBO",
        "Id": customer_id,
        "SyncToken": sync_token,
        "DisplayName": f"Customer {customer_id}",
        "MetaData": {"CreateTime": "2015-12-01T09:00:00-08:00", "LastUpdatedTime": updated},
        **extra,
    }


def test_edits_and_deletes_are_changes_and_the_window_ends_at_intuits_time() -> None:
    # given an answer with an edited customer, a deleted one and a sub-customer (an engagement)
    answer = _answer(
        [
            _customer("58", "4", "2015-12-23T09:30:00-08:00"),
            {
                "domain": "QBO",
                "status": "Deleted",
                "Id": "3",
                "MetaData": {"LastUpdatedTime": "2015-12-23T09:40:00-08:00"},
            },
            _customer("60", "1", "2015-12-23T09:45:00-08:00", Job=True, ParentRef={"value": "58"}),
        ]
    )
    window = change_window(answer, since=SINCE, until=UNTIL, realm="9130")
    # then the edit carries its SyncToken, the delete is marked, the engagement is left out
    assert [(c.record_id, c.version, c.deleted) for c in window.changes] == [
        ("58", "4", False),
        ("3", "deleted@2015-12-23T17:40:00+00:00", True),
    ]
    assert window.changes[0].changed_at == datetime(2015, 12, 23, 17, 30, tzinfo=UTC)
    # and the window reaches Intuit's own clock, not the hub's
    assert window.complete and window.covered_until == datetime(2015, 12, 23, 18, 0, 1, 34000, tzinfo=UTC)
    assert window.realm == "9130"


def test_a_capped_answer_covers_only_up_to_its_latest_change() -> None:
    # given an answer holding the 1,000 objects CDC returns at most
    customers = [
        _customer(str(n), "0", f"2015-12-23T09:{n // 60 % 60:02d}:{n % 60:02d}-08:00")
        for n in range(CDC_MAX_OBJECTS)
    ]
    window = change_window(_answer(customers), since=SINCE, until=UNTIL, realm="9130")
    # then the window is marked incomplete and ends at its latest change, for the next read to go on from
    assert not window.complete
    assert window.covered_until == max(c.changed_at for c in window.changes)


def test_changed_since_is_an_iso_date_time_with_its_offset() -> None:
    assert changed_since_param(SINCE) == "2015-12-23T17:00:00+00:00"
