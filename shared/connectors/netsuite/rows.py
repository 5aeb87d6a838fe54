"""SuiteQL answers read as customers: the rows checked, and their billing addresses fetched in bulk.

A customer's default billing address lives in the entity address table (keyed by `nkey`, which the
customer's `defaultbillingaddress` names), so the rows of a page cost one more statement for all
their addresses, not one read per customer.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.connectors.netsuite import mapper, queries
from shared.connectors.netsuite.client import NetSuiteClient
from shared.connectors.netsuite.schemas import AddressRow, CustomerRow
from shared.domain.account_ports import TargetRecord
from shared.domain.errors import TransientError

Row = TypeVar("Row", bound=BaseModel)


def parsed(model: type[Row], items: Sequence[dict[str, Any]]) -> list[Row]:
    """SuiteQL items as rows of `model`; an unreadable one is transient (the queue tries again)."""
    try:
        return [model.model_validate(item) for item in items]
    except ValidationError as exc:
        raise TransientError(f"netsuite: suiteql: unreadable {model.__name__}: {exc}") from exc


def rows_of(items: Sequence[dict[str, Any]]) -> list[CustomerRow]:
    """SuiteQL items as customer rows; an unreadable one is transient (the queue tries again)."""
    return parsed(CustomerRow, items)


def records_of(client: NetSuiteClient, rows: Sequence[CustomerRow]) -> list[TargetRecord]:
    """Customer rows as target records, each with its billing address (one more statement per 1,000)."""
    keys = list(dict.fromkeys(row.defaultbillingaddress for row in rows if row.defaultbillingaddress))
    found: dict[str, AddressRow] = {}
    for start in range(0, len(keys), queries.MAX_IN_LIST):
        statement = queries.addresses(keys[start : start + queries.MAX_IN_LIST])
        answered, _ = client.suiteql_rows(statement)
        found.update((address.nkey, address) for address in parsed(AddressRow, answered))
    return [
        mapper.row_record(row, found.get(row.defaultbillingaddress or ""), client.connection) for row in rows
    ]
