"""The use case behind the `engagement_step` task function: one workflow step per call.

The Step Functions workflow (infra/statemachines/close_to_cash.asl.json) calls `EngagementSetup.run`
once per step with a small JSON state and stores what the step returns; each step (`steps.STEPS`)
is a function of that state and the ports, and is idempotent, so a retried step never creates a
second record. Where the engagement is set up is chosen per engagement by the first step and kept
in the state (`context.SetupContext.settled`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.domain.account_ports import AccountSource
from shared.domain.engagement_ports import ApprovalStore, EngagementTarget, OpportunitySource
from shared.domain.errors import PermanentError, TransientError
from shared.domain.models import SystemName, utcnow
from shared.domain.ports import EventPublisher, Ledger, Metrics, Notifier
from shared.governance.landscape import Landscape
from shared.governance.mappings import Mappings
from shared.governance.ownership import Ownership
from shared.governance.routing import Routing
from shared.sync.engagements.compensation import compensate
from shared.sync.engagements.context import SetupContext
from shared.sync.engagements.state import SetupState, Step, StepPermanentError, StepTransientError
from shared.sync.engagements.steps import STEPS

if TYPE_CHECKING:
    from shared.domain.delivery_ports import EngagementBook
    from shared.sync.accounts import AccountSync


class EngagementSetup:
    """Runs the workflow's steps on its state, and compensates a setup that failed.

    `target` gives the connector of a system that holds engagements: the PSA that owns them, or the
    accounting system the landscape's routing names for the engagement's legal entity and start.
    """

    def __init__(
        self,
        *,
        opportunities: Callable[[], OpportunitySource],
        target: Callable[[SystemName], EngagementTarget],
        accounts: Callable[[], AccountSource],
        account_sync: Callable[[], AccountSync],
        ledger: Ledger,
        approvals: ApprovalStore,
        notifier: Callable[[], Notifier],
        events: Callable[[], EventPublisher],
        metrics: Metrics,
        mappings: Mappings,
        landscape: Landscape,
        required_account_fields: Sequence[str] = ("name",),
        clock: Callable[[], datetime] = utcnow,
        bookings: Callable[[], EngagementBook] | None = None,
        cutover_confirmed: Callable[[str, SystemName], bool] = lambda *_: True,
    ) -> None:
        self._ctx = SetupContext(
            opportunities=opportunities,
            target=target,
            accounts=accounts,
            account_sync=account_sync,
            ledger=ledger,
            approvals=approvals,
            notifier=notifier,
            events=events,
            metrics=metrics,
            mappings=mappings,
            landscape=landscape,
            routing=Routing(landscape),
            ownership=Ownership(landscape),
            required_account_fields=tuple(required_account_fields),
            clock=clock,
            bookings=bookings,
            cutover_confirmed=cutover_confirmed,
        )

    def run(self, step: str, state: Mapping[str, Any], *, token: str | None = None) -> dict[str, Any]:
        """Run one step on `state`; errors leave as StepTransientError or StepPermanentError."""
        current = SetupState.model_validate(state)
        try:
            which = Step(step)
            task = STEPS[which]
        except (ValueError, KeyError):
            raise StepPermanentError(
                f"{step}: no such step (expected one of {[s.value for s in STEPS]})"
            ) from None
        try:
            result = task(self._ctx, self._ctx.settled(current), token)
        except TransientError as exc:
            raise StepTransientError(f"{which}: {exc}") from exc
        except PermanentError as exc:
            raise StepPermanentError(f"{which}: {exc}") from exc
        return dict(result.model_dump(mode="json"))

    def compensate(self, state: Mapping[str, Any], error: Mapping[str, Any]) -> dict[str, Any]:
        """Close what this execution created, open an exception naming step and cause, tell the CRM."""
        current = SetupState.model_validate(state)
        # A setup whose systems could not be chosen (no route, no legal entity) got no further than
        # choosing them: nothing was created, and the exception still names why.
        with contextlib.suppress(PermanentError):
            current = self._ctx.settled(current)
        return compensate(self._ctx, current, error)
