"""One synth per test session: the CDK app is slow to build, and every infra test reads the same result."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from aws_cdk import Stack
from aws_cdk.assertions import Template

from infra.cdk.app import build
from infra.cdk.stack import Close2CashStack

# A partner event bus as Event Relay names it: aws.partner/salesforce.com/<org id>/<channel id>.
PARTNER_BUS = "aws.partner/salesforce.com/00D5g000004DEMOEAA/0YL5g0000004CDCAAA"


@dataclass(frozen=True)
class Synth:
    """The synthesized stack: the construct tree, its template and the cloud assembly folder."""

    stack: Close2CashStack
    template: Template
    resources: dict[str, dict[str, Any]]
    outdir: Path

    def logical_id(self, construct: Any) -> str:
        """Logical id of an L2 construct's CloudFormation resource."""
        element = construct.node.default_child if hasattr(construct, "node") else construct
        return str(Stack.of(self.stack).resolve(self.stack.get_logical_id(element)))

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == cfn_type}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    # As `cdk deploy -c salesforceEventBusName=...` after Event Relay created the partner event source.
    app, stack = build(str(outdir), nag=False, context={"salesforceEventBusName": PARTNER_BUS})
    assembly = app.synth()
    template_json = assembly.get_stack_artifact(stack.artifact_id).template
    # Round-trip through JSON so the dict is exactly what CloudFormation would receive.
    template_dict: dict[str, Any] = json.loads(json.dumps(template_json))
    yield Synth(
        stack=stack,
        template=Template.from_json(template_dict),
        resources=template_dict["Resources"],
        outdir=outdir,
    )


@pytest.fixture(scope="session")
def asset_dir(synth: Synth) -> Path:
    """The hub's one code asset's folder, as bundled for Lambda (not CDK's own custom-resource provider)."""
    keys = {
        synth.resources[synth.logical_id(fn)]["Properties"]["Code"]["S3Key"]
        for fn in synth.stack.functions.functions.values()
    }
    [key] = keys
    directory = synth.outdir / f"asset.{key.removesuffix('.zip')}"
    assert directory.is_dir(), directory
    return directory
