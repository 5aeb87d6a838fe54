"""Work records, pending batches and booked engagements on moto's ledger table (DynamoPostings)."""

from __future__ import annotations

import random
import string
import threading
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.aws.postings import MAX_ITEM_BYTES, DynamoPostings
from shared.domain.delivery_ports import BookedEngagement, PendingBatch, WorkRecord
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import (
    PostedRecord,
    Posting,
    PostingState,
    PostingWrite,
    WorkKind,
    WriteOperation,
    amount_for,
    work_key,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
RATE = Money.of("180.00", "USD")


class Clock:
    """Epoch seconds the test moves by hand (claims are stamped with it)."""

    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(dynamodb: Any, clock: Clock) -> DynamoPostings:
    return DynamoPostings("ledger", client=dynamodb, clock=clock)


def work(
    entry: str,
    *,
    project: str = "proj-1",
    state: PostingState = PostingState.NOT_POSTED,
    worked_on: date = date(2026, 11, 2),
    minutes: int = 55,
) -> WorkRecord:
    return WorkRecord(
        key=work_key(SystemName.PRODUCTIVE, WorkKind.TIME, entry),
        kind=WorkKind.TIME,
        source=SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id=entry, version="v1"),
        project=project,
        worked_on=worked_on,
        state=state,
        minutes=minutes,
        amount=amount_for(RATE, minutes),
        reason="engagement not active in QuickBooks" if state is PostingState.PARKED else None,
    )


def posting(entry: str, *, description: str = "Consulting, 2 Nov") -> Posting:
    return Posting(
        work=SourceRef(system=SystemName.PRODUCTIVE, type="time_entry", id=entry, version="v1"),
        kind=WorkKind.TIME,
        target=SystemName.QUICKBOOKS,
        legal_entity="us",
        customer="58",
        worker="71",
        worked_on=date(2026, 11, 2),
        minutes=55,
        rate=RATE,
        amount=amount_for(RATE, 55),
        item="12",
        description=description,
    )


def batch_of(
    batch_id: str, entries: list[str], *, at: datetime = T0, description: str = "Consulting"
) -> PendingBatch:
    return PendingBatch(
        id=batch_id,
        target=SystemName.QUICKBOOKS,
        writes=tuple(
            PostingWrite(
                key=work_key(SystemName.PRODUCTIVE, WorkKind.TIME, e),
                operation=WriteOperation.CREATE,
                kind=WorkKind.TIME,
                posting=posting(e, description=description),
            )
            for e in entries
        ),
        created_at=at,
    )


def unrevised(found: dict[str, WorkRecord]) -> dict[str, WorkRecord]:
    """Records as read, without the revision token the store stamped on each write."""
    return {key: record.model_copy(update={"revision": None}) for key, record in found.items()}


