"""QuickBooks Online connector: a CRM account becomes a QBO Customer; Customer webhooks become notices."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from shared.connectors.quickbooks import mapper, webhooks
from shared.connectors.quickbooks.client import (
    DuplicateNameError,
    QuickBooksClient,
    StaleObjectError,
    TokensRefreshed,
    like_prefix,
    quote_literal,
)
from shared.connectors.quickbooks.schemas import Customer, QuickBooksConnection
from shared.domain.errors import ConfigurationError, ValidationFailed
from shared.domain.models import Account, SystemName
from shared.domain.ports import (
    MAX_MATCH_CANDIDATES,
    ReceivedWebhook,
    TargetRecord,
    WebhookReply,
    WebhookRequest,
)

__all__ = ["QuickBooksConnection", "QuickBooksConnector", "build"]

# `requestid` may be at most 50 characters and must be unique per company.
# https://blogs.intuit.com/blog/2015/04/06/15346/
_REQUEST_ID_DIGEST_CHARS = 40


def _request_id(kind: str, *parts: str) -> str:
    # Hashing keeps any idempotency key under the 50-character cap while staying deterministic.
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_REQUEST_ID_DIGEST_CHARS]
    return f"c2c-{kind}-{digest}"


class QuickBooksConnector:
    """The AccountTarget and WebhookReceiver ports for one QuickBooks Online company."""

    system = SystemName.QUICKBOOKS
    provider = SystemName.QUICKBOOKS

    def __init__(self, connection: QuickBooksConnection, client: QuickBooksClient) -> None:
        self.connection = connection
        self.client = client

    @property
    def http_calls(self) -> int:
        """Vendor calls made so far (attempts, token refreshes included) for the bench figures."""
        return self.client.calls

    @property
    def on_tokens_refreshed(self) -> TokensRefreshed | None:
        """Called with (access_token, refresh_token) after every refresh: persist the refresh token."""
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
        return TargetRecord(ref=mapper.source_ref(customer), view=mapper.account_view(customer))

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
            if mapper.carries_stamp(customer, account.source):
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
        for prefix in mapper.name_prefixes(account.name):
            found = {}
            for field in ("DisplayName", "CompanyName"):
                where = f"Active IN (true, false) AND {field} LIKE {like_prefix(prefix)}"
                # One more row than the bound says whether this prefix is specific enough.
                for customer in self.client.query_customers(where, limit=MAX_MATCH_CANDIDATES + 1):
                    if customer.Id:
                        found.setdefault(customer.Id, customer)
            if len(found) <= MAX_MATCH_CANDIDATES:
                break
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
            customer = self.client.create_customer(body, request_id=_request_id("c", idempotency_key))
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

    def update_account(self, record_id: str, account: Account, *, idempotency_key: str) -> TargetRecord:
        """Sparse-update the customer with the current SyncToken; the requestid includes that token.

        Key + SyncToken: a resend of the same write over the same version is replayed by QBO, while
        writing content A, then B, then A again produces three distinct requests (each over a newer
        SyncToken) instead of QBO answering the third with the first one's stale response.

        Stale SyncToken (5010, a bookkeeper saved the customer between our read and our write):
        re-read and retry once. The hub owns every field it sends (the CRM is the system of record)
        and a sparse update leaves the rest alone, so writing over the fresh version loses none of
        the bookkeeper's other edits; a second 5010 means the record is busy, and the error is
        transient so the queue tries again later.
        """
        for attempt in (1, 2):
            current = self.client.read_customer(record_id)
            current_view = mapper.account_view(current)
            target = self.project(account)
            if account.currency and current_view.currency and account.currency != current_view.currency:
                # CurrencyRef is fixed once a customer exists in QBO.
                # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
                raise ValidationFailed(
                    f"quickbooks: customer {record_id} is in {current_view.currency}; QuickBooks cannot "
                    f"change it to {account.currency}: create a new customer for the new currency"
                )
            if current_view.checksum() == target.checksum():
                return self._record(current)  # content already there: no write, no echo
            sync_token = current.SyncToken or "0"
            body = mapper.sparse_update_payload(account, customer_id=record_id, sync_token=sync_token)
            try:
                updated = self.client.update_customer(
                    body, request_id=_request_id("u", idempotency_key, record_id, sync_token)
                )
            except StaleObjectError:
                if attempt == 2:
                    raise
                continue
            except DuplicateNameError as exc:
                raise DuplicateNameError(
                    f"{exc}. Renaming customer {record_id} to {body['DisplayName']!r} collides with "
                    "another QuickBooks customer, vendor or employee: rename one of them"
                ) from exc
            return self._record(updated)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # --- WebhookReceiver ------------------------------------------------------------------------

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify `intuit-signature` on the raw body, then parse; QBO wants an empty 200 within 3 s.

        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/configure-webhooks
        """
        webhooks.verify(
            self.connection.verifier_token.get_secret_value(),
            request.body,
            request.header(webhooks.SIGNATURE_HEADER),
        )
        notices = webhooks.parse_notices(request.body)
        return ReceivedWebhook(notices=tuple(notices), reply=WebhookReply(status=200, body=""))


def build(
    connection: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_tokens_refreshed: TokensRefreshed | None = None,
) -> QuickBooksConnector:
    """A connector for the company described by `connection` (the secret's fields).

    `clock`/`sleep` drive token expiry, the rate budget and retry waits (tests fast-forward them);
    `on_tokens_refreshed(access, refresh)` is where the caller persists the rotated refresh token.
    """
    try:
        settings = QuickBooksConnection.model_validate(dict(connection))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"quickbooks connection: {where}: {first['msg']}") from exc
    client = QuickBooksClient(
        settings, transport=transport, clock=clock, sleep=sleep, on_tokens_refreshed=on_tokens_refreshed
    )
    return QuickBooksConnector(settings, client)
