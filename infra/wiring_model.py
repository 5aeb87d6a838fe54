"""The vocabulary of the system declaration: resources, triggers, grants and the whole `Wiring`.

Plain frozen dataclasses, read by both renderers (infra/cdk, infra/local); `infra/wiring.py` holds
the declaration itself, written in these terms. Nothing here imports aws_cdk or boto3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


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
class Bucket:
    """An S3 bucket: encrypted, TLS only, no public access, versioned; objects move to cheaper storage
    classes as they age (None: never). Both classes named here stay readable at once (Athena reads
    them); Glacier Flexible Retrieval and Deep Archive would not be.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-class-intro.html"""

    name: str
    description: str
    infrequent_access_after_days: int | None = None
    glacier_instant_after_days: int | None = None
    # Old versions (an object written over or deleted) are kept this long, then expire.
    noncurrent_expire_days: int = 30

    def use(self, access: Access, env: str) -> Use:
        return Use(self.name, access, env)


@dataclass(frozen=True)
class LandedStream:
    """One event type's landing: its EventBridge rule and Firehose delivery stream, named after `table`."""

    table: str  # the landed table (shared/analytics/rows.py): "time_approved"
    event_type: str  # the domain event type its rule matches: "close2cash.time.approved"


@dataclass(frozen=True)
class Landing:
    """Domain events landed as governed files, one delivery stream per event type.

    Per stream: an EventBridge rule on `bus` (source `source`, detail-type the event type) whose target
    is a Data Firehose delivery stream; Firehose hands each buffer to the `transform` function (a row per
    event, partition key `dt` = the event's UTC date), converts the rows to Parquet with the schema of
    the stream's Glue table and writes them to `bucket` under `<prefix>/<table>/dt=<date>/`.
    What cannot be turned into a row lands under `<errors_prefix>/` instead: nothing is lost. The Glue
    database `database` holds a table per stream (partition projection on `dt`) and the semantic model's
    Athena views (shared/analytics/model.toml).
    https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html
    https://docs.aws.amazon.com/firehose/latest/dev/record-format-conversion.html
    """

    name: str
    bus: str
    bucket: str
    transform: str  # the function Firehose invokes on each buffer (data transformation)
    streams: tuple[LandedStream, ...]
    source: str = "close2cash.domain"
    prefix: str = "events"
    errors_prefix: str = "landing-errors"
    database: str = "close2cash_analytics"
    # Firehose delivers a buffer when it holds `buffer_mb` or is `buffer_seconds` old, whichever first.
    # With dynamic partitioning the buffer size must be 64..128 MB.
    buffer_seconds: int = 300
    buffer_mb: int = 128

    def table_prefix(self, table: str) -> str:
        """Where a landed table's files are: `events/time_approved/` (then `dt=.../`).

        The event type is a folder, not a `key=value` partition: each Glue table has its own location,
        and a Hive-partitioned reader would otherwise shadow the rows' own `event_type` column."""
        return f"{self.prefix}/{table}/"

    def stream_name(self, table: str) -> str:
        """The logical name of a table's delivery stream and rule: `events-time_approved`."""
        return f"{self.name}-{table}"


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


@dataclass(frozen=True)
class TransformTrigger:
    """Invoked by the delivery streams of a `Landing` to turn each buffer of events into rows."""

    landing: str


Trigger = QueueTrigger | ApiTrigger | ScheduleTrigger | TaskTrigger | InvokeTrigger | TransformTrigger


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
    buckets: tuple[Bucket, ...] = ()
    landings: tuple[Landing, ...] = ()

    def bucket(self, name: str) -> Bucket:
        return next(b for b in self.buckets if b.name == name)

    def landing(self, name: str) -> Landing:
        return next(landing for landing in self.landings if landing.name == name)

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
