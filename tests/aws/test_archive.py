"""The bus's archive read one window at a time: a replay to the replays rule only, drained off its queue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from infra.local import moto_replay
from infra.local.provision import Clients, Resources, provision
from infra.wiring import REPLAYED_NOTICES, REPLAYS, WIRING
from shared.aws.archive import BusArchive, ReplayFailed
from shared.aws.events import EventBridgePublisher
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.replay_ports import NoticeArchive


@dataclass
class Stack:
    resources: Resources
    clients: Clients
    publisher: EventBridgePublisher

    def archive(self, **overrides: Any) -> BusArchive:
        res = self.resources
        return BusArchive(
            archive_arn=res.archive_arn,
            bus_arn=res.bus_arn,
            rule_arn=res.rules[REPLAYS.name],
            queue_url=res.queues[REPLAYED_NOTICES.name].url,
            events_client=overrides.pop("events_client", self.clients.events()),
            sqs_client=self.clients.sqs(),
            receive_wait_seconds=0,
            **overrides,
        )

    def waiting(self, queue: str) -> int:
        attributes = self.clients.sqs().get_queue_attributes(
            QueueUrl=self.resources.queues[queue].url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def purge_consumer_queues(self) -> None:
        for name, queue in self.resources.queues.items():
            if name != REPLAYED_NOTICES.name:
                self.clients.sqs().purge_queue(QueueUrl=queue.url)


@pytest.fixture
def stack() -> Iterator[Stack]:
    moto_replay.install()  # replays keep to their window and FilterArns, as in AWS
    with mock_aws():
        clients = Clients()
        resources = provision(WIRING, clients=clients)
        yield Stack(resources, clients, EventBridgePublisher(resources.bus_name, client=clients.events()))


def _notice(event_id: str, *, entity: EntityType = EntityType.ACCOUNT, realm: str = "9130") -> ChangeNotice:
    return ChangeNotice(
        provider=SystemName.QUICKBOOKS,
        event_id=event_id,
        entity=entity,
        vendor_type="Customer" if entity is EntityType.ACCOUNT else "Invoice",
        record_id=f"r-{event_id}",
        operation=Operation.UPDATED,
        realm=realm,
    )


def _next_second() -> datetime:
    """Sleep into the next whole second and return it (EventBridge times are whole seconds)."""
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.01)
    return datetime.fromtimestamp(int(time.time()), UTC)


def test_a_window_replays_exactly_its_notices_oldest_first_once(stack: Stack) -> None:
    # given notices published before, in and after a window (one of them delivered twice, a domain event too)
    stack.publisher.publish([_notice("before")])
    start = _next_second()
    stack.publisher.publish([_notice("a1"), _notice("a2", entity=EntityType.INVOICE)])
    stack.clients.events().put_events(
        Entries=[
            {
                "EventBusName": stack.resources.bus_name,
                "Source": "close2cash.domain",
                "DetailType": "close2cash.engagement.activated",
                "Detail": json.dumps({"id": "evt-1", "type": "close2cash.engagement.activated"}),
            }
        ]
    )
    _next_second()  # the later notices a second later: oldest first means these after those
    stack.publisher.publish([_notice("b1"), _notice("a1")])
    end = _next_second()
    stack.publisher.publish([_notice("after")])
    stack.purge_consumer_queues()
    archive = stack.archive()
    assert isinstance(archive, NoticeArchive)

    # when the window is read from the archive
    notices = archive.notices(start, end)

    # then exactly its notices, oldest first, the redelivered one once, no domain event
    assert [n.event_id for n in notices] == ["a1", "a2", "b1"]
    assert archive.calls["StartReplay"] == 1 and archive.calls["DescribeReplay"] == 1
    assert archive.calls["DeleteMessageBatch"] == 1  # four messages taken, deleted in one call
    # and the replay reached the replays rule only: no consumer queue received anything
    for queue in WIRING.queues:
        assert stack.waiting(queue.name) == 0, queue.name


def test_the_same_window_replayed_again_gives_the_same_notices(stack: Stack) -> None:
    start = _next_second()
    stack.publisher.publish([_notice(f"n{i}") for i in range(12)])
    end = _next_second()
    first = stack.archive().notices(start, end)
    again = stack.archive().notices(start, end)
    assert [n.event_id for n in first] == [n.event_id for n in again]
    assert len(first) == 12


def test_a_quiet_window_has_no_notices(stack: Stack) -> None:
    stack.publisher.publish([_notice("old")])
    start = _next_second()
    end = start + timedelta(seconds=30)
    assert stack.archive().notices(start, end) == []


def test_another_replays_messages_are_left_for_it(stack: Stack) -> None:
    # given another replay's message waiting on the replayed-notices queue
    stack.clients.sqs().send_message(
        QueueUrl=stack.resources.queues[REPLAYED_NOTICES.name].url,
        MessageBody=json.dumps(
            {
                "replay-name": "c2c-replay-other",
                "source": "close2cash.webhooks.quickbooks",
                "time": "2026-01-01T00:00:00Z",
                "detail": _notice("theirs").model_dump(mode="json"),
            }
        ),
    )
    start = _next_second()
    stack.publisher.publish([_notice("ours")])
    end = _next_second()
    # when this replay drains the queue
    notices = stack.archive().notices(start, end)
    # then it takes its own notice only and leaves the other one there
    assert [n.event_id for n in notices] == ["ours"]
    attributes = stack.clients.sqs().get_queue_attributes(
        QueueUrl=stack.resources.queues[REPLAYED_NOTICES.name].url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 1
    )


class _FailingReplays:
    """The events client, except that every replay is reported FAILED (moto never fails one)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def describe_replay(self, **kwargs: Any) -> dict[str, Any]:
        replay = dict(self._client.describe_replay(**kwargs))
        return {**replay, "State": "FAILED", "StateReason": "destination rule was deleted"}


def test_a_failed_replay_says_why(stack: Stack) -> None:
    archive = stack.archive(events_client=_FailingReplays(stack.clients.events()))
    start = _next_second()
    with pytest.raises(ReplayFailed, match="FAILED: destination rule was deleted"):
        archive.notices(start, start + timedelta(minutes=1))


def test_an_inverted_window_is_refused_before_any_replay(stack: Stack) -> None:
    archive = stack.archive()
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="must end after it starts"):
        archive.notices(now, now - timedelta(minutes=1))
    assert archive.calls == {}


def test_from_env_reads_the_replay_functions_environment(stack: Stack) -> None:
    env = stack.resources.env("replay")
    archive = BusArchive.from_env(env, events_client=stack.clients.events(), sqs_client=stack.clients.sqs())
    assert archive.archive_arn == stack.resources.archive_arn
    assert archive.rule_arn == stack.resources.rules[REPLAYS.name]
    assert archive.queue_url == stack.resources.queues[REPLAYED_NOTICES.name].url
    assert archive.bus_arn == stack.resources.bus_arn
    with pytest.raises(KeyError, match="REPLAY_QUEUE_URL"):
        BusArchive.from_env({k: v for k, v in env.items() if k != "REPLAY_QUEUE_URL"})