def records_of(batch: PendingBatch) -> dict[str, WorkRecord]:
    return {w.key: work(w.key.rsplit(":", 1)[1]) for w in batch.writes}


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names and values (strings, binaries, numbers)."""
    total = 0
    for name, value in item.items():
        raw = next(iter(value.values()))
        total += len(name.encode()) + (len(raw) if isinstance(raw, bytes) else len(str(raw).encode()))
    return total


def prose(rng: random.Random, length: int) -> str:
    """Text that compresses like prose at best (random letters and spaces)."""
    return "".join(rng.choices(string.ascii_lowercase + " ", k=length)).strip() or "x"


def test_a_claimed_batch_finishes_with_its_works_posted_and_released(store: DynamoPostings) -> None:
    # given a batch of three entries claimed for QuickBooks
    batch = batch_of("b-1", ["e1", "e2", "e3"])
    assert store.claim(batch, records_of(batch), stale_before=T0 - timedelta(minutes=5)) == set()
    held = store.works(batch.keys)
    assert {r.batch for r in held.values()} == {"b-1"}
    assert store.pending("b-1") == batch
    # when the batch comes back and is finished with its works posted
    posted = [
        r.model_copy(update={"state": PostingState.POSTED, "batch": None, "batch_at": None})
        for r in held.values()
    ]
    lost = store.finish(batch, posted)
    # then every work reads as posted, held by no batch, and the batch is no longer pending
    assert lost == set()
    after = store.works(batch.keys)
    assert {r.state for r in after.values()} == {PostingState.POSTED}
    assert {r.batch for r in after.values()} == {None}
    assert store.pending("b-1") is None
    assert store.pending_batches(created_before=T0 + timedelta(hours=1)) == []


def test_a_finished_batch_is_kept_thirty_days_for_an_audit(store: DynamoPostings, dynamodb: Any) -> None:
    # given a batch claimed and finished
    batch = batch_of("b-audit", ["e1"])
    store.claim(batch, records_of(batch), stale_before=T0)
    store.finish(batch, list(records_of(batch).values()))
    # then its item is still there with the writes sent, and expires in 30 days
    item = dynamodb.get_item(TableName="ledger", Key={"pk": {"S": "BATCH#b-audit"}, "sk": {"S": "BATCH"}})[
        "Item"
    ]
    assert PendingBatch.model_validate_json(zlib.decompress(item["batch"]["B"])) == batch
    assert int(item["expires_at"]["N"]) == int((T0 + timedelta(days=30)).timestamp())


def test_a_work_another_batch_holds_is_refused_and_the_batch_recorded_without_it(
    store: DynamoPostings, clock: Clock
) -> None:
    # given entry e2 held by a live batch
    first = batch_of("b-1", ["e2"])
    store.claim(first, records_of(first), stale_before=T0 - timedelta(minutes=5))
    clock.now = T0 + timedelta(seconds=30)
    # when a second batch claims e1, e2 and e3
    second = batch_of("b-2", ["e1", "e2", "e3"], at=clock.now)
    refused = store.claim(second, records_of(second), stale_before=clock.now - timedelta(minutes=5))
    # then e2 is refused, stays with the first batch, and the second batch is recorded without it
    e2 = work_key(SystemName.PRODUCTIVE, WorkKind.TIME, "e2")
    assert refused == {e2}
    recorded = store.pending("b-2")
    assert recorded is not None and recorded.keys == [k for k in second.keys if k != e2]
    held = store.works(second.keys)
    assert held[e2].batch == "b-1"
    assert {held[k].batch for k in recorded.keys} == {"b-2"}


def test_a_batch_whose_every_work_is_held_is_not_recorded(store: DynamoPostings) -> None:
    # given e1 held by a live batch
    first = batch_of("b-1", ["e1"])
    store.claim(first, records_of(first), stale_before=T0)
    # when another batch of only e1 claims it
    second = batch_of("b-2", ["e1"])
    refused = store.claim(second, records_of(second), stale_before=T0 - timedelta(minutes=5))
    # then it is refused and nothing of the second batch was written
    assert refused == set(second.keys)
    assert store.pending("b-2") is None
    assert store.works(second.keys)[second.keys[0]].batch == "b-1"


def test_a_claim_older_than_stale_before_is_taken_over_and_the_old_sender_cannot_overwrite(
    store: DynamoPostings, clock: Clock
) -> None:
    # given e1 claimed by a sender that then died
    old = batch_of("b-old", ["e1"])
    store.claim(old, records_of(old), stale_before=T0 - timedelta(minutes=5))
    # when, ten minutes later, a new batch claims it with a five-minute staleness bound
    clock.now = T0 + timedelta(minutes=10)
    new = batch_of("b-new", ["e1"], at=clock.now)
    # (the new sender read the work first: it names the revision it read)
    read = store.works(new.keys)
    taking = {
        key: record.model_copy(update={"revision": read[key].revision})
        for key, record in records_of(new).items()
    }
    refused = store.claim(new, taking, stale_before=clock.now - timedelta(minutes=5))
    # then the new batch holds it
    key = new.keys[0]
    assert refused == set()
    assert store.works([key])[key].batch == "b-new"
    # and when the old sender comes back and finishes, its record is not written but its batch is done
    stale = work("e1").model_copy(update={"state": PostingState.POSTED, "reason": "from the old sender"})
    assert store.finish(old, [stale]) == {key}
    assert store.works([key])[key].batch == "b-new"
    assert store.works([key])[key].state is PostingState.NOT_POSTED
    assert store.pending("b-old") is None


def test_a_batch_never_finished_is_listed_by_pending_batches(store: DynamoPostings, clock: Clock) -> None:
    # given two batches claimed an hour apart, and a third claimed and finished
    early = batch_of("b-early", ["e1"], at=T0)
    late = batch_of("b-late", ["e2"], at=T0 + timedelta(hours=1))
    done = batch_of("b-done", ["e3"], at=T0)
    for batch in (early, late, done):
        store.claim(batch, records_of(batch), stale_before=T0)
    store.finish(done, list(records_of(done).values()))
    # when the sweep asks for batches created more than 30 minutes ago
    listed = store.pending_batches(created_before=T0 + timedelta(minutes=30))
    # then only the unfinished early batch is listed, exactly as it was recorded
    assert listed == [early]
    assert [b.id for b in store.pending_batches(created_before=T0 + timedelta(hours=2))] == [
        "b-early",
        "b-late",
    ]


def test_parked_work_is_listed_per_project_and_leaves_the_index_when_posted(store: DynamoPostings) -> None:
    # given two entries parked on proj-1, one in exception on proj-1, one parked on proj-10,
    # and one posted entry
    store.save_works(
        [
            work("p1", state=PostingState.PARKED),
            work("p2", state=PostingState.PARKED),
            work("x1", state=PostingState.EXCEPTION),
            work("p3", project="proj-10", state=PostingState.PARKED),
            work("p4", state=PostingState.POSTED),
        ],
        stale_before=T0,
    )
    # then each project lists its own waiting work, parked and in exception (proj-1 not proj-10's)
    assert [(r.source.id, r.state) for r in store.parked("proj-1")] == [
        ("p1", PostingState.PARKED),
        ("p2", PostingState.PARKED),
        ("x1", PostingState.EXCEPTION),
    ]
    assert [r.source.id for r in store.parked("proj-10")] == ["p3"]
    assert [r.source.id for r in store.parked()] == ["p1", "p2", "x1", "p3"]
    # when p1 and x1 are claimed by a batch and posted
    batch = batch_of("b-1", ["p1", "x1"])
    claimed = {k: r for k, r in store.works(batch.keys).items()}
    store.claim(batch, claimed, stale_before=T0)
    store.finish(batch, [work("p1", state=PostingState.POSTED), work("x1", state=PostingState.POSTED)])
    # then they wait no more
    assert [r.source.id for r in store.parked("proj-1")] == ["p2"]


def test_a_claim_keeps_the_instant_its_caller_stamped(store: DynamoPostings, clock: Clock) -> None:
    # given a sender whose clock stamped its claim a minute before the store's clock
    batch = batch_of("b-1", ["e1"])
    stamped = T0 - timedelta(minutes=1)
    records = {
        k: r.model_copy(update={"batch": "b-1", "batch_at": stamped}) for k, r in records_of(batch).items()
    }
    store.claim(batch, records, stale_before=T0 - timedelta(minutes=5))
    # then the claim goes stale by that instant: a claim with a bound just after it takes it over
    assert store.works(batch.keys)[batch.keys[0]].batch_at == stamped
    later = batch_of("b-2", ["e1"])
    read = store.works(later.keys)
    taking = {k: r.model_copy(update={"revision": read[k].revision}) for k, r in records_of(later).items()}
    assert store.claim(later, taking, stale_before=stamped + timedelta(seconds=1)) == set()


def test_engagement_works_since_a_date_page_beyond_one_page(store: DynamoPostings, dynamodb: Any) -> None:
    # given 600 entries of one engagement over 30 days, and entries of another engagement
    first = date(2026, 11, 1)
    records = [work(f"e{n:04d}", worked_on=first + timedelta(days=n % 30)) for n in range(600)]
    store.save_works([*records, work("other", project="proj-2")], stale_before=T0)
    # and an index that answers 120 keys a page (DynamoDB cuts pages at 1 MB: ~8,000 keys; the
    # limit makes the pages come without writing 8,000 entries)
    real = dynamodb.query
    pages: list[int] = []

    def paged(**kwargs: Any) -> Any:
        page = real(**{"Limit": 120, **kwargs})
        pages.append(len(page["Items"]))
        return page

    dynamodb.query = paged
    # when the entries since 16 November are listed
    since = date(2026, 11, 16)
    listed = store.engagement_works(SystemName.PRODUCTIVE, "proj-1", since=since)
    # then every one of them is there once, read over several pages, oldest first, as saved
    expected = {r.key: r for r in records if r.worked_on >= since}
    assert len(listed) == len(expected) == 300
    assert unrevised({r.key: r for r in listed}) == expected
    assert pages[:3] == [120, 120, 60]
    assert [r.worked_on for r in listed] == sorted(r.worked_on for r in listed)
    # and without a date, all 600, none of the other engagement's
    assert {r.key for r in store.engagement_works(SystemName.PRODUCTIVE, "proj-1")} == {
        r.key for r in records
    }


def test_works_reads_250_keys_and_skips_the_unknown(store: DynamoPostings) -> None:
    # given 250 saved entries
    saved = [work(f"w{n}", minutes=1 + n % 600) for n in range(250)]
    store.save_works(saved, stale_before=T0)
    # when they are read back with an unknown key among them
    keys = [r.key for r in saved] + [work_key(SystemName.PRODUCTIVE, WorkKind.TIME, "missing")]
    found = store.works(keys)
    # then all 250 come back as saved, and the unknown one is absent
    assert unrevised(found) == {r.key: r for r in saved}


def test_works_asks_again_for_keys_dynamodb_left_unprocessed(store: DynamoPostings, dynamodb: Any) -> None:
    # given DynamoDB that leaves the second half of the first answer unprocessed (a throttled partition)
    saved = [work(f"u{n}") for n in range(10)]
    store.save_works(saved, stale_before=T0)
    real = dynamodb.batch_get_item
    calls: list[int] = []

    def throttled(RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems["ledger"]["Keys"]
        calls.append(len(keys))
        if len(calls) > 1:
            return real(RequestItems=RequestItems)
        answer = real(RequestItems={"ledger": {**RequestItems["ledger"], "Keys": keys[:5]}})
        answer["UnprocessedKeys"] = {"ledger": {**RequestItems["ledger"], "Keys": keys[5:]}}
        return answer

    dynamodb.batch_get_item = throttled
    # when the ten are read
    found = store.works([r.key for r in saved])
    # then all ten come back, the five left over asked for again
    assert unrevised(found) == {r.key: r for r in saved}
    assert calls == [10, 5]


def test_an_engagement_round_trips_with_its_rates_exact(store: DynamoPostings) -> None:
    # given an engagement with rates a float cannot hold
    engagement = BookedEngagement(
        psa=SourceRef(system=SystemName.PRODUCTIVE, type="project", id="proj-1"),
        opportunity=SourceRef(system=SystemName.SALESFORCE, type="opportunity", id="006A"),
        name="Acme rollout",
        legal_entity="us",
        currency="USD",
        status=EngagementStatus.ACTIVE,
        accounting={SystemName.QUICKBOOKS: "58"},
        dimensions={"class": "Consulting", "department": None},
        rates={"Consultant": Decimal("180.10"), "Partner": Decimal("333.3333333333333333")},
        updated_at=T0,
    )
    # when it is saved and read back
    store.save_engagement(engagement)
    read = store.engagement(SystemName.PRODUCTIVE, "proj-1")
    # then it is equal, every rate to the last digit
    assert read == engagement
    assert read is not None and read.rates["Partner"] == Decimal("333.3333333333333333")
    assert store.engagement(SystemName.PRODUCTIVE, "proj-2") is None


def test_a_batch_of_30_postings_at_their_longest_fits_one_transaction(
    store: DynamoPostings, dynamodb: Any
) -> None:
    # given a batch of 30 postings with the longest descriptions allowed (4,000 characters of text)
    rng = random.Random(10)
    batch = batch_of("b-30", [f"e{n}" for n in range(30)])
    batch = batch.model_copy(
        update={
            "writes": tuple(
                w.model_copy(
                    update={"posting": posting(w.key.rsplit(":", 1)[1], description=prose(rng, 4000))}
                )
                for w in batch.writes
            )
        }
    )
    records = {
        w.key: work(w.key.rsplit(":", 1)[1]).model_copy(
            update={"posted": w.posting, "reason": prose(rng, 2000)}
        )
        for w in batch.writes
    }
    # when it is claimed and finished
    assert store.claim(batch, records, stale_before=T0) == set()
    assert store.finish(batch, list(records.values())) == set()
    # then the batch item stayed under DynamoDB's 400 KB, and the whole transaction under its 4 MB
    keys = [{"pk": {"S": "BATCH#b-30"}, "sk": {"S": "BATCH"}}] + [
        {"pk": {"S": "WORK#" + k.replace(":", "#")}, "sk": {"S": "WORK"}} for k in records
    ]
    items = [dynamodb.get_item(TableName="ledger", Key=key)["Item"] for key in keys]
    assert item_bytes(items[0]) < MAX_ITEM_BYTES / 2
    assert sum(item_bytes(item) for item in items) < 4 * 1024 * 1024 / 4
    assert unrevised(store.works(list(records))) == {k: r for k, r in records.items()}


def test_a_posted_time_entry_is_one_write_unit(store: DynamoPostings, dynamodb: Any) -> None:
    # given a time entry posted to QuickBooks with a typical description, as a batch claims it
    rng = random.Random(7)
    entry = "24681357"
    posted = posting(entry, description=f"Consulting: {prose(rng, 90)}")
    record = work(entry, state=PostingState.POSTED).model_copy(
        update={
            "posted": posted,
            "record": PostedRecord(id="1843", version="0"),
            "target": SystemName.QUICKBOOKS,
            "approved_at": T0,
            "posted_at": T0,
        }
    )
    batch = batch_of("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", [entry])
    store.claim(batch, {record.key: record}, stale_before=T0)
    # then its item, claim included, is at most 1 KB: one write unit (two in a transaction)
    item = dynamodb.get_item(
        TableName="ledger", Key={"pk": {"S": f"WORK#productive#time#{entry}"}, "sk": {"S": "WORK"}}
    )
    assert item_bytes(item["Item"]) <= 1024


def test_a_save_of_a_work_written_since_it_was_read_is_refused(store: DynamoPostings) -> None:
    # given two workers that read the same saved entry
    store.save_works([work("s1", state=PostingState.PARKED)], stale_before=T0)
    first = store.works([work("s1").key])[work("s1").key]
    second = first.model_copy()
    # when the first saves it, then the second saves what it decided from its older reading
    assert (
        store.save_works([first.model_copy(update={"state": PostingState.NOT_POSTED})], stale_before=T0)
        == set()
    )
    refused = store.save_works([second.model_copy(update={"state": PostingState.EXCEPTION})], stale_before=T0)
    # then the second is refused and the first one's record stands
    assert refused == {first.key}
    assert store.works([first.key])[first.key].state is PostingState.NOT_POSTED
    # and a save over a work a live batch holds is refused too
    batch = batch_of("b-1", ["s1"])
    read = store.works(batch.keys)
    store.claim(batch, {k: r for k, r in read.items()}, stale_before=T0)
    assert store.save_works([store.works([first.key])[first.key]], stale_before=T0) == {first.key}


def test_of_concurrent_claims_on_the_same_works_one_batch_holds_each(store: DynamoPostings) -> None:
    # given eight senders, each with a batch of the same three entries
    batches = [batch_of(f"b-{n}", ["e1", "e2", "e3"]) for n in range(8)]
    refusals: dict[str, set[str]] = {}
    start = threading.Barrier(len(batches))

    def claim(batch: PendingBatch) -> None:
        start.wait()
        refusals[batch.id] = store.claim(batch, records_of(batch), stale_before=T0 - timedelta(minutes=5))

    # when they claim at once
    threads = [threading.Thread(target=claim, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then each entry is held by exactly one recorded batch, and every other batch was refused it
    held = store.works(batches[0].keys)
    for key, record in held.items():
        assert record.batch is not None
        assert [b for b, refused in refusals.items() if key not in refused] == [record.batch]
        recorded = store.pending(record.batch)
        assert recorded is not None and key in recorded.keys
