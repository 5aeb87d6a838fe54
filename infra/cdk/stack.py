"""The close2cash stack: renders infra/wiring.py capability by capability."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cdk import bundling, bytecode
from infra.cdk.constructs.analytics import Analytics
from infra.cdk.constructs.api import Api
from infra.cdk.constructs.athena import AthenaViews
from infra.cdk.constructs.functions import Functions, Resource
from infra.cdk.constructs.messaging import Messaging
from infra.cdk.constructs.observability import Observability
from infra.cdk.constructs.schemas import EventSchemas
from infra.cdk.constructs.state import State
from infra.cdk.constructs.workflows import Workflows
from infra.wiring import WIRING
from infra.wiring_model import Wiring
from shared.analytics.semantic import load_model
from shared.governance.loader import load_landscape


class Close2CashStack(cdk.Stack):
    """Everything in the wiring: state, messaging, functions, API, workflows, analytics and observability."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        wiring: Wiring = WIRING,
        code: lambda_.Code | None = None,
        repo_root: Path = bundling.REPO_ROOT,
        landscape: Path = bundling.DEFAULT_LANDSCAPE,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.wiring = wiring
        # Refuse to render a stack around an invalid landscape: LandscapeInvalid lists every problem.
        self.landscape = load_landscape(landscape)
        self.state = State(self, "State", wiring=wiring)
        self.messaging = Messaging(self, "Messaging", wiring=wiring)
        self.functions = Functions(
            self,
            "Functions",
            wiring=wiring,
            # `cdk synth -c bundling_python=/path/to/python3.12`: the interpreter compiling the bytecode.
            code=code
            or bundling.lambda_code(repo_root, landscape, self.node.try_get_context(bytecode.PYTHON_CONTEXT)),
            queues=self.messaging.queues,
        )
        self.api = Api(self, "Api", wiring=wiring, functions=self.functions.functions)
        self.workflows = Workflows(self, "Workflows", wiring=wiring, functions=self.functions.functions)
        self.event_schemas = EventSchemas(self, "EventSchemas", registry_name=wiring.bus.name)
        self.analytics = Analytics(
            self, "Analytics", wiring=wiring, bus=self.messaging.bus, functions=self.functions.functions
        )
        # The semantic model's views, rendered for Athena in each landing's database.
        semantic_model = load_model()
        self.athena = {
            name: AthenaViews(self, f"Athena-{name}", landing=landing, model=semantic_model)
            for name, landing in self.analytics.landings.items()
        }

        resources: dict[str, Resource] = {
            **self.state.tables,
            **self.state.secrets,
            **self.messaging.queues,
            **self.workflows.state_machines,
            **self.messaging.topics,
            **self.messaging.rules,  # a rule is named by its ARN only (a replay's FilterArns)
            wiring.bus.name: self.messaging.bus,
        }
        kinds = (
            wiring.tables,
            wiring.secrets,
            wiring.queues,
            wiring.state_machines,
            wiring.topics,
            wiring.rules,
            wiring.buckets,
        )
        names = [item.name for kind in kinds for item in kind] + [wiring.bus.name]
        if len(set(names)) != len(names):
            raise ValueError("logical resource names in the wiring must be unique across kinds")
        self.functions.grant_uses(resources, archives={wiring.bus.name: self.messaging.archive})

        self.observability = Observability(
            self,
            "Observability",
            queues=self.messaging.queues,
            dlqs={
                **self.messaging.dlqs,
                **{f"schedule-{k}": v for k, v in self.functions.schedule_dlqs.items()},
                **{f"landing-{k}": v for k, v in self.analytics.dlqs.items()},
            },
            functions=self.functions.functions,
            state_machines=self.workflows.state_machines,
            log_groups=self.functions.log_groups,
            api=self.api.rest_api,
        )

        info = self.landscape.landscape
        cdk.CfnOutput(self, "LandscapeVersion", value=f"{info.name} {info.version}")
        cdk.CfnOutput(self, "ApiUrl", value=self.api.rest_api.url, description="Base URL of the webhook API")
        cdk.CfnOutput(self, "EventBusName", value=self.messaging.bus.event_bus_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.observability.topic.topic_arn)
        for bucket in wiring.buckets:
            cdk.CfnOutput(
                self,
                f"{_pascal(bucket.name)}BucketName",
                value=self.analytics.buckets[bucket.name].bucket_name,
                description=bucket.description,
            )
        for name, views in self.athena.items():
            cdk.CfnOutput(
                self,
                f"{_pascal(name)}AthenaWorkGroup",
                value=views.workgroup.ref,
                description=f"The Athena workgroup over the landed {name} and the semantic model's views",
            )
        for spec in wiring.secrets:
            cdk.CfnOutput(
                self,
                f"{_pascal(spec.name)}SecretArn",
                value=self.state.secrets[spec.name].secret_arn,
                description=f"{spec.description} (see the State construct's docstring)",
            )


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))
