"""THE system declaration, as plain data: both renderers (infra/cdk, infra/local) read it.

Adding a function is one entry in FUNCTIONS plus its handler module. Nothing here imports aws_cdk or
boto3; names are logical (the renderers derive physical names: CDK lets CloudFormation name things,
the local runtime prefixes them with the stack name).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

from shared.connectors.salesforce.cdc import CHANGE_EVENTS, EVENT_SOURCE_PREFIX
from shared.settings import (
    LEDGER_ENGAGEMENT_INDEX,
    LEDGER_ENGAGEMENT_KEY,
    LEDGER_ENGAGEMENT_SORT,
    LEDGER_STATUS_INDEX,
    LEDGER_STATUS_KEY,
    LEDGER_STATUS_SORT,
    WEBHOOK_MAX_BODY_BYTES,
)

STACK_NAME = "close2cash"
STATEMACHINE_DIR = Path(__file__).parent / "statemachines"


class Access(StrEnum):
    """What a function may do with a resource; renderers turn it into least-privilege grants."""

    READ = "read"
    WRITE = "write"
    READ_WRITE = "read_write"
    PUT = "put"  # event bus: PutEvents
    SEND = "send"  # queue: SendMessage
    START = "start"  # state machine: StartExecution
    TASK_RESPONSE = "task_response"  # state machine: SendTaskSuccess/Failure/Heartbeat
    PUBLISH = "publish"  # topic: Publish
    REPLAY = "replay"  # event bus: StartReplay / DescribeReplay of its archive; env = the archive's ARN
    CONSUME = "consume"  # queue: ReceiveMessage / DeleteMessage by the function itself; env = its URL
    ARN = "arn"  # no permission, only the resource's ARN in the env (a replay's destination bus, rule)


@dataclass(frozen=True)
class Use:
    """One grant: `resource` is the logical name of a table, bus, queue, secret or state machine."""

    resource: str
    access: Access
    env: str  # the environment variable that carries the resource's physical name / ARN / URL


@dataclass(frozen=True)
class Index:
    """A global secondary index with string keys, every attribute projected (or only the keys);
    sparse by nature: only items that carry `partition_key` are in it."""

    name: str
    partition_key: str
    sort_key: str | None = None
    # Keys only: a write that changes neither the index's keys nor a projected attribute writes
    # nothing to the index, so items rewritten often cost no index writes; a query then reads the
    # items themselves from the table.
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.Writes
    keys_only: bool = False


@dataclass(frozen=True)
class Table:
    """A DynamoDB table with a string partition key `pk` and sort key `sk` (single-table design)."""

    name: str
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = True
    indexes: tuple[Index, ...] = ()

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class Queue:
    """An SQS queue with its dead-letter queue; the DLQ is `<name>-dlq`."""

    name: str
    max_receive_count: int = 5
    dlq_retention_days: int = 14

    @property
    def dlq_name(self) -> str:
        return f"{self.name}-dlq"

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class Bus:
    """An EventBridge bus (with an archive, so notices can be replayed)."""

    name: str
    archive_retention_days: int = 30
    # The archive's logical name; renderers name it `<stack>-<archive>` (an explicit name, so
    # replays and operators can find it: `aws events start-replay --event-source-arn ...`).
    archive: str = "notices"

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class PartnerBus:
    """An EventBridge partner event bus a SaaS vendor delivers to (Salesforce Event Relay).

    It is not created by the stack: the vendor creates the partner event source and the firm
    associates a bus with it, named after the source (`aws.partner/salesforce.com/<org>/<channel>`).
    The CDK app reads that name from the context key `context_key` (`-c salesforceEventBusName=...`);
    without it, the rules on this bus are not rendered. The local runtime creates it in moto.
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-saas.html
    """

    name: str
    context_key: str
    description: str


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule on `bus` (the hub's or a partner bus) whose only target is `queue`."""

    name: str
    bus: str
    pattern: dict[str, object]
    queue: str

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class Secret:
    """A Secrets Manager secret (connection credentials: JSON keyed by system name)."""

    name: str
    description: str

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class Topic:
    """An SNS topic people subscribe to (delivery operations, approvers); encrypted, TLS only."""

    name: str
    description: str

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class QueueTrigger:
    """SQS event source: Lambda polls `queue` in batches and reports partial batch failures."""

    queue: str
    batch_size: int = 10
    max_batching_window_seconds: int = 0
    # At most this many batches at once (the event source mapping's ScalingConfig.MaximumConcurrency,
    # 2..1000; None: Lambda scales out freely). It bounds how many calls a consumer has in flight.
    # https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.max_concurrency is not None and not 2 <= self.max_concurrency <= 1000:
            raise ValueError(
                f"max_concurrency of {self.queue} must be 2..1000 (AWS), not {self.max_concurrency}"
            )


