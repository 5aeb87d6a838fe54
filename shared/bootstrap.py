"""The composition root: ports to adapters, built once per cold start; tests override it.

Connectors are found by system name (`shared.connectors.<system>`, each exposing `build` and
`receiver`) and built lazily. A webhook is answered by the vendor's `receiver` alone (signature and
parsing, no API client, token store or rate budget), so the webhook handler's first invocation
imports and builds only what verifying that vendor's notice needs.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.aws.events import EventBridgePublisher
from shared.aws.ledger import DynamoLedger
from shared.aws.secrets import connections
from shared.domain.errors import ConfigurationError
from shared.domain.models import Account, SystemName
from shared.domain.ports import AccountSource, AccountTarget, WebhookReceiver
from shared.observability import PowertoolsMetrics, logger, trace_vendor_calls
from shared.domain.systems import SYSTEMS, WEBHOOK_PROVIDERS
from shared.settings import WEBHOOK_MAX_BODY_BYTES, Settings

if TYPE_CHECKING:
    import httpx
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.aws.approvals import DynamoApprovals
    from shared.aws.billing import DynamoBilling
    from shared.aws.idempotency import OncePerNotice
    from shared.aws.notifications import SnsNotifier
    from shared.aws.postings import DynamoPostings
    from shared.aws.visibility import SqsMessageDelay
    from shared.aws.workflows import StepFunctionsWorkflow
    from shared.domain.billing_ports import HealthTarget, InvoiceMirror, InvoiceTarget, MilestoneSource
    from shared.domain.delivery_ports import DeliverySource, PostingTarget
    from shared.domain.notices import ChangeNotice
    from shared.domain.ports import EngagementTarget, OpportunitySource, RateBudgets
    from shared.domain.systems import Role
    from shared.domain.tokens import TokenStore
    from shared.governance.landscape import Landscape
    from shared.governance.mappings import Mappings
    from shared.governance.matching import Matcher
    from shared.governance.ownership import Ownership
    from shared.sync.account_sweep import AccountSweeps
    from shared.sync.accounts import AccountSync
    from shared.sync.billing.cash import CashFeedback
    from shared.sync.billing.runs import BillingRuns
    from shared.sync.change_events import ChangeEventIntake
    from shared.sync.delivery.sync import DeliverySync
    from shared.sync.engagements import ApprovalDesk, EngagementSetup, WorkflowStart
    from shared.sync.exceptions import LastReceive
    from shared.sync.ingest import WebhookIngest
    from shared.sync.reconcile.run import Reconciliation
    from shared.sync.replay.run import Replay


@dataclass
class Services:
    """Everything a handler needs, wired from settings; each piece replaceable in tests."""

    settings: Settings
    transports: Mapping[SystemName, httpx.BaseTransport] = field(default_factory=dict)
    secrets_loader: Callable[[str], Mapping[str, Any]] | None = None
    metrics: PowertoolsMetrics = field(default_factory=PowertoolsMetrics)
    budgets: RateBudgets | None = None  # None: the DynamoDB budgets on the ledger table
    _connectors: dict[SystemName, Any] = field(default_factory=dict)
    _receivers: dict[SystemName, WebhookReceiver] = field(default_factory=dict)

    @cached_property
    def landscape(self) -> Landscape:
        """The validated landscape file; its name and version go on every log line from here on."""
        # The landscape's rules are imported where first read, so a cold start pays for them once used.
        from shared.governance.loader import load_landscape

        landscape = load_landscape(self.settings.landscape_path())
        logger.append_keys(landscape=landscape.landscape.name, landscape_version=landscape.landscape.version)
        return landscape

    @cached_property
    def ownership(self) -> Ownership:
        from shared.governance.ownership import Ownership

        return Ownership(self.landscape)

    @cached_property
    def mappings(self) -> Mappings:
        from shared.governance.mappings import Mappings

        return Mappings(self.landscape)

    @cached_property
    def matcher(self) -> Matcher:
        """The landscape's [matching] rules: how a customer already in a target is recognised."""
        from shared.governance.matching import Matcher

        return Matcher(self.landscape.matching)

    def systems_with(self, *roles: Role) -> list[SystemName]:
        return [system.name for system in self.landscape.systems if system.role in roles]

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """One DynamoDB client for the ledger and the rate budgets (each client costs a cold start)."""
        from shared.aws.clients import dynamodb

        return dynamodb()

    @cached_property
    def ledger(self) -> DynamoLedger:
        return DynamoLedger(self.settings.ledger_table, client=self.dynamodb)

    @cached_property
    def publisher(self) -> EventBridgePublisher:
        return EventBridgePublisher(self.settings.require_bus())

    def connection_settings(self) -> Mapping[str, Any]:
        if self.secrets_loader is not None:
            return self.secrets_loader(self.settings.connections_secret)
        return connections(self.settings.connections_secret, max_age=self.settings.secret_max_age_seconds)

    def _connection(self, system: SystemName) -> Mapping[str, Any]:
        settings: Mapping[str, Any] | None = self.connection_settings().get(system.value)
        if settings is None:
            raise ConfigurationError(
                f"no connection for {system} in secret {self.settings.connections_secret}"
            )
        return settings

    def connector(self, system: SystemName) -> Any:
        """The connector for `system`, built from its entry in the connections secret."""
        if system not in self._connectors:
            settings = self._connection(system)
            row = SYSTEMS[system]
            trace_vendor_calls()
            # Tokens every container shares (rotated refresh tokens, a reusable access token).
            shared = {"token_store": self.token_store} if row.shares_tokens else {}
            self._connectors[system] = self._package(system).build(
                settings, transport=self.transports.get(system), budgets=self.rate_budgets, **shared
            )
        return self._connectors[system]

    @staticmethod
    def _package(system: SystemName) -> Any:
        """`shared.connectors.<system>`, or a ConfigurationError when close2cash has no connector for it."""
        if not SYSTEMS[system].built:
            raise ConfigurationError(
                f"close2cash has no {system.value} connector yet: remove {system.value} from the "
                "landscape's [[systems]] and from the connections secret"
            )
        return importlib.import_module(f"shared.connectors.{system.value}")

    @cached_property
    def token_store(self) -> TokenStore | None:
        """Rotated OAuth tokens shared by every container (None: this function was not granted them)."""
        if not self.settings.oauth_tokens_secret:
            return None
        from shared.aws.tokens import SecretsManagerTokenStore

        return SecretsManagerTokenStore(self.settings.oauth_tokens_secret, leases=self.ledger)

    @cached_property
    def rate_budgets(self) -> RateBudgets:
        """One rate budget per vendor tenant, shared by every container (DynamoDB, on the ledger table),
        with interactive flows first: work marked `background()` gets at most its share of each limit."""
        from shared.domain.budgets import PrioritizedBudgets

        if self.budgets is not None:
            shared = self.budgets
        else:
            from shared.aws.budget import DynamoBudgets

            shared = DynamoBudgets(self.settings.ledger_table, client=self.dynamodb)
        return PrioritizedBudgets(
            shared,
            background_share=self.settings.background_share,
            background_max_wait=self.settings.background_max_wait_seconds,
        )

    @cached_property
    def message_delay(self) -> SqsMessageDelay:
        """Delays an SQS message by the wait its failure named (Retry-After, a full budget)."""
        from shared.aws.visibility import SqsMessageDelay

        return SqsMessageDelay()

    def connected(self) -> frozenset[SystemName]:
        known = {system.value for system in SystemName}
        return frozenset(SystemName(name) for name in self.connection_settings() if name in known)

    def account_source(self) -> AccountSource:
        """The system that owns the customer master (the landscape's `ownership.customer.owner`)."""
        from shared.domain.systems import Domain

        source: AccountSource = self.connector(self.ownership.owner_of(Domain.CUSTOMER))
        return source

    def account_targets(self) -> Sequence[AccountTarget]:
        """Every PSA and accounting system of the landscape, except the customer's owner."""
        from shared.domain.systems import Domain, Role

        owner = self.ownership.owner_of(Domain.CUSTOMER)
        return [
            self.connector(system)
            for system in self.systems_with(Role.PSA, Role.ACCOUNTING)
            if system != owner
        ]

    def receiver(self, system: SystemName) -> WebhookReceiver:
        """`system`'s webhook receiver: its connector if this process built one, else the receiver alone."""
        if system in self._connectors:
            built: WebhookReceiver = self._connectors[system]
            return built
        if system not in self._receivers:
            self._receivers[system] = self._package(system).receiver(self._connection(system))
        return self._receivers[system]

    @cached_property
    def webhook_ingest(self) -> WebhookIngest:
        # Use cases are imported where built: each handler's cold start pays only for its own.
        from shared.sync.ingest import WebhookIngest

        roles = {system.name for system in self.landscape.systems} & self.connected()
        receivers: dict[str, Callable[[], WebhookReceiver]] = {
            system.value: functools.partial(self.receiver, system) for system in roles
        }
        return WebhookIngest(
            known_providers=WEBHOOK_PROVIDERS,
            receivers=receivers,
            ledger=self.ledger,
            publisher=self.publisher,
            metrics=self.metrics,
            max_body_bytes=WEBHOOK_MAX_BODY_BYTES,
            refused={
                system.name.value: (
                    f"{system.name} delivers its changes by {system.chosen_intake.value} in this "
                    "landscape, not to this webhook route"
                )
                for system in self.landscape.systems
                # Changes that come by an event bus or a sweep: the webhook route refuses the vendor's.
                if not system.chosen_intake.webhook_route
            },
        )

    @cached_property
    def change_events(self) -> ChangeEventIntake:
        """Salesforce change events from the partner bus's queue, as claimed notices on the hub's bus."""
        from shared.domain.systems import Intake
        from shared.sync.change_events import ChangeEventIntake

        chosen = self.landscape.system(SystemName.SALESFORCE)
        return ChangeEventIntake(
            stream=lambda: self.connector(SystemName.SALESFORCE),
            ledger=self.ledger,
            publisher=lambda: self.publisher,
            metrics=self.metrics,
            selected=chosen is not None and chosen.chosen_intake is Intake.CHANGE_DATA_CAPTURE,
        )

    @cached_property
    def account_sync(self) -> AccountSync:
        from shared.sync.accounts import AccountSync

        return AccountSync(
            source=self.account_source,
            targets=self.account_targets,
            ledger=self.ledger,
            metrics=self.metrics,
            ownership=self.ownership,
            mappings=self.mappings,
            matcher=self.matcher,
            lifecycle=self.landscape.lifecycle.customer,
        )

    @cached_property
    def account_notices(self) -> OncePerNotice:
        """The account sync, run once per notice (needs the idempotency table)."""
        from shared.aws.idempotency import OncePerNotice

        if not self.settings.idempotency_table:
            raise ConfigurationError("IDEMPOTENCY_TABLE is not set: account_sync was not granted its table")
        return OncePerNotice(
            self.account_sync.on_notice, table_name=self.settings.idempotency_table, metrics=self.metrics
        )

    @cached_property
    def account_sweep(self) -> AccountSweeps:
        """Catch-up sweeps of the customer master: one per landscape system with a change feed."""
        from shared.domain.systems import SYSTEMS, Domain
        from shared.sync.account_sweep import AccountSweep, AccountSweeps, SweepRole

        owner = self.ownership.owner_of(Domain.CUSTOMER)
        feeds = {
            s.name: feed
            for s in self.landscape.systems
            if (feed := SYSTEMS[s.name].feed) is not None and s.name in self.connected()
        }
        return AccountSweeps(
            [
                AccountSweep(
                    system=system,
                    role=SweepRole.OWNER if system == owner else SweepRole.COPY,
                    feed=functools.partial(self.connector, system),
                    max_look_back=feed.max_look_back,
                    ledger=self.ledger,
                    publisher=lambda: self.publisher,
                    metrics=self.metrics,
                )
                for system, feed in feeds.items()
            ],
            on_failure=lambda system, exc: logger.exception("sweep failed", system=system.value),
        )

    @cached_property
    def last_receive(self) -> LastReceive:
        """Queue workers' failures that open an exception (permanent, or on the last receive)."""
        from shared.aws.dead_letters import QueueLimits
        from shared.sync.exceptions import LastReceive

        return LastReceive(
            ledger=self.ledger, metrics=self.metrics, max_receive_count=QueueLimits().max_receive_count
        )

    @contextmanager
    def queued_notice(self, notice: ChangeNotice, record: SQSRecord, *, step: str) -> Iterator[None]:
        """Around one notice from a queue: a failure that will not go away, or that sends the message
        to the DLQ, opens an exception (`last_receive`); a vendor's Retry-After or a full rate budget
        delays the message instead of a sleep (`message_delay`)."""
        with (
            self.last_receive.guard(
                notice,
                step=step,
                queue_arn=record.event_source_arn,
                receive_count=int(record.attributes.approximate_receive_count),
            ),
            self.message_delay.on_retry_after(record.event_source_arn, record.receipt_handle),
        ):
            yield

    # --- engagement setup ----------------------------------------------------------------------

    def opportunity_source(self) -> OpportunitySource:
        """The system that owns opportunities (the landscape's `ownership.opportunity.owner`)."""
        from shared.domain.systems import Domain

        source: OpportunitySource = self.connector(self.ownership.owner_of(Domain.OPPORTUNITY))
        return source

    def engagement_target(self, role: Role) -> EngagementTarget:
        """The landscape's (first) system of `role` as an engagement target (PSA or accounting)."""
        systems = self.systems_with(role)
        if not systems:
            raise ConfigurationError(f"the landscape has no {role.value} system to set engagements up in")
        target: EngagementTarget = self.connector(systems[0])
        return target

    @cached_property
    def approvals(self) -> DynamoApprovals:
        from shared.aws.approvals import DynamoApprovals

        return DynamoApprovals(self.settings.ledger_table)

    @cached_property
    def workflow(self) -> StepFunctionsWorkflow:
        from shared.aws.workflows import StepFunctionsWorkflow

        return StepFunctionsWorkflow(self.settings.require("state_machine_arn"))

    @cached_property
    def notifier(self) -> SnsNotifier:
        from shared.aws.notifications import SnsNotifier

        return SnsNotifier(self.settings.require("notify_topic_arn"))

    @cached_property
    def engagement_setup(self) -> EngagementSetup:
        from shared.domain.systems import Role
        from shared.sync.engagements import EngagementSetup

        return EngagementSetup(
            opportunities=self.opportunity_source,
            psa=functools.partial(self.engagement_target, Role.PSA),
            accounting=functools.partial(self.engagement_target, Role.ACCOUNTING),
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
        )

    @cached_property
    def approval_desk(self) -> ApprovalDesk:
        from shared.sync.engagements import ApprovalDesk

        return ApprovalDesk(
            approvals=self.approvals,
            callback=lambda: self.workflow,
            notifier=lambda: self.notifier,
            metrics=self.metrics,
        )

    @cached_property
    def workflow_start(self) -> WorkflowStart:
        from shared.sync.engagements import WorkflowStart

        return WorkflowStart(
            opportunities=self.opportunity_source,
            starter=lambda: self.workflow,
            ledger=self.ledger,
            metrics=self.metrics,
            approval_timeout_seconds=self.settings.approval_timeout_seconds,
        )

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
        )

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
        )

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
