"""The QuickBooks sandbox as the local environment runs it: fresh credentials, the lists the landscape
maps to, webhooks to the hub."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from infra.local.sandboxes.quickbooks.app import QuickBooksSandbox
from infra.local.sandboxes.twin import Hub, TwinDefaults
from shared.domain.models import SystemName

if TYPE_CHECKING:
    from shared.governance.landscape import Landscape


class QuickBooksTwin(TwinDefaults):
    """One QuickBooks Online company (and one Intuit app) for the local environment."""

    system = SystemName.QUICKBOOKS

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.sandbox = QuickBooksSandbox(
            realm_id="9341453050012345",
            client_id="close2cash-demo",
            client_secret=secrets.token_urlsafe(24),
            refresh_token=secrets.token_urlsafe(32),
            verifier_token=secrets.token_hex(16),
            clock=clock,
        )

    def connection(self, base_url: str) -> dict[str, Any]:
        return self.sandbox.connection(base_url)

    def seed(self, landscape: Landscape) -> None:
        """Set the company up as a firm did its real one: classes and departments (engagement setup
        finds what it is pointed at), then what approved work and invoices are booked with."""
        tables = landscape.mappings
        mine = self.system.value
        for cls in tables.classes:
            if cls.target_system == mine:
                self.sandbox.add_class(cls.source, class_id=cls.target)
        # QBO keeps departments and locations in one list (Department, "Location" in its UI).
        seen: set[tuple[str, str]] = set()

        def first(kind: str, target: str) -> bool:
            if (kind, target) in seen:
                return False
            seen.add((kind, target))
            return True

        for department in (*tables.departments, *tables.locations):
            if department.target_system == mine and first("department", department.target):
                self.sandbox.add_department(department.source, department_id=department.target)
        for row in tables.service_items:
            if row.target_system == mine and first("item", row.target):
                self.sandbox.add_item(row.source, item_id=row.target)
        # The rate QuickBooks computes TotalTax with: the landscape's `[billing]` rate of the code.
        rates = {rate.code: rate.rate for rate in landscape.billing.tax_rates}
        codes = [row.target for row in tables.service_tax_codes if row.target_system == mine]
        codes += list(landscape.billing.fixed_tax_code.values())
        for code in codes:
            if first("tax", code):
                self.sandbox.add_tax_code(
                    code, taxable=code != "NON", tax_code_id=code, rate=rates.get(code, Decimal(0))
                )
        for row in tables.expense_accounts:
            if row.target_system == mine and first("account", row.target):
                self.sandbox.add_account(
                    f"Billable {row.source}", account_type="Expense", account_id=row.target
                )
        for row in tables.payment_accounts:
            if row.target_system == mine and first("account", row.target):
                self.sandbox.add_account(
                    "Employee reimbursements", account_type="Bank", sub_type="Checking", account_id=row.target
                )
        # The fixed-fee / retainer item of milestone and retainer invoice lines.
        item = landscape.billing.fixed_item.get(self.system)
        if item is not None and self.sandbox.company.visible("Item", item) is None:
            self.sandbox.add_item("Professional services (fixed fee, retainer)", item_id=item)

    def connect(self, hub: Hub) -> None:
        self.sandbox.subscribe(hub.webhook_url(self.system))

    def push_pending(self) -> int:
        return self.sandbox.deliver_pending()


def local_twin(clock: Callable[[], datetime]) -> QuickBooksTwin:
    return QuickBooksTwin(clock)
