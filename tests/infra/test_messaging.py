"""Bus, rules and queues: every rule lands in its queue, every queue drains into a DLQ as declared."""

from __future__ import annotations

import json

import pytest

from infra.cdk.constructs.messaging import VISIBILITY_FACTOR
from infra.wiring import REPLAYED_NOTICES, REPLAYS, WIRING
from tests.infra.conftest import PARTNER_BUS

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("spec", WIRING.rules, ids=lambda r: r.name)
def test_each_rule_targets_its_declared_queue_with_the_declared_pattern(synth, spec):
    rule = synth.resources[synth.logical_id(synth.stack.messaging.rules[spec.name])]["Properties"]
    queue_id = synth.logical_id(synth.stack.messaging.queues[spec.queue])
    dlq_id = synth.logical_id(synth.stack.messaging.dlqs[spec.queue])
    assert rule["EventPattern"] == spec.pattern
    if spec.bus == WIRING.bus.name:
        assert rule["EventBusName"] == {"Ref": synth.logical_id(synth.stack.messaging.bus)}
    else:
        # a partner bus is the vendor's, referenced by the name the deployment's context gives
        assert rule["EventBusName"] == PARTNER_BUS
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # undeliverable events are kept, not dropped
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": [dlq_id, "Arn"]}


@pytest.mark.parametrize("spec", WIRING.rules, ids=lambda r: r.name)
def test_only_eventbridge_from_that_rule_may_send_to_the_queue(synth, spec):
    queue_id = synth.logical_id(synth.stack.messaging.queues[spec.queue])
    rule_id = synth.logical_id(synth.stack.messaging.rules[spec.name])
    # Several rules may feed one queue (work-changes: PSA notices and engagement activations).
    feeding = [
        {"Fn::GetAtt": [synth.logical_id(synth.stack.messaging.rules[r.name]), "Arn"]}
        for r in WIRING.rules
        if r.queue == spec.queue
    ]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    statements = [s for group in policies for s in group]
    allow = [
        s
        for s in statements
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "events.amazonaws.com"}
    ]
    assert allow, "no statement lets EventBridge send"
    assert any(
        s["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]} for s in allow
    )
    assert all(s["Condition"]["ArnEquals"]["aws:SourceArn"] in feeding for s in allow)
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    ), "queue does not enforce TLS"


@pytest.mark.parametrize("spec", WIRING.queues, ids=lambda q: q.name)
def test_each_queue_has_its_dlq_and_a_visibility_timeout_fit_for_its_consumer(synth, spec):
    queue = synth.resources[synth.logical_id(synth.stack.messaging.queues[spec.name])]["Properties"]
    dlq_id = synth.logical_id(synth.stack.messaging.dlqs[spec.name])
    dlq = synth.resources[dlq_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert dlq["MessageRetentionPeriod"] == spec.dlq_retention_days * 86400
    consumer = WIRING.consumer_of(spec.name)
    if consumer is not None:
        assert (
            queue["VisibilityTimeout"]
            >= VISIBILITY_FACTOR * consumer.timeout_seconds
            >= 6 * consumer.timeout_seconds
        )
    for props in (queue, dlq):
        assert props["SqsManagedSseEnabled"] is True


def test_bus_keeps_an_archive_for_replay(synth):
    bus_id = synth.logical_id(synth.stack.messaging.bus)
    synth.template.has_resource_properties(
        "AWS::Events::Archive",
        {"SourceArn": {"Fn::GetAtt": [bus_id, "Arn"]}, "RetentionDays": WIRING.bus.archive_retention_days},
    )
    assert json.dumps(synth.resources[bus_id]["Properties"])  # the bus itself is rendered


def test_salesforce_change_events_reach_their_queue_from_the_partner_bus_only(synth):
    # given the deployment named Event Relay's partner bus (cdk -c salesforceEventBusName=...)
    # when the stack is synthesized
    # then one rule on that bus takes Account and Opportunity change events to the change-events queue
    synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventBusName": PARTNER_BUS,
            "EventPattern": {
                "source": [{"prefix": "aws.partner/salesforce.com/"}],
                "detail-type": ["AccountChangeEvent", "OpportunityChangeEvent"],
            },
            "State": "ENABLED",
        },
    )
    # and the partner bus is referenced, never created: the vendor's source owns it
    buses = [b["Properties"].get("Name") for b in synth.of_type("AWS::Events::EventBus").values()]
    assert PARTNER_BUS not in buses
    # and the change_events worker consumes that queue
    queue_id = synth.logical_id(synth.stack.messaging.queues["salesforce-changes"])
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert any(m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]} for m in mappings)


def test_without_a_partner_bus_name_no_rule_is_rendered_for_it():
    # given a deployment that has not set up Event Relay (no salesforceEventBusName in the context)
    from aws_cdk import App, Stack

    from infra.cdk.constructs.messaging import Messaging

    stack = Stack(App(), "bare")
    messaging = Messaging(stack, "Messaging", wiring=WIRING)
    # then the hub's own rules exist and the partner bus's does not (nothing to point it at)
    assert "account-notices" in messaging.rules
    assert "salesforce-change-events" not in messaging.rules


def test_the_archive_has_a_name_and_replays_reach_the_replays_rule_only(synth):
    # given the archive a replay names by its ARN
    archive = synth.resources[synth.logical_id(synth.stack.messaging.archive)]["Properties"]
    assert archive["ArchiveName"] == f"{synth.stack.stack_name}-{WIRING.bus.archive}"
    # then the replays rule takes only replayed notices, to the replayed-notices queue
    rule = synth.resources[synth.logical_id(synth.stack.messaging.rules[REPLAYS.name])]["Properties"]
    assert rule["EventPattern"] == {
        "replay-name": [{"exists": True}],
        "source": [{"prefix": "close2cash.webhooks."}],
    }
    queue_id = synth.logical_id(synth.stack.messaging.queues[REPLAYED_NOTICES.name])
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    # and no other rule on the hub's bus could take a replayed event (they all match live notices
    # only by their source and detail, and replays name the replays rule alone in FilterArns)
    assert REPLAYED_NOTICES.name not in {r.queue for r in WIRING.rules if r.name != REPLAYS.name}
