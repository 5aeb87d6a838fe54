"""The Salesforce connector: one org as the CRM of record for accounts and opportunities."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from shared.connectors.http import RetryPolicy
from shared.connectors.salesforce import changes
from shared.connectors.salesforce.cdc import ChangeEventReader
from shared.connectors.salesforce.census import SalesforceCensus
from shared.connectors.salesforce.client import SalesforceClient
from shared.connectors.salesforce.connection import SalesforceConnection
from shared.connectors.salesforce.health import (
    RETAINER_HOURS_FIELD,
    RETAINER_ROLLOVER_FIELD,
    health_values,
)
from shared.connectors.salesforce.ids import is_salesforce_id, same_salesforce_id
from shared.connectors.salesforce.mapper import (
    BILLING_MODEL_FIELD,
    DIMENSION_FIELDS,
    OWNED_ELSEWHERE_FIELDS,
    PROJECT_FIELDS,
    ROLE_FIELD,
    SERVICE_LINE_FIELD,
    SETUP_DETAIL_FIELD,
    SETUP_STATUS_FIELD,
    TAX_ID_FIELD,
    WRITE_BACK_FIELDS,
    account_from_payload,
    opportunity_from_payload,
)
from shared.connectors.salesforce.schemas import ApiUsage, QueryResult
from shared.connectors.salesforce.webhooks import ENTITY_BY_SOBJECT, OutboundMessageReceiver
from shared.domain.account_ports import AccountSource, RecordFate
from shared.domain.billing_ports import HealthTarget
from shared.domain.cash import CommercialHealth
from shared.domain.commercial import Opportunity
from shared.domain.engagement_ports import OpportunitySource, SetupOutcome
from shared.domain.errors import (
    ConfigurationError,
    NotFoundError,
    PermanentError,
    TransientError,
    ValidationFailed,
)
from shared.domain.intake_ports import (
    ChangedRecordsFeed,
    ChangeEventReceiver,
    ReceivedWebhook,
    WebhookReceiver,
    WebhookRequest,
)
from shared.domain.models import Account, SystemName
from shared.domain.notices import ReceivedChanges
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus
from shared.domain.sweeps import ChangeFeed, ChangeWindow

if TYPE_CHECKING:
    from shared.domain.ports import RateBudgets

__all__ = ["WRITE_BACK_FIELDS", "SalesforceConnection", "SalesforceConnector", "build"]

_OPPORTUNITY_FIELDS = (
    "Id",
    "Name",
    "AccountId",
    "StageName",
    "IsClosed",
    "IsWon",
    "CloseDate",
    "Amount",
    # Percent, 0..100 (the stage's default unless a person set it): the pipeline weighs open deals by it.
    # https://developer.salesforce.com/docs/platform/field-reference/references/field-reference/salesforce-field-reference-opportunity.html
    "Probability",
    SERVICE_LINE_FIELD,
    BILLING_MODEL_FIELD,
    *DIMENSION_FIELDS,
    RETAINER_HOURS_FIELD,
    RETAINER_ROLLOVER_FIELD,
    # Moves only when StageName changes (API 52.0+), so the hub's own write-back to the
    # opportunity does not look like a new close; a re-open and re-close does.
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm
    "LastStageChangeDate",
    "LastModifiedDate",
    "SystemModstamp",
)
# Product2.Name goes through the line item's child-to-parent relationship inside the subquery.
_LINE_ITEM_FIELDS = ("Id", ROLE_FIELD, "Product2.Name", "Description", "Quantity", "UnitPrice", "SortOrder")

# Fields the canonical account is built from (SOQL names them explicitly; there is no SELECT *).
_ACCOUNT_FIELDS = (
    "Id",
    "Name",
    "Website",
    "Phone",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    TAX_ID_FIELD,
    "LastModifiedDate",
    "SystemModstamp",
)


class SalesforceConnector(SalesforceCensus):
    """One Salesforce org: AccountSource, OpportunitySource (with write-back), HealthTarget,
    WebhookReceiver, ChangeFeed, and the customer and engagement censuses of reconciliation."""

    system = SystemName.SALESFORCE
    # The ports this connector implements (tests/connectors/test_ports.py holds it to its role's).
    implements: ClassVar[tuple[type, ...]] = (
        AccountSource,
        OpportunitySource,
        HealthTarget,
        CustomerCensus,
        EngagementCensus,
        WebhookReceiver,
        ChangeEventReceiver,
        ChangedRecordsFeed,
        ChangeFeed,
    )
    provider: SystemName = SystemName.SALESFORCE

    def __init__(
        self,
        connection: SalesforceConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.connection = connection
        self.client = SalesforceClient(
            connection, transport=transport, sleep=sleep, retry=retry, budgets=budgets
        )
        self.receiver = OutboundMessageReceiver.for_connection(connection)
        self.change_events = ChangeEventReader(
            organization_id=connection.organization_id, own_client=connection.api_client
        )
        # CurrencyIsoCode exists only in multi-currency orgs; naming it in SOQL elsewhere fails.
        self._query_fields = (
            (*_ACCOUNT_FIELDS, "CurrencyIsoCode") if connection.multi_currency else _ACCOUNT_FIELDS
        )
        self._opportunity_fields = (
            (*_OPPORTUNITY_FIELDS, "CurrencyIsoCode") if connection.multi_currency else _OPPORTUNITY_FIELDS
        )

    @property
    def http_calls(self) -> int:
        """Vendor API calls made (token requests and retries included)."""
        return self.client.calls

    @property
    def api_usage(self) -> ApiUsage | None:
        """The org's daily API usage as of the last response (Sforce-Limit-Info), if any was seen."""
        return self.client.api_usage

    def close(self) -> None:
        self.client.close()

    # --- AccountSource -------------------------------------------------------------------------

    def fetch_account(self, account_id: str) -> Account:
        """The current Account from Salesforce, mapped to the canonical model.

        Raises NotFoundError (deleted or never existed), RateLimitedError (daily API allocation
        spent), TransientError, ValidationFailed (the id or the record is unusable).
        """
        if not is_salesforce_id(account_id):
            raise ValidationFailed(f"{account_id!r} is not a 15- or 18-character Salesforce record id")
        return account_from_payload(self.client.get_account(account_id))

    def account_fate(self, account_id: str) -> RecordFate | None:
        """Deleted, or merged into its survivor (MasterRecordId), as the recycle bin says (queryAll).

        None when Salesforce has no record of the id: never created, or emptied from the recycle
        bin (15 days after the delete).
        """
        if not is_salesforce_id(account_id):
            raise ValidationFailed(f"{account_id!r} is not a 15- or 18-character Salesforce record id")
        # The id was checked to be 15/18 alphanumerics just above: nothing else reaches the SOQL text.
        soql = f"SELECT Id, IsDeleted, MasterRecordId FROM Account WHERE Id = '{account_id}'"  # noqa: S608
        rows = list(self.client.query_all(soql))
        if not rows:
            return None
        master = rows[0].get("MasterRecordId")
        return RecordFate(deleted=bool(rows[0].get("IsDeleted")), merged_into=str(master) if master else None)

    def merged_away(self, survivor_id: str) -> list[str]:
        """Accounts merged into `survivor_id`: deleted ones whose MasterRecordId names it (queryAll).

        A merge edits the survivor (its outbound message fires) and deletes the losers (nothing
        fires), so the survivor's notice is when the hub asks.
        https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_queryall.htm
        """
        if not is_salesforce_id(survivor_id):
            raise ValidationFailed(f"{survivor_id!r} is not a 15- or 18-character Salesforce record id")
        soql = (
            "SELECT Id, IsDeleted, MasterRecordId FROM Account "  # noqa: S608 - a checked id only
            f"WHERE IsDeleted = true AND MasterRecordId = '{survivor_id}'"
        )
        return [str(row["Id"]) for row in self.client.query_all(soql)]

    def fetch_with_merged(self, account_id: str) -> tuple[Account, list[str]]:
        """The Account and the accounts merged into it, in one queryAll (one API call, not two).

        queryAll returns deleted records too, so `Id = X OR MasterRecordId = X` brings the account
        itself and every merge loser that names it as master (deleted, IsDeleted true). An account
        that is itself deleted is NotFoundError, as `fetch_account` says.
        https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_queryall.htm
        https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-select-logicaloperators.html
        """
        if not is_salesforce_id(account_id):
            raise ValidationFailed(f"{account_id!r} is not a 15- or 18-character Salesforce record id")
        # The id was checked to be 15/18 alphanumerics just above: nothing else reaches the SOQL text.
        soql = (
            f"SELECT {', '.join(self._query_fields)}, IsDeleted, MasterRecordId FROM Account "  # noqa: S608
            f"WHERE Id = '{account_id}' OR MasterRecordId = '{account_id}'"
        )
        account: Account | None = None
        losers: list[str] = []
        for row in self.client.query_all(soql):
            if same_salesforce_id(str(row.get("Id")), account_id):
                if not row.get("IsDeleted"):
                    account = account_from_payload(row)
            elif row.get("IsDeleted") and same_salesforce_id(
                str(row.get("MasterRecordId") or ""), account_id
            ):
                losers.append(str(row["Id"]))
        if account is None:
            raise NotFoundError(f"salesforce: Account {account_id} does not exist or is deleted")
        return account, losers

    def changed_accounts(self, since: datetime, until: datetime) -> ChangeWindow:
        """Accounts edited, created or deleted after `since` up to `until`: one queryAll (ChangeFeed)."""
        rows = self.client.query_all(changes.changed_accounts_soql(since, until))
        return changes.change_window(rows, until, self.connection.organization_id)

    def show_owned_elsewhere(self, account_id: str, values: Mapping[str, str | None]) -> None:
        """Write the fields other systems own onto the Account (PATCH of sObject Rows by Id).

        They are shown, not read back: the CRM does not own them, so `fetch_account` leaves them out
        and the echo of this write changes nothing downstream.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_update_fields.htm
        """
        if not is_salesforce_id(account_id):
            raise ValidationFailed(f"{account_id!r} is not a 15- or 18-character Salesforce record id")
        unknown = sorted(set(values) - set(OWNED_ELSEWHERE_FIELDS))
        if unknown:
            raise ConfigurationError(
                f"Salesforce has no Account field for {', '.join(unknown)}; "
                f"expected one of {', '.join(sorted(OWNED_ELSEWHERE_FIELDS))}"
            )
        self.client.update_record(
            "Account", account_id, {OWNED_ELSEWHERE_FIELDS[name]: value for name, value in values.items()}
        )

    def accounts_modified_since(self, since: datetime | None = None) -> Iterator[Account]:
        """Every Account changed after `since` (all accounts when None), oldest change first.

        Used by reconciliation and catch-up after missed outbound messages (they are dropped after
        24 hours); SystemModstamp is indexed, LastModifiedDate is not.
        """
        # Only constant field names and a formatted datetime go into the SOQL text: nothing user-supplied.
        soql = f"SELECT {', '.join(self._query_fields)} FROM Account"  # noqa: S608
        if since is not None:
            if since.tzinfo is None:
                raise ValueError("since must be timezone-aware")
            literal = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            soql += f" WHERE SystemModstamp > {literal}"
        soql += " ORDER BY SystemModstamp ASC"
        for record in self.client.query(soql):
            yield account_from_payload(record)

    # --- OpportunitySource ---------------------------------------------------------------------

    def fetch_opportunity(self, opportunity_id: str) -> Opportunity:
        """The current Opportunity and all its line items, in one SOQL query, as the canonical model.

        Raises NotFoundError (deleted or never existed), RateLimitedError, TransientError,
        ValidationFailed (the id is malformed, or a field the hub needs is blank or unknown).
        """
        if not is_salesforce_id(opportunity_id):
            raise ValidationFailed(f"{opportunity_id!r} is not a 15- or 18-character Salesforce record id")
        # A parent-to-child subquery names the child relationship (OpportunityLineItems), so the
        # opportunity and its products come back in one call.
        # https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-relationships-query-using.md
        # The id was checked to be 15/18 alphanumerics just above: nothing else reaches the SOQL text.
        soql = (
            f"SELECT {', '.join(self._opportunity_fields)}, "  # noqa: S608
            f"(SELECT {', '.join(_LINE_ITEM_FIELDS)} FROM OpportunityLineItems ORDER BY SortOrder) "
            f"FROM Opportunity WHERE Id = '{opportunity_id}'"
        )
        rows = list(self.client.query(soql))
        if not rows:
            raise NotFoundError(f"salesforce: Opportunity {opportunity_id} does not exist or is deleted")
        row = rows[0]
        line_items: list[dict[str, Any]] = []
        children = row.get("OpportunityLineItems")
        if isinstance(children, dict):
            # A subquery's records are a query result of their own: the first page is inline, the
            # rest behind its nextRecordsUrl.
            # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/api/sforce_api_calls_soql_relationships_query_results.htm
            first = QueryResult.model_validate(children)
            line_items.extend(first.records)
            for page in self.client.more_pages(first):
                line_items.extend(page.records)
        return opportunity_from_payload(
            row, line_items, corporate_currency=self.connection.corporate_currency
        )

    def write_back(self, opportunity_id: str, outcome: SetupOutcome) -> datetime | None:
        """Write setup's outcome into the opportunity's C2C_* fields; twice leaves the same values.

        Why an update by record id and not the external-id upsert the issue names: in REST, upsert
        works on external id fields, not record ids, and an unmatched value *creates* a record
        (https://developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html). The hub
        never wants a new opportunity here, and it already holds the one key that is unique by
        construction, the record Id. PATCH of sObject Rows sets fixed values on that one record, so
        a retried or repeated write leaves the same state, and a deleted opportunity is a 404
        (NotFoundError) instead of a phantom deal. Every field is sent, blanks as null, so a later
        outcome (e.g. rejected after pending_approval) clears what no longer applies.

        The PATCH and a read of SystemModstamp go in one composite call: the instant returned is the
        one the outbound message about this very write carries, so the workflow start can tell the
        write-back's echo from a salesperson's edit without fetching the deal.
        """
        if not is_salesforce_id(opportunity_id):
            raise ValidationFailed(f"{opportunity_id!r} is not a 15- or 18-character Salesforce record id")
        after = self.client.update_and_read(
            "Opportunity",
            opportunity_id,
            {
                # Each system's project id in the field of the role it plays (PSA, accounting).
                **{field: outcome.project_id(role) for role, field in PROJECT_FIELDS.items()},
                SETUP_STATUS_FIELD: outcome.status,
                SETUP_DETAIL_FIELD: outcome.detail,
            },
            ("SystemModstamp",),
        )
        return _instant(after.get("SystemModstamp"))

    # --- HealthTarget ------------------------------------------------------------------------

    def write_health(
        self, *, opportunity: str, deal: CommercialHealth, account: str, customer: CommercialHealth
    ) -> None:
        """Write the deal's figures onto the opportunity and the customer's onto the account, in one
        all-or-none sObject Collections PATCH (one API call; neither record changes if one fails).

        Fixed values by record Id, like `write_back`: the same figures twice leave the same record,
        a deleted record is NotFoundError. The hub never reads these fields (they are not in the
        account or opportunity it maps), so the echo of this write changes nothing: a change event
        names the hub as its client (dropped as own_write), and an outbound message makes the
        workflow start find the same close (one execution) and the account sync the same checksum.

        In a single-currency org the figures must be in the corporate currency; in a multi-currency
        org currency fields are read in the record's CurrencyIsoCode, which the caller's figures use.
        """
        for record_id in (opportunity, account):
            if not is_salesforce_id(record_id):
                raise ValidationFailed(f"{record_id!r} is not a 15- or 18-character Salesforce record id")
        if not self.connection.multi_currency:
            for health in (deal, customer):
                if health.currency != self.connection.corporate_currency:
                    raise ValidationFailed(
                        f"the org keeps amounts in {self.connection.corporate_currency} only; "
                        f"commercial health in {health.currency} cannot be written"
                    )
        results = self.client.update_records(
            [("Opportunity", opportunity, health_values(deal)), ("Account", account, health_values(customer))]
        )
        if len(results) != 2:
            raise TransientError(f"salesforce: collections answered {len(results)} results for 2 records")
        # With allOrNone the record at fault names its error; the other says it was rolled back.
        failed = [
            (sobject, record_id, result)
            for (sobject, record_id), result in zip(
                (("Opportunity", opportunity), ("Account", account)), results, strict=True
            )
            if not result.success and "ALL_OR_NONE_OPERATION_ROLLED_BACK" not in result.status_codes
        ]
        if not failed:
            if all(result.success for result in results):
                return
            raise PermanentError("salesforce: commercial health was rolled back without a reason")
        sobject, record_id, result = failed[0]
        message = f"salesforce: commercial health not written on {sobject} {record_id}: {result.describe()}"
        if result.status_codes & {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"}:
            raise NotFoundError(message)
        raise PermanentError(message)

    # --- Change Data Capture (Event Relay) -----------------------------------------------------

    def read_change_event(self, event: Mapping[str, Any]) -> ReceivedChanges:
        """`ChangeEventReceiver`: one relayed change event of this org, as notices and sweeps."""
        return self.change_events.read_change_event(event)

    def records_changed_since(self, vendor_type: str, since: datetime) -> list[str]:
        """`ChangedRecordsFeed`: ids of the `vendor_type` records changed at or after `since`, oldest
        first (SystemModstamp is indexed; deleted records are the delete sweep's)."""
        if vendor_type not in ENTITY_BY_SOBJECT:
            raise ValidationFailed(f"the hub sweeps only {', '.join(ENTITY_BY_SOBJECT)}, not {vendor_type!r}")
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        literal = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A type from the fixed table and a formatted datetime: nothing user-supplied reaches the SOQL.
        soql = (
            f"SELECT Id FROM {vendor_type} WHERE SystemModstamp >= {literal} "  # noqa: S608
            "ORDER BY SystemModstamp ASC"
        )
        return [str(row["Id"]) for row in self.client.query(soql)]

    # --- WebhookReceiver -----------------------------------------------------------------------

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify and parse one Outbound Message; the reply is the SOAP Ack Salesforce waits for."""
        return self.receiver.receive(request)


def build(
    connection: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    budgets: RateBudgets | None = None,
) -> SalesforceConnector:
    """A connector for one org from its connection settings (see `SalesforceConnection`).

    `budgets` holds the org's daily request budget (shared by every container; default: this process).
    """
    settings = SalesforceConnection.parse(connection)
    return SalesforceConnector(settings, transport=transport, budgets=budgets)


def _instant(value: object) -> datetime | None:
    """A Salesforce dateTime (`2026-12-01T22:44:31.923+0000`) as aware UTC, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # Python 3.11's parser reads the "+0000" offset Salesforce writes.
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