@dataclass(frozen=True)
class UserPool:
    """People who sign in to call API routes: a Cognito user pool in AWS; locally, per-person tokens
    kept (as SHA-256) under `approvers` in the connections secret of the local secrets."""

    name: str
    description: str


@dataclass(frozen=True)
class ApiTrigger:
    """API Gateway REST proxy routes served by the function."""

    routes: tuple[tuple[str, str], ...]  # (method, path) with {param} segments
    # A UserPool's name: API Gateway lets only its signed-in users through (401 before the function).
    # None: open at the HTTP layer (webhooks, whose vendors sign the body instead).
    authorizer: str | None = None


@dataclass(frozen=True)
class ScheduleTrigger:
    """An EventBridge schedule: `expression` is rate(...) or cron(...)."""

    expression: str


@dataclass(frozen=True)
class TaskTrigger:
    """Invoked by a state machine Task state (no trigger of its own)."""


@dataclass(frozen=True)
class InvokeTrigger:
    """Invoked on demand only (Lambda Invoke, by the CLI): no event source, no schedule."""


Trigger = QueueTrigger | ApiTrigger | ScheduleTrigger | TaskTrigger | InvokeTrigger


@dataclass(frozen=True)
class Function:
    """A Lambda function: `handler` is the dotted path `module.attribute`."""

    name: str
    handler: str
    trigger: Trigger
    uses: tuple[Use, ...] = ()
    memory_mb: int = 512
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    description: str = ""


@dataclass(frozen=True)
class StateMachine:
    """A Step Functions Standard state machine defined by an ASL file with ${placeholders}.

    `substitutions` maps each placeholder to a logical function name (rendered as its ARN).
    """

    name: str
    definition: Path
    substitutions: dict[str, str] = field(default_factory=dict)

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class Api:
    """The REST API in front of the webhook and approval routes."""

    name: str
    max_body_bytes: int
    throttle_rate_per_second: int
    throttle_burst: int


@dataclass(frozen=True)
class Wiring:
    """The whole system."""

    stack_name: str
    api: Api
    bus: Bus
    tables: tuple[Table, ...]
    queues: tuple[Queue, ...]
    rules: tuple[Rule, ...]
    secrets: tuple[Secret, ...]
    functions: tuple[Function, ...]
    state_machines: tuple[StateMachine, ...]
    topics: tuple[Topic, ...] = ()
    user_pools: tuple[UserPool, ...] = ()
    partner_buses: tuple[PartnerBus, ...] = ()

    def partner_bus(self, name: str) -> PartnerBus | None:
        return next((b for b in self.partner_buses if b.name == name), None)

    def function(self, name: str) -> Function:
        return next(f for f in self.functions if f.name == name)

    def queue(self, name: str) -> Queue:
        return next(q for q in self.queues if q.name == name)

    def consumer_of(self, queue: str) -> Function | None:
        """The function a queue trigger hands the queue's messages to (None: none, or it drains it itself)."""
        return next(
            (f for f in self.functions if isinstance(f.trigger, QueueTrigger) and f.trigger.queue == queue),
            None,
        )

    def drainer_of(self, queue: str) -> Function | None:
        """The function that receives and deletes the queue's messages itself (Access.CONSUME)."""
        return next(
            (
                f
                for f in self.functions
                if any(u.resource == queue and u.access is Access.CONSUME for u in f.uses)
            ),
            None,
        )

    @property
    def api_name(self) -> str:
        """The REST API's name: API Gateway's metrics (AWS/ApiGateway) carry it as `ApiName`."""
        return f"{self.stack_name}-{self.api.name}"


# --- the resources --------------------------------------------------------------------------

