"""The composition root: ports to adapters, built once per cold start; tests override it.

One class, `Services`, assembled by capability: the core (settings, landscape, connectors, ledger,
customer master; `core.py`), the money flows (`money.py`), engagement setup (`engagements.py`), the
capacity read (`capacity.py`), and here what looks across all of them (reconciliation, replay). Each
piece is built on first use.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import TYPE_CHECKING

from shared.bootstrap.capacity import CapacityServices
from shared.bootstrap.engagements import EngagementServices
from shared.domain.models import Account
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.analytics.landing import LandedIds
    from shared.governance.landscape import Landscape
    from shared.sync.reconcile.run import Reconciliation
    from shared.sync.replay.run import Replay


class Services(EngagementServices, CapacityServices):
    """Everything a handler needs, wired from settings; each piece replaceable in tests."""

    @cached_property
    def reconciliation(self) -> Reconciliation:
        """Every system's copies compared: the CRM's accounts and won deals, the PSA's and each
        accounting system's customers, engagements, work and invoices."""
        from shared.domain.systems import Domain, Role
        from shared.governance.landscape import MatchKey
        from shared.governance.matching import CustomerKeys
        from shared.sync.reconcile.run import Reconciliation

        def namesake(account: Account) -> str | None:
            return self.matcher.key(CustomerKeys.of(account), MatchKey.NAME)

        return Reconciliation(
            crm=lambda: self.connector(self.ownership.owner_of(Domain.CUSTOMER)),
            psa=lambda: self._owner_connector("engagement"),
            accounting=lambda: [
                self.connector(system)
                for system in self.systems_with(Role.ACCOUNTING)
                if system in self.connected()
            ],
            ledger=self.ledger,
            desk=self.ledger,
            postings=self.postings,
            billing=self.billing_store,
            expected=self.account_sync.expected_copy,
            namesake=namesake,
            metrics=self.metrics,
            vendor_calls=self.vendor_calls,
        )

    @cached_property
    def landed_ids(self) -> LandedIds:
        """The ids of every domain event landed for analytics (marks in the idempotency table)."""
        from shared.aws.landed import DynamoLandedIds
        from shared.domain.errors import ConfigurationError

        if not self.settings.idempotency_table:
            raise ConfigurationError("IDEMPOTENCY_TABLE is not set: analytics_land was not granted its table")
        return DynamoLandedIds(self.settings.idempotency_table)

    def under(self, landscape: Landscape) -> Services:
        """These services as they run under `landscape` (a replay's): the same connections, ledger
        and rate budgets, the landscape's ownership, mappings and matching rules."""
        other = dataclasses.replace(self)
        other.__dict__["landscape"] = landscape
        other.__dict__["ledger"] = self.ledger
        return other

    def replay(self, landscape: Landscape | None = None) -> Replay:
        """A replay of the bus archive under `landscape` (None: the deployed one)."""
        from shared.aws.archive import BusArchive
        from shared.sync.replay.customers import CustomerReplay
        from shared.sync.replay.run import Replay
        from shared.sync.replay.time import TimeReplay

        under = self if landscape is None else self.under(landscape)
        chosen = under.landscape.landscape
        return Replay(
            archive=BusArchive.from_env,
            flows=[
                CustomerReplay(
                    sync=under.account_sync,
                    source=under.account_source,
                    targets=under.account_targets,
                    ledger=under.ledger,
                ),
                # The delivery flow built under the landscape: its mappings and routing.
                TimeReplay(
                    sync=under.delivery,
                    source=under.delivery_source,
                    target=under.posting_target,
                    store=under.postings,
                ),
            ],
            landscape=f"{chosen.name} {chosen.version}",
            metrics=self.metrics,
            vendor_calls=self.vendor_calls,
        )

    def vendor_calls(self) -> dict[str, int]:
        """API calls made so far by each connector built in this process (for `make bench`)."""
        return {system.value: int(getattr(c, "http_calls", 0)) for system, c in self._connectors.items()}


_services: Services | None = None


def services() -> Services:
    """The process-wide services, built on first use from the environment."""
    global _services
    if _services is None:
        _services = Services(settings=Settings.from_env())
    return _services


def override(replacement: Services | None) -> None:
    """Replace (or with None, forget) the process-wide services: tests and the local runtime."""
    global _services
    _services = replacement
