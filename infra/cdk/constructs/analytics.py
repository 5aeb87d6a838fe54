"""Analytics: the wiring's buckets and landings: domain events landed by Firehose as Parquet, in Glue.

Per `Landing` stream: a Glue table (partition projection on `dt`, so no crawler), a Data Firehose delivery
stream (the transform Lambda, dynamic partitioning, Parquet conversion with the table's schema) with its
own least-privilege role and log group, and an EventBridge rule on the bus that targets the stream.
The Glue table and the S3 destination are the dictionaries of infra/landing_spec.py, which the local
runtime creates in moto too: one shape, two renderers.

The landing rules are the one exception to DESIGN.md's "every rule targets an SQS queue": issue 14 asks
for EventBridge -> Firehose, whose own buffer (and retries, then the errors prefix) does the queue's job.
Events EventBridge cannot put into a stream land in the landing's DLQ, which is alarmed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import landing_spec
from infra.cdk.constructs.functions import LOG_RETENTION
from infra.wiring_model import Bucket, Landing, TransformTrigger, Wiring

# Firehose waits at most 5 minutes for a transform invocation.
# https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html
MAX_TRANSFORM_TIMEOUT_SECONDS = 300
# Dynamic partitioning needs a buffer of 64..128 MB.
# https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html
DYNAMIC_PARTITIONING_BUFFER_MB = (64, 128)
# DeliveryStreamName: at most 64 characters.
# https://docs.aws.amazon.com/firehose/latest/APIReference/API_CreateDeliveryStream.html
MAX_STREAM_NAME = 64
# EventBridge's maximums: a stream that cannot take records for up to a day loses nothing.
# https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RetryPolicy.html
TARGET_RETRY_ATTEMPTS = 185
TARGET_MAX_EVENT_AGE = cdk.Duration.hours(24)
# Where the shared destination holds an empty object (see `_override`).
HIVE_JSON_SERDE = (
    "DataFormatConversionConfiguration",
    "InputFormatConfiguration",
    "Deserializer",
    "HiveJsonSerDe",
)
# Firehose may leave a multipart upload behind when a delivery is interrupted; nothing reads the parts.
ABORT_MULTIPART_AFTER = cdk.Duration.days(7)
# Server access logs of the landing buckets: who read or wrote which object, kept a year.
ACCESS_LOG_RETENTION = cdk.Duration.days(365)


class Analytics(Construct):
    """The buckets (with their access-log bucket) and, per landing, its Glue tables, streams and rules."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        wiring: Wiring,
        bus: events.IEventBus,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        # S3's log delivery is let in by a bucket policy (its source bucket and account as conditions),
        # not by the legacy log-delivery ACL, which bucket-owner-enforced buckets refuse. Set here, before
        # any child exists, so the flag holds for these buckets whatever the app's cdk.json says.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        self.buckets: dict[str, s3.Bucket] = {}
        self.access_logs: s3.Bucket | None = None
        if wiring.buckets:
            # Server access logs go to a bucket of their own (a bucket cannot log into itself usefully),
            # which S3's log delivery writes with the bucket owner enforced.
            # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
            self.access_logs = s3.Bucket(
                self,
                "AccessLogs",
                encryption=s3.BucketEncryption.S3_MANAGED,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                lifecycle_rules=[s3.LifecycleRule(id="expire", expiration=ACCESS_LOG_RETENTION)],
            )
        for spec in wiring.buckets:
            assert self.access_logs is not None
            self.buckets[spec.name] = _bucket(self, spec, self.access_logs)
        self.landings: dict[str, EventLanding] = {}
        for landing in wiring.landings:
            transform = wiring.function(landing.transform)
            if transform.trigger != TransformTrigger(landing.name):
                raise ValueError(
                    f"landing {landing.name}: its transform {transform.name} must have "
                    f"TransformTrigger({landing.name!r}), not {transform.trigger}"
                )
            if transform.timeout_seconds > MAX_TRANSFORM_TIMEOUT_SECONDS:
                raise ValueError(
                    f"landing {landing.name}: Firehose waits {MAX_TRANSFORM_TIMEOUT_SECONDS} s at most for "
                    f"{transform.name}, whose timeout is {transform.timeout_seconds} s"
                )
            low, high = DYNAMIC_PARTITIONING_BUFFER_MB
            if not low <= landing.buffer_mb <= high:
                raise ValueError(
                    f"landing {landing.name}: buffer_mb must be {low}..{high}, not {landing.buffer_mb}"
                )
            self.landings[landing.name] = EventLanding(
                self,
                f"Landing-{landing.name}",
                landing=landing,
                bucket=self.buckets[landing.bucket],
                bus=bus,
                transform=functions[landing.transform],
            )

    @property
    def dlqs(self) -> dict[str, sqs.Queue]:
        """Each landing's DLQ by landing name (what EventBridge could not put into a stream)."""
        return {name: landing.dlq for name, landing in self.landings.items()}


