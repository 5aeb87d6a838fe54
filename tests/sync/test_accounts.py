"""Customer master sync against fakes: exactly once, echoes go nowhere, drift is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.domain.errors import TransientError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import EntityType, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import SyncAction
from shared.governance.loader import parse_landscape
from shared.governance.mappings import Mappings
from shared.governance.matching import Matcher
from shared.governance.ownership import Ownership
from shared.sync.accounts import AccountSync
from tests.fakes import FakeCrm, FakeMetrics, FakeTarget, InMemoryLedger


def _notice(
    provider: SystemName, record_id: str, event_id: str, op: Operation = Operation.UPDATED
) -> ChangeNotice:
    return ChangeNotice(
        provider=provider,
        event_id=event_id,
        entity=EntityType.ACCOUNT,
        vendor_type="client",
        record_id=record_id,
        operation=op,
    )


DEMO_LANDSCAPE = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"


def _world(landscape_text: str | None = None, clock=utcnow, events=None):
    text = landscape_text if landscape_text is not None else DEMO_LANDSCAPE.read_text()
    landscape = parse_landscape(text, file="demo.toml")
    crm, psa, erp = FakeCrm(), FakeTarget(SystemName.PRODUCTIVE), FakeTarget(SystemName.QUICKBOOKS)
    ledger, metrics = InMemoryLedger(), FakeMetrics()
    sync = AccountSync(
        source=lambda: crm,
        targets=lambda: [psa, erp],
        ledger=ledger,
        metrics=metrics,
        ownership=Ownership(landscape),
        mappings=Mappings(landscape),
        matcher=Matcher(landscape.matching),
        clock=clock,
        events=events,
    )
    return crm, psa, erp, ledger, metrics, sync


@pytest.fixture
def world():
    return _world()


def test_new_account_is_created_once_in_each_target_and_cross_referenced(world):
    crm, psa, erp, ledger, _, sync = world
    # given an account created in the CRM
    crm.put("001A", "Acme Consulting", phone="+1 555 0100")
    # when its notice is processed
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # then each target holds one record and the ledger links both to the CRM id
    assert [r.action for r in report.results] == [SyncAction.CREATED, SyncAction.CREATED]
    assert len(psa.records) == 1 and len(erp.records) == 1
    xrefs = ledger.cross_references(EntityType.ACCOUNT, crm.accounts["001A"].source)
    assert {x.target.system for x in xrefs} == {SystemName.PRODUCTIVE, SystemName.QUICKBOOKS}


def test_redelivered_notice_writes_nothing_and_counts_duplicates_prevented(world):
    crm, psa, erp, _, metrics, sync = world
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    writes = psa.writes + erp.writes
    # when the same notice arrives again (SQS redelivery after a crash)
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # then nothing is written and both targets report a duplicate prevented
    assert report.count(SyncAction.UNCHANGED) == 2
    assert psa.writes + erp.writes == writes
    assert metrics.totals["DuplicatesPrevented"] == 2


def test_changed_account_updates_the_linked_records_in_place(world):
    crm, psa, erp, _, _, sync = world
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    crm.put("001A", "Acme Consulting Group")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2"))
    assert [r.action for r in report.results] == [SyncAction.UPDATED, SyncAction.UPDATED]
    assert [a.name for a in psa.records.values()] == ["Acme Consulting Group"]
    assert [a.name for a in erp.records.values()] == ["Acme Consulting Group"]


def test_change_to_a_field_a_target_cannot_hold_does_not_write_to_it(world):
    crm, psa, _, _, _, sync = world
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    writes = psa.writes
    crm.put("001A", "Acme Consulting", website="https://acme.example")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2"))
    assert report.results[0].action is SyncAction.UNCHANGED
    assert psa.writes == writes


def test_crash_between_vendor_write_and_ledger_write_links_instead_of_duplicating(world):
    crm, psa, erp, ledger, _, sync = world
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # given the ledger lost its records (the worker died before writing them)
    ledger.xrefs.clear()
    # when the notice is retried
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # then the earlier records are found and linked, not created again
    assert [r.action for r in report.results] == [SyncAction.LINKED, SyncAction.LINKED]
    assert len(psa.records) == 1 and len(erp.records) == 1
    # and the match search that a first sync makes anyway found them by their stamp: no look-up of its own
    assert psa.lookups == 0 and erp.lookups == 0


def test_target_notice_caused_by_our_own_write_is_an_echo(world):
    crm, _, _, _, metrics, sync = world
    crm.put("001A", "Acme Consulting")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    psa_id = report.results[0].target_id
    assert psa_id is not None
    echo = sync.on_notice(_notice(SystemName.PRODUCTIVE, psa_id, "p1"))
    assert echo.results[0].action is SyncAction.ECHO
    assert metrics.totals["EchoesSuppressed"] == 1


def test_hand_edit_in_a_target_is_drift_recorded_as_exception_and_not_propagated(world):
    crm, _, erp, ledger, _, sync = world
    crm.put("001A", "Acme Consulting")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    erp_id = report.results[1].target_id
    assert erp_id is not None
    erp.edit_by_hand(erp_id, name="ACME (do not use)")
    result = sync.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, "q1")).results[0]
    assert result.action is SyncAction.DRIFT
    assert crm.accounts["001A"].name == "Acme Consulting"
    [exception] = ledger.exceptions.values()
    assert exception.kind == "drift" and "salesforce account 001A is the record" in exception.reason


def test_notice_about_a_record_the_hub_never_wrote_is_ignored(world):
    _, _, _, ledger, _, sync = world
    result = sync.on_notice(_notice(SystemName.QUICKBOOKS, "999", "q9")).results[0]
    assert result.action is SyncAction.IGNORED
    assert not ledger.exceptions


def test_account_being_synced_elsewhere_is_retried_later_not_written_twice(world):
    crm, psa, _, ledger, _, sync = world
    crm.put("001A", "Acme Consulting")
    ledger.acquire_lease("account:salesforce:001A", "other-worker", 120)
    with pytest.raises(TransientError):
        sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    assert not psa.records


def test_a_change_to_a_field_the_target_owns_is_accepted_not_drift():
    # given a landscape in which accounting owns the customer's phone number
    text = DEMO_LANDSCAPE.read_text().replace(
        'quickbooks = ["payment_terms"]', 'quickbooks = ["payment_terms", "phone"]'
    )
    crm, psa, erp, ledger, metrics, sync = _world(text)
    crm.put("001A", "Acme Consulting", phone="+1 555 0100")
    results = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1")).results
    psa_id, erp_id = results[0].target_id, results[1].target_id
    assert psa_id is not None and erp_id is not None
    # (until accounting holds the customer, the CRM's phone is its first value there)
    assert erp.records[erp_id].phone == "+1 555 0100"
    # when finance changes the phone number in the accounting system
    erp.edit_by_hand(erp_id, phone="+1 555 0199")
    result = sync.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, "q1")).results[0]
    # then it is the owner's word: accepted and remembered, no exception, and its echo is quiet later
    assert result.action is SyncAction.ACCEPTED and "phone" in result.detail
    assert not ledger.exceptions
    assert sync.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, "q2")).results[0].action is SyncAction.ECHO
    assert metrics.totals["OwnerChangesAccepted"] == 1
    # and the owner's phone is what the CRM shows and the PSA holds
    assert crm.shown["001A"] == {"phone": "+1 555 0199"}
    assert psa.records[psa_id].phone == "+1 555 0199"


def test_payment_terms_set_in_accounting_reach_the_crm_and_the_psa_in_their_own_words(world):
    crm, psa, erp, ledger, metrics, sync = world
    crm.put("001A", "Acme Consulting", phone="+1 555 0100")
    results = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1")).results
    psa_id, erp_id = results[0].target_id, results[1].target_id
    assert psa_id is not None and erp_id is not None
    # when the bookkeeper gives the customer QuickBooks term 3 (accounting owns payment terms)
    erp.edit_by_hand(erp_id, payment_terms="3")
    result = sync.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, "q1")).results[0]
    # then the change is accepted, the CRM shows "Net 30" and the PSA holds 30 days (demo.toml rows)
    assert result.action is SyncAction.ACCEPTED and not ledger.exceptions
    assert crm.shown["001A"] == {"payment_terms": "Net 30"}
    assert psa.records[psa_id].payment_terms == "30"
    # and nothing bounces: the CRM's echo and a later CRM edit keep QuickBooks' term as it is
    writes = erp.writes
    assert sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2")).count(SyncAction.UNCHANGED) == 2
    assert erp.writes == writes
    crm.put("001A", "Acme Consulting", phone="+1 555 0199")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n3"))
    assert erp.records[erp_id].payment_terms == "3" and psa.records[psa_id].payment_terms == "30"
    assert sync.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, "q2")).results[0].action is SyncAction.ECHO
    assert metrics.totals["OwnerChangesAccepted"] == 1


def test_payment_terms_without_a_mapping_row_open_an_exception_naming_the_table(world):
    crm, _, erp, ledger, _, sync = world
    crm.put("001A", "Acme Consulting")
    results = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1")).results
    erp_id = results[1].target_id
    assert erp_id is not None
    erp.edit_by_hand(erp_id, payment_terms="9")  # a term the landscape has no row for
    result = sync.on_notice(_notice(SystemName.QUICKBOOKS, erp_id, "q1")).results[0]
    # the owner's word stands; passing it on stops with a reason a person can act on
    assert result.action is SyncAction.ACCEPTED
    [exception] = ledger.exceptions.values()
    assert "payment_terms" in exception.reason and "'9'" in exception.reason
    assert "001A" not in crm.shown


def test_an_unmapped_currency_opens_an_exception_per_target_and_writes_nothing(world):
    crm, psa, erp, ledger, _, sync = world
    # given an account in a currency the landscape maps to neither target
    crm.put("001E", "Euro Client SE", currency="EUR")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001E", "n1"))
    assert [r.action for r in report.results] == [SyncAction.EXCEPTION, SyncAction.EXCEPTION]
    assert not psa.records and not erp.records
    reasons = [e.reason for e in ledger.exceptions.values()]
    assert len(reasons) == 2 and all("currencies" in r and "EUR" in r for r in reasons)


def test_a_mapped_currency_is_written_as_the_target_names_it(world):
    crm, psa, _, _, _, sync = world
    crm.put("001G", "Sterling Partners", currency="GBP")
    assert sync.on_notice(_notice(SystemName.SALESFORCE, "001G", "n1")).count(SyncAction.CREATED) == 2
    assert [a.currency for a in psa.records.values()] == ["GBP"]


# --- customers that already exist in a target -------------------------------------------------


def test_a_customer_already_in_accounting_is_linked_and_updated_not_duplicated(world):
    crm, _, erp, ledger, metrics, sync = world
    # given the bookkeeper already has the customer in accounting, spelled their own way
    existing = erp.add_by_hand("Acme Consulting LLC")
    # when sales creates it in the CRM and the hub syncs it for the first time
    crm.put("001A", "ACME Consulting")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # then accounting still holds one customer, now linked to the CRM account and carrying its name
    assert [r.action for r in report.results] == [SyncAction.CREATED, SyncAction.LINKED]
    assert list(erp.records) == [existing]
    assert erp.records[existing].name == "ACME Consulting"
    xref = ledger.cross_reference(EntityType.ACCOUNT, crm.accounts["001A"].source, SystemName.QUICKBOOKS)
    assert xref is not None and xref.target.id == existing
    assert metrics.totals["CustomersLinked[target=quickbooks]"] == 1
    assert not ledger.exceptions
    # and its next change updates that customer in place
    crm.put("001A", "ACME Consulting", phone="+1 555 0100")
    assert (
        sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n2")).results[1].action is SyncAction.UPDATED
    )
    assert list(erp.records) == [existing]


def test_two_possible_customers_open_an_exception_and_write_nothing_to_that_target(world):
    crm, psa, erp, ledger, _, sync = world
    # given accounting holds two customers that both normalise to the CRM account's name
    first = erp.add_by_hand("Acme Consulting LLC")
    second = erp.add_by_hand("ACME CONSULTING, Inc.")
    # when the account is synced for the first time
    crm.put("001A", "Acme Consulting")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # then the hub does not guess: an exception names both candidates and the key that matched
    assert [r.action for r in report.results] == [SyncAction.CREATED, SyncAction.EXCEPTION]
    assert erp.writes == 0 and len(erp.records) == 2
    [exception] = ledger.exceptions.values()
    assert exception.kind == "ambiguous_match"
    assert f"client {first}" in exception.reason and f"client {second}" in exception.reason
    assert "by name" in exception.reason
    assert (
        ledger.cross_reference(EntityType.ACCOUNT, crm.accounts["001A"].source, SystemName.QUICKBOOKS) is None
    )
    # and the other target still got its client
    assert len(psa.records) == 1
    # and a redelivery reports the same problem once, still writing nothing
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    assert len(ledger.exceptions) == 1 and erp.writes == 0


def test_no_possible_customer_means_the_customer_is_created(world):
    crm, _, erp, _, metrics, sync = world
    erp.add_by_hand("Globex Ltd")
    crm.put("001A", "Acme Consulting")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    assert report.results[1].action is SyncAction.CREATED
    assert sorted(a.name for a in erp.records.values()) == ["Acme Consulting", "Globex Ltd"]
    assert metrics.totals["CustomersLinked[target=quickbooks]"] == 0


def test_a_namesake_of_a_different_first_word_is_not_a_candidate(world):
    crm, _, erp, _, _, sync = world
    erp.add_by_hand("Consulting Acme")
    crm.put("001A", "Acme Consulting")
    assert (
        sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1")).results[1].action is SyncAction.CREATED
    )


def test_a_record_linked_to_another_crm_account_is_never_taken_over(world):
    crm, psa, erp, ledger, _, sync = world
    # given the hub already created the customer for one CRM account
    crm.put("001A", "Acme Consulting")
    sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # when sales creates a second account for what looks like the same company
    crm.put("001B", "ACME Consulting LLC")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001B", "n2"))
    # then neither target's record is re-pointed at the second account: a person decides
    assert [r.action for r in report.results] == [SyncAction.EXCEPTION, SyncAction.EXCEPTION]
    assert [a.name for a in psa.records.values()] == ["Acme Consulting"]
    assert [a.name for a in erp.records.values()] == ["Acme Consulting"]
    reasons = [e.reason for e in ledger.exceptions.values()]
    assert len(reasons) == 2 and all("already linked to salesforce 001A" in r for r in reasons)


def test_the_landscape_matching_rules_decide_which_keys_link():
    # given a landscape that links customers by web domain only, never by name alone
    text = DEMO_LANDSCAPE.read_text().replace(
        'keys = ["tax_id", "domain", "name"]', 'keys = ["tax_id", "domain"]'
    )
    crm, _, erp, _, _, sync = _world(text)
    erp.add_by_hand("Acme Consulting LLC")
    crm.put("001A", "Acme Consulting")
    # when an account with the same name but no matching domain is synced
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    # then it is created, not linked
    assert report.results[1].action is SyncAction.CREATED
    assert len(erp.records) == 2


def test_a_matching_web_domain_links_even_when_the_names_differ(world):
    crm, _, erp, _, _, sync = world
    existing = erp.add_by_hand("Acme (NY office)", website="http://www.acme.example/")
    crm.put("001A", "Acme Consulting", website="https://acme.example")
    report = sync.on_notice(_notice(SystemName.SALESFORCE, "001A", "n1"))
    assert report.results[1].action is SyncAction.LINKED and report.results[1].target_id == existing


def test_sync_latency_is_reported_in_seconds_like_every_other_duration():
    # given an account changed in the CRM 90 seconds before the hub syncs it
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    crm, _, _, _, metrics, sync = _world(clock=lambda: now)
    crm.put("001A", "Acme Consulting")
    notice = _notice(SystemName.SALESFORCE, "001A", "n1").model_copy(
        update={"occurred_at": now - timedelta(seconds=90)}
    )
    # when its notice is processed
    sync.on_notice(notice)
    # then the dashboard's SyncLatency (unit Seconds) says 90, not 90000
    assert BusinessMetric.SYNC_LATENCY.unit == "Seconds"
    assert metrics.latest["SyncLatency"] == 90
