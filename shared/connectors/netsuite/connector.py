"""The NetSuite connector: accounts as customers (upsert by external id), changes by SuiteQL sweep.

NetSuite sends no signed webhooks, so the connector has no receiver: its changes reach the hub
through `changed_accounts` on a schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import ValidationError

from shared.connectors.netsuite import changes, mapper, queries
from shared.connectors.netsuite.census import NetSuiteCensus
from shared.connectors.netsuite.client import NetSuiteClient
from shared.connectors.netsuite.connection import NetSuiteConnection
from shared.connectors.netsuite.engagements import NetSuiteEngagements
from shared.connectors.netsuite.invoicing import NetSuiteInvoicing
from shared.connectors.netsuite.postings import NetSuitePostings
from shared.connectors.netsuite.rows import records_of, rows_of
from shared.connectors.netsuite.schemas import Customer, CustomerRow
from shared.domain.account_ports import MAX_MATCH_CANDIDATES, AccountTarget, TargetRecord
from shared.domain.billing_ports import InvoiceTarget
from shared.domain.delivery_ports import PostingTarget
from shared.domain.engagement_ports import EngagementTarget
from shared.domain.errors import NotFoundError, TransientError, ValidationFailed
from shared.domain.models import Account, SystemName, epoch_seconds
from shared.domain.ports import CrossReference
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus
from shared.domain.sweeps import ChangeFeed, ChangeWindow
from shared.domain.tokens import TokenStore

if TYPE_CHECKING:
    from shared.domain.ports import RateBudgets

__all__ = ["NetSuiteConnection", "NetSuiteConnector", "build"]


class NetSuiteConnector(NetSuiteCensus, NetSuiteEngagements, NetSuitePostings, NetSuiteInvoicing):
    """The AccountTarget, ChangeFeed and customer census ports for one NetSuite account."""

    system = SystemName.NETSUITE
    # The ports this connector implements so far: the customer master. The accounting role's others
    # (engagements, postings, invoices and their censuses) come with those flows; until then the
    # table of systems does not call NetSuite built.
    implements: ClassVar[tuple[type, ...]] = (
        AccountTarget,
        ChangeFeed,
        CustomerCensus,
        EngagementTarget,  # the deal's project (engagements.py)
        EngagementCensus,
        PostingTarget,  # time bills and expense reports (postings.py)
        WorkCensus,
        InvoiceTarget,  # invoices, payments and credit memos (invoicing.py)
        InvoiceCensus,
    )

    def __init__(self, connection: NetSuiteConnection, client: NetSuiteClient) -> None:
        self.connection = connection
        self.client = client

    @property
    def http_calls(self) -> int:
        """Vendor calls made so far (attempts, token requests included) for the bench figures."""
        return self.client.calls

    def close(self) -> None:
        self.client.close()

    # --- AccountTarget --------------------------------------------------------------------------

    def project(self, account: Account) -> Account:
        """The content NetSuite holds after writing `account` (equal, field for field, to the read view)."""
        return mapper.project(account, self.connection)

    def _read(self, record_id: str) -> Customer:
        payload = self.client.get_record(mapper.CUSTOMER_TYPE, record_id, expand=True)
        try:
            return Customer.model_validate(payload)
        except ValidationError as exc:
            raise TransientError(f"netsuite: read customer {record_id}: unreadable: {exc}") from exc

    def _record(self, customer: Customer) -> TargetRecord:
        return mapper.target_record(customer, self.connection)

    def read_account(self, record_id: str) -> TargetRecord:
        """GET the customer with its sublists expanded (the billing address is an address book line)."""
        return self._record(self._read(record_id))

    def _find(self, account: Account) -> Customer | None:
        try:
            return self._read(f"eid:{mapper.external_id(account.source)}")
        except NotFoundError:
            return None

    def find_account(self, account: Account) -> TargetRecord | None:
        """The customer this hub made for `account`: one GET by its external id (inactive ones too)."""
        found = self._find(account)
        return None if found is None else self._record(found)

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        """Customers whose company name starts like the account's name, or whose web address holds
        its domain, inactive ones included; at most MAX_MATCH_CANDIDATES.

        One SuiteQL statement per name prefix, shortest first, each asking for one row more than
        the bound: the first prefix specific enough gives the answer (usually the first word), and
        one more statement reads the billing addresses of the customers found.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
        """
        domain = mapper.web_domain(account.website)
        rows: list[CustomerRow] = []
        for prefix in mapper.name_prefixes(account.name):
            page = self.client.suiteql(queries.namesakes(prefix, domain), limit=MAX_MATCH_CANDIDATES + 1)
            rows = rows_of(page.items)
            if len(rows) <= MAX_MATCH_CANDIDATES:
                return records_of(self.client, rows)
        # Even the whole name starts more customers than the bound: every one returned starts with
        # the whole name, so the matcher still sees the name is shared.
        return records_of(self.client, rows[:MAX_MATCH_CANDIDATES])

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord:
        """Upsert the customer by the account's external id: a resend finds the customer the first
        made instead of making a second (idempotent by construction, whatever the key).

        A customer already holding the external id (a create that succeeded before a crash) is
        updated field by field instead of upserted whole: an upsert's address book lines would be
        added to the ones it holds, so a redelivered create would grow a second billing address.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/chapter_1545142407.html
        """
        del idempotency_key  # the external id is the key NetSuite deduplicates on
        external = mapper.external_id(account.source)
        existing = self._find(account)
        if existing is not None:
            return self._update(existing, account)
        record_id = self.client.upsert_record(
            mapper.CUSTOMER_TYPE, external, mapper.upsert_payload(account, self.connection)
        )
        return self.read_account(record_id or f"eid:{external}")

    def update_account(
        self,
        record_id: str,
        account: Account,
        *,
        idempotency_key: str,
        last_synced: CrossReference | None = None,
    ) -> TargetRecord:
        """PATCH the fields of the customer that differ from the account; none: no write, no echo.

        NetSuite has no version token to write over (last writer wins), so the customer is read
        first, and only fields whose content differs are sent: a bookkeeper's change to another
        field since is never overwritten. A PATCH sent twice writes the same values twice.
        """
        del idempotency_key, last_synced  # a PATCH of values is idempotent; the read is needed anyway
        return self._update(self._read(record_id), account)

    def _update(self, current: Customer, account: Account) -> TargetRecord:
        """PATCH what differs between `current` (as just read) and `account`, then read it back."""
        record_id = str(current.id)
        held = mapper.account_view(current, self.connection)
        if account.currency and held.currency and account.currency != held.currency:
            # A customer's primary currency is fixed once it has transactions; changing it is a
            # bookkeeping decision, not a sync.
            raise ValidationFailed(
                f"netsuite: customer {record_id} is in {held.currency}; close2cash does not change it "
                f"to {account.currency}: create a new customer for the new currency"
            )
        body, replace = mapper.update_payload(current, account, self.connection)
        if not body:
            return self._record(current)
        self.client.update_record(mapper.CUSTOMER_TYPE, record_id, body, replace=replace)
        return self.read_account(record_id)

    def deactivate_account(self, record_id: str, *, reason: str) -> TargetRecord:
        """Make the customer inactive (isInactive = true); an inactive one is left as it is.

        An inactive customer keeps its transactions and history and drops out of lists.
        https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_161581923822.html
        """
        del reason  # the hub's log and ledger keep it
        current = self._read(record_id)
        if current.isInactive is True:
            return self._record(current)
        self.client.update_record(mapper.CUSTOMER_TYPE, record_id, {"isInactive": True})
        return self.read_account(record_id)

    # --- ChangeFeed -----------------------------------------------------------------------------

    def changed_accounts(self, since: datetime, until: datetime) -> ChangeWindow:
        """Customers modified after `since`, up to `until` or NetSuite's clock if that is earlier.

        Two kinds of call: serverTime (NetSuite's clock ends the window, so no change committed
        with an earlier stamp is missed for our clock running ahead), then one SuiteQL page per
        1,000 changes, at most `changes.MAX_SWEEP_ROWS`.
        """
        end = min(until, self.client.server_time())
        if end <= since:
            return ChangeWindow(covered_until=since, realm=self.connection.account_id)
        statement = queries.changed_between(since, end, mapper.query_zone(self.connection))
        items, capped = self.client.suiteql_rows(statement, max_rows=changes.MAX_SWEEP_ROWS)
        return changes.change_window(
            rows_of(items), since=since, end=end, capped=capped, connection=self.connection
        )


def build(
    connection: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = epoch_seconds,
    sleep: Callable[[float], None] = time.sleep,
    token_store: TokenStore | None = None,
    budgets: RateBudgets | None = None,
) -> NetSuiteConnector:
    """A connector for the account described by `connection` (the secret's fields).

    A bad connection is refused with a `ConfigurationError` naming the field. `clock` (POSIX
    seconds: token expiries are shared with other containers) and `sleep` drive the token's
    expiry, the budget and retry waits (tests fast-forward them). `token_store` shares the access
    token with every container (default: this process only); `budgets` holds the account's one
    concurrency budget (shared by every container; default: this process only).
    """
    settings = NetSuiteConnection.parse(connection)
    client = NetSuiteClient(
        settings, transport=transport, clock=clock, sleep=sleep, token_store=token_store, budgets=budgets
    )
    return NetSuiteConnector(settings, client)
