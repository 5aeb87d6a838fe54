"""Productive.io connector: a CRM account becomes a Productive company (client); signed webhooks come back."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError

from shared.connectors.productive import mapper
from shared.connectors.productive.client import ProductiveClient
from shared.connectors.productive.schemas import CompanyResource, ProductiveConnection
from shared.connectors.productive.webhooks import ProductiveWebhooks
from shared.domain.errors import ConfigurationError, PermanentError
from shared.domain.models import Account, SystemName, utcnow
from shared.domain.ports import MAX_MATCH_CANDIDATES, ReceivedWebhook, TargetRecord, WebhookRequest

__all__ = ["ProductiveConnection", "ProductiveConnector", "build"]


class ProductiveConnector:
    """Productive as an AccountTarget (companies) and as a WebhookReceiver (Productive-Signature)."""

    system = SystemName.PRODUCTIVE
    provider = SystemName.PRODUCTIVE

    def __init__(
        self,
        connection: ProductiveConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.connection = connection
        self.client = ProductiveClient(connection, transport=transport, sleep=sleep)
        self.webhooks = ProductiveWebhooks(
            secret=connection.webhook_secret.get_secret_value(),
            organization_id=connection.organization_id,
            tolerance_seconds=connection.webhook_tolerance_seconds,
            clock=clock,
        )

    @property
    def http_calls(self) -> int:
        """Vendor API calls made so far (from VendorHttp.calls)."""
        return self.client.calls

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.client.close()

    # --- AccountTarget ------------------------------------------------------------------------

    def project(self, account: Account) -> Account:
        """The content a Productive company holds after `account` is written."""
        return mapper.project(account)

    @staticmethod
    def _record(company: CompanyResource) -> TargetRecord:
        view = mapper.account_from_company(company)
        return TargetRecord(ref=view.source, view=view)

    def read_account(self, record_id: str) -> TargetRecord:
        """The company `record_id` seen as an Account; NotFoundError when it does not exist."""
        return self._record(self.client.get_company(record_id))

    def find_account(self, account: Account) -> TargetRecord | None:
        """The company this hub created for `account`, found by the reference in `company_code`."""
        code = mapper.reference_code(account.source)
        # `eq` is asked for explicitly (https://developer.productive.io/ "Filter Operations"), and the
        # match is checked again here so a looser server-side match can never link the wrong client.
        for company in self.client.iter_companies({"company_code:eq": code}):
            if (company.attributes.company_code or "").strip() == code:
                return self._record(company)
        return None

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        """Companies whose name contains the account name's leading words, at most MAX_MATCH_CANDIDATES.

        Productive's companies endpoint filters by `name` (and code, billing name, VAT, ...) but not
        by `domain` (https://developer.productive.io/companies.html "Supported filter params"), so
        the search is by name only; the matcher still compares web sites among what it finds. Of
        the filter operations, `contains` is used rather than `eq`: `eq` is exact, so
        "ACME Consulting" would never find "Acme Consulting LLC", and there is no "starts with"
        (https://developer.productive.io/ "Filter Operations"). Archived companies are included:
        they are still the customer, and deciding is the matcher's job.
        """
        companies: list[CompanyResource] = []
        for prefix in mapper.name_prefixes(account.name):
            # One page of one more than the bound says whether the prefix is specific enough.
            page = self.client.list_companies(
                {"name:contains": prefix}, page_number=1, page_size=MAX_MATCH_CANDIDATES + 1
            )
            companies = page.data
            total = page.meta.total_count if page.meta.total_count is not None else len(companies)
            if total <= MAX_MATCH_CANDIDATES:
                break
        # When even the whole name is in more companies than the bound, the first ones are returned:
        # every one contains the whole name, so the matcher still sees that the name is shared.
        return [self._record(company) for company in companies[:MAX_MATCH_CANDIDATES]]

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord:
        """Create the company, or return the one an earlier attempt created.

        Productive offers no idempotency key on POST, so the stamped `company_code` is the device: look
        it up first, and if a retried POST is refused because the code is taken (the first attempt did
        land), find that company instead of failing. `idempotency_key` is therefore not sent.
        """
        del idempotency_key  # no vendor device to pass it to; see the docstring
        existing = self.find_account(account)
        if existing is not None:
            return self._converge(existing, account)
        try:
            created = self.client.create_company(mapper.company_attributes(account))
        except PermanentError:
            landed = self.find_account(account)
            if landed is None:
                raise
            return self._converge(landed, account)
        return self._record(created)

    def update_account(self, record_id: str, account: Account, *, idempotency_key: str) -> TargetRecord:
        """Overwrite the company's synced attributes with `account` (a PATCH is naturally idempotent)."""
        del idempotency_key  # PATCH of the same attributes gives the same company; nothing to pass on
        return self._record(self.client.update_company(record_id, mapper.company_attributes(account)))

    def _converge(self, record: TargetRecord, account: Account) -> TargetRecord:
        if record.view.checksum() == mapper.project(account).checksum():
            return record
        return self._record(self.client.update_company(record.ref.id, mapper.company_attributes(account)))

    # --- WebhookReceiver ----------------------------------------------------------------------

    def receive(self, request: WebhookRequest) -> ReceivedWebhook:
        """Verify a Productive delivery on its raw bytes and parse it into account notices."""
        return self.webhooks.receive(request)


def build(
    connection: Mapping[str, Any],
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = utcnow,
) -> ProductiveConnector:
    """A connector from a connection mapping (see ProductiveConnection); `sleep`/`clock` are for tests."""
    try:
        settings = ProductiveConnection.model_validate(dict(connection))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise ConfigurationError(f"productive connection is invalid: {problems}") from None
    return ProductiveConnector(settings, transport=transport, sleep=sleep, clock=clock)
