"""Change event intake against fakes: each change published once, sweeps answered, bad events parked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.connectors.salesforce.cdc import ChangeEventReader
from shared.domain.errors import TransientError
from shared.domain.models import SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.sync.change_events import ChangeEventIntake
from tests.connectors.salesforce.test_cdc import ACCOUNT, ORG, OTHER, relayed
from tests.fakes import FakeMetrics, InMemoryLedger


class Org:
    """The org's change stream (the real reader) and the records its sweep query finds."""

    system = SystemName.SALESFORCE

    def __init__(self, changed: list[str] | None = None) -> None:
        self._reader = ChangeEventReader(organization_id=ORG, own_client="close2cash")
        self.changed = changed or []
        self.swept: list[tuple[str, datetime]] = []

    def read_change_event(self, event: dict[str, Any]):
        return self._reader.read_change_event(event)

    def records_changed_since(self, vendor_type: str, since: datetime) -> list[str]:
        self.swept.append((vendor_type, since))
        return list(self.changed)


class Publisher:
    def __init__(self) -> None:
        self.published: list[ChangeNotice] = []

    def publish(self, notices: list[ChangeNotice]) -> None:
        self.published.extend(notices)


def intake(org: Org, *, selected: bool = True):
    ledger, publisher, metrics = InMemoryLedger(), Publisher(), FakeMetrics()
    use_case = ChangeEventIntake(
        stream=lambda: org,
        ledger=ledger,
        publisher=lambda: publisher,
        metrics=metrics,
        selected=selected,
        clock=lambda: datetime(2026, 12, 1, tzinfo=UTC),
    )
    return use_case, ledger, publisher, metrics


def test_a_change_is_published_once_however_often_it_is_relayed():
    use_case, _, publisher, metrics = intake(Org())
    # when the same change event arrives twice (a resumed relay replays retained events)
    first = use_case.on_event(relayed())
    second = use_case.on_event(relayed())
    # then one notice went on the bus, and the second delivery is counted as a duplicate
    assert [n.record_id for n in publisher.published] == [ACCOUNT]
    assert (first.published, second.published, second.duplicates) == (1, 0, 1)
    assert metrics.totals["DuplicatesPrevented"] == 1


def test_an_overflow_event_publishes_every_record_the_sweep_finds_once():
    org = Org(changed=[ACCOUNT, OTHER])
    use_case, _, publisher, _ = intake(org)
    event = relayed("GAP_OVERFLOW", recordIds=[], changeOrigin="")
    # when the overflow event comes (and comes again)
    outcome = use_case.on_event(event)
    use_case.on_event(event)
    # then the accounts changed since its commit were swept and each published once, as "changed"
    assert org.swept[0] == ("Account", datetime(2020, 12, 15, 23, 9, 18, tzinfo=UTC))
    assert outcome.swept == 2
    assert sorted(n.record_id for n in publisher.published) == sorted([ACCOUNT, OTHER])
    assert {n.operation for n in publisher.published} == {Operation.CHANGED}


def test_an_event_from_another_org_opens_one_exception_and_publishes_nothing():
    use_case, ledger, publisher, metrics = intake(Org())
    event = relayed()
    event["source"] = "aws.partner/salesforce.com/00D8d000005XaMpEAK/0YL5g0000004CDCAAA"
    # when it arrives twice
    outcome = use_case.on_event(event)
    use_case.on_event(event)
    # then it is parked for a person, once, with the reason; and the message is done (no raise)
    assert outcome.rejected and publisher.published == []
    [exception] = ledger.exceptions.values()
    assert "not the configured org" in exception.reason
    assert metrics.totals["ExceptionsOpened"] == 1


def test_events_are_dropped_while_the_landscape_has_salesforce_on_outbound_messages():
    org = Org()
    use_case, _, publisher, metrics = intake(org, selected=False)
    outcome = use_case.on_event(relayed())
    assert outcome.dropped == {"intake_not_selected": 1} and publisher.published == []
    assert metrics.totals["NoticesDropped[reason=intake_not_selected]"] == 1


def test_a_change_another_delivery_is_recording_comes_back_later():
    use_case, ledger, publisher, _ = intake(Org())
    [notice] = Org().read_change_event(relayed()).notices
    ledger.claim_notice(notice, holder="another worker")
    with pytest.raises(TransientError, match="concurrent"):
        use_case.on_event(relayed())
    assert publisher.published == []


def test_the_hubs_own_write_is_counted_as_dropped():
    use_case, _, publisher, metrics = intake(Org())
    use_case.on_event(relayed(changeOrigin="com/salesforce/api/rest/62.0;client=close2cash"))
    assert publisher.published == []
    assert metrics.totals["NoticesDropped[reason=own_write]"] == 1
