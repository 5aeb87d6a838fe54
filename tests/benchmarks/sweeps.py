"""Vendor calls per catch-up sweep: when nothing changed (goal: 1 per swept vendor), and per lost notice."""

from __future__ import annotations

from dataclasses import dataclass

from infra.local.demo_sweep import sweep
from infra.local.environment import LocalEnvironment
from shared import bootstrap


@dataclass
class SweepCalls:
    quiet: dict[str, int]  # vendor calls of one sweep over a window with nothing new
    lost: dict[str, int]  # vendor calls of the sweep that brings one lost edit, its sync included
    brought: dict[str, int]  # notices that sweep published, per vendor


def _fire(env: LocalEnvironment) -> tuple[dict[str, int], dict[str, int]]:
    before = bootstrap.services().vendor_calls()
    published = sweep(env)
    after = bootstrap.services().vendor_calls()
    return {k: after[k] - before.get(k, 0) for k in after}, published


def measure(env: LocalEnvironment) -> SweepCalls:
    """Settle, sweep twice (the second is quiet), then lose one outbound message and sweep again."""
    env.settle()
    _fire(env)
    quiet, _ = _fire(env)
    account_id = env.salesforce.account_ids()[0]
    env.salesforce.put_account({"Phone": "+1 555 0999"}, account_id=account_id)
    env.salesforce.drop_pending(account_id)
    lost, brought = _fire(env)
    return SweepCalls(quiet=quiet, lost=lost, brought=brought)
