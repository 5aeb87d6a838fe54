"""The Kantata OX sandbox's WSGI app and control API: bearer auth, listings, pages, faults.

https://developer.kantata.com/ "Authentication" (every request has `Authorization: Bearer <token>`),
"Response Format" as each endpoint page restates it ("the returned data will be referenced in
sorted order in the results array and will be indexed by ID in the <collection> top-level JSON
key", with `count` and `meta`), paging `page` (default 1) and `per_page` (default 20, "<= 200")
(https://developer.kantata.com/tag/Workweeks, https://developer.kantata.com/tag/Cost-Rates), and
error bodies `{"errors": [{"type", "message"}]}` for 400, 401, 403, 404 and 422.

Orders: workweeks and workweek memberships by `start_date` ("sorted by their start_date"); the others
by `created_at:asc` (the documented default order of GET /cost_rates), i.e. by id here.
UNCONFIRMED: the `type` strings of an error; the answer to `per_page` above 200 (400 here).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from infra.local.sandboxes.kit import FaultSwitch, VendorError, json_answer

COLLECTIONS = ("account_memberships", "workweeks", "workweek_memberships", "time_off_entries", "cost_rates")
DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 200
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_BY_START = frozenset({"workweeks", "workweek_memberships"})


class KantataError(VendorError):
    """A refusal in Kantata's shape."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message

    def body(self) -> dict[str, Any]:
        return {"errors": [{"type": self.kind, "message": self.message}]}


def _minutes(week: Iterable[int]) -> dict[str, int]:
    # Sunday first, as the workweek objects list their days.
    minutes = list(week)
    if len(minutes) != 7 or any(m < 0 for m in minutes):
        raise KantataError(422, "validation", "a workweek has 7 non-negative day minutes, Sunday first")
    return {f"{day}_minutes": m for day, m in zip(_DAYS, minutes, strict=True)}


class KantataSandbox:
    """WSGI twin of the Kantata OX reads the capacity connector makes, with a thread-safe control API."""

    def __init__(self, *, access_token: str) -> None:
        self.access_token = access_token
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._store: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in COLLECTIONS}
        self._faults = FaultSwitch()
        self.requests = 0

    # --- control API ------------------------------------------------------------------------

    def connection(self, base_url: str) -> dict[str, Any]:
        """The mapping `shared.connectors.kantata.build` accepts for this sandbox."""
        return {"base_url": base_url, "access_token": self.access_token}

    def _put(self, kind: str, record: dict[str, Any]) -> str:
        with self._lock:
            record_id = str(next(self._ids))
            self._store[kind][record_id] = record
            return record_id

    def add_user(self) -> tuple[str, str]:
        """A user joins the account; returns (user id, account membership id)."""
        with self._lock:
            user_id = str(next(self._ids))
            membership = self._put(
                "account_memberships", {"user_id": int(user_id), "permission": "collaborator"}
            )
            return user_id, membership

    def add_workweek(self, start_date: str, week: Iterable[int], *, end_date: str | None = None) -> str:
        """An account default workweek from `start_date` (a Sunday): minutes per day, Sunday first."""
        return self._put("workweeks", self._schedule(start_date, end_date, week) | {"default": True})

    def add_workweek_membership(
        self, user_id: str, start_date: str, week: Iterable[int], *, end_date: str | None = None
    ) -> str:
        """A user's own workweek from `start_date` (a Sunday): minutes per day, Sunday first."""
        return self._put(
            "workweek_memberships", self._schedule(start_date, end_date, week) | {"user_id": int(user_id)}
        )

    def add_time_off(self, user_id: str, day: str, hours: Decimal | int | str) -> str:
        """Time off a user requested on `day`."""
        return self._put(
            "time_off_entries",
            {
                "user_id": int(user_id),
                "requested_date": date.fromisoformat(day).isoformat(),
                "hours": float(hours),
            },
        )

    def set_cost_rate(
        self, account_membership_id: str, amount_in_subunits: int, currency: str = "USD"
    ) -> str:
        """A member's cost rate in `currency`; one set for that currency is overridden (POST /cost_rates)."""
        with self._lock:
            for rate_id, rate in self._store["cost_rates"].items():
                if (
                    rate["account_membership_id"] == int(account_membership_id)
                    and rate["currency"] == currency
                ):
                    rate["amount_in_subunits"] = amount_in_subunits
                    return rate_id
            return self._put(
                "cost_rates",
                {
                    "account_membership_id": int(account_membership_id),
                    "amount_in_subunits": amount_in_subunits,
                    "currency": currency,
                    "in_use": True,
                },
            )

    def fail_next(self, n: int, status: int = 500) -> None:
        """The next `n` requests answer `status`."""
        self._faults.arm(n, status)

    @staticmethod
    def _schedule(start_date: str, end_date: str | None, week: Iterable[int]) -> dict[str, Any]:
        start = date.fromisoformat(start_date)
        if start.weekday() != 6:
            raise KantataError(422, "validation", "start_date must be a Sunday")
        return {
            "start_date": start.isoformat(),
            "end_date": date.fromisoformat(end_date).isoformat() if end_date else None,
            **_minutes(week),
        }

    # --- WSGI -------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except VendorError as error:
            response = error.response()
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        self.requests += 1
        fault = self._faults.take(request.path)
        if fault is not None:
            raise KantataError(fault.status, "server_error", f"injected fault {fault.status}")
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            raise KantataError(401, "authentication", "Unauthorized request: a valid bearer token is needed")
        parts = [p for p in request.path.split("/") if p]
        if len(parts) != 3 or parts[:2] != ["api", "v1"] or not parts[2].endswith(".json"):
            raise KantataError(404, "not_found", f"Page Not Found: {request.path}")
        collection = parts[2].removesuffix(".json")
        if collection not in COLLECTIONS:
            raise KantataError(404, "not_found", f"Page Not Found: {request.path}")
        if request.method != "GET":
            raise KantataError(405, "method_not_allowed", f"{request.method} {request.path} is not supported")
        return self._listing(collection, request)

    @staticmethod
    def _int(request: Request, name: str, default: int) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        if not raw.isdigit() or int(raw) < 1:
            raise KantataError(400, "bad_request", f"{name} must be a positive integer, not {raw!r}")
        return int(raw)

    def _listing(self, collection: str, request: Request) -> Response:
        page = self._int(request, "page", 1)
        per_page = self._int(request, "per_page", DEFAULT_PER_PAGE)
        if per_page > MAX_PER_PAGE:
            raise KantataError(400, "bad_request", f"per_page must be at most {MAX_PER_PAGE}")
        with self._lock:
            records = dict(self._store[collection])
        ids = sorted(records, key=int)
        if collection in _BY_START:
            ids.sort(key=lambda i: records[i]["start_date"])
        shown = ids[(page - 1) * per_page : page * per_page]
        body = {
            "count": len(ids),
            "meta": {
                "count": len(ids),
                "page_count": max(1, math.ceil(len(ids) / per_page)),
                "page_number": page,
                "page_size": per_page,
            },
            "results": [{"key": collection, "id": i} for i in shown],
            collection: {i: {"id": i, **records[i]} for i in shown},
        }
        return json_answer(body)
