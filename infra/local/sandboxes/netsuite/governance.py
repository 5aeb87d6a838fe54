"""Concurrency governance: one account limit shared by every integration, and allocations per integration.

The account's limit (service tier + 10 per SuiteCloud Plus licence: 15 for a shared tier with one
licence) caps the requests in flight across SOAP, RESTlets and REST together; an integration given
its own allocation is capped by it, the others share what is left unallocated (at least 1). The
request over the limit is refused at once. WSGI calls here are synchronous, so "in flight" is
simulated: `hold(n)` keeps n slots busy (other integrations' requests, or this one's still running)
until released. `GET /services/rest/system/v1/governanceLimits` reports the limits.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/subsect_1559222360.html (REST is governed)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_1525253248.html (15 = 5 + 10)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/bridgehead_156224824287.html (per integration)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/article_0625010817.html (governanceLimits)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from infra.local.sandboxes.netsuite.errors import NetSuiteError
from infra.local.sandboxes.netsuite.oauth import Integration

DEFAULT_ACCOUNT_LIMIT = 15
GOVERNANCE_PATH = "/services/rest/system/v1/governanceLimits"
SERVER_TIME_PATH = "/services/rest/system/v1/serverTime"


def concurrency_exceeded() -> NetSuiteError:
    """429 for a request over the limit.

    Oracle documents the RESTlet (400 SSS_REQUEST_LIMIT_EXCEEDED) and SOAP (WS_REQUEST_BLOCKED)
    answers; for REST web services the status is 429 Too Many Requests, and the error code below is
    UNCONFIRMED (https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/bridgehead_1525252812.html).
    """
    return NetSuiteError(
        429,
        "CONCURRENCY_LIMIT_EXCEEDED",
        "Concurrent request limit exceeded. Request blocked.",
    )


class Governance:
    """The account limit, the requests in flight (real and held) per integration, and the refusals."""

    def __init__(self, account_limit: int = DEFAULT_ACCOUNT_LIMIT) -> None:
        self._lock = threading.Lock()
        self.account_limit = account_limit
        self._in_flight: dict[str | None, int] = {}  # by client id; None: outside the sandbox's integrations
        self.refused = 0
        self.peak = 0

    def unallocated(self, integrations: Iterable[Integration]) -> int:
        """What integrations without their own allocation share (never below 1)."""
        allocated = sum(i.concurrency_limit or 0 for i in integrations)
        return max(1, self.account_limit - allocated)

    def hold(self, n: int, client_id: str | None = None) -> None:
        """Keep `n` more slots busy for `client_id` (None: another application without an allocation)."""
        with self._lock:
            self._in_flight[client_id] = self._in_flight.get(client_id, 0) + n

    def release(self, n: int | None = None, client_id: str | None = None) -> None:
        """Free `n` held slots of `client_id` (all of them when n is None)."""
        with self._lock:
            now = self._in_flight.get(client_id, 0)
            self._in_flight[client_id] = 0 if n is None else max(0, now - n)

    @contextmanager
    def request(self, integration: Integration, integrations: list[Integration]) -> Iterator[None]:
        """Count one request for as long as it runs, or refuse it with 429 when no slot is free."""
        with self._lock:
            total = sum(self._in_flight.values())
            own = self._in_flight.get(integration.client_id, 0)
            if integration.concurrency_limit is not None:
                over = own >= integration.concurrency_limit
            else:
                pooled = {i.client_id for i in integrations if i.concurrency_limit is None}
                shared = sum(n for key, n in self._in_flight.items() if key is None or key in pooled)
                over = shared >= self.unallocated(integrations)
            if over or total >= self.account_limit:
                self.refused += 1
                raise concurrency_exceeded()
            self._in_flight[integration.client_id] = own + 1
            self.peak = max(self.peak, total + 1)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[integration.client_id] -= 1

    def limits(self, integration: Integration, integrations: list[Integration]) -> dict[str, Any]:
        """The governanceLimits body for the calling integration."""
        body: dict[str, Any] = {
            "accountConcurrencyLimit": self.account_limit,
            "accountUnallocatedConcurrencyLimit": self.unallocated(integrations),
        }
        if integration.concurrency_limit is not None:
            body["integrationConcurrencyLimit"] = integration.concurrency_limit
            body["integrationLimitType"] = "integrationSpecific"
        else:
            body["integrationLimitType"] = "accountLimit"
        return body
