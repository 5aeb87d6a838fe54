"""The control API tests and the demo use: seed what an administrator sets up in the UI, flip switches.

Nothing here is a NetSuite call: it stands for the administrator's work (integration records and
M2M certificates, employees, service items, subsidiaries, currencies) and for an accountant's edits
in the UI, each through the same record rules as the REST service.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from infra.local.sandboxes.kit import FaultSwitch
from infra.local.sandboxes.netsuite import entities, records, transactions
from infra.local.sandboxes.netsuite.account import Account
from infra.local.sandboxes.netsuite.async_jobs import AsyncJobs
from infra.local.sandboxes.netsuite.governance import DEFAULT_ACCOUNT_LIMIT, Governance
from infra.local.sandboxes.netsuite.oauth import TOKEN_PATH, Integration, TokenService, new_integration
from infra.local.sandboxes.netsuite.schema import CURRENCY, DEFAULT_JOB_STATUSES, SPECS, RecordSpec
from infra.local.sandboxes.netsuite.wire import Clock

# Each type's rules register themselves with the record service when their module is loaded.
RULE_MODULES = (entities, transactions)


def _spec(record_type: str) -> RecordSpec:
    spec = SPECS.get(record_type.lower())
    if spec is None:
        raise KeyError(record_type)
    return spec


class Controls:
    """Seeding helpers and switches shared by the sandbox (app.py adds the WSGI side)."""

    def __init__(
        self,
        account_id: str,
        clock: Clock,
        *,
        concurrency_limit: int = DEFAULT_ACCOUNT_LIMIT,
        home_currency: str = "USD",
    ) -> None:
        self.account_id = account_id
        self.clock = clock  # tests swap it for their own clock
        self._lock = threading.RLock()
        self.account = Account(account_id, lambda: self.clock())
        self.tokens = TokenService(account_id, lambda: self.clock())
        self.governance = Governance(concurrency_limit)
        self.jobs = AsyncJobs(lambda: self.clock())
        self.faults = FaultSwitch()
        self.home_currency = home_currency
        self.add_currency(home_currency)
        self.add_subsidiary("Parent Company", currency=home_currency)
        for internal_id, status in DEFAULT_JOB_STATUSES.items():
            self.add_project_status(status, internal_id=internal_id)
        self.default_integration = self.add_integration("close2cash")

    # --- integrations and tokens ------------------------------------------------------------------

    def add_integration(
        self, name: str, *, key_type: str = "RSA", concurrency_limit: int | None = None
    ) -> Integration:
        """An integration record with an M2M certificate mapping (a fresh key pair); returns it.

        `concurrency_limit`: the share of the account's limit the administrator allocates to it
        (None: it shares the unallocated limit).
        """
        integration = new_integration(name, key_type, len(self.tokens.integrations))
        integration.concurrency_limit = concurrency_limit
        return self.tokens.register(integration)

    def connection(self, base_url: str, integration: Integration | None = None) -> dict[str, Any]:
        """What a client of this account needs: account id, URLs, client id, certificate id, key PEM."""
        chosen = integration or self.default_integration
        base = base_url.rstrip("/")
        return {
            "account_id": self.account_id,
            "base_url": base,
            "token_url": base + TOKEN_PATH,
            "client_id": chosen.client_id,
            "certificate_id": chosen.certificate_id,
            "private_key_pem": chosen.private_key_pem,
            "algorithm": "PS256" if chosen.key_type == "RSA" else "ES256",
            "scopes": ["rest_webservices"],
        }

    def revoke_tokens(self) -> None:
        """Every access token stops working: the next REST call gets 401 INVALID_LOGIN."""
        self.tokens.revoke_tokens()

    def revoke_certificate(self, integration: Integration | None = None) -> None:
        """The administrator revokes the M2M certificate: its tokens and new assertions are refused."""
        (integration or self.default_integration).revoked = True

    def set_integration_limit(self, integration: Integration, limit: int | None) -> None:
        """Allocate `limit` of the account's concurrency to one integration (None: take it back)."""
        with self._lock:
            integration.concurrency_limit = limit

    @property
    def token_calls(self) -> int:
        """Requests to the token endpoint, refused ones included."""
        return self.tokens.calls

    # --- concurrency, faults, async ---------------------------------------------------------------

    @property
    def concurrency_limit(self) -> int:
        """The account's concurrency limit (15 by default: a shared tier with one SuiteCloud Plus)."""
        return self.governance.account_limit

    @concurrency_limit.setter
    def concurrency_limit(self, limit: int) -> None:
        self.governance.account_limit = limit

    def hold_slots(self, n: int, integration: Integration | None = None) -> None:
        """Keep `n` concurrency slots busy: requests of `integration` still running, or (None) of
        another application sharing the account's unallocated limit."""
        self.governance.hold(n, integration.client_id if integration else None)

    def release_slots(self, n: int | None = None, integration: Integration | None = None) -> None:
        """Free held slots (all of them when `n` is None)."""
        self.governance.release(n, integration.client_id if integration else None)

    @property
    def concurrency_refused(self) -> int:
        """Requests refused with 429 for the concurrency limit."""
        return self.governance.refused

    def fail_next(self, n: int, status: int = 503, *, path: str | None = None, after: bool = False) -> None:
        """The next `n` REST requests (not the token endpoint; those whose path contains `path`)
        answer `status` with NetSuite's error body. `after`: the request is carried out and only its
        answer is lost, as when a gateway times out after NetSuite wrote."""
        self.faults.arm(n, status, path=path, after=after)

    def hold_async_jobs(self, hold: bool = True) -> None:
        """Asynchronous jobs stay `pending` (the queue is busy) until `run_async_jobs`."""
        self.jobs.hold = hold

    def run_async_jobs(self) -> int:
        """Run the pending asynchronous jobs; returns how many ran."""
        with self._lock:
            return self.jobs.run_pending()

    # --- what an administrator sets up ------------------------------------------------------------

    def add_currency(self, symbol: str, name: str | None = None) -> str:
        """A currency (Lists > Accounting > Currencies); returns its internal id."""
        with self._lock:
            existing = next((r for r in self.account.rows(CURRENCY) if r["symbol"] == symbol), None)
            if existing is not None:
                return str(existing["id"])
            return self._seed("currency", {"name": name or symbol, "symbol": symbol})

    def add_subsidiary(self, name: str, *, currency: str = "USD", external_id: str | None = None) -> str:
        """A subsidiary with its base currency (added when new); returns its internal id."""
        fields: dict[str, Any] = {"name": name, "currency": {"id": self.add_currency(currency)}}
        if external_id:
            fields["externalId"] = external_id
        return self._seed("subsidiary", fields)

    def add_project_status(self, name: str, *, internal_id: str | None = None) -> str:
        """A project status (Setup > Accounting > Accounting Lists > Project Status); returns its id.

        A new account holds Oracle's five (DEFAULT_JOB_STATUSES); a firm may rename them or add its own.
        """
        return self._seed("jobStatus", {"name": name}, internal_id=internal_id)

    def add_employee(
        self,
        first_name: str,
        last_name: str,
        *,
        email: str | None = None,
        subsidiary: str | None = None,
        external_id: str | None = None,
        inactive: bool = False,
    ) -> str:
        """An employee (Lists > Employees); returns its internal id."""
        fields: dict[str, Any] = {"firstName": first_name, "lastName": last_name, "isInactive": inactive}
        if email:
            fields["email"] = email
        if subsidiary:
            fields["subsidiary"] = {"id": subsidiary}
        if external_id:
            fields["externalId"] = external_id
        return self._seed("employee", fields)

    def add_item(
        self,
        item_id: str,
        *,
        display_name: str | None = None,
        description: str | None = None,
        external_id: str | None = None,
        internal_id: str | None = None,
    ) -> str:
        """A service item (Lists > Accounting > Items > Service); returns its internal id
        (`internal_id`: the one a landscape's mapping rows name)."""
        fields: dict[str, Any] = {"itemId": item_id, "displayName": display_name or item_id}
        if description:
            fields["description"] = description
        if external_id:
            fields["externalId"] = external_id
        return self._seed("serviceItem", fields, internal_id=internal_id)

    def add_term(
        self,
        name: str,
        *,
        days_until_net_due: int = 30,
        external_id: str | None = None,
        internal_id: str | None = None,
    ) -> str:
        """Payment terms (Setup > Accounting > Accounting Lists > Term); returns the internal id
        (`internal_id`: the one a landscape's mapping rows name)."""
        fields: dict[str, Any] = {"name": name, "daysUntilNetDue": days_until_net_due}
        if external_id:
            fields["externalId"] = external_id
        return self._seed("term", fields, internal_id=internal_id)

    def add_expense_category(
        self, name: str, *, external_id: str | None = None, internal_id: str | None = None
    ) -> str:
        """An expense category (Setup > Accounting > Expense Categories); returns its internal id."""
        fields: dict[str, Any] = {"name": name}
        if external_id:
            fields["externalId"] = external_id
        return self._seed("expenseCategory", fields, internal_id=internal_id)

    def add_segment(self, record_type: str, name: str, *, internal_id: str | None = None) -> str:
        """A department, class (`classification`) or location; returns its internal id."""
        if record_type not in ("department", "classification", "location"):
            raise ValueError(f"not a classification record type: {record_type}")
        return self._seed(record_type, {"name": name}, internal_id=internal_id)

    def bill_time(self, time_bill_id: str) -> None:
        """A UI user's invoice carries the time bill (its Billable Time subtab): the time bill's
        `status` is Billed, and NetSuite then refuses to change or delete it (an invoice posted with
        a `time` line does the same: transactions.py)."""
        with self._lock:
            stored = self.account.get(_spec("timeBill"), time_bill_id)
            if stored is None:
                raise KeyError(time_bill_id)
            entities.mark_billed(self.account, stored)

    def enter(self, record_type: str, fields: Mapping[str, Any]) -> str:
        """A user enters a record in the UI (the REST body shape, the same rules); returns its id."""
        return self._seed(record_type, fields)

    def edit(self, record_type: str, record_id: str, fields: Mapping[str, Any]) -> None:
        """A user edits a record in the UI: the same rules as PATCH, lastModifiedDate moves."""
        spec = _spec(record_type)
        with self._lock:
            stored = self.account.get(spec, record_id)
            if stored is None:
                raise KeyError(record_id)
            records.update(self.account, spec, stored, dict(fields))

    def _seed(self, record_type: str, fields: Mapping[str, Any], *, internal_id: str | None = None) -> str:
        with self._lock:
            spec = _spec(record_type)
            return str(records.create(self.account, spec, dict(fields), internal_id=internal_id)["id"])

    # --- what tests read back -----------------------------------------------------------------

    def record(self, record_type: str, record_id: str) -> dict[str, Any]:
        """A copy of the stored record (references as ids, money as Decimal); KeyError when absent."""
        with self._lock:
            found = self.account.get(_spec(record_type), record_id)
            if found is None:
                raise KeyError(record_id)
            return copy.deepcopy(found)

    def records(self, record_type: str) -> list[dict[str, Any]]:
        """Copies of every stored record of a type, in internal id order."""
        with self._lock:
            return copy.deepcopy(self.account.rows(_spec(record_type)))

    def by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        """A copy of the record of that type carrying `external_id`, or None."""
        with self._lock:
            found = self.account.by_external_id(_spec(record_type), external_id)
            return copy.deepcopy(found) if found is not None else None

    @property
    def writes(self) -> int:
        """Record writes carried out (REST, async jobs and control API alike)."""
        return self.account.writes
