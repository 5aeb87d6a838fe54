"""Functions: one Lambda per wiring.FUNCTIONS entry, its trigger, and its `uses` as least-privilege grants."""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.cdk.bundling import LANDSCAPE_IN_ASSET
from infra.wiring_model import Access, Function, QueueTrigger, ScheduleTrigger, Use, Wiring

METRICS_NAMESPACE = "close2cash"
# The asset is built for this interpreter and architecture (see infra/cdk/bundling.py).
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Anything a `Use` can name, by logical name.
Resource = (
    dynamodb.Table
    | events.EventBus
    | events.Rule
    | sqs.Queue
    | secretsmanager.Secret
    | sfn.StateMachine
    | sns.Topic
)
# The names a replay started by a function takes (shared/aws/archive.py: `c2c-replay-<hex>`).
REPLAY_NAME_PREFIX = "c2c-replay-"


class Functions(Construct):
    """The Lambda functions of the wiring, each with its own role, log group and trigger."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        wiring: Wiring,
        code: lambda_.Code,
        queues: Mapping[str, sqs.Queue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        self.schedule_dlqs: dict[str, sqs.Queue] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        self._wiring = wiring
        for spec in wiring.functions:
            fn = self._function(spec, code)
            self.functions[spec.name] = fn
            self._trigger(spec, fn, queues)

    def _function(self, spec: Function, code: lambda_.Code) -> lambda_.Function:
        log_group = logs.LogGroup(self, f"Logs-{spec.name}", retention=LOG_RETENTION)
        self.log_groups[spec.name] = log_group
        # An explicit role with a grant on its own log group, instead of the AWS managed
        # AWSLambdaBasicExecutionRole, whose logs permissions cover every log group in the account.
        role = iam.Role(
            self,
            f"Role-{spec.name}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"close2cash {spec.name}",
        )
        log_group.grant_write(role)
        dlq: sqs.Queue | None = None
        if isinstance(spec.trigger, ScheduleTrigger):
            # A schedule is the one asynchronous trigger: events EventBridge cannot deliver and invocations
            # that still fail after Lambda's own retries are both kept here for an operator.
            dlq = sqs.Queue(
                self,
                f"ScheduleDlq-{spec.name}",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=cdk.Duration.days(14),
            )
            self.schedule_dlqs[spec.name] = dlq
        module, _, attribute = spec.handler.rpartition(".")
        if not module or not attribute:
            raise ValueError(f"function {spec.name}: handler {spec.handler!r} is not `module.attribute`")
        return lambda_.Function(
            self,
            f"Fn-{spec.name}",
            code=code,
            handler=spec.handler,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_seconds),
            reserved_concurrent_executions=spec.reserved_concurrency,
            description=spec.description or spec.name,
            role=role,
            log_group=log_group,
            dead_letter_queue=dlq,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "POWERTOOLS_SERVICE_NAME": spec.name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": "INFO",
                "LANDSCAPE_FILE": LANDSCAPE_IN_ASSET,
            },
        )

    def _trigger(self, spec: Function, fn: lambda_.Function, queues: Mapping[str, sqs.Queue]) -> None:
        trigger = spec.trigger
        if isinstance(trigger, QueueTrigger):
            fn.add_event_source(
                sources.SqsEventSource(
                    queues[trigger.queue],
                    batch_size=trigger.batch_size,
                    max_batching_window=(
                        cdk.Duration.seconds(trigger.max_batching_window_seconds)
                        if trigger.max_batching_window_seconds
                        else None
                    ),
                    # Handlers use Powertools' BatchProcessor: only the failed records return to the queue.
                    report_batch_item_failures=True,
                    # ScalingConfig.MaximumConcurrency: how many batches at once, from the wiring.
                    max_concurrency=trigger.max_concurrency,
                )
            )
        elif isinstance(trigger, ScheduleTrigger):
            events.Rule(
                self,
                f"Schedule-{spec.name}",
                schedule=events.Schedule.expression(trigger.expression),
                targets=[
                    targets.LambdaFunction(
                        fn, dead_letter_queue=self.schedule_dlqs[spec.name], retry_attempts=2
                    )
                ],
            )
        # ApiTrigger is rendered by the Api construct; TaskTrigger by the state machine that calls it;
        # InvokeTrigger has nothing to render (the CLI invokes the function with its own credentials);
        # TransformTrigger has no event source either: each delivery stream of its landing invokes the
        # function with the stream's own role (lambda:InvokeFunction, granted by the Analytics construct).

    def grant_uses(
        self, resources: Mapping[str, Resource], *, archives: Mapping[str, events.Archive] | None = None
    ) -> None:
        """Render every function's `uses`: one least-privilege grant and one environment variable each.

        `archives` maps a bus's logical name to its archive (what Access.REPLAY replays)."""
        for spec in self._wiring.functions:
            fn = self.functions[spec.name]
            for use in spec.uses:
                if use.resource not in resources:
                    raise ValueError(f"function {spec.name} uses unknown resource {use.resource!r}")
                archive = (archives or {}).get(use.resource)
                fn.add_environment(use.env, grant(resources[use.resource], use, fn, archive=archive))


