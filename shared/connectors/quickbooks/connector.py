"""The QuickBooks Online connector: accounts as Customers, engagements as sub-customers, webhooks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from shared.connectors.quickbooks import changes, mapper
from shared.connectors.quickbooks.census import QuickBooksCensus
from shared.connectors.quickbooks.client import (
    BATCH_MAX_ITEMS,
    DuplicateNameError,
    QuickBooksClient,
    StaleObjectError,
    TokensRefreshed,
    like_prefix,
    quote_literal,
)
from shared.connectors.quickbooks.connection import QuickBooksConnection
from shared.connectors.quickbooks.engagements import QuickBooksEngagements
from shared.connectors.quickbooks.invoicing import QuickBooksInvoicing
from shared.connectors.quickbooks.postings import QuickBooksPostings
from shared.connectors.quickbooks.records import customers, request_id, sparse_update
from shared.connectors.quickbooks.schemas import Customer
from shared.connectors.quickbooks.webhooks import QuickBooksWebhooks
from shared.domain.billing_ports import InvoiceTarget
from shared.domain.delivery_ports import PostingTarget
from shared.domain.errors import ValidationFailed
from shared.domain.models import Account, SystemName, epoch_seconds
from shared.domain.ports import (
    MAX_MATCH_CANDIDATES,
    AccountTarget,
    CrossReference,
    EngagementTarget,
    ReceivedWebhook,
    TargetRecord,
    WebhookReceiver,
    WebhookRequest,
)
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus
from shared.domain.sweeps import ChangeFeed, ChangeWindow
from shared.domain.tokens import TokenStore

if TYPE_CHECKING:
    from shared.domain.ports import RateBudgets

__all__ = ["QuickBooksConnection", "QuickBooksConnector", "build"]


class QuickBooksConnector(QuickBooksEngagements, QuickBooksPostings, QuickBooksInvoicing, QuickBooksCensus):
    """The AccountTarget, EngagementTarget, PostingTarget, WebhookReceiver and reconciliation census
    ports for one QBO company."""

    system = SystemName.QUICKBOOKS
    # The ports this connector implements (tests/connectors/test_ports.py holds it to its role's).
    implements: ClassVar[tuple[type, ...]] = (
        AccountTarget,
        EngagementTarget,
        PostingTarget,
        InvoiceTarget,
        CustomerCensus,
        EngagementCensus,
        WorkCensus,
        InvoiceCensus,
        WebhookReceiver,
        ChangeFeed,
    )
    provider = SystemName.QUICKBOOKS

    def __init__(self, connection: QuickBooksConnection, client: QuickBooksClient) -> None:
        super().__init__(connection, client)
        self.webhooks = QuickBooksWebhooks(connection)

    @property
    def http_calls(self) -> int:
        """Vendor calls made so far (attempts, token refreshes included) for the bench figures."""
        return self.client.calls

    @property
    def on_tokens_refreshed(self) -> TokensRefreshed | None:
        """Called with (access_token, refresh_token) after every refresh, once the token store has them."""
        return self.client.on_tokens_refreshed

    @on_tokens_refreshed.setter
    def on_tokens_refreshed(self, callback: TokensRefreshed | None) -> None:
        self.client.on_tokens_refreshed = callback

    def close(self) -> None:
        self.client.close()

    # --- AccountTarget --------------------------------------------------------------------------

    def project(self, account: Account) -> Account:
        """The content QBO holds after writing `account` (equal, field for field, to the read view)."""
        return mapper.project(account, home_currency=self.connection.home_currency)

    @staticmethod
    def _record(customer: Customer) -> TargetRecord:
        return mapper.target_record(customer)

    def read_account(self, record_id: str) -> TargetRecord:
        return self._record(self.client.read_customer(record_id))

    def find_account(self, account: Account) -> TargetRecord | None:
        """The customer this hub created for `account`: same DisplayName and carrying our CRM stamp.

        Inactive customers are included (the default query returns active ones only), so a
        customer a bookkeeper made inactive is found rather than duplicated.
        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        name = mapper.display_name(account.name)
        where = f"Active IN (true, false) AND DisplayName = {quote_literal(name)}"
        for customer in self.client.query_customers(where):
            if not customer.is_sub_customer and mapper.carries_stamp(customer, account.source):
                return self._record(customer)
        return None

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        """Customers whose DisplayName or CompanyName starts like the account's name (inactive too).

        At most MAX_MATCH_CANDIDATES. The query language has LIKE with `%` but no OR, so DisplayName
        and CompanyName are two queries, merged by Id
        (https://blogs.intuit.com/2017/02/08/deep-dive-sql-queries/); `WebAddr` is not a filterable
        Customer field, so web domains are compared by the matcher among the customers found by
        name (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer).
        A CompanyName hit whose DisplayName differs can still be linked by its web domain. Inactive
        customers are asked for explicitly: the default query leaves them out, and a bookkeeper's
        inactive customer still holds the name
        (https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries).
        """
        found: dict[str, Customer] = {}
        prefixes = mapper.name_prefixes(account.name)
        # Every prefix's two searches go in one batch request (items are answered independently):
        # one call whatever the names share, where a request per prefix cost three when a firm's
        # names start alike, and batch requests have a budget of their own (40 a minute).
        per_request = BATCH_MAX_ITEMS // 2
        for chunk in (prefixes[n : n + per_request] for n in range(0, len(prefixes), per_request)):
            # One more row than the bound says whether a prefix is specific enough.
            queries = [
                (
                    "Customer",
                    f"Active IN (true, false) AND {field} LIKE {like_prefix(prefix)}",
                    MAX_MATCH_CANDIDATES + 1,
                )
                for prefix in chunk
                for field in ("DisplayName", "CompanyName")
            ]
            answers = self.client.batch_queries(queries)
            for by_display, by_company in zip(answers[::2], answers[1::2], strict=True):
                found = {}
                for rows in (by_display, by_company):
                    for customer in customers(rows):
                        # A sub-customer is an engagement, never the same customer as an account:
                        # linking an account to one would bill the customer through a project.
                        if customer.Id and not customer.is_sub_customer:
                            found.setdefault(customer.Id, customer)
                if len(found) <= MAX_MATCH_CANDIDATES:
                    return [self._record(customer) for customer in found.values()]
        # When even the whole name starts more customers than the bound, the first ones are
        # returned: every one starts with the whole name, so the matcher still sees it is shared.
        return [self._record(customer) for customer in list(found.values())[:MAX_MATCH_CANDIDATES]]

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord:
        """Create the customer; the requestid comes from the stable key, so a resend creates nothing.

        On 6240 (DisplayName taken) the hub looks for its own earlier customer first: if it carries
        this account's stamp (a create that succeeded before a crash, after the requestid replay
        window), that one is returned. Otherwise the name belongs to someone else's customer,
        vendor or employee; renaming or merging is a bookkeeping decision, so the hub raises
        `ValidationFailed` (an exception record with an owner) and never invents a suffixed name.
        https://developer.intuit.com/hub/blog/2017/06/08/top-quickbooks-online-api-errors-and-how-to-handle-them
        """
        body = mapper.create_payload(account)
        try:
            customer = self.client.create_customer(body, request_id=request_id("c", idempotency_key))
        except DuplicateNameError as exc:
            found = self.find_account(account)
            if found is not None:
                return found
            raise DuplicateNameError(
                f"{exc}. QuickBooks already has a customer, vendor or employee named "
                f"{body['DisplayName']!r} that close2cash did not create for {account.source}: "
                "link it to this account or rename one of them in QuickBooks"
            ) from exc
        return self._record(customer)

    def update_account(
        self,
        record_id: str,
        account: Account,
        *,
        idempotency_key: str,
        last_synced: CrossReference | None = None,
    ) -> TargetRecord:
        """Sparse-update the customer with the current SyncToken; the requestid includes that token.

        With `last_synced` (the ledger's SyncToken and content of our last write or read), the
        update is sent over that SyncToken without reading the customer first: when nobody saved it
        since, that is the current one and the write is one call; when someone did, QBO refuses it
        with 5010 and the customer is read and written as below. The currency check uses the
        currency the customer held as last synced (QBO keeps it fixed once a customer exists).

        Key + SyncToken: a resend of the same write over the same version is replayed by QBO, while
        writing content A, then B, then A again produces three distinct requests (each over a newer
        SyncToken) instead of QBO answering the third with the first one's stale response.

        Stale SyncToken (5010, a bookkeeper saved the customer between our read and our write):
        re-read and retry once. The hub owns every field it sends (the CRM is the system of record)
        and a sparse update leaves the rest alone, so writing over the fresh version loses none of
        the bookkeeper's other edits; a second 5010 means the record is busy, and the error is
        transient so the queue tries again later.
        """
        if last_synced is not None and last_synced.target.version and last_synced.target.id == record_id:
            held = (last_synced.content or {}).get("currency")
            self._refuse_currency_change(record_id, account, held if isinstance(held, str) else None)
            try:
                return self._sparse_write(record_id, account, idempotency_key, last_synced.target.version)
            except StaleObjectError:
                pass  # someone saved it since our last write: read the current version below
        for attempt in (1, 2):
            current = self.client.read_customer(record_id)
            current_view = mapper.account_view(current)
            target = self.project(account)
            self._refuse_currency_change(record_id, account, current_view.currency)
            if current_view.checksum() == target.checksum():
                return self._record(current)  # content already there: no write, no echo
            try:
                return self._sparse_write(record_id, account, idempotency_key, current.SyncToken or "0")
            except StaleObjectError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    @staticmethod
    def _refuse_currency_change(record_id: str, account: Account, held: str | None) -> None:
        if account.currency and held and account.currency != held:
            # CurrencyRef is fixed once a customer exists in QBO.
            # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
            raise ValidationFailed(
                f"quickbooks: customer {record_id} is in {held}; QuickBooks cannot "
                f"change it to {account.currency}: create a new customer for the new currency"
            )

    def _sparse_write(
        self, record_id: str, account: Account, idempotency_key: str, sync_token: str
    ) -> TargetRecord:
        """One sparse update over `sync_token` (StaleObjectError when the customer moved on)."""
        body = mapper.sparse_update_payload(account, customer_id=record_id, sync_token=sync_token)
        try:
            updated = self.client.update_customer(
                body, request_id=request_id("u", idempotency_key, record_id, sync_token)
            )
        except DuplicateNameError as exc:
            raise DuplicateNameError(
                f"{exc}. Renaming customer {record_id} to {body['DisplayName']!r} collides with "
                "another QuickBooks customer, vendor or employee: rename one of them"
            ) from exc
        return self._record(updated)

    def deactivate_account(self, record_id: str, *, reason: str) -> TargetRecord:
        """Make the customer inactive (sparse update Active=false); an inactive one is left as it is.

        QuickBooks has no delete for a Customer: inactive is how one is retired, its invoices,
        payments and history kept, and it can be made active again.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        del reason  # the hub's log and ledger keep it; Notes belong to the bookkeepers
        updated = sparse_update(
            self.client,
            record_id,
            "i",
            lambda current: None if current.Active is False else {"Active": False},
        )
        return self._record(updated)

    # --- ChangeFeed -----------------------------------------------------------------------------

    def changed_accounts(self, since: datetime, until: datetime) -> ChangeWindow:
        """Customers changed since `since`: one ChangeDataCapture call (it has no end; `until` is a
        fallback for an answer without the server's time)."""
        payload = self.client.change_data_capture(changes.VENDOR_TYPE, changes.changed_since_param(since))
        return changes.change_window(payload, since=since, until=until, realm=self.connection.realm_id)

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """`WebhookReceiver`: the company's webhooks, verified and parsed (see `QuickBooksWebhooks`)."""
        return self.webhooks.receive(request)


def build(
    connection: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = epoch_seconds,
    sleep: Callable[[float], None] = time.sleep,
    on_tokens_refreshed: TokensRefreshed | None = None,
    token_store: TokenStore | None = None,
    budgets: RateBudgets | None = None,
) -> QuickBooksConnector:
    """A connector for the company described by `connection` (the secret's fields).

    `clock` (POSIX seconds: token expiries are shared with other containers) and `sleep` drive
    token expiry, the rate budget and retry waits (tests fast-forward them). `token_store` is where
    every container shares the rotating tokens (Secrets Manager in AWS); the connection's
    `refresh_token` is only the first one, used until the store holds a newer one.
    `on_tokens_refreshed(access, refresh)` is told of each refresh (after the store has it).
    `budgets` holds the realm's rate budget (shared by every container; default: this process only).
    """
    settings = QuickBooksConnection.parse(connection)
    client = QuickBooksClient(
        settings,
        transport=transport,
        clock=clock,
        sleep=sleep,
        on_tokens_refreshed=on_tokens_refreshed,
        token_store=token_store,
        budgets=budgets,
    )
    return QuickBooksConnector(settings, client)
