"""Domain events: the envelope names its record, round-trips through JSON, and unknown events fail clearly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.domain.events import (
    EVENT_TYPES,
    AccountChanged,
    InvoiceRejected,
    InvoiceRejection,
    OpportunityClosedWon,
    UnknownEvent,
    parse_event,
)
from shared.domain.models import Account, SourceRef, SystemName

WHEN = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
ACCOUNT = Account(
    source=SourceRef(system=SystemName.HUBSPOT, type="company", id="9001", version="4"), name="Acme"
)


def test_an_event_about_a_record_takes_its_source_and_id():
    event = AccountChanged.about(ACCOUNT, correlation_id="corr-1", occurred_at=WHEN)
    assert event.type == "close2cash.account.changed"
    assert event.schema_version == 1
    assert event.source == ACCOUNT.source
    assert event.subject == "9001"
    assert event.occurred_at == WHEN


def test_an_event_round_trips_through_json_as_its_own_class():
    event = AccountChanged.about(ACCOUNT, correlation_id="corr-1")
    parsed = parse_event(event.model_dump_json())
    assert type(parsed) is AccountChanged
    assert parsed == event
    assert parse_event(event.model_dump(mode="json")) == event


def test_an_envelope_cannot_point_at_another_record_than_its_data():
    other = SourceRef(system=SystemName.SALESFORCE, type="account", id="001")
    with pytest.raises(ValidationError, match="is not the record in data"):
        AccountChanged(source=other, subject="001", correlation_id="c", data=ACCOUNT)


def test_naive_timestamps_are_refused():
    with pytest.raises(ValidationError, match="timezone-aware"):
        AccountChanged.about(ACCOUNT, correlation_id="c", occurred_at=datetime(2025, 1, 1))


def test_each_event_type_maps_to_its_current_class():
    assert EVENT_TYPES["close2cash.account.changed"] is AccountChanged


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            '{"type": "close2cash.account.deleted", "schema_version": 1}',
            "unknown event type 'close2cash.account.deleted'",
        ),
        (
            '{"type": "close2cash.account.changed", "schema_version": 9}',
            "has no schema version 9; this code reads versions 1",
        ),
        ('{"type": "close2cash.account.changed", "schema_version": "1"}', "needs an integer schema_version"),
        ('{"type": "close2cash.account.changed", "schema_version": 1}', "does not match its schema"),
        ("[1, 2]", "must be a JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_unknown_or_malformed_events_fail_with_a_message_that_says_why(payload, message):
    with pytest.raises(UnknownEvent, match=message.replace("(", r"\(")):
        parse_event(payload)


def test_only_a_won_opportunity_makes_a_closed_won_event():
    from tests.domain.test_event_schemas import EXAMPLES

    won = EXAMPLES[OpportunityClosedWon].data
    with pytest.raises(ValidationError, match="not won"):
        OpportunityClosedWon.about(won.model_copy(update={"status": "open"}), correlation_id="c")


def test_a_rejection_is_about_the_rejected_invoice():
    invoice = SourceRef(system=SystemName.XERO, type="invoice", id="INV-7")
    event = InvoiceRejected.about(
        InvoiceRejection(invoice=invoice, reason="closed period"), correlation_id="c"
    )
    assert event.source == invoice
    assert event.subject == "INV-7"


def test_a_fact_read_twice_is_one_event_and_a_changed_record_a_new_one():
    # given an account read once by a webhook's worker and once more by a sweep, unchanged
    first = AccountChanged.fact(ACCOUNT, correlation_id="webhook-1", occurred_at=WHEN)
    again = AccountChanged.fact(ACCOUNT, correlation_id="sweep-7", occurred_at=WHEN)
    # then both reads state the same event (landing counts it once)
    assert first.id == again.id
    # when the record changes (a new version, or the same version with other figures)
    renamed = AccountChanged.fact(ACCOUNT.model_copy(update={"name": "Acme AG"}), correlation_id="c")
    newer = ACCOUNT.model_copy(update={"source": ACCOUNT.source.model_copy(update={"version": "5"})})
    # then each is a new event, and another fact about the same record has an id of its own
    ids = {first.id, renamed.id, AccountChanged.fact(newer, correlation_id="c").id}
    assert len(ids) == 3
    assert first.id != AccountChanged.about(ACCOUNT, correlation_id="webhook-1").id
