"""The Kantata OX connector, being built: the capacity read (CapacitySource) over its REST API.

https://developer.kantata.com/ "Authentication": `Authorization: Bearer <token>` on every request;
"Schema": JSON answers, URLs relative to https://api.mavenlink.com/api/v1/ (e.g. `workspaces.json`).
Listings page with `page` (default 1) and `per_page` (default 20, at most 200), and say how many pages
there are in `meta.page_count` (https://developer.kantata.com/tag/Workweeks, every listing alike).
Kantata's published request rate limit was not found: no shared rate budget is kept (UNCONFIRMED);
a 429's Retry-After is honoured by VendorHttp.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.connectors.http import VendorHttp
from shared.connectors.kantata import capacity as mapping
from shared.connectors.kantata.connection import KantataConnection
from shared.connectors.kantata.schemas import (
    AccountMembership,
    CostRate,
    Listing,
    TimeOffEntry,
    Workweek,
    WorkweekMembership,
)
from shared.domain.capacity import Month, WorkerCapacity
from shared.domain.capacity_ports import CapacitySource
from shared.domain.errors import PermanentError
from shared.domain.models import SystemName
from shared.domain.money import Money

__all__ = ["KantataConnection", "KantataConnector", "build"]

R = TypeVar("R", bound=BaseModel)


def describe_error(response: httpx.Response) -> str:
    """The `errors[].message` of a Kantata error answer (`{"errors": [{"type", "message"}]}`)."""
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('type')}: {e.get('message')}" for e in errors) or response.text[:500]
    except (ValueError, AttributeError):
        return response.text[:500]


class KantataClient:
    """Calls to the Kantata OX API for one account, with the hub's retry rules."""

    def __init__(
        self,
        connection: KantataConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.http = VendorHttp(
            vendor="kantata",
            base_url=connection.base_url.rstrip("/") + "/",
            auth_headers=self._auth_headers,
            describe_error=describe_error,
            transport=transport,
            sleep=sleep,
        )

    def _auth_headers(self) -> Mapping[str, str]:
        # https://developer.kantata.com/ "Authentication": "set the header's value to Bearer <token>"
        return {"Authorization": f"Bearer {self.connection.access_token.get_secret_value()}"}

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.http.close()

    def listing(
        self, collection: str, model: type[R], params: Mapping[str, str] | None = None
    ) -> Iterator[R]:
        """Every record of GET /<collection>.json, page by page, in the answer's order."""
        page = 1
        while True:
            query = {**(params or {}), "page": str(page), "per_page": str(self.connection.page_size)}
            response = self.http.request("GET", f"{collection}.json", params=query)
            try:
                document = Listing.model_validate(response.json())
                records = [model.model_validate(r) for r in document.records(collection)]
            except (ValueError, ValidationError) as exc:
                raise PermanentError(f"kantata: unexpected answer to GET {collection}.json: {exc}") from exc
            yield from records
            if page >= document.meta.page_count or not document.results:
                return
            page += 1


class KantataConnector:
    """Kantata OX as a CapacitySource (workweeks, workweek memberships, time off, cost rates)."""

    system = SystemName.KANTATA
    # What this connector implements so far (its row stays `built=False` until it holds a PSA's all).
    implements: ClassVar[tuple[type, ...]] = (CapacitySource,)

    def __init__(
        self,
        connection: KantataConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.connection = connection
        self.client = KantataClient(connection, transport=transport, sleep=sleep)

    @property
    def http_calls(self) -> int:
        """Vendor API calls made so far."""
        return self.client.http.calls

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self.client.close()

    def capacities(self, month: Month) -> list[WorkerCapacity]:
        """CapacitySource: every user's capacity, time off and cost rate in `month`."""
        client = self.client
        # https://developer.kantata.com/kantata/specification/account-memberships "GET /account_memberships"
        members = list(client.listing("account_memberships", AccountMembership))
        # https://developer.kantata.com/kantata/specification/workweek-memberships/get-workweek-memberships
        memberships = [
            m
            for m in client.listing("workweek_memberships", WorkweekMembership)
            if m.start_date <= month.last_day and (m.end_date is None or m.end_date >= month.first_day)
        ]
        # https://developer.kantata.com/tag/Workweeks "GET /workweeks": the account's default workweeks
        workweeks = list(client.listing("workweeks", Workweek))
        # https://developer.kantata.com/kantata/specification/time-off-entries "GET /time_off_entries"
        time_off = [
            e
            for e in client.listing("time_off_entries", TimeOffEntry)
            if month.first_day <= e.requested_date <= month.last_day
        ]
        # https://developer.kantata.com/tag/Cost-Rates "GET /cost_rates"
        rates: dict[str, list[CostRate]] = {}
        for rate in client.listing("cost_rates", CostRate):
            rates.setdefault(rate.account_membership_id, []).append(rate)
        cost: dict[str, Money | None] = {
            m.user_id: mapping.cost_rate_of(rates.get(m.id, []), self.connection.default_currency)
            for m in members
        }
        return mapping.month_capacities(
            month,
            users=[m.user_id for m in members],
            memberships=memberships,
            workweeks=workweeks,
            time_off=time_off,
            cost_rates=cost,
        )


def build(
    settings: Mapping[str, Any] | KantataConnection,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **_: Any,
) -> KantataConnector:
    """The connector for the account `settings` describe (the connections secret's `kantata` entry)."""
    connection = settings if isinstance(settings, KantataConnection) else KantataConnection.parse(settings)
    return KantataConnector(connection, transport=transport, sleep=sleep)
