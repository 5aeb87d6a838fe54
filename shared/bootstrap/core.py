"""The composition root's core: settings, the landscape, connectors, the ledger, the customer master.

Connectors are found by system name (`shared.connectors.<system>`, each exposing `build` and
`receiver`) and built lazily. A webhook is answered by the vendor's `receiver` alone (signature and
parsing, no API client, token store or rate budget), so the webhook handler's first invocation
imports and builds only what verifying that vendor's notice needs.
"""

from __future__ import annotations

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
from shared.domain.account_ports import AccountSource, AccountTarget
from shared.domain.errors import ConfigurationError
from shared.domain.intake_ports import WebhookReceiver
from shared.domain.models import SystemName
from shared.domain.systems import SYSTEMS, WEBHOOK_PROVIDERS
from shared.observability import PowertoolsMetrics, logger, trace_vendor_calls
from shared.settings import WEBHOOK_MAX_BODY_BYTES, Settings

if TYPE_CHECKING:
    import httpx
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from mypy_boto3_dynamodb import DynamoDBClient

    from shared.aws.approvals import DynamoApprovals
    from shared.aws.idempotency import OncePerNotice
    from shared.aws.notifications import SnsNotifier
    from shared.aws.visibility import SqsMessageDelay
    from shared.domain.notices import ChangeNotice
    from shared.domain.ports import RateBudgets
    from shared.domain.systems import Role
    from shared.domain.tokens import TokenStore
    from shared.governance.landscape import Landscape
    from shared.governance.mappings import Mappings
    from shared.governance.matching import Matcher
    from shared.governance.ownership import Ownership
    from shared.sync.account_sweep import AccountSweeps
    from shared.sync.accounts import AccountSync
    from shared.sync.change_events import ChangeEventIntake
    from shared.sync.exceptions import LastReceive
    from shared.sync.ingest import WebhookIngest


@dataclass
class ServicesCore:
    """Settings, the landscape, connectors, the ledger and the customer-master flows: what every other
    capability builds on."""

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
            events=lambda: self.publisher,
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

    @cached_property
    def approvals(self) -> DynamoApprovals:
        from shared.aws.approvals import DynamoApprovals

        return DynamoApprovals(self.settings.ledger_table)

    @cached_property
    def notifier(self) -> SnsNotifier:
        from shared.aws.notifications import SnsNotifier

        return SnsNotifier(self.settings.require("notify_topic_arn"))
