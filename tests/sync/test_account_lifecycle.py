"""Merges and deletes of customers against fakes: the landscape's [lifecycle.customer] policy decides."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import SyncAction
from shared.governance.loader import LandscapeInvalid, parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.matching import Matcher
from shared.governance.ownership import Ownership
from shared.sync.accounts import AccountSync
from tests.fakes import FakeCrm, FakeMetrics, FakeTarget, InMemoryLedger

DEMO = (Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml").read_text()


def _world(on_merge: str = "repoint", on_delete: str = "deactivate"):
    text = DEMO.replace('on_merge = "repoint"', f'on_merge = "{on_merge}"').replace(
        'on_delete = "deactivate"', f'on_delete = "{on_delete}"'
    )
    landscape = parse_landscape(text, file="demo.toml")
    crm, psa, erp = FakeCrm(), FakeTarget(SystemName.PRODUCTIVE), FakeTarget(SystemName.QUICKBOOKS)
    ledger = InMemoryLedger()
    sync = AccountSync(
        source=lambda: crm,
        targets=lambda: [psa, erp],
        ledger=ledger,
        metrics=FakeMetrics(),
        ownership=Ownership(landscape),
        mappings=Mappings(landscape),
        matcher=Matcher(landscape.matching),
        lifecycle=landscape.lifecycle.customer,
    )
    return crm, psa, erp, ledger, sync


def _notice(provider: SystemName, record_id: str, event_id: str, **extra: object) -> ChangeNotice:
    return ChangeNotice(
        provider=provider,
        event_id=event_id,
        entity=EntityType.ACCOUNT,
        vendor_type="Account" if provider is SystemName.SALESFORCE else "Customer",
        record_id=record_id,
        operation=extra.pop("operation", Operation.UPDATED),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def _copies(ledger: InMemoryLedger, account_id: str) -> dict[SystemName, tuple[str, bool]]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    return {
        x.target.system: (x.target.id, x.active) for x in ledger.cross_references(EntityType.ACCOUNT, source)
    }


def test_a_deleted_account_under_the_exception_policy_changes_nothing_and_names_its_copies() -> None:
    crm, psa, erp, ledger, sync = _world(on_delete="exception")
    crm.put("001A", "Acme")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    crm.delete("001A")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2"))
    assert {r.action for r in report.results} == {SyncAction.EXCEPTION}
    assert psa.inactive == set() and erp.inactive == set()
    (exception,) = ledger.exceptions.values()
    assert "deleted" in exception.reason and "on_delete = exception" in exception.reason


def test_a_deleted_account_under_the_deactivate_policy_deactivates_every_copy() -> None:
    crm, psa, erp, ledger, sync = _world()
    crm.put("001A", "Acme")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    crm.delete("001A")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2"))
    assert psa.inactive == {"1"} and erp.inactive == {"1"}
    assert {active for _, active in _copies(ledger, "001A").values()} == {False}
    # and the targets' echoes of the deactivation are not drift
    sync.on_notice(_notice(SystemName.QUICKBOOKS, "1", "q1", operation=Operation.DELETED))
    assert ledger.exceptions == {}


def test_an_undeleted_account_whose_copies_were_deactivated_is_an_exception_not_a_silent_write() -> None:
    # given an account deleted in the CRM, its copies deactivated (policy: deactivate)
    crm, psa, erp, ledger, sync = _world()
    crm.put("001A", "Acme")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    crm.delete("001A")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2", operation=Operation.DELETED))
    writes = len(ledger.trace)
    # when sales restores it from the recycle bin (a change data capture UNDELETE)
    crm.put("001A", "Acme")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n3", operation=Operation.UNDELETED))
    # then nothing was written to the inactive copies, and one exception asks a person to reactivate them
    assert len(ledger.trace) == writes
    assert {r.action for r in report.results} == {SyncAction.EXCEPTION}
    [exception] = ledger.exceptions.values()
    assert exception.kind == "undeleted_at_source" and "reactivate" in exception.reason
    assert psa.inactive == {"1"} and erp.inactive == {"1"}


def test_an_undeleted_account_that_kept_its_copies_just_syncs() -> None:
    # given an account deleted under the exception policy (its copies stayed active)
    crm, _, _, _, sync = _world(on_delete="exception")
    crm.put("001A", "Acme")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # when it is restored, renamed
    crm.put("001A", "Acme Restored")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n3", operation=Operation.UNDELETED))
    # then its copies are updated like any edit
    assert {r.action for r in report.results} == {SyncAction.UPDATED}


def test_a_crm_merge_hands_the_losers_copies_to_a_survivor_that_has_none() -> None:
    crm, _psa, erp, ledger, sync = _world()
    crm.put("001L", "Loser Ltd")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001L", "n1"))
    crm.put("001S", "Survivor Ltd")
    crm.merge("001S", "001L")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001S", "n2"))
    # the survivor took the loser's copies over (no second customer) and they carry its name
    assert _copies(ledger, "001S") == {SystemName.PRODUCTIVE: ("1", True), SystemName.QUICKBOOKS: ("1", True)}
    assert len(erp.records) == 1 and erp.records["1"].name == "Survivor Ltd"


def test_a_target_merge_into_another_accounts_copy_is_an_exception_not_a_takeover() -> None:
    crm, _, _erp, ledger, sync = _world()
    crm.put("001A", "Alpha")
    crm.put("001B", "Beta")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    sync.on_notice(_notice(SystemName.SALESFORCE, "001B", "n2"))
    a, b = (
        _copies(ledger, "001A")[SystemName.QUICKBOOKS][0],
        _copies(ledger, "001B")[SystemName.QUICKBOOKS][0],
    )
    report = sync.on_notice(
        _notice(SystemName.QUICKBOOKS, b, "q1", operation=Operation.MERGED, merged_away_id=a)
    )
    assert report.results[0].action is SyncAction.EXCEPTION
    assert _copies(ledger, "001A")[SystemName.QUICKBOOKS] == (a, True)
    assert "two accounts now share one customer" in next(iter(ledger.exceptions.values())).reason


def test_an_unknown_policy_is_refused_naming_the_field() -> None:
    with pytest.raises(LandscapeInvalid) as caught:
        parse_landscape(DEMO.replace('on_delete = "deactivate"', 'on_delete = "shred"'), file="demo.toml")
    assert "lifecycle.customer.on_delete" in str(caught.value)
