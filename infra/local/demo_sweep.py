"""The demo's lost notice: an edit whose outbound message Salesforce drops, brought by the catch-up sweep."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra.local.environment import LocalEnvironment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName

SWEEP_FUNCTION = "account_sweep"


@dataclass
class LostNotice:
    """What became of one edit whose notice was dropped on purpose."""

    account_id: str
    name: str
    dropped: int = 0
    brought: dict[str, int] = field(default_factory=dict)  # notices the sweep published, per vendor
    again: dict[str, int] = field(default_factory=dict)  # what the next sweep published
    copies: dict[str, str | None] = field(default_factory=dict)  # each copy's name afterwards

    @property
    def brought_once(self) -> bool:
        """The sweep brought the edit, every copy shows it, and the next sweep brought nothing."""
        return (
            self.dropped >= 1
            and self.brought.get(SystemName.SALESFORCE.value) == 1
            and bool(self.copies)
            and all(name == self.name for name in self.copies.values())
            and not any(self.again.values())
        )

    def line(self) -> str:
        """The report's line."""
        shown = sorted(system for system, name in self.copies.items() if name == self.name)
        verdict = "exactly once" if self.brought_once else "NOT exactly once"
        return (
            f"catch-up sweep: {self.dropped} outbound message dropped on purpose; the sweep swept"
            f" {_per_vendor(self.brought)}; {self.name!r} now in {', '.join(shown) or 'no copy'};"
            f" next sweep: {_per_vendor(self.again)} -> {verdict}"
        )


def _per_vendor(published: dict[str, int]) -> str:
    swept = ", ".join(f"{system} {count}" for system, count in sorted(published.items()) if count)
    return swept or "nothing"


def sweep(env: LocalEnvironment) -> dict[str, int]:
    """Fire the sweep's schedule now, as EventBridge would, and settle; what it published per vendor."""
    assert env.runtime is not None and env.runtime.scheduler is not None
    answer: dict[str, Any] = env.runtime.scheduler.fire(SWEEP_FUNCTION)
    env.settle()
    published: dict[str, int] = answer["published"]
    return published


def _copy_names(env: LocalEnvironment, account_id: str) -> dict[str, str | None]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id)
    names: dict[str, str | None] = {}
    for xref in bootstrap.services().ledger.cross_references(EntityType.ACCOUNT, source):
        if xref.target.system is SystemName.QUICKBOOKS:
            names[xref.target.system.value] = env.quickbooks.customer(xref.target.id).get("DisplayName")
        elif xref.target.system is SystemName.PRODUCTIVE:
            names[xref.target.system.value] = env.productive.company(xref.target.id)["attributes"].get("name")
    return names


def lost_notice(env: LocalEnvironment, *, account_id: str, name: str) -> LostNotice:
    """Rename `account_id`, drop its outbound message, then let the sweep's schedule come due (twice)."""
    outcome = LostNotice(account_id=account_id, name=name)
    env.salesforce.put_account({"Name": name}, account_id=account_id)
    # The outbound message, or on change data capture the change event, never reaches the hub.
    outcome.dropped = env.salesforce.drop_pending(account_id) + env.salesforce.drop_pending_changes(
        account_id
    )
    env.settle()
    outcome.brought = sweep(env)
    outcome.again = sweep(env)
    outcome.copies = _copy_names(env, account_id)
    return outcome
