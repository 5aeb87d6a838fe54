"""The Salesforce sandbox as the local environment runs it: a fresh org whose changes reach the hub by
outbound messages or, with change data capture, by Event Relay to the partner bus."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra.local.sandboxes.salesforce.app import SalesforceSandbox
from infra.local.sandboxes.twin import Hub, TwinDefaults
from infra.wiring import SALESFORCE_EVENTS
from shared.domain.models import SystemName
from shared.domain.systems import Intake

if TYPE_CHECKING:
    from shared.governance.landscape import Landscape


class SalesforceTwin(TwinDefaults):
    """One Salesforce org (and its connected app) for the local environment."""

    system = SystemName.SALESFORCE

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.sandbox = SalesforceSandbox(
            organization_id="00D5g000004DEMOEAA",
            client_id="close2cash-demo",
            client_secret=secrets.token_urlsafe(24),
            clock=clock,
        )

    def connection(self, base_url: str) -> dict[str, Any]:
        return self.sandbox.connection(base_url)

    def seed(self, landscape: Landscape) -> None:
        del landscape  # the org's objects are the CRM's own: nothing is mapped into it

    def connect(self, hub: Hub) -> None:
        chosen = hub.landscape.system(self.system)
        if chosen is not None and chosen.chosen_intake is Intake.CHANGE_DATA_CAPTURE:
            # The org relays its change events to the partner bus; no outbound message rule is set.
            assert hub.partner_buses is not None, "a relay needs the runtime's partner buses"
            self.sandbox.relay_to(hub.events, hub.partner_buses[SALESFORCE_EVENTS.name])
        else:
            self.sandbox.subscribe(hub.webhook_url(self.system), token=hub.connection["webhook_token"])

    def push_pending(self) -> int:
        return self.sandbox.deliver_pending() + self.sandbox.relay_pending()

    def describe(self) -> list[str]:
        return [
            f"salesforce sandbox OAuth client: client_id={self.sandbox.client_id}"
            f" client_secret={self.sandbox.client_secret}"
        ]

    def partner_event_source(self) -> tuple[str, str] | None:
        # Event Relay's partner event source for the org's CDC channel, associated with a bus.
        return SALESFORCE_EVENTS.name, self.sandbox.event_source


def local_twin(clock: Callable[[], datetime]) -> SalesforceTwin:
    return SalesforceTwin(clock)
