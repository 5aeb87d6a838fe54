"""The customer master sync states each customer as the CRM holds it: once per version, anew per change."""

from __future__ import annotations

from shared.domain.events import AccountChanged
from shared.domain.models import SystemName
from tests.engagement_fakes import FakeEvents
from tests.sync.test_accounts import _notice, _world


def test_a_changed_customer_is_stated_once_per_version_of_the_crms_record() -> None:
    bus = FakeEvents()
    crm, _, _, _, _, sync = _world(events=lambda: bus)
    # given a customer created in the CRM, whose notice arrives twice
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # when it is renamed
    crm.put("001A", "Acme Consulting Group")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2"))
    # then the bus carries two facts: the customer as created (once) and as renamed
    stated = [e for e in bus.events if isinstance(e, AccountChanged)]
    assert len({e.id for e in stated}) == 2
    assert [e.data.name for e in stated][-1] == "Acme Consulting Group"
    assert stated[0].subject == "001A"
