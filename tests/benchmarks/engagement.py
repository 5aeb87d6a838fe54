"""One closed-won deal to an active engagement: transitions, calls, and a modelled AWS cost."""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

from rich.console import Console

from infra.local.demo import engagement_setup
from infra.local.environment import LocalEnvironment
from shared import bootstrap
from tests.benchmarks.calls import counting_aws_calls

# us-east-1 list prices used by the model (USD); a deployment's region and free tier change them.
# Step Functions Standard: $0.025 per 1,000 state transitions. https://aws.amazon.com/step-functions/pricing/
PRICE_TRANSITION = 0.025 / 1000
# Lambda arm64: $0.20 per 1M requests, $0.0000133334 per GB-second. https://aws.amazon.com/lambda/pricing/
PRICE_LAMBDA_REQUEST = 0.20 / 1_000_000
PRICE_LAMBDA_GB_SECOND = 0.0000133334
ASSUMED_SECONDS_PER_INVOCATION = 0.3  # warm invocations of these handlers are I/O-bound vendor calls
MEMORY_GB = 0.5
# DynamoDB on demand: $0.625 per 1M write request units, $0.125 per 1M read request units (2024 prices).
# https://aws.amazon.com/dynamodb/pricing/on-demand/
PRICE_DDB_WRITE = 0.625 / 1_000_000
PRICE_DDB_READ = 0.125 / 1_000_000
# SQS standard $0.40 per 1M requests; EventBridge custom events $1.00 per 1M; SNS $0.50 per 1M publishes.
PRICE_SQS = 0.40 / 1_000_000
PRICE_EVENT = 1.00 / 1_000_000
PRICE_SNS = 0.50 / 1_000_000
DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


@dataclass
class EngagementFigures:
    transitions: int
    invocations: Counter[str]
    aws_calls: Counter[str]
    vendor_calls: dict[str, int]
    active: bool

    def cost_per_thousand(self) -> dict[str, float]:
        invocations = sum(self.invocations.values())
        writes = sum(
            v for k, v in self.aws_calls.items() if k.startswith("dynamodb:") and k[9:] in DDB_WRITES
        )
        reads = sum(v for k, v in self.aws_calls.items() if k.startswith("dynamodb:")) - writes
        sqs = sum(v for k, v in self.aws_calls.items() if k.startswith("sqs:"))
        events = self.aws_calls["events:PutEvents"]
        sns = self.aws_calls["sns:Publish"]
        per_engagement = {
            "Step Functions transitions": self.transitions * PRICE_TRANSITION,
            "Lambda requests + compute": invocations
            * (PRICE_LAMBDA_REQUEST + ASSUMED_SECONDS_PER_INVOCATION * MEMORY_GB * PRICE_LAMBDA_GB_SECOND),
            "DynamoDB": writes * PRICE_DDB_WRITE + reads * PRICE_DDB_READ,
            "SQS + EventBridge + SNS": sqs * PRICE_SQS + events * PRICE_EVENT + sns * PRICE_SNS,
        }
        return {k: v * 1000 for k, v in per_engagement.items()}


def measure(env: LocalEnvironment) -> EngagementFigures:
    """Run one deal end to end (its customer already synced) and count what it cost."""
    assert env.runtime is not None
    account_id = env.salesforce.put_account({"Name": "Bench Engagement Co", "CurrencyIsoCode": "USD"})
    env.settle()
    invocations_before = Counter(env.runtime.invocations)
    vendor_before = bootstrap.services().vendor_calls()
    with counting_aws_calls() as counts:
        report = engagement_setup(env, Console(file=io.StringIO()), account_id=account_id)
    invocations = Counter(env.runtime.invocations)
    invocations.subtract(invocations_before)
    vendor_after = bootstrap.services().vendor_calls()
    sfn = env.runtime.clients.stepfunctions()
    arn = env.runtime.resources.state_machines["close-to-cash"]
    [execution] = [
        e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["status"] == "SUCCEEDED"
    ]
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    # Standard workflows bill each state entered (start and end of the execution are not billed).
    transitions = sum(1 for event in history if event["type"].endswith("StateEntered"))
    # The runtime's own polling (receives, list executions) is not what a deployment pays for per deal,
    # and moto's Lambda calls for Task states are the invocations counted above, not API calls.
    runtime_only = ("sqs:ReceiveMessage", "sqs:GetQueueAttributes")
    for key in [k for k in counts if k in runtime_only or k.startswith(("states:", "lambda:"))]:
        del counts[key]
    return EngagementFigures(
        transitions=transitions,
        invocations=+invocations,
        aws_calls=counts,
        vendor_calls={k: v - vendor_before.get(k, 0) for k, v in vendor_after.items()},
        active=report.active_once,
    )
