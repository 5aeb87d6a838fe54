"""cdk-nag acknowledgements: every finding accepted on purpose, each with its written reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

import aws_cdk as cdk
from constructs import IConstruct

from infra.cdk.constructs.athena import RESULTS_PREFIX
from infra.cdk.constructs.functions import REPLAY_NAME_PREFIX
from infra.wiring_model import Access, ScheduleTrigger

if TYPE_CHECKING:
    from infra.cdk.stack import Close2CashStack

# The construct id CDK gives the singleton Lambda behind every AwsCustomResource in a stack.
AWS_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"
XRAY = (
    "X-Ray PutTraceSegments/PutTelemetryRecords (and the sampling reads) support no resource-level "
    "permissions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html"
)
RUNTIME = (
    "The code asset is built from CPython 3.12 aarch64 wheels (infra/cdk/bundling.py); the runtime moves "
    "together with the bundle's --python-version, deliberately and tested, not by the newest label."
)


def _ack(scope: IConstruct, rule: str, reason: str) -> None:
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def _ack_index_grants(stack: Close2CashStack, function: str, policy: IConstruct) -> None:
    """Table.grant_* adds `<table ARN>/index/*` for a table with global secondary indexes."""
    indexed = {t.name for t in stack.wiring.tables if t.indexes}
    for use in stack.wiring.function(function).uses:
        if use.resource not in indexed:
            continue
        cfn_table = stack.state.tables[use.resource].node.default_child
        assert isinstance(cfn_table, cdk.CfnElement)
        logical_id = stack.resolve(stack.get_logical_id(cfn_table))
        _ack(
            policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/index/*]",
            "The indexes of that one table (declared in the wiring), as Table.grant_* scopes them: "
            "queried for open approvals and exceptions; no other resource.",
        )


def _replay_arn_pattern(stack: Close2CashStack) -> str:
    """The replay ARNs the replay function may start, as cdk-nag writes them in a finding's id."""
    region = "<AWS::Region>" if cdk.Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if cdk.Token.is_unresolved(stack.account) else stack.account
    return f"arn:<AWS::Partition>:events:{region}:{account}:replay/{REPLAY_NAME_PREFIX}*"


def _arn_of(stack: Close2CashStack, construct: IConstruct) -> str:
    """An L2 construct's ARN as cdk-nag writes it in a finding's id: `<LogicalId.Arn>`."""
    cfn = construct.node.default_child
    assert isinstance(cfn, cdk.CfnElement)
    return f"<{stack.resolve(stack.get_logical_id(cfn))}.Arn>"


def _ack_analytics(stack: Close2CashStack) -> None:
    """The landings' DLQs, their streams' object prefixes, the views' results prefix and custom resource."""
    for landing in stack.analytics.landings.values():
        _ack(landing.dlq, "Serverless-SQSRedrivePolicy", "This queue is itself a dead-letter queue: alarmed.")
        _ack(landing.dlq, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue.")
        bucket = _arn_of(stack, landing.bucket)
        spec = landing.landing
        for table, role in landing.stream_roles.items():
            policy = role.node.find_child("DefaultPolicy")
            for prefix in (spec.table_prefix(table), f"{spec.errors_prefix}/{table}/"):
                _ack(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{bucket}/{prefix}*]",
                    "Firehose names the objects it writes itself (the prefix, then stream name, version, "
                    "time and a UUID), so its role writes under its own table's prefix and error prefix "
                    "only, never elsewhere in the bucket: "
                    "https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html",
                )
    for views in stack.athena.values():
        bucket = _arn_of(stack, views.bucket)
        _ack(
            views.role.node.find_child("DefaultPolicy"),
            f"AwsSolutions-IAM5[Resource::{bucket}/{RESULTS_PREFIX}*]",
            "Athena names each query's result objects by its execution id: the views' DDL writes under the "
            "workgroup's results prefix only: "
            "https://docs.aws.amazon.com/athena/latest/ug/querying.html#query-results-specify-location",
        )
    # The one Lambda behind every AwsCustomResource of the stack (the views): CDK's own provider.
    provider = stack.node.try_find_child(AWS_CUSTOM_RESOURCE_PROVIDER)
    if provider is not None:
        _ack(
            provider,
            "Serverless-LambdaDLQ",
            "CloudFormation invokes the AwsCustomResource provider at deploy time and waits for its answer; "
            "a failed call fails (and rolls back) the deployment, so a DLQ would never be read.",
        )
        _ack(
            provider,
            "Serverless-LambdaTracing",
            "CDK's AwsCustomResource provider exposes no tracing setting; it makes one Athena call per view "
            "at deploy time, whose outcome CloudFormation's events and the provider's log group show.",
        )


