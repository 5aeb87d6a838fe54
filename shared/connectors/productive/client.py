"""Productive.io REST client for companies: one method per endpoint, JSON:API bodies, via VendorHttp."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
from pydantic import ValidationError

from shared.connectors.http import RateBudget, VendorHttp
from shared.connectors.productive.schemas import (
    CompanyDocument,
    CompanyListDocument,
    CompanyResource,
    ErrorDocument,
    ProductiveConnection,
)
from shared.domain.errors import PermanentError

# https://developer.productive.io/ "Content Negotiation": "Content-Type header must be set to
# application/vnd.api+json ... When Content-Type is not set as described, API will return 415".
JSON_API = "application/vnd.api+json"


class DualWindowBudget(RateBudget):
    """Two sliding windows at once: Productive limits both a 10-second burst and a 30-minute total.

    https://developer.productive.io/guides/rate-limits: "100 requests per 10 seconds with additional
    limit of 4000 requests per 30 minutes".
    """

    def __init__(
        self,
        short: tuple[int, float],
        long: tuple[int, float],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(short[0], short[1], clock=clock, sleep=sleep)
        self._long = RateBudget(long[0], long[1], clock=clock, sleep=sleep)

    def acquire(self) -> float:
        """Wait for room in the 30-minute window first, then in the 10-second one."""
        return self._long.acquire() + super().acquire()


def describe_error(response: httpx.Response) -> str:
    """A readable message from a JSON:API error body: `title: detail (at pointer)` per error.

    Shape per https://developer.productive.io/ "Filtering": {"errors": [{"status", "title", "detail"}]}.
    """
    try:
        document = ErrorDocument.model_validate(response.json())
    except (ValueError, ValidationError):
        return response.text[:500] or response.reason_phrase
    parts: list[str] = []
    for error in document.errors:
        text = ": ".join(p for p in (error.title, error.detail) if p) or "error"
        pointer = (error.source or {}).get("pointer") or (error.source or {}).get("parameter")
        parts.append(f"{text} (at {pointer})" if pointer else text)
    return "; ".join(parts) or response.text[:500]


class ProductiveClient:
    """Calls to https://api.productive.io/api/v2 for one organization, with the hub's retry rules."""

    def __init__(
        self,
        connection: ProductiveConnection,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = connection
        budget = DualWindowBudget(
            (connection.rate_limit_requests, connection.rate_limit_window_seconds),
            (connection.rate_limit_long_requests, connection.rate_limit_long_window_seconds),
            clock=monotonic,
            sleep=sleep,
        )
        self.http = VendorHttp(
            vendor="productive",
            base_url=connection.base_url.rstrip("/") + "/",
            auth_headers=self._auth_headers,
            describe_error=describe_error,
            budget=budget,
            transport=transport,
            sleep=sleep,
        )

    def _auth_headers(self) -> Mapping[str, str]:
        # https://developer.productive.io/guides/authorization: X-Auth-Token and X-Organization-Id on
        # every request.
        return {
            "X-Auth-Token": self.connection.api_token.get_secret_value(),
            "X-Organization-Id": self.connection.organization_id,
            "Accept": JSON_API,
        }

    @property
    def calls(self) -> int:
        """Vendor API calls made so far (every attempt counts)."""
        return self.http.calls

    def close(self) -> None:
        """Release the underlying connection pool."""
        self.http.close()

    @staticmethod
    def _parse(response: httpx.Response, model: type[Any]) -> Any:
        try:
            return model.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise PermanentError(
                f"productive: unexpected response to {response.request.method} {response.request.url}: {exc}"
            ) from exc

    # https://developer.productive.io/companies.html "GET /api/v2/companies"; filters per
    # https://developer.productive.io/ "Filtering" (?filter[name][eq]=...), pages per "Pagination"
    # (?page[number]=2&page[size]=20, totals in `meta`).
    def list_companies(
        self, filters: Mapping[str, str] | None = None, *, page_number: int = 1, page_size: int | None = None
    ) -> CompanyListDocument:
        """One page of companies matching `filters`: `{"name": v}` or, with an operation, `{"name:eq": v}`."""
        params: dict[str, str] = {
            "page[number]": str(page_number),
            "page[size]": str(page_size or self.connection.page_size),
        }
        for key, value in (filters or {}).items():
            name, _, operation = key.partition(":")
            params[f"filter[{name}][{operation}]" if operation else f"filter[{name}]"] = value
        response = self.http.request("GET", "companies", params=params)
        document: CompanyListDocument = self._parse(response, CompanyListDocument)
        return document

    def iter_companies(self, filters: Mapping[str, str] | None = None) -> Iterator[CompanyResource]:
        """Every company matching `filters`, following `meta.total_pages`."""
        page = 1
        while True:
            document = self.list_companies(filters, page_number=page)
            yield from document.data
            if page >= document.meta.total_pages or not document.data:
                return
            page += 1

    # https://developer.productive.io/companies.html "GET /api/v2/companies/{id}"
    def get_company(self, company_id: str) -> CompanyResource:
        """One company by id; NotFoundError when Productive answers 404."""
        response = self.http.request("GET", f"companies/{company_id}")
        document: CompanyDocument = self._parse(response, CompanyDocument)
        return document.data

    # https://developer.productive.io/companies.html "POST /api/v2/companies"
    def create_company(self, attributes: Mapping[str, Any]) -> CompanyResource:
        """Create a company from JSON:API attributes."""
        body = {"data": {"type": "companies", "attributes": dict(attributes)}}
        response = self.http.request(
            "POST", "companies", content=json.dumps(body), headers={"Content-Type": JSON_API}
        )
        document: CompanyDocument = self._parse(response, CompanyDocument)
        return document.data

    # https://developer.productive.io/companies.html "PATCH /api/v2/companies/{id}"
    def update_company(self, company_id: str, attributes: Mapping[str, Any]) -> CompanyResource:
        """Overwrite the given attributes of one company."""
        body = {"data": {"type": "companies", "id": company_id, "attributes": dict(attributes)}}
        response = self.http.request(
            "PATCH", f"companies/{company_id}", content=json.dumps(body), headers={"Content-Type": JSON_API}
        )
        document: CompanyDocument = self._parse(response, CompanyDocument)
        return document.data
