"""The money flows wired: approved time and expenses, cutovers, billing runs and cash feedback."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.bootstrap.core import ServicesCore
from shared.domain.models import SystemName

if TYPE_CHECKING:
    from shared.aws.billing import DynamoBilling
    from shared.aws.cutovers import DynamoCutovers
    from shared.aws.postings import DynamoPostings
    from shared.aws.workflows import StepFunctionsWorkflow
    from shared.domain.billing_ports import HealthTarget, InvoiceMirror, InvoiceTarget, MilestoneSource
    from shared.domain.delivery_ports import DeliverySource, PostingTarget
    from shared.sync.billing.cash import CashFeedback
    from shared.sync.billing.runs import BillingRuns
    from shared.sync.delivery.sync import DeliverySync


class MoneyServices(ServicesCore):
    """Delivery, cutovers, billing and cash on top of the core."""

    # --- approved time and expenses --------------------------------------------------------------

    @cached_property
    def postings(self) -> DynamoPostings:
        """Work records, pending batches and booked engagements (on the ledger table)."""
        from shared.aws.postings import DynamoPostings

        return DynamoPostings(self.settings.ledger_table, client=self.dynamodb)

    def delivery_source(self) -> DeliverySource:
        """The system that owns time entries (the landscape's `ownership.time.owner`): the PSA."""
        from shared.domain.systems import Domain

        source: DeliverySource = self.connector(self.ownership.owner_of(Domain.TIME))
        return source

    def posting_target(self, system: SystemName) -> PostingTarget:
        """The accounting system `system` as a target of postings (the routing names it per posting)."""
        target: PostingTarget = self.connector(system)
        return target

    def can_post_to(self, system: SystemName) -> bool:
        """`system` is an accounting system of the landscape with a connection."""
        from shared.domain.systems import Role

        return system in self.systems_with(Role.ACCOUNTING) and system in self.connected()

    @cached_property
    def delivery(self) -> DeliverySync:
        """Approved billable time and expenses posted to accounting, at background priority."""
        from shared.domain.budgets import background
        from shared.governance.routing import Routing
        from shared.sync.delivery.sync import DeliverySync

        return DeliverySync(
            source=self.delivery_source,
            target=self.posting_target,
            connected=self.can_post_to,
            store=self.postings,
            ledger=self.ledger,
            metrics=self.metrics,
            mappings=self.mappings,
            routing=Routing(self.landscape),
            priority=background,
            cutover_confirmed=lambda entity, system: (
                self.cutover_book.confirmation(entity, system) is not None
            ),
            events=lambda: self.publisher,
        )

    def _cutover_confirmed(self, legal_entity: str, system: SystemName) -> bool:
        return self.cutover_book.confirmation(legal_entity, system) is not None

    @cached_property
    def cutover_book(self) -> DynamoCutovers:
        """Cutovers' acknowledgements and confirmations (on the ledger table)."""
        from shared.aws.cutovers import DynamoCutovers

        return DynamoCutovers(self.settings.ledger_table, client=self.dynamodb)

    # --- billing runs and cash feedback ------------------------------------------------------------

    @cached_property
    def billing_store(self) -> DynamoBilling:
        """Billing runs, posted invoices and parked payments (on the ledger table)."""
        from shared.aws.billing import DynamoBilling

        return DynamoBilling(self.settings.ledger_table, client=self.dynamodb)

    def invoice_target(self, system: SystemName) -> InvoiceTarget:
        """The accounting system `system` as the issuer of invoices (the routing names it per run)."""
        target: InvoiceTarget = self.connector(system)
        return target

    def _owner_connector(self, domain: str) -> Any:
        from shared.domain.systems import Domain

        owner = self.ownership.owner_of(Domain(domain))
        return self.connector(owner) if owner in self.connected() else None

    def invoice_mirror(self) -> InvoiceMirror | None:
        """The PSA (the owner of engagements) mirrors invoices and their payments."""
        mirror: InvoiceMirror | None = self._owner_connector("engagement")
        return mirror

    def milestone_source(self) -> MilestoneSource:
        source: MilestoneSource = self._owner_connector("engagement")
        return source

    def health_target(self) -> HealthTarget | None:
        """The CRM (the owner of opportunities) shows the deal's and the customer's health."""
        health: HealthTarget | None = self._owner_connector("opportunity")
        return health

    @cached_property
    def billing_workflow(self) -> StepFunctionsWorkflow:
        from shared.aws.workflows import StepFunctionsWorkflow

        return StepFunctionsWorkflow(self.settings.require("billing_state_machine_arn"))

    @cached_property
    def cash_feedback(self) -> CashFeedback:
        from shared.sync.billing.cash import CashFeedback

        return CashFeedback(
            store=self.billing_store,
            postings=self.postings,
            target=self.invoice_target,
            mirror=self.invoice_mirror,
            health=self.health_target,
            ledger=self.ledger,
            metrics=self.metrics,
            events=lambda: self.publisher,
        )

    @cached_property
    def billing_runs(self) -> BillingRuns:
        from shared.sync.billing.runs import BillingRuns

        return BillingRuns(
            store=self.billing_store,
            postings=self.postings,
            target=self.invoice_target,
            milestones=self.milestone_source,
            approvals=self.approvals,
            starter=lambda: self.billing_workflow,
            ledger=self.ledger,
            metrics=self.metrics,
            landscape=self.landscape,
            feedback=lambda record: self.cash_feedback.after_post(record),
            approval_timeout_seconds=self.settings.approval_timeout_seconds,
            cutover_confirmed=self._cutover_confirmed,
            events=lambda: self.publisher,
        )
