"""The local DynamoDB answers each request whole, as DynamoDB does, however many threads call it."""

from __future__ import annotations

import threading
from typing import Any

from infra.local import moto_atomic

KEY = {"pk": {"S": "p"}, "sk": {"S": "s"}}


def test_reads_racing_a_writer_that_grows_the_item_see_whole_items(dynamodb: Any) -> None:
    # given an item a writer keeps growing, attribute by attribute (moto updates it in place)
    dynamodb.put_item(TableName="ledger", Item=KEY)
    assert moto_atomic.installed()
    errors: list[BaseException] = []
    sizes: list[int] = []
    start = threading.Barrier(5)

    def writer() -> None:
        start.wait()
        for n in range(300):
            dynamodb.update_item(
                TableName="ledger",
                Key=KEY,
                UpdateExpression="SET #a = :v",
                ExpressionAttributeNames={"#a": f"a{n}"},
                ExpressionAttributeValues={":v": {"M": {"n": {"N": str(n)}}}},
            )

    def reader() -> None:
        start.wait()
        try:
            for _ in range(120):
                sizes.append(len(dynamodb.get_item(TableName="ledger", Key=KEY)["Item"]))
        except BaseException as error:  # the test reports what a reader hit
            errors.append(error)

    # when four readers read while it grows
    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every read saw a whole item: none failed mid-copy
    assert errors == []
    assert len(sizes) == 480 and max(sizes) <= 302
