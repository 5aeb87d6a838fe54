"""QuickBooks Online connector: accounts as Customers, engagements as sub-customers, webhooks as notices."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from shared.connectors.quickbooks import changes, mapper, webhooks
from shared.connectors.quickbooks.client import (
    DuplicateNameError,
    QuickBooksClient,
    StaleObjectError,
    TokensRefreshed,
    like_prefix,
    quote_literal,
)
from shared.connectors.quickbooks.schemas import Customer, QuickBooksConnection, TrackingCategory
from shared.domain.errors import ConfigurationError, TransientError, ValidationFailed
from shared.domain.models import Account, SourceRef, SystemName, epoch_seconds
from shared.domain.ports import (
    MAX_MATCH_CANDIDATES,
    CrossReference,
    EngagementRecord,
    EngagementStatus,
    ReceivedWebhook,
    TargetRecord,
    WebhookReply,
    WebhookRequest,
)
from shared.domain.sweeps import ChangeWindow
from shared.domain.tokens import TokenStore

if TYPE_CHECKING:
    from shared.domain.commercial import RateCard
    from shared.domain.engagements import Engagement
    from shared.domain.ports import RateBudgets

__all__ = ["QuickBooksConnection", "QuickBooksConnector", "build"]

# `requestid` may be at most 50 characters and must be unique per company.
# https://blogs.intuit.com/blog/2015/04/06/15346/
_REQUEST_ID_DIGEST_CHARS = 40


def _request_id(kind: str, *parts: str) -> str:
    # Hashing keeps any idempotency key under the 50-character cap while staying deterministic.
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_REQUEST_ID_DIGEST_CHARS]
    return f"c2c-{kind}-{digest}"


# Sub-customers are the only customers whose FullyQualifiedName has a colon ("Parent:Child"): QBO
# refuses colons in a name. FullyQualifiedName is filterable (Job and ParentRef are not), so this
# narrows a search to sub-customers in the query itself.
# https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
_SUB_CUSTOMERS = "FullyQualifiedName LIKE " + quote_literal("%:%")


class QuickBooksConnector:
    """The AccountTarget, EngagementTarget and WebhookReceiver ports for one QuickBooks Online company."""

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
        return TargetRecord(
            ref=mapper.source_ref(customer),
            view=mapper.account_view(customer),
            origin=None if customer.is_sub_customer else mapper.stamp_origin(customer),
        )

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
        for prefix in mapper.name_prefixes(account.name):
            found = {}
            # Both queries go in one batch request (one call): items are answered independently.
            # One more row than the bound says whether this prefix is specific enough.
            queries = [
                (
                    "Customer",
                    f"Active IN (true, false) AND {field} LIKE {like_prefix(prefix)}",
                    MAX_MATCH_CANDIDATES + 1,
                )
                for field in ("DisplayName", "CompanyName")
            ]
            for rows in self.client.batch_queries(queries):
                for customer in _customers(rows):
                    # A sub-customer is an engagement, never the same customer as an account:
                    # linking an account to one would bill the customer through a project.
                    if customer.Id and not customer.is_sub_customer:
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
                body, request_id=_request_id("u", idempotency_key, record_id, sync_token)
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
        updated = self._sparse_update(
            record_id, "i", lambda current: None if current.Active is False else {"Active": False}
        )
        return self._record(updated)

    # --- EngagementTarget -----------------------------------------------------------------------
    #
    # The engagement's financial project is a sub-customer (Customer with Job=true and ParentRef)
    # under the account's customer, created with the v3 REST Customer endpoint. QBO "Projects" are
    # created only through the GraphQL Project API (projectManagementCreateProject, its own OAuth
    # scope project-management.project, and a company with ProjectsEnabled); in REST, `IsProject`
    # is a read-only flag that QBO ignores on writes. The sub-customer is what REST documents for
    # job costing, works on every QBO edition, and is what a QBO project is underneath (a
    # sub-customer billed with its parent), so time, expenses and invoices post to it by CustomerRef.
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
    # https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-projects/develop-project
    # https://developer.intuit.com/app/developer/qbo/docs/workflows/manage-projects/get-started
    # https://github.com/intuit/QuickBooks-V3-DotNET-SDK/issues/197

    def find_engagement(
        self, opportunity: SourceRef, *, customer_id: str | None = None
    ) -> EngagementRecord | None:
        """The sub-customer an earlier attempt created for `opportunity`, found by its Notes stamp.

        Inactive ones included: a DRAFT or CLOSED engagement is inactive, and the default query
        leaves inactive customers out. Every sub-customer's stamp is compared exactly, so
        `customer_id` is not needed to narrow anything.
        https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
        """
        del customer_id
        customer = self._stamped_sub_customer(opportunity)
        return None if customer is None else mapper.engagement_record(customer)

    def _stamped_sub_customer(self, source: SourceRef) -> Customer | None:
        where = f"Active IN (true, false) AND {_SUB_CUSTOMERS}"
        for customer in self.client.query_customers(where):
            if customer.is_sub_customer and mapper.carries_stamp(customer, source):
                return customer
        return None

    def create_engagement(
        self, engagement: Engagement, *, customer_id: str, idempotency_key: str, searched: bool = False
    ) -> EngagementRecord:
        """Create the engagement as an inactive (DRAFT) sub-customer of customer `customer_id`.

        `engagement.dimensions.accounting_class` / `.department` arrive already mapped to QBO Class
        and Department ids; each is checked to exist and be active before anything is written, since
        a posting tagged with a missing class would fail much later. The requestid comes from
        `idempotency_key`, so a resend replays the first answer; after the replay window a 6240
        (name taken) finds our own stamped sub-customer instead of failing.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        https://blogs.intuit.com/blog/2015/04/06/15346/
        """
        del searched  # nothing is looked up first: the requestid and the name refuse a second one
        class_id, department_id = _tracking_ids(engagement)
        self._check_before_create(customer_id, engagement, class_id, department_id)
        body = mapper.engagement_create_payload(
            engagement, parent_id=customer_id, class_id=class_id, department_id=department_id
        )
        # DisplayName is unique across all customers, vendors and employees, sub-customers included,
        # so two clients' deals called "Phase 2" collide: the second is named after its deal as well.
        names = (body["DisplayName"], mapper.engagement_unique_name(engagement))
        for attempt, name in enumerate(names):
            key = idempotency_key if attempt == 0 else f"{idempotency_key}:{attempt}"
            try:
                customer = self.client.create_customer(
                    {**body, "DisplayName": name}, request_id=_request_id("e", key)
                )
                break
            except DuplicateNameError as exc:
                found = self._stamped_sub_customer(mapper.engagement_stamp_source(engagement))
                if found is not None:
                    return mapper.engagement_record(found)
                if attempt == len(names) - 1:
                    raise DuplicateNameError(
                        f"{exc}. QuickBooks already has customers, vendors or employees named "
                        f"{names[0]!r} and {name!r} that close2cash did not create for this "
                        "engagement: rename the engagement or those records"
                    ) from exc
        if customer.Active is not False and customer.Id:
            # Active is writable on Customer, but should a company answer a create with an active
            # record anyway, the draft is made inactive at once rather than left open for posting.
            return self._write_engagement(customer.Id, "d", lambda _: {"Active": False})
        return mapper.engagement_record(customer)

    def _check_before_create(
        self, customer_id: str, engagement: Engagement, class_id: str | None, department_id: str | None
    ) -> None:
        """The class, the department and the parent customer, read in one batch request, then checked."""
        queries: list[tuple[str, str | None, int]] = [
            ("Customer", f"Active IN (true, false) AND Id = {quote_literal(customer_id)}", 1)
        ]
        tracked = [
            (kind, entity, wanted)
            for kind, entity, wanted in (
                ("class", "Class", class_id),
                ("department", "Department", department_id),
            )
            if wanted
        ]
        queries += [
            (entity, f"Active IN (true, false) AND Id = {quote_literal(wanted)}", 1)
            for _, entity, wanted in tracked
        ]
        parent, *lists = self.client.batch_queries(queries)
        for (kind, _, wanted), rows in zip(tracked, lists, strict=True):
            self._require_tracking(kind, wanted, _tracking(rows))
        self._require_parent(customer_id, engagement, _customers(parent))

    def _look_up_tracking(
        self, kind: str, wanted: str | None, query: Callable[[str], list[TrackingCategory]]
    ) -> None:
        """`_require_tracking` with its own query (inactive ones asked for too)."""
        if wanted:
            self._require_tracking(
                kind, wanted, query(f"Active IN (true, false) AND Id = {quote_literal(wanted)}")
            )

    def _require_tracking(self, kind: str, wanted: str | None, found: list[TrackingCategory]) -> None:
        """Raise `ValidationFailed` naming `wanted` unless that Class/Department exists and is active.

        Inactive ones are asked for too, so the error can say "inactive" rather than "missing".
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/class
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/department
        """
        if not wanted:
            return
        if not found:
            raise ValidationFailed(
                f"quickbooks: {kind} {wanted!r} does not exist in company {self.connection.realm_id}: "
                f"map the engagement's {kind} to an existing QuickBooks {kind} id"
            )
        if found[0].Active is False:
            raise ValidationFailed(
                f"quickbooks: {kind} {wanted!r} ({found[0].Name}) is inactive in company "
                f"{self.connection.realm_id}: make it active or map the engagement to another {kind}"
            )

    def _require_parent(self, customer_id: str, engagement: Engagement, found: list[Customer]) -> None:
        """The parent must be an active customer in the engagement's currency, or a clear refusal.

        QBO answers a reference to an inactive customer with 610 "made inactive"; reading first
        lets the error name the customer. A sub-customer shares its parent's currency.
        """
        if not found:
            raise ValidationFailed(
                f"quickbooks: customer {customer_id} for engagement {engagement.name!r} does not exist: "
                "sync the account to QuickBooks first"
            )
        parent = found[0]
        if parent.Active is False:
            raise ValidationFailed(
                f"quickbooks: customer {customer_id} ({parent.DisplayName}) is inactive: "
                "make it active before setting up an engagement under it"
            )
        currency = parent.CurrencyRef.value if parent.CurrencyRef else self.connection.home_currency
        if currency != engagement.currency:
            raise ValidationFailed(
                f"quickbooks: customer {customer_id} is in {currency}, the engagement in "
                f"{engagement.currency}: a sub-customer takes its parent's currency"
            )

    def apply_rate_card(self, record_id: str, rate_card: RateCard) -> None:
        """A no-op: QBO keeps no rates on a customer or project.

        Rates live on the transactions: a TimeActivity carries its own HourlyRate and an invoice
        line its price, both written from the rate card when time is posted.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/timeactivity
        """
        del record_id, rate_card

    def activate_engagement(self, record_id: str) -> EngagementRecord:
        """Make the sub-customer active (sparse update with its SyncToken); active already: no write.

        A CLOSED engagement is refused: it was compensated because its setup was rejected or failed.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """

        def activate(current: Customer) -> dict[str, Any] | None:
            status = mapper.engagement_status(current)
            if status is EngagementStatus.CLOSED:
                raise ValidationFailed(
                    f"quickbooks: engagement {record_id} was closed "
                    f"({mapper.stamped_value(current, mapper.CLOSED_LINE)}); it cannot be activated"
                )
            return None if status is EngagementStatus.ACTIVE else {"Active": True}

        return self._write_engagement(record_id, "a", activate)

    def reopen_engagement(self, record_id: str, engagement: Engagement) -> EngagementRecord:
        """Drop the closed mark of a compensated sub-customer, which stays inactive: a draft again.

        The class and department lines are rewritten from `engagement` (checked first, as at
        creation), since the mapping may have been corrected before the retry. DRAFT and ACTIVE
        are returned as they are.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        class_id, department_id = _tracking_ids(engagement)

        def reopen(current: Customer) -> dict[str, Any] | None:
            if mapper.engagement_status(current) is not EngagementStatus.CLOSED:
                return None
            self._look_up_tracking("class", class_id, self.client.query_classes)
            self._look_up_tracking("department", department_id, self.client.query_departments)
            notes = mapper.notes_reopened(current.Notes, class_id=class_id, department_id=department_id)
            return {"Active": False, "Notes": notes}

        return self._write_engagement(record_id, "o", reopen)

    def close_engagement(self, record_id: str, *, reason: str) -> EngagementRecord:
        """Make the sub-customer inactive with `reason` in its Notes; closed already: no write.

        QBO has no delete for customers: making one inactive is its delete, and keeps any history.
        The reason is one more line of the Notes stamp, so `find_engagement` still finds it.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """

        def close(current: Customer) -> dict[str, Any] | None:
            if mapper.engagement_status(current) is EngagementStatus.CLOSED:
                return None
            return {"Active": False, "Notes": mapper.notes_with_closed_reason(current.Notes, reason)}

        return self._write_engagement(record_id, "x", close)

    def _write_engagement(
        self, record_id: str, kind: str, change: Callable[[Customer], dict[str, Any] | None]
    ) -> EngagementRecord:
        """`_sparse_update` of a sub-customer (an engagement); any other customer is refused."""

        def checked(current: Customer) -> dict[str, Any] | None:
            if not current.is_sub_customer:
                raise ValidationFailed(
                    f"quickbooks: customer {record_id} is not a sub-customer: it is not an engagement"
                )
            return change(current)

        return mapper.engagement_record(self._sparse_update(record_id, kind, checked))

    def _sparse_update(
        self, record_id: str, kind: str, change: Callable[[Customer], dict[str, Any] | None]
    ) -> Customer:
        """Read, let `change` decide the fields (None: nothing to do), sparse-update over the SyncToken.

        The requestid is the record + its SyncToken, so a resend over the same version replays.
        A 5010 (someone saved it meanwhile) re-reads and retries once, as `update_account` does.
        https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/customer
        """
        for attempt in (1, 2):
            current = self.client.read_customer(record_id)
            fields = change(current)
            if fields is None:
                return current
            sync_token = current.SyncToken or "0"
            body = {"Id": record_id, "SyncToken": sync_token, "sparse": True, **fields}
            try:
                return self.client.update_customer(body, request_id=_request_id(kind, record_id, sync_token))
            except StaleObjectError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    # --- WebhookReceiver ------------------------------------------------------------------------

    # --- ChangeFeed -----------------------------------------------------------------------------

    def changed_accounts(self, since: datetime, until: datetime) -> ChangeWindow:
        """Customers changed since `since`: one ChangeDataCapture call (it has no end; `until` is a
        fallback for an answer without the server's time)."""
        payload = self.client.change_data_capture(changes.VENDOR_TYPE, changes.changed_since_param(since))
        return changes.change_window(payload, since=since, until=until, realm=self.connection.realm_id)

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify `intuit-signature` on the raw body, then parse; QBO wants an empty 200 within 3 s.

        https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks/configure-webhooks
        """
        webhooks.verify(
            self.connection.verifier_token.get_secret_value(),
            request.body,
            request.header(webhooks.SIGNATURE_HEADER),
        )
        notices, foreign = webhooks.for_connected_company(
            webhooks.parse_notices(request.body), self.connection.realm_id
        )
        return ReceivedWebhook(
            notices=tuple(notices),
            reply=WebhookReply(status=200, body=""),
            dropped={webhooks.FOREIGN_REALM: foreign} if foreign else {},
        )


def _customers(rows: list[dict[str, Any]]) -> list[Customer]:
    try:
        return [Customer.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise TransientError(f"quickbooks: query customers: unreadable row: {exc}") from exc


def _tracking(rows: list[dict[str, Any]]) -> list[TrackingCategory]:
    try:
        return [TrackingCategory.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise TransientError(f"quickbooks: query tracking lists: unreadable row: {exc}") from exc


def _tracking_ids(engagement: Engagement) -> tuple[str | None, str | None]:
    """The QBO Class and Department ids an engagement's postings carry, already mapped.

    QBO has two tracking lists: Class (the service line) and Department, which its UI calls
    Location. A delivery location maps to it when the deal names one, else the department.
    https://developer.intuit.com/app/developer/qbo/docs/workflows/categorize-income-and-expenses
    """
    dimensions = engagement.dimensions
    return dimensions.accounting_class, dimensions.location or dimensions.department


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
    try:
        settings = QuickBooksConnection.model_validate(dict(connection))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"quickbooks connection: {where}: {first['msg']}") from exc
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