def acknowledge(stack: Close2CashStack) -> None:
    """Acknowledge the findings close2cash accepts, on the narrowest construct each applies to."""
    for name, fn in stack.functions.functions.items():
        policy = fn.role.node.try_find_child("DefaultPolicy") if fn.role else None
        if policy is not None:
            _ack(policy, "AwsSolutions-IAM5[Resource::*]", XRAY)
            if any(use.access is Access.PUBLISH for use in stack.wiring.function(name).uses):
                _ack(
                    policy,
                    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                    "Publishing to an SNS topic encrypted with our key needs kms:GenerateDataKey* (the "
                    "wildcard covers GenerateDataKeyWithoutPlaintext), scoped to that one key's ARN by "
                    "Topic.grant_publish: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
                )
            _ack_index_grants(stack, name, policy)
            if any(use.access is Access.REPLAY for use in stack.wiring.function(name).uses):
                _ack(
                    policy,
                    f"AwsSolutions-IAM5[Resource::{_replay_arn_pattern(stack)}]",
                    "Replays are created by name at each run (c2c-replay-<hex>): StartReplay and "
                    "DescribeReplay are scoped to the replays of that prefix, the archive by its own ARN: "
                    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html",
                )
        _ack(fn, "AwsSolutions-L1", RUNTIME)
        _ack(fn, "Serverless-LambdaLatestVersion", RUNTIME)
        if not isinstance(stack.wiring.function(name).trigger, ScheduleTrigger):
            _ack(
                fn,
                "Serverless-LambdaDLQ",
                "Invoked synchronously (API Gateway, Step Functions, Firehose's transform) or by an SQS "
                "event source mapping, so Lambda's asynchronous DLQ never receives anything; SQS consumers "
                "fail into their queue's redrive DLQ and schedule-triggered functions do get a DLQ.",
            )
        for child in fn.node.children:
            if isinstance(child, cdk.aws_lambda.EventSourceMapping):
                _ack(
                    child,
                    "Serverless-LambdaEventSourceMappingDestination",
                    "On-failure destinations exist only for stream and Kafka sources; for SQS the queue's "
                    "redrive policy (maxReceiveCount -> DLQ, alarmed) is the failure destination.",
                )

    for machine in stack.workflows.state_machines.values():
        machine_policy = machine.role.node.try_find_child("DefaultPolicy")
        if machine_policy is None:
            continue
        _ack(
            machine_policy,
            "AwsSolutions-IAM5[Resource::*]",
            f"{XRAY}. CloudWatch Logs vended-log delivery actions "
            "(CreateLogDelivery etc.) that Step Functions logging needs also require Resource '*': "
            "https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy",
        )

    for dlq in stack.messaging.dlqs.values():
        _ack(
            dlq,
            "Serverless-SQSRedrivePolicy",
            "This queue is itself a dead-letter queue: it is the end of the line, alarmed when not empty.",
        )
    for dlq in stack.functions.schedule_dlqs.values():
        _ack(
            dlq,
            "Serverless-SQSRedrivePolicy",
            "This queue is itself a dead-letter queue: it is the end of the line, alarmed when not empty.",
        )
        _ack(dlq, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue.")

    for secret in stack.state.secrets.values():
        _ack(
            secret,
            "AwsSolutions-SMG4",
            "Holds third-party credentials (OAuth client secrets, refresh tokens, API keys) issued by each "
            "vendor; the vendor rotates them, not AWS: the operator puts connection credentials here after "
            "connecting a company, and the functions that refresh a rotating OAuth token (QuickBooks) write "
            "the new one back at each refresh, so there is no rotation Lambda to run on AWS's schedule.",
        )

    rest_api = stack.api.rest_api
    _ack(
        rest_api,
        "AwsSolutions-APIG2",
        "Path parameters are validated by API Gateway; bodies are not, on purpose: vendor signatures are "
        "verified on the exact raw bytes in the handler, which also rejects malformed (400) and oversized "
        "(413) bodies before anything is enqueued.",
    )
    # Only the vendor-facing methods are open; every other route has the Cognito authorizer (no ack).
    for method, pool in stack.api.methods.values():
        if pool is not None:
            continue
        _ack(
            method,
            "AwsSolutions-APIG4",
            "A vendor webhook: SaaS vendors call it unauthenticated at the HTTP layer and sign the body "
            "(HMAC, or Salesforce's organisation id); the handler verifies that signature and answers 401.",
        )
        _ack(
            method,
            "AwsSolutions-COG4",
            "A vendor webhook: its callers are SaaS vendors that cannot obtain Cognito tokens; see APIG4.",
        )
    _ack(
        rest_api,
        "AwsSolutions-APIG3",
        "Stage throttling with signature verification (webhooks) and the approvers' Cognito authorizer "
        "(approvals) protect the routes; a WAF web ACL is a per-firm cost and network decision, "
        "attachable to the stage without changing this stack.",
    )
    _ack(
        rest_api,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "The account-level API Gateway logging role: AWS documents this managed policy for it, and an "
        "inline copy would need the same Resource '*' because API Gateway names its log groups itself.",
    )
    _ack_analytics(stack)
