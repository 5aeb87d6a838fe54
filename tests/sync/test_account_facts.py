"""The customer master sync states each customer as the CRM holds it: once per version, anew per change."""

from __future__ import annotations

from pathlib import Path

from shared.domain.events import AccountChanged
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.governance.loader import parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.matching import Matcher
from shared.governance.ownership import Ownership
from shared.sync.accounts import AccountSync
from tests.engagement_fakes import FakeEvents
from tests.fakes import FakeCrm, FakeMetrics, FakeTarget, InMemoryLedger

DEMO_LANDSCAPE = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"


def _notice(event_id: str) -> ChangeNotice:
    return ChangeNotice(
        provider=SystemName.SALESFORCE,
        event_id=event_id,
        entity=EntityType.ACCOUNT,
        vendor_type="Account",
        record_id="001A",
        operation=Operation.UPDATED,
    )


def test_a_changed_customer_is_stated_once_per_version_of_the_crms_record() -> None:
    landscape = parse_landscape(DEMO_LANDSCAPE.read_text(), file="demo.toml")
    crm, bus = FakeCrm(), FakeEvents()
    targets = [FakeTarget(SystemName.PRODUCTIVE), FakeTarget(SystemName.QUICKBOOKS)]
    sync = AccountSync(
        source=lambda: crm,
        targets=lambda: targets,
        ledger=InMemoryLedger(),
        metrics=FakeMetrics(),
        ownership=Ownership(landscape),
        mappings=Mappings(landscape),
        matcher=Matcher(landscape.matching),
        events=lambda: bus,
    )
    # given a customer created in the CRM, whose notice arrives twice
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice("n1"))
    sync.on_notice(_notice("n1"))
    # when it is renamed
    crm.put("001A", "Acme Consulting Group")
    sync.on_notice(_notice("n2"))
    # then the bus carries two facts: the customer as created (once) and as renamed
    stated = [e for e in bus.events if isinstance(e, AccountChanged)]
    assert len({e.id for e in stated}) == 2
    assert [e.data.name for e in stated][-1] == "Acme Consulting Group"
    assert stated[0].subject == "001A"
