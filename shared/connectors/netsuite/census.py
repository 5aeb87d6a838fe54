"""The reconciliation census on NetSuite: every customer, active or not, as NetSuite holds it.

One SuiteQL statement with the columns the mapper reads, 1,000 rows a page, then the billing
addresses 1,000 a statement: 2,500 customers are six calls.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.connectors.netsuite import queries
from shared.connectors.netsuite.client import MAX_PAGE
from shared.connectors.netsuite.rows import records_of, rows_of
from shared.domain.account_ports import TargetRecord
from shared.domain.errors import TransientError

if TYPE_CHECKING:
    from shared.connectors.netsuite.client import NetSuiteClient
    from shared.connectors.netsuite.connection import NetSuiteConnection


class NetSuiteCensus:
    """`CustomerCensus` for one NetSuite account."""

    connection: NetSuiteConnection
    client: NetSuiteClient

    def census_customers(self) -> Iterator[TargetRecord]:
        """Every customer, inactive ones included (SuiteQL has no default filter on isinactive).

        A census beyond one query's 100,000 rows would be silently short: it is refused instead.
        """
        items, more = self.client.suiteql_rows(queries.customers(), page_size=MAX_PAGE)
        if more:
            raise TransientError(
                "netsuite: the customer census reaches past SuiteQL's 100,000 rows; "
                "reconcile customers through SuiteAnalytics Connect"
            )
        yield from records_of(self.client, rows_of(items))
