"""Engagement setup wired: the opportunity's CRM, the targets the routing names, approvals, the workflow."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from shared.bootstrap.money import MoneyServices
from shared.domain.errors import ConfigurationError
from shared.domain.models import SystemName

if TYPE_CHECKING:
    from shared.aws.workflows import StepFunctionsWorkflow
    from shared.domain.engagement_ports import EngagementTarget, OpportunitySource
    from shared.sync.cutover import Cutovers
    from shared.sync.engagements.approvals import ApprovalDesk
    from shared.sync.engagements.setup import EngagementSetup
    from shared.sync.engagements.start import WorkflowStart


class EngagementServices(MoneyServices):
    """Closed-won to active engagement on top of the money flows (setup books what postings need)."""

    # --- engagement setup ----------------------------------------------------------------------

    def opportunity_source(self) -> OpportunitySource:
        """The system that owns opportunities (the landscape's `ownership.opportunity.owner`)."""
        from shared.domain.systems import Domain

        source: OpportunitySource = self.connector(self.ownership.owner_of(Domain.OPPORTUNITY))
        return source

    def engagement_target(self, system: SystemName) -> EngagementTarget:
        """`system` as a holder of engagements: setup names it per engagement (the PSA that owns
        engagements, the accounting system the routing names for the engagement's entity and start)."""
        from shared.domain.systems import Role

        if system not in self.systems_with(Role.PSA, Role.ACCOUNTING):
            raise ConfigurationError(
                f"{system} is no PSA or accounting system of the landscape: no engagement is set up in it"
            )
        target: EngagementTarget = self.connector(system)
        return target

    @cached_property
    def workflow(self) -> StepFunctionsWorkflow:
        from shared.aws.workflows import StepFunctionsWorkflow

        return StepFunctionsWorkflow(self.settings.require("state_machine_arn"))

    @cached_property
    def engagement_setup(self) -> EngagementSetup:
        from shared.sync.engagements.setup import EngagementSetup

        return EngagementSetup(
            opportunities=self.opportunity_source,
            target=self.engagement_target,
            accounts=self.account_source,
            account_sync=lambda: self.account_sync,
            ledger=self.ledger,
            approvals=self.approvals,
            notifier=lambda: self.notifier,
            events=lambda: self.publisher,
            metrics=self.metrics,
            mappings=self.mappings,
            landscape=self.landscape,
            bookings=lambda: self.postings,
            cutover_confirmed=self._cutover_confirmed,
        )

    @cached_property
    def approval_desk(self) -> ApprovalDesk:
        from shared.sync.engagements.approvals import ApprovalDesk

        return ApprovalDesk(
            approvals=self.approvals,
            callback=lambda: self.workflow,
            notifier=lambda: self.notifier,
            metrics=self.metrics,
        )

    @cached_property
    def workflow_start(self) -> WorkflowStart:
        from shared.sync.engagements.start import WorkflowStart

        return WorkflowStart(
            opportunities=self.opportunity_source,
            starter=lambda: self.workflow,
            ledger=self.ledger,
            metrics=self.metrics,
            approval_timeout_seconds=self.settings.approval_timeout_seconds,
            events=lambda: self.publisher,
        )

    # --- cutovers (engagements set up in the new ledger, then postings routed there) ----------------

    @cached_property
    def cutovers(self) -> Cutovers:
        """A legal entity's move to another ledger: the shadow diff, acknowledgements, the go-ahead."""
        from shared.governance.routing import Routing
        from shared.sync.cutover import Cutovers
        from shared.sync.cutover_invoices import ShadowInvoices
        from shared.sync.cutover_setup import CutoverSetup

        return Cutovers(
            routing=Routing(self.landscape),
            delivery=self.delivery,
            source=self.delivery_source,
            target=self.posting_target,
            store=self.postings,
            book=self.cutover_book,
            setup=CutoverSetup(
                opportunities=self.opportunity_source,
                target=self.engagement_target,
                ledger=self.ledger,
                book=self.postings,
                mappings=self.mappings,
                ownership=self.ownership,
            ),
            invoices=ShadowInvoices(
                landscape=self.landscape, store=self.billing_store, target=self.invoice_target
            ),
        )
