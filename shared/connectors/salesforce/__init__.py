"""Salesforce connector: the CRM as system of record for accounts, and its Outbound Message receiver."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from shared.connectors.http import RetryPolicy
from shared.connectors.salesforce.client import SalesforceClient
from shared.connectors.salesforce.mapper import account_from_payload
from shared.connectors.salesforce.schemas import ApiUsage, SalesforceConnection, is_salesforce_id
from shared.connectors.salesforce.webhooks import OutboundMessageReceiver
from shared.domain.errors import ConfigurationError, ValidationFailed
from shared.domain.models import Account, SystemName
from shared.domain.ports import ReceivedWebhook, WebhookRequest

__all__ = ["SalesforceConnection", "SalesforceConnector", "build"]

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
    "LastModifiedDate",
    "SystemModstamp",
)


class SalesforceConnector:
    """One Salesforce org: reads accounts (AccountSource) and receives Outbound Messages (WebhookReceiver)."""

    system: SystemName = SystemName.SALESFORCE
    provider: SystemName = SystemName.SALESFORCE

    def __init__(
        self,
        connection: SalesforceConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.connection = connection
        self.client = SalesforceClient(connection, transport=transport, sleep=sleep, retry=retry)
        self.receiver = OutboundMessageReceiver(
            organization_id=connection.organization_id,
            endpoint_token=connection.webhook_token.get_secret_value(),
        )
        # CurrencyIsoCode exists only in multi-currency orgs; naming it in SOQL elsewhere fails.
        self._query_fields = (
            (*_ACCOUNT_FIELDS, "CurrencyIsoCode") if connection.multi_currency else _ACCOUNT_FIELDS
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

    # --- WebhookReceiver -----------------------------------------------------------------------

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify and parse one Outbound Message; the reply is the SOAP Ack Salesforce waits for."""
        return self.receiver.receive(request)


def build(
    connection: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
) -> SalesforceConnector:
    """A connector for one org from its connection settings (see `SalesforceConnection`)."""
    try:
        settings = SalesforceConnection.model_validate(dict(connection))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(connection)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"Salesforce connection settings are invalid: {problems}") from exc
    return SalesforceConnector(settings, transport=transport)
