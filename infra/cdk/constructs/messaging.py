"""Messaging: the EventBridge bus with its archive, its rules, one SQS queue (+DLQ) per consumer, topics."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.wiring_model import QueueTrigger, Wiring

# AWS: set the source queue's visibility timeout to at least six times the function timeout (plus the
# batching window), so a message is not redelivered while a throttled or retried batch is still running.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
VISIBILITY_FACTOR = 6
# SQS's default: a message that keeps failing reaches its DLQ (maxReceiveCount) long before this.
QUEUE_RETENTION = cdk.Duration.days(4)


def visibility_timeout_seconds(wiring: Wiring, queue: str) -> int:
    """Visibility timeout of `queue`: 6x its consumer's timeout plus its batching window (30 s default)."""
    consumer = wiring.consumer_of(queue)
    if consumer is None:
        return 30  # no trigger: a function that drains the queue itself deletes what it receives at once
    assert isinstance(consumer.trigger, QueueTrigger)
    return VISIBILITY_FACTOR * consumer.timeout_seconds + consumer.trigger.max_batching_window_seconds


class Messaging(Construct):
    """The bus (archived for replay), rules that each target one queue, and the queues with their DLQs."""

    def __init__(self, scope: Construct, construct_id: str, *, wiring: Wiring) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", description=f"close2cash bus {wiring.bus.name}")
        # Notices are change notices: the archive lets an operator replay them after fixing a consumer.
        self.archive = self.bus.archive(
            "Archive",
            # At most 48 characters (CreateArchive's ArchiveName).
            # https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CreateArchive.html
            archive_name=f"{cdk.Stack.of(self).stack_name}-{wiring.bus.archive}"[:48],
            description="Every notice published on the bus, for replay",
            event_pattern=events.EventPattern(account=[cdk.Stack.of(self).account]),
            retention=cdk.Duration.days(wiring.bus.archive_retention_days),
        )

        # Topics carry customer names and budgets: encrypted with a key of ours (rotated), TLS only.
        self.topics: dict[str, sns.Topic] = {}
        if wiring.topics:
            topic_key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="close2cash topics")
            for topic in wiring.topics:
                self.topics[topic.name] = sns.Topic(
                    self,
                    f"Topic-{topic.name}",
                    display_name=topic.description[:100],
                    master_key=topic_key,
                    enforce_ssl=True,
                )

        self.queues: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}
        for spec in wiring.queues:
            dlq = sqs.Queue(
                self,
                f"Dlq-{spec.name}",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=cdk.Duration.days(spec.dlq_retention_days),
            )
            queue = sqs.Queue(
                self,
                f"Queue-{spec.name}",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=QUEUE_RETENTION,
                visibility_timeout=cdk.Duration.seconds(visibility_timeout_seconds(wiring, spec.name)),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
            )
            self.queues[spec.name] = queue
            self.dlqs[spec.name] = dlq

        self.rules: dict[str, events.Rule] = {}
        self.partner_buses: dict[str, events.IEventBus] = {}
        for rule_spec in wiring.rules:
            bus = self._bus_of(wiring, rule_spec.bus)
            if bus is None:
                continue  # a partner bus this deployment has not named: no vendor delivers to it
            rule = events.Rule(
                self,
                f"Rule-{rule_spec.name}",
                event_bus=bus,
                description=f"{rule_spec.name} -> {rule_spec.queue}",
                # Only satisfies the L2's "pattern or schedule" check; replaced just below.
                event_pattern=events.EventPattern(account=[cdk.Stack.of(self).account]),
            )
            # The wiring's pattern is EventBridge's own JSON (prefix matchers included), so it is rendered
            # verbatim instead of being translated field by field into EventPattern's typed props.
            cfn_rule = rule.node.default_child
            assert isinstance(cfn_rule, events.CfnRule)
            cfn_rule.event_pattern = rule_spec.pattern
            # Events EventBridge cannot deliver (queue policy, KMS) land in the queue's own DLQ, so a
            # single place holds everything that did not get processed. SqsQueue also writes the queue
            # policy that lets events.amazonaws.com send from this rule only (aws:SourceArn).
            rule.add_target(
                targets.SqsQueue(
                    self.queues[rule_spec.queue],
                    dead_letter_queue=self.dlqs[rule_spec.queue],
                    # EventBridge's maximums: a queue that is unreachable for up to a day loses nothing.
                    retry_attempts=185,
                    max_event_age=cdk.Duration.hours(24),
                )
            )
            self.rules[rule_spec.name] = rule

    def _bus_of(self, wiring: Wiring, name: str) -> events.IEventBus | None:
        """The hub's bus, or a partner bus by the name its context key gives (None when not given)."""
        if name == wiring.bus.name:
            return self.bus
        partner = wiring.partner_bus(name)
        if partner is None:
            raise ValueError(f"rule on unknown bus {name}")
        # The partner event bus exists already (the vendor's source, associated by the firm): it is
        # referenced by name, e.g. `cdk deploy -c salesforceEventBusName=aws.partner/salesforce.com/...`.
        bus_name = self.node.try_get_context(partner.context_key)
        if not bus_name:
            return None
        if partner.name not in self.partner_buses:
            self.partner_buses[partner.name] = events.EventBus.from_event_bus_name(
                self, f"PartnerBus-{partner.name}", str(bus_name)
            )
        return self.partner_buses[partner.name]