LEDGER = Table(
    "ledger",
    ttl_attribute="expires_at",
    indexes=(
        Index(LEDGER_STATUS_INDEX, partition_key=LEDGER_STATUS_KEY, sort_key=LEDGER_STATUS_SORT),
        # Added after the status index. One GSI is created or deleted per UpdateTable, so a stack
        # update adds at most one new index at a time:
        # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTable.html
        # Keys only: a work record is rewritten at each claim and finish, its keys here never change.
        Index(
            LEDGER_ENGAGEMENT_INDEX,
            partition_key=LEDGER_ENGAGEMENT_KEY,
            sort_key=LEDGER_ENGAGEMENT_SORT,
            keys_only=True,
        ),
    ),
)
IDEMPOTENCY = Table("idempotency", ttl_attribute="expiration")
BUS = Bus("close2cash")
CONNECTIONS = Secret("connections", "Credentials and endpoints of each connected system, keyed by system")
# Kept apart from CONNECTIONS (read-only to every function): the functions that call QuickBooks
# write the refresh token Intuit rotates on every refresh, keyed by system and realm.
OAUTH_TOKENS = Secret(
    "oauth-tokens", "OAuth tokens vendors rotate (QuickBooks), written back at each refresh"
)

ACCOUNT_CHANGES = Queue("account-changes", max_receive_count=5)
# Salesforce Change Data Capture through Event Relay (landscape: intake = "change_data_capture").
SALESFORCE_EVENTS = PartnerBus(
    "salesforce-events",
    context_key="salesforceEventBusName",
    description="Salesforce Change Data Capture relayed by Event Relay",
)
SALESFORCE_CHANGES = Queue("salesforce-changes", max_receive_count=5)
# Time entries and expenses changed in the PSA, and engagements activated (their parked work posts).
WORK_CHANGES = Queue("work-changes", max_receive_count=8)
OPPORTUNITY_CHANGES = Queue("opportunity-changes", max_receive_count=5)
# Invoices, payments and credit memos changed in accounting (cash feedback to the PSA and the CRM).
CASH_CHANGES = Queue("cash-changes", max_receive_count=8)
# What a replay of the bus's archive delivers: drained by the replay function itself (no trigger).
# A message of another replay running at the same time is left for it, so it may be received a few
# times before that replay takes it: a higher receive count than the consumers' queues.
REPLAYED_NOTICES = Queue("replayed-notices", max_receive_count=10)
# The rule a replay names in its Destination.FilterArns. Live events never carry `replay-name`, so
# this rule never sees them; replays name only this rule, so the other rules never see replayed ones.
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html
REPLAYS = Rule(
    "replays",
    bus=BUS.name,
    pattern={"replay-name": [{"exists": True}], "source": [{"prefix": "close2cash.webhooks."}]},
    queue=REPLAYED_NOTICES.name,
)
APPROVERS = UserPool("approvers", "Delivery operations people who approve or reject engagements")
DELIVERY_OPS = Topic("delivery-ops", "Engagements activated (for staffing) and approval reminders")
CLOSE_TO_CASH = StateMachine(
    "close-to-cash",
    definition=STATEMACHINE_DIR / "close_to_cash.asl.json",
    substitutions={"EngagementStepFunctionArn": "engagement_step"},
)
BILLING_RUN = StateMachine(
    "billing-run",
    definition=STATEMACHINE_DIR / "billing_run.asl.json",
    substitutions={"BillingStepFunctionArn": "billing_step"},
)

# The limit the webhook handler enforces (API Gateway REST cannot go below its own 10 MB).
API = Api("webhooks", max_body_bytes=WEBHOOK_MAX_BODY_BYTES, throttle_rate_per_second=100, throttle_burst=200)

# How often the customer master's change feeds are swept: the longest a lost notice stays unnoticed.
# A deployment chooses its own with `cdk deploy -c account_sweep_minutes=5` (`with_sweep_interval`).
ACCOUNT_SWEEP_MINUTES = 15
ACCOUNT_SWEEP = "account_sweep"
# The time & expense sweep: the longest an approval whose webhook was lost waits to be posted.
DELIVERY_SWEEP_MINUTES = 15


