"""The Productive sandbox as the local environment runs it: fresh credentials, seeded templates, webhooks."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra.local.sandboxes.productive.app import ProductiveSandbox
from infra.local.sandboxes.twin import Hub, TwinDefaults
from shared.domain.models import SystemName

if TYPE_CHECKING:
    from shared.governance.landscape import Landscape

# The task lists every seeded template carries (and so every project copied from it).
TEMPLATE_TASK_LISTS = ("Delivery",)


class ProductiveTwin(TwinDefaults):
    """One Productive organization for the local environment."""

    system = SystemName.PRODUCTIVE

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.sandbox = ProductiveSandbox(
            organization_id="31337",
            api_token=secrets.token_urlsafe(24),
            webhook_secret=secrets.token_hex(16),
            clock=clock,
        )

    def connection(self, base_url: str) -> dict[str, Any]:
        return self.sandbox.connection(base_url)

    def seed(self, landscape: Landscape) -> None:
        """Template projects the landscape maps to (each with a task list, as a firm's template has:
        fixed-fee milestones go on it), and the tax rates invoice lines name by the tax code."""
        seeded: set[str] = set()
        for row in landscape.mappings.project_templates:
            if row.target_system == self.system and row.target not in seeded:
                self.sandbox.add_template(
                    f"{row.source} ({row.legal_entity})",
                    template_id=row.target,
                    task_lists=TEMPLATE_TASK_LISTS,
                )
                seeded.add(row.target)
        rates: set[tuple[str, str]] = set()
        for rate in landscape.billing.tax_rates:
            if (rate.code, str(rate.rate)) not in rates:
                rates.add((rate.code, str(rate.rate)))
                self.sandbox.add_tax_rate(rate.code, str(rate.rate))

    def connect(self, hub: Hub) -> None:
        self.sandbox.subscribe(hub.webhook_url(self.system))

    def push_pending(self) -> int:
        return self.sandbox.deliver_pending()


def local_twin(clock: Callable[[], datetime]) -> ProductiveTwin:
    return ProductiveTwin(clock)
