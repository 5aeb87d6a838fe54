"""Change Data Capture events as Event Relay delivers them: read into notices, sweeps and drops."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.connectors.salesforce.cdc import ChangeEventReader, client_of
from shared.domain.errors import AuthenticityError, MalformedNotice
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import Operation

ORG = "00D5g000004DEMOEA4"
ACCOUNT = "001RM000004UF9sYAG"
OTHER = "001RM000004UF9tYAG"


def relayed(change_type: str = "UPDATE", **header: Any) -> dict[str, Any]:
    """An AccountChangeEvent as the partner bus holds it (header as in Salesforce's own example)."""
    fields = {
        "commitNumber": 74487681550,
        "commitUser": "005RM000001hv4SYAQ",
        "sequenceNumber": 1,
        "entityName": "Account",
        "changeType": change_type,
        "changedFields": ["Fax", "LastModifiedDate"],
        "changeOrigin": "com/salesforce/api/soap/51.0;client=SfdcInternalAPI/",
        "transactionKey": "0005e192-9e62-2554-3880-3c3718bd6308",
        "commitTimestamp": 1608073758000,
        "recordIds": [ACCOUNT],
    }
    fields.update(header)
    return {
        "version": "0",
        "id": "5c42b99e-e005-43b3-c744-07990c50d2cc",
        "detail-type": "AccountChangeEvent",
        "source": f"aws.partner/salesforce.com/{ORG}/0YL5g0000004CDCAAA",
        "account": "123456789012",
        "time": "2020-12-15T23:09:18Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "payload": {"Fax": "4155551212", "ChangeEventHeader": fields},
            "schemaId": "I8b-dYxvxs5wOtCBr4qsew",
            "id": "9b1e0c4e-2f7c-4d6e-9a53-0f5a3a6f1b21",
            "replayId": "12",
        },
    }


@pytest.fixture
def reader() -> ChangeEventReader:
    return ChangeEventReader(organization_id=ORG, own_client="close2cash")


def test_an_update_is_one_notice_about_the_record_claimed_by_its_transaction(reader):
    # when an account update arrives
    [notice] = reader.read_change_event(relayed()).notices
    # then it names the record, the org, the operation and the commit time
    assert (notice.provider, notice.entity, notice.vendor_type) == (
        SystemName.SALESFORCE,
        EntityType.ACCOUNT,
        "Account",
    )
    assert (notice.record_id, notice.realm, notice.operation) == (ACCOUNT, ORG, Operation.UPDATED)
    assert notice.occurred_at == datetime(2020, 12, 15, 23, 9, 18, tzinfo=UTC)
    # and its id is the change's place in its transaction, the same whichever replay id relays it
    again = copy.deepcopy(relayed())
    again["detail"]["replayId"] = "99"
    assert reader.read_change_event(again).notices[0].event_id == notice.event_id


@pytest.mark.parametrize(
    ("change_type", "operation"),
    [
        ("CREATE", Operation.CREATED),
        ("DELETE", Operation.DELETED),
        ("UNDELETE", Operation.UNDELETED),
        ("GAP_UPDATE", Operation.UPDATED),
        ("GAP_DELETE", Operation.DELETED),
    ],
)
def test_every_change_type_names_its_operation(reader, change_type, operation):
    [notice] = reader.read_change_event(relayed(change_type, changeOrigin="")).notices
    assert notice.operation is operation


def test_a_merged_event_is_one_notice_per_record(reader):
    # given one change made to two accounts in one transaction (Salesforce merges the events)
    notices = reader.read_change_event(relayed(recordIds=[ACCOUNT, OTHER])).notices
    # then each record is its own notice, each with its own id
    assert [n.record_id for n in notices] == [ACCOUNT, OTHER]
    assert len({n.event_id for n in notices}) == 2


def test_an_overflow_event_asks_for_a_sweep_of_the_type_since_its_commit(reader):
    received = reader.read_change_event(relayed("GAP_OVERFLOW", recordIds=[], changeOrigin=""))
    assert received.notices == ()
    [sweep] = received.sweeps
    assert (sweep.vendor_type, sweep.entity, sweep.realm) == ("Account", EntityType.ACCOUNT, ORG)
    assert sweep.since == datetime(2020, 12, 15, 23, 9, 18, tzinfo=UTC)


def test_a_wildcard_record_id_is_swept_too(reader):
    received = reader.read_change_event(relayed(recordIds=["001RM*"]))
    assert received.notices == () and len(received.sweeps) == 1


def test_the_hubs_own_write_is_dropped_as_an_echo(reader):
    received = reader.read_change_event(
        relayed(changeOrigin="com/salesforce/api/rest/62.0;client=close2cash")
    )
    assert received.notices == () and received.dropped == {"own_write": 1}


def test_a_type_the_hub_does_not_sync_is_dropped_not_refused(reader):
    event = relayed()
    event["detail-type"] = "ContactChangeEvent"
    event["detail"]["payload"]["ChangeEventHeader"]["entityName"] = "Contact"
    assert reader.read_change_event(event).dropped == {"not_synced_type": 1}


def test_another_orgs_event_is_refused(reader):
    event = relayed()
    event["source"] = "aws.partner/salesforce.com/00D8d000005XaMpEAK/0YL5g0000004CDCAAA"
    with pytest.raises(AuthenticityError, match="not the configured org"):
        reader.read_change_event(event)


def test_an_event_that_is_not_event_relays_is_refused(reader):
    event = relayed()
    event["source"] = "close2cash.webhooks.salesforce"
    with pytest.raises(AuthenticityError, match="not a Salesforce Event Relay source"):
        reader.read_change_event(event)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e["detail"].pop("payload"), "detail.payload"),
        (lambda e: e["detail"]["payload"]["ChangeEventHeader"].update(changeType="MERGE"), "changeType"),
        (lambda e: e["detail"]["payload"]["ChangeEventHeader"].update(recordIds=["001-bad"]), "invalid"),
        (lambda e: e["detail"]["payload"]["ChangeEventHeader"].update(recordIds=[]), "no recordIds"),
        (lambda e: e["detail"]["payload"]["ChangeEventHeader"].update(entityName="Lead"), "names entity"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_problem(reader, mutate, message):
    event = relayed()
    mutate(event)
    with pytest.raises(MalformedNotice, match=message):
        reader.read_change_event(event)


def test_without_a_transaction_key_the_replay_id_identifies_the_change(reader):
    event = relayed("GAP_UPDATE", transactionKey=None, changeOrigin="")
    [notice] = reader.read_change_event(event).notices
    assert notice.event_id.startswith("cdc-replay:12")


@pytest.mark.parametrize(
    ("origin", "client"),
    [
        ("com/salesforce/api/soap/49.0;client=Astro", "Astro"),
        ("com/salesforce/api/soap/51.0;client=SfdcInternalAPI/", "SfdcInternalAPI"),
        ("com/salesforce/api/rest/62.0", None),
        ("", None),
    ],
)
def test_the_client_is_read_from_change_origin(origin, client):
    assert client_of(origin) == client
