"""THE system declaration, as plain data: both renderers (infra/cdk, infra/local) read it.

Adding a function is one entry in FUNCTIONS plus its handler module; the terms it is written in
(tables, queues, triggers, grants) are `infra/wiring_model.py`. Nothing here imports aws_cdk or
boto3; names are logical (the renderers derive physical names: CDK lets CloudFormation name things,
the local runtime prefixes them with the stack name).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from infra.wiring_model import (
    Access,
    Api,
    ApiTrigger,
    Bucket,
    Bus,
    Function,
    Index,
    InvokeTrigger,
    LandedStream,
    Landing,
    PartnerBus,
    Queue,
    QueueTrigger,
    Rule,
    ScheduleTrigger,
    Secret,
    StateMachine,
    Table,
    TaskTrigger,
    Topic,
    TransformTrigger,
    UserPool,
    Wiring,
)
from shared.analytics.rows import LANDED_TABLES
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
# The analytical layer: every domain event landed as Parquet, one delivery stream per event type.
ANALYTICS = Bucket(
    "analytics",
    "Landed domain events (Parquet, by event type and date) and Athena's query results",
    infrequent_access_after_days=90,
    glacier_instant_after_days=365,
)
EVENTS_LANDING = Landing(
    "events",
    bus=BUS.name,
    bucket=ANALYTICS.name,
    transform="analytics_land",
    streams=tuple(LandedStream(table.name, table.event_type) for table in LANDED_TABLES.values()),
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
            # Every opportunity notice, open deals included: the workflow start states each deal as
            # the CRM holds it (the pipeline is read from open deals); only a won one starts setup.
            pattern={"source": [{"prefix": "close2cash.webhooks."}], "detail": {"entity": ["opportunity"]}},
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
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # account changed (domain event)
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
            uses=(
                *_COMMON_ENV,
                CLOSE_TO_CASH.use(Access.START, "STATE_MACHINE_ARN"),
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # opportunity changed / closed-won (domain events)
            ),
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
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # time / expense approved, withdrawn (domain events)
            ),
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
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # time / expense approved, withdrawn (domain events)
            ),
            timeout_seconds=300,
            description="Catch-up sweep of time entries and expenses; releases parked work",
        ),
        Function(
            "capacity_sync",
            handler="functions.capacity_sync.handler.handler",
            # Utilization and margin need the PSA's capacity and cost rates: read once a day.
            trigger=ScheduleTrigger("cron(20 2 * * ? *)"),
            uses=(
                *_COMMON_ENV,
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # capacity changed (domain events)
            ),
            timeout_seconds=300,
            description="Every worker's capacity and cost rate for last month and this one, as facts",
        ),
        Function(
            "billing_step",
            handler="functions.billing_step.handler.handler",
            trigger=TaskTrigger(),
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # invoice posted (domain event)
            ),
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
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # invoice, payment, credit memo (domain events)
            ),
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
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # the cash sweep's domain events
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
            "cutover",
            handler="functions.cutover.handler.handler",
            # `close2cash cutover diff | acknowledge | confirm` invokes it; nothing else does. The
            # diff reads the shadow period's documents from the PSA and the old ledger.
            trigger=InvokeTrigger(),
            uses=(
                *_COMMON_ENV,
                OAUTH_TOKENS.use(Access.READ_WRITE, "OAUTH_TOKENS_SECRET"),
                BUS.use(Access.PUT, "EVENT_BUS_NAME"),  # parked work released at confirmation (domain events)
            ),
            timeout_seconds=900,
            description="A legal entity's cutover to another ledger: the shadow diff and the go-ahead",
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
        Function(
            "analytics_land",
            handler="functions.analytics_land.handler.handler",
            # Firehose invokes it with each buffer of domain events (at most 3 MB, then 1 MB out).
            # https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html
            trigger=TransformTrigger(EVENTS_LANDING.name),
            # Each event id is claimed once in the idempotency table: a second landing is dropped.
            uses=(IDEMPOTENCY.use(Access.READ_WRITE, "IDEMPOTENCY_TABLE"),),
            memory_mb=512,
            timeout_seconds=120,
            description="Turns each domain event Firehose buffers into its landed row, each event id once",
        ),
    ),
    state_machines=(CLOSE_TO_CASH, BILLING_RUN),
    buckets=(ANALYTICS,),
    landings=(EVENTS_LANDING,),
    topics=(DELIVERY_OPS,),
    user_pools=(APPROVERS,),
    partner_buses=(SALESFORCE_EVENTS,),
)