def sweep_rate(minutes: int) -> str:
    """The schedule expression of a sweep every `minutes` (EventBridge: singular unit for 1)."""
    if not 1 <= minutes <= 1440:
        raise ValueError(f"account_sweep_minutes must be 1..1440 (at least daily), not {minutes}")
    return "rate(1 minute)" if minutes == 1 else f"rate({minutes} minutes)"


def with_sweep_interval(wiring: Wiring, minutes: int) -> Wiring:
    """`wiring` with the catch-up sweep every `minutes` instead of `ACCOUNT_SWEEP_MINUTES`."""
    functions = tuple(
        replace(f, trigger=ScheduleTrigger(sweep_rate(minutes))) if f.name == ACCOUNT_SWEEP else f
        for f in wiring.functions
    )
    return replace(wiring, functions=functions)


_COMMON_ENV = (
    LEDGER.use(Access.READ_WRITE, "LEDGER_TABLE"),
    CONNECTIONS.use(Access.READ, "CONNECTIONS_SECRET"),
)

WIRING = Wiring(
    stack_name=STACK_NAME,
    api=API,
    bus=BUS,
    tables=(LEDGER, IDEMPOTENCY),
    queues=(
        ACCOUNT_CHANGES,
        OPPORTUNITY_CHANGES,
        SALESFORCE_CHANGES,
        WORK_CHANGES,
        CASH_CHANGES,
        REPLAYED_NOTICES,
    ),
    rules=(
        Rule(
            "account-notices",
            bus=BUS.name,
            pattern={"source": [{"prefix": "close2cash.webhooks."}], "detail": {"entity": ["account"]}},
            queue=ACCOUNT_CHANGES.name,
        ),
        Rule(
            "opportunity-notices",
            bus=BUS.name,
            # A notice that itself says its deal is open (won: false) never needs the workflow start,
            # so it never invokes it; won, or not said (absent), goes on.
            # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
            pattern={
                "source": [{"prefix": "close2cash.webhooks."}],
                "detail": {
                    "entity": ["opportunity"],
                    "$or": [{"won": [True]}, {"won": [{"exists": False}]}],
                },
            },
            queue=OPPORTUNITY_CHANGES.name,
        ),
        Rule(
            "work-notices",
            bus=BUS.name,
            pattern={
                "source": [{"prefix": "close2cash.webhooks."}],
                "detail": {"entity": ["time_entry", "expense_entry"]},
            },
            queue=WORK_CHANGES.name,
        ),
        Rule(
            "engagements-activated",
            bus=BUS.name,
            # Engagement setup's domain event (shared/aws/events.py): parked work may now post.
            pattern={"source": ["close2cash.domain"], "detail-type": ["close2cash.engagement.activated"]},
            queue=WORK_CHANGES.name,
        ),
        Rule(
            "cash-notices",
            bus=BUS.name,
            pattern={
                "source": [{"prefix": "close2cash.webhooks."}],
                "detail": {"entity": ["invoice", "payment", "credit_memo"]},
            },
            queue=CASH_CHANGES.name,
        ),
        Rule(
            "salesforce-change-events",
            bus=SALESFORCE_EVENTS.name,
            # Event Relay's events: source aws.partner/salesforce.com/<org>/<channel>, detail-type
            # the change event's name; only the types the hub syncs are taken off the bus.
            pattern={
                "source": [{"prefix": EVENT_SOURCE_PREFIX}],
                "detail-type": sorted(CHANGE_EVENTS),
            },
            queue=SALESFORCE_CHANGES.name,
        ),
        REPLAYS,
    ),
    secrets=(CONNECTIONS, OAUTH_TOKENS),
    functions=(
        Function(
            "webhook_ingest",
            handler="functions.webhook_ingest.handler.handler",
            trigger=ApiTrigger((("POST", "/webhooks/{provider}"),)),
            uses=(*_COMMON_ENV, BUS.use(Access.PUT, "EVENT_BUS_NAME")),
            memory_mb=512,
            timeout_seconds=10,  # vendors want an answer in 3-5 s (QBO 3 s, Xero 5 s)
            description="Verifies vendor webhooks on the raw body, records each notice once, publishes it",
        ),
        Function(
            "account_sync",
            handler="functions.account_sync.handler.handler",
            # 5 containers, each calling one vendor at a time: at most 5 QuickBooks requests in flight
            # per realm from here, under Intuit's 10 concurrent (the shared budget bounds the rate).
            trigger=QueueTrigger(
                ACCOUNT_CHANGES.name, batch_size=10, max_batching_window_seconds=1, max_concurrency=5
            ),
            uses=(
                *_COMMON_ENV,
                IDEMPOTENCY.use(Access.READ_WRITE, "IDEMPOTENCY_TABLE"),
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),  # QuickBooks customers
            ),
            memory_mb=512,
            timeout_seconds=60,
            reserved_concurrency=None,
            description="Fetches changed accounts from the CRM and upserts PSA clients and ERP customers",
        ),
        Function(
            "workflow_start",
            handler="functions.workflow_start.handler.handler",
            trigger=QueueTrigger(
                OPPORTUNITY_CHANGES.name, batch_size=10, max_batching_window_seconds=1, max_concurrency=2
            ),
            uses=(*_COMMON_ENV, CLOSE_TO_CASH.use(Access.START, "STATE_MACHINE_ARN")),
            timeout_seconds=30,
            description="Fetches changed opportunities; closed-won starts engagement setup once per close",
        ),
        Function(
            "change_events",
            handler="functions.change_events.handler.handler",
            trigger=QueueTrigger(
                SALESFORCE_CHANGES.name, batch_size=10, max_batching_window_seconds=1, max_concurrency=2
            ),
            uses=(*_COMMON_ENV, BUS.use(Access.PUT, "EVENT_BUS_NAME")),
            timeout_seconds=60,  # an overflow event sweeps the changed records (one SOQL query, paged)
            description="Turns Salesforce change events (Event Relay) into claimed notices on the bus",
        ),
        Function(
            "engagement_step",
            handler="functions.engagement_step.handler.handler",
            trigger=TaskTrigger(),
            uses=(
                *_COMMON_ENV,
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),
                DELIVERY_OPS.use(Access.PUBLISH, "NOTIFY_TOPIC_ARN"),
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),  # QuickBooks sub-customers
            ),
            timeout_seconds=120,  # a step may sync the customer first: a few vendor calls with retries
            description="One step of engagement setup (validate, upsert, dimensions, shell, rates, ...)",
        ),
        Function(
            "approvals_api",
            handler="functions.approvals_api.handler.handler",
            trigger=ApiTrigger(
                (
                    ("GET", "/approvals"),
                    ("POST", "/approvals/{approval_id}/approve"),
                    ("POST", "/approvals/{approval_id}/reject"),
                ),
                authorizer=APPROVERS.name,
            ),
            uses=(
                *_COMMON_ENV,
                CLOSE_TO_CASH.use(Access.TASK_RESPONSE, "STATE_MACHINE_ARN"),
                # Invoices over the threshold wait on the same desk (their tokens are the billing run's).
                BILLING_RUN.use(Access.TASK_RESPONSE, "BILLING_STATE_MACHINE_ARN"),
            ),
            timeout_seconds=10,
            description="Lists pending engagement approvals; the signed-in approver approves or rejects them",
        ),
        Function(
            "approval_reminder",
            handler="functions.approval_reminder.handler.handler",
            trigger=ScheduleTrigger("rate(1 hour)"),
            uses=(*_COMMON_ENV, DELIVERY_OPS.use(Access.PUBLISH, "NOTIFY_TOPIC_ARN")),
            timeout_seconds=30,
            description="Reminds approvers of engagement approvals pending longer than configured",
        ),
        Function(
            ACCOUNT_SWEEP,
            handler="functions.account_sweep.handler.handler",
            # Webhooks are hints (a lost one, a delete that sends none): each vendor's change feed is
            # read from its cursor (shared/domain/systems.py), one call per vendor when quiet.
            trigger=ScheduleTrigger(sweep_rate(ACCOUNT_SWEEP_MINUTES)),
            uses=(
                *_COMMON_ENV,
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),  # QuickBooks CDC
            ),
            timeout_seconds=60,
            description="Catch-up sweeps of the customer master: changes lost notices missed become notices",
        ),
        Function(
            "time_sync",
            handler="functions.time_sync.handler.handler",
            # Up to 100 notices per invocation, gathered for up to 5 s: the PSA is read in one list
            # call per 100 entries (Productive pages of 200), accounting written in batches of 10.
            # Two at once: QuickBooks allows 10 concurrent requests per realm, shared with the
            # interactive flows, and 40 batch requests a minute (the shared budget paces them).
            trigger=QueueTrigger(
                WORK_CHANGES.name, batch_size=100, max_batching_window_seconds=5, max_concurrency=2
            ),
            uses=(*_COMMON_ENV, OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET")),
            # Most of an invocation is spent waiting for QuickBooks' batch slots (month-end paces it
            # to 35 a minute), billed per GB-s: 256 MB holds a batch of 100 entries many times over.
            memory_mb=256,
            timeout_seconds=60,
            description="Posts approved billable time and expenses from the PSA to accounting, in batches",
        ),
        Function(
            "delivery_sweep",
            handler="functions.delivery_sweep.handler.handler",
            # Productive sends no "approved" event and webhooks get lost: every change since the
            # cursor is read (pages of 200) and settled; parked work is looked at again.
            trigger=ScheduleTrigger(sweep_rate(DELIVERY_SWEEP_MINUTES)),
            uses=(*_COMMON_ENV, OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET")),
            timeout_seconds=300,
            description="Catch-up sweep of time entries and expenses; releases parked work",
        ),
        Function(
            "billing_step",
            handler="functions.billing_step.handler.handler",
            trigger=TaskTrigger(),
            uses=(*_COMMON_ENV, OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET")),
            timeout_seconds=120,  # an invoice of hundreds of lines, then the PSA's copy of it
            description="One step of a billing run (compose, request approval, post, report)",
        ),
        Function(
            "cash_feedback",
            handler="functions.cash_feedback.handler.handler",
            # Each notice re-reads one invoice (and the payments naming it): two calls to the ledger,
            # then the PSA's copy and the CRM's figures. Two at once, beside the other QuickBooks flows.
            trigger=QueueTrigger(
                CASH_CHANGES.name, batch_size=10, max_batching_window_seconds=1, max_concurrency=2
            ),
            uses=(*_COMMON_ENV, OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET")),
            timeout_seconds=60,
            description="Invoice status, payments and credit memos from accounting to the PSA and the CRM",
        ),
        Function(
            "billing_schedule",
            handler="functions.billing_schedule.handler.handler",
            # Hourly: the change-data sweep of invoices, payments and credit memos (lost notices, Void
            # notices an app did not ask for); on the landscape's run_on_day, the month's runs start.
            trigger=ScheduleTrigger("rate(1 hour)"),
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BILLING_RUN.use(Access.START, "BILLING_STATE_MACHINE_ARN"),
            ),
            timeout_seconds=300,
            description="Billing calendar (starts the month's runs) and the cash change-data sweep",
        ),
        Function(
            "reconcile",
            handler="functions.reconcile.handler.handler",
            # Nightly, after the hourly sweeps have closed the day: the systems compared to the cent;
            # each break an exception for a person (`close2cash reconcile` runs the same on demand).
            trigger=ScheduleTrigger("cron(30 2 * * ? *)"),
            uses=(*_COMMON_ENV, OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET")),
            timeout_seconds=900,
            description="Nightly reconciliation of customers, engagements and money across the systems",
        ),
        Function(
            "replay",
            handler="functions.replay.handler.handler",
            # `close2cash replay --from T1 --to T2` invokes it; nothing else does.
            trigger=InvokeTrigger(),
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BUS.use(Access.REPLAY, "EVENT_ARCHIVE_ARN"),
                BUS.use(Access.ARN, "EVENT_BUS_ARN"),
                REPLAYS.use(Access.ARN, "REPLAY_RULE_ARN"),
                REPLAYED_NOTICES.use(Access.CONSUME, "REPLAY_QUEUE_URL"),
            ),
            # A replay may take minutes to start in AWS, then the window's notices are re-derived.
            timeout_seconds=900,
            description=(
                "Replays a window of the bus archive: re-derives the hub's writes and diffs (or applies) them"
            ),
        ),
    ),
    state_machines=(CLOSE_TO_CASH, BILLING_RUN),
    topics=(DELIVERY_OPS,),
    user_pools=(APPROVERS,),
    partner_buses=(SALESFORCE_EVENTS,),
)
