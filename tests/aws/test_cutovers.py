"""A cutover's acknowledgements and its one confirmation, on the ledger table (moto)."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.aws.cutovers import DynamoCutovers
from shared.domain.cutover import Acknowledgement, Confirmation
from shared.domain.models import SystemName

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_acknowledgements_are_kept_per_cutover_and_read_back_by_line(dynamodb) -> None:
    book = DynamoCutovers("ledger", client=dynamodb)
    nod = Acknowledgement(by="controller@northwind.example", at=AT, note="rounds per line, agreed")
    book.acknowledge("US01", SystemName.NETSUITE, "US01:time:8812:amount", nod)
    book.acknowledge("UK01", SystemName.NETSUITE, "UK01:time:1:post", nod)
    assert book.acknowledgements("US01", SystemName.NETSUITE) == {"US01:time:8812:amount": nod}
    assert book.acknowledgements("US01", SystemName.XERO) == {}


def test_a_cutover_is_confirmed_once(dynamodb) -> None:
    book = DynamoCutovers("ledger", client=dynamodb)
    first = Confirmation(by="controller@northwind.example", at=AT, documents=12, acknowledged=1)
    assert book.confirmation("US01", SystemName.NETSUITE) is None
    assert book.confirm("US01", SystemName.NETSUITE, first) is True
    # a second person confirming afterwards records nothing new
    later = first.model_copy(update={"by": "cfo@northwind.example"})
    assert book.confirm("US01", SystemName.NETSUITE, later) is False
    assert book.confirmation("US01", SystemName.NETSUITE) == first
