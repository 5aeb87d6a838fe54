"""The reconciliation censuses on Salesforce: every Account, every won Opportunity, as the org holds them.

Both are one SOQL query each, read through the Query resource in batches of the largest size the
org allows (2,000 records, `Sforce-Query-Options: batchSize`), following nextRecordsUrl: 2,500
accounts are two calls. The CRM holds no time, expenses or invoices, so it answers neither
`WorkCensus` nor `InvoiceCensus`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.connectors.salesforce.health import HEALTH_FIELDS, health_from_values
from shared.connectors.salesforce.mapper import (
    OPPORTUNITY_TYPE,
    SETUP_STATUS_FIELD,
    account_from_payload,
    setup_status,
    version_of,
)
from shared.connectors.salesforce.schemas import SalesforceOpportunity
from shared.domain.account_ports import TargetRecord
from shared.domain.errors import ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.reconciliation_ports import HeldEngagement

if TYPE_CHECKING:
    from shared.connectors.salesforce.client import SalesforceClient
    from shared.connectors.salesforce.connection import SalesforceConnection

__all__ = ["SalesforceCensus"]

# What a won deal is held as: its amount, its customer, setup's status, the health the hub wrote.
_ENGAGEMENT_FIELDS = (
    "Id",
    "Name",
    "AccountId",
    "Amount",
    SETUP_STATUS_FIELD,
    *(field.name for field in HEALTH_FIELDS),
    "SystemModstamp",
)


class SalesforceCensus:
    """`CustomerCensus` and `EngagementCensus` for one org (mixed into the connector)."""

    connection: SalesforceConnection
    client: SalesforceClient
    # The Account fields the canonical account is built from (the connector's, with CurrencyIsoCode
    # in a multi-currency org): the same list `fetch_with_merged` reads, never a second one.
    _query_fields: tuple[str, ...]

    def census_customers(self) -> Iterator[TargetRecord]:
        """Every Account (deleted ones are the recycle bin's, not the org's), mapped as fetch_account maps it.

        The CRM is the system of record: its accounts carry no hub stamp (origin None).
        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
        """
        # Constant field names only: nothing user-supplied reaches the SOQL text.
        soql = f"SELECT {', '.join(self._query_fields)} FROM Account"  # noqa: S608
        for row in self.client.query(soql):
            account = account_from_payload(row)
            yield TargetRecord(ref=account.source, view=account, origin=None)

    def census_engagements(self) -> Iterator[HeldEngagement]:
        """Every won Opportunity (IsWon: a closed stage marked won, whatever it is called) as the
        engagement it books: amount, customer, setup status and the commercial health fields.

        https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html
        https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm
        """
        fields = (
            (*_ENGAGEMENT_FIELDS, "CurrencyIsoCode") if self.connection.multi_currency else _ENGAGEMENT_FIELDS
        )
        # Constant field names only: nothing user-supplied reaches the SOQL text.
        soql = f"SELECT {', '.join(fields)} FROM Opportunity WHERE IsWon = true"  # noqa: S608
        instance: str | None = None
        for row in self.client.query(soql):
            instance = instance or self.client.instance_url()
            yield self._held(row, instance)

    def _held(self, row: dict[str, Any], instance: str) -> HeldEngagement:
        try:
            record = SalesforceOpportunity.model_validate(row)
        except ValidationError as exc:
            raise ValidationFailed(f"Salesforce Opportunity row is not valid: {exc}") from exc
        stamp = record.system_modstamp or record.last_modified_date
        ref = SourceRef(
            system=SystemName.SALESFORCE,
            type=OPPORTUNITY_TYPE,
            id=record.id,
            version=version_of(stamp) if stamp else None,
        )
        currency = ((record.currency_iso_code or "").strip() or self.connection.corporate_currency).upper()
        return HeldEngagement(
            system=SystemName.SALESFORCE,
            ref=ref,
            name=(record.name or "").strip() or f"Opportunity {record.id}",
            opportunity=ref,
            customer=(record.account_id or "").strip() or None,
            status=setup_status(row.get(SETUP_STATUS_FIELD)),
            booked=Money.of(record.amount, currency) if record.amount is not None else None,
            health=health_from_values(row, currency),
            # The record page in Lightning Experience.
            # https://developer.salesforce.com/docs/atlas.en-us.lightning.meta/lightning/components_navigation_page_definitions.htm
            link=f"{instance}/lightning/r/Opportunity/{record.id}/view",
        )