def grant(
    resource: Resource, use: Use, grantee: iam.IGrantable, *, archive: events.Archive | None = None
) -> str:
    """Grant `use.access` on `resource` to `grantee`; return what the function's env var should hold."""
    access = use.access
    if isinstance(resource, dynamodb.Table):
        table_grants = {
            Access.READ: resource.grant_read_data,
            Access.WRITE: resource.grant_write_data,
            Access.READ_WRITE: resource.grant_read_write_data,
        }
        if access in table_grants:
            table_grants[access](grantee)
            return resource.table_name
    elif isinstance(resource, events.EventBus):
        if access is Access.PUT:
            resource.grant_put_events_to(grantee)
            return resource.event_bus_name
        if access is Access.ARN:
            return resource.event_bus_arn
        if access is Access.REPLAY:
            if archive is None:
                raise ValueError(f"bus {use.resource!r} has no archive to replay")
            _grant_replay(archive, grantee)
            return archive.archive_arn
    elif isinstance(resource, events.Rule):
        if access is Access.ARN:
            return resource.rule_arn
    elif isinstance(resource, sqs.Queue):
        if access is Access.SEND:
            resource.grant_send_messages(grantee)
            return resource.queue_url
        if access is Access.READ:
            resource.grant_consume_messages(grantee)
            return resource.queue_url
        if access is Access.CONSUME:
            # Receive and delete only (DeleteMessageBatch is authorized as sqs:DeleteMessage); the
            # queue is encrypted with SSE-SQS, so no KMS grant either.
            # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html
            resource.grant(grantee, "sqs:ReceiveMessage", "sqs:DeleteMessage")
            return resource.queue_url
    elif isinstance(resource, secretsmanager.Secret):
        if access is Access.READ:
            resource.grant_read(grantee)
            return resource.secret_arn
        if access is Access.READ_WRITE:
            # Read, plus PutSecretValue alone: `grant_write` would add UpdateSecret (description,
            # KMS key) and UpdateSecretVersionStage, which writing a rotated token never needs.
            # The secrets use the AWS managed key, so no KMS grant is needed either.
            resource.grant_read(grantee)
            iam.Grant.add_to_principal_or_resource(
                grantee=grantee,
                actions=["secretsmanager:PutSecretValue"],
                resource_arns=[resource.secret_arn],
                resource=resource,
            )
            return resource.secret_arn
    elif isinstance(resource, sns.Topic):
        if access is Access.PUBLISH:
            resource.grant_publish(grantee)
            return resource.topic_arn
    elif isinstance(resource, sfn.StateMachine):
        if access is Access.START:
            resource.grant_start_execution(grantee)
            return resource.state_machine_arn
        if access is Access.TASK_RESPONSE:
            resource.grant_task_response(grantee)
            return resource.state_machine_arn
        if access is Access.READ:
            resource.grant_read(grantee)
            return resource.state_machine_arn
    raise ValueError(f"{use.resource!r} does not support access {access.value!r}")


def _grant_replay(archive: events.Archive, grantee: iam.IGrantable) -> None:
    """StartReplay of `archive` under the replay names the hub uses, and DescribeReplay of those.

    StartReplay is authorized on the archive and on the replay it creates, DescribeReplay on the
    replay (`arn:<partition>:events:<region>:<account>:replay/<name>`); a replay delivers to its
    destination bus as EventBridge itself, so the caller needs no PutEvents.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
    """
    stack = cdk.Stack.of(archive)
    replays = stack.format_arn(
        service="events",
        resource="replay",
        resource_name=f"{REPLAY_NAME_PREFIX}*",
        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
    )
    iam.Grant.add_to_principal(
        grantee=grantee, actions=["events:StartReplay"], resource_arns=[archive.archive_arn, replays]
    )
    iam.Grant.add_to_principal(grantee=grantee, actions=["events:DescribeReplay"], resource_arns=[replays])