def _bucket(scope: Construct, spec: Bucket, access_logs: s3.Bucket) -> s3.Bucket:
    """An S3 bucket as the wiring declares it.

    SSE-S3, not KMS: access is decided by IAM on bucket prefixes (Firehose writes one table's prefix,
    Athena reads them), and a key of ours would add a kms:Decrypt grant to every reader and a KMS
    request per object written and read, for no reader that IAM does not already stop.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html
    """
    transitions = [
        s3.Transition(storage_class=storage_class, transition_after=cdk.Duration.days(days))
        for storage_class, days in (
            (s3.StorageClass.INFREQUENT_ACCESS, spec.infrequent_access_after_days),
            (s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, spec.glacier_instant_after_days),
        )
        if days is not None
    ]
    return s3.Bucket(
        scope,
        f"Bucket-{spec.name}",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{spec.name}/",
        lifecycle_rules=[
            s3.LifecycleRule(
                id="age",
                transitions=transitions or None,
                noncurrent_version_expiration=cdk.Duration.days(spec.noncurrent_expire_days),
                abort_incomplete_multipart_upload_after=ABORT_MULTIPART_AFTER,
            )
        ],
        # Landed facts are the firm's history: deleting the stack leaves them (and their versions) in place.
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


class EventLanding(Construct):
    """One landing: its Glue database, and per stream a Glue table, a delivery stream and a rule."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        landing: Landing,
        bucket: s3.Bucket,
        bus: events.IEventBus,
        transform: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.landing = landing
        self.bucket = bucket
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=landing.database,
                description=f"close2cash landed domain events ({landing.name}) and the semantic views",
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        self.streams: dict[str, firehose.CfnDeliveryStream] = {}
        self.stream_roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        self.rules: dict[str, events.CfnRule] = {}
        # What EventBridge could not put into a stream (after its retries) is kept here for an operator.
        self.dlq = sqs.Queue(
            self,
            "Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        # EventBridge puts each matched event into its stream with this role.
        # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html
        self.events_role = iam.Role(
            self,
            "EventsRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description=f"close2cash landing {landing.name}: EventBridge puts events into its streams",
        )
        for stream in landing.streams:
            self._stream(stream.table, stream.event_type, transform, bus)
        self.events_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["firehose:PutRecord", "firehose:PutRecordBatch"],
                resources=[s.attr_arn for s in self.streams.values()],
            )
        )
        self.dlq.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dlq.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": [r.attr_arn for r in self.rules.values()]}},
            )
        )

    def _stream(
        self, table: str, event_type: str, transform: lambda_.IFunction, bus: events.IEventBus
    ) -> None:
        landing = self.landing
        stack = cdk.Stack.of(self)
        name = f"{stack.stack_name}-{landing.stream_name(table)}"
        if len(name) > MAX_STREAM_NAME:
            raise ValueError(f"delivery stream name {name!r} is longer than {MAX_STREAM_NAME} characters")

        cfn_table = glue.CfnTable(
            self,
            f"Table-{table}",
            catalog_id=stack.account,
            database_name=landing.database,
            # Replaced as a whole just below by the shared TableInput (CloudFormation's own names).
            table_input=glue.CfnTable.TableInputProperty(name=table),
        )
        _override(
            cfn_table, "TableInput", landing_spec.glue_table_input(landing, table, self.bucket.bucket_name)
        )
        cfn_table.node.add_dependency(self.database)
        self.tables[table] = cfn_table

        log_group = logs.LogGroup(self, f"Logs-{table}", retention=LOG_RETENTION)
        log_stream = logs.LogStream(
            self, f"LogStream-{table}", log_group=log_group, log_stream_name="delivery"
        )
        self.log_groups[table] = log_group

        # One role per stream: it writes its own table's prefixes, reads its own table's schema and
        # invokes the transform. https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html
        role = iam.Role(
            self,
            f"StreamRole-{table}",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description=f"close2cash landing stream {landing.stream_name(table)}",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.bucket.bucket_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[
                    self.bucket.arn_for_objects(f"{landing.table_prefix(table)}*"),
                    self.bucket.arn_for_objects(f"{landing.errors_prefix}/{table}/*"),
                ],
            )
        )
        # Format conversion reads the table's schema (its latest version) from the Data Catalog.
        # https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-glue
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(
                        service="glue",
                        resource="database",
                        resource_name=landing.database,
                        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                    ),
                    stack.format_arn(
                        service="glue",
                        resource="table",
                        resource_name=f"{landing.database}/{table}",
                        arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
                    ),
                ],
            )
        )
        # Firehose invokes the transform with this role (no resource policy on the function), and reads
        # its configuration first. https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                resources=[transform.function_arn],
            )
        )
        log_group.grant_write(role)
        self.stream_roles[table] = role

        destination = landing_spec.s3_destination(
            landing,
            table,
            bucket_arn=self.bucket.bucket_arn,
            role_arn=role.role_arn,
            transform_arn=transform.function_arn,
            database=landing.database,
            region=stack.region,
        )
        destination["CloudWatchLoggingOptions"] = {
            "Enabled": True,
            "LogGroupName": log_group.log_group_name,
            "LogStreamName": log_stream.log_stream_name,
        }
        stream_props = firehose.CfnDeliveryStream
        delivery = stream_props(
            self,
            f"Stream-{table}",
            delivery_stream_name=name,
            delivery_stream_type="DirectPut",
            # Records wait in Firehose's buffer encrypted at rest; S3 then encrypts each object (SSE-S3).
            # https://docs.aws.amazon.com/firehose/latest/dev/encryption.html
            delivery_stream_encryption_configuration_input=stream_props.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            # The one part of the destination that is an empty object (`"HiveJsonSerDe": {}`: the SerDe
            # with its defaults), given typed because a property override drops empty objects.
            extended_s3_destination_configuration=stream_props.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=role.role_arn,
                data_format_conversion_configuration=stream_props.DataFormatConversionConfigurationProperty(
                    input_format_configuration=stream_props.InputFormatConfigurationProperty(
                        deserializer=stream_props.DeserializerProperty(
                            hive_json_ser_de=stream_props.HiveJsonSerDeProperty()
                        )
                    )
                ),
            ),
        )
        # The rest is the shared destination dictionary, in CloudFormation's own names (landing_spec.py).
        _override(delivery, "ExtendedS3DestinationConfiguration", destination, typed_empty={HIVE_JSON_SERDE})
        # Firehose checks its role and the table when the stream is created.
        default_policy = role.node.try_find_child("DefaultPolicy")
        assert isinstance(default_policy, iam.Policy)
        delivery.node.add_dependency(cfn_table, default_policy)
        self.streams[table] = delivery

        # The exception to "every rule targets a queue" (see the module docstring): the stream is the target.
        rule = events.CfnRule(
            self,
            f"Rule-{table}",
            event_bus_name=bus.event_bus_name,
            description=f"{event_type} -> {name}",
            event_pattern={"source": [landing.source], "detail-type": [event_type]},
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id="stream",
                    arn=delivery.attr_arn,
                    role_arn=self.events_role.role_arn,
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.dlq.queue_arn),
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_retry_attempts=TARGET_RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=int(TARGET_MAX_EVENT_AGE.to_seconds()),
                    ),
                )
            ],
        )
        self.rules[table] = rule


def _override(
    resource: cdk.CfnResource,
    prop: str,
    value: Mapping[str, Any],
    *,
    typed_empty: frozenset[tuple[str, ...]] | set[tuple[str, ...]] = frozenset(),
) -> None:
    """Set `prop` to the CloudFormation-named `value`, refusing to lose part of it silently.

    CDK's property overrides delete every empty object they merge (`"HiveJsonSerDe": {}` would vanish,
    and with it the input format); those must come from the typed props instead (`typed_empty`)."""
    empty = set(_empty_paths(value, ()))
    if empty - set(typed_empty):
        raise ValueError(f"{prop}: empty objects {sorted(empty - set(typed_empty))} would be dropped by CDK")
    resource.add_property_override(prop, _pruned(value))


def _empty_paths(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(value, Mapping):
        if not value:
            yield path
        for key, item in value.items():
            yield from _empty_paths(item, (*path, key))


def _pruned(value: Any) -> Any:
    if isinstance(value, Mapping):
        kept = {key: _pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item != {}}
    return value
