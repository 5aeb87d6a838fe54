"""State machines: Standard, defined by their ASL file, logged, traced, allowed to call their functions."""

from __future__ import annotations

import json

import pytest

from infra.wiring import WIRING

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("spec", WIRING.state_machines, ids=lambda m: m.name)
def test_each_state_machine_runs_its_asl_file(synth, spec):
    machine = synth.stack.workflows.state_machines[spec.name]
    props = synth.resources[synth.logical_id(machine)]["Properties"]
    # DefinitionBody.from_file ships the ASL as a file asset that CloudFormation reads from S3
    key = props["DefinitionS3Location"]["Key"]
    shipped = json.loads((synth.outdir / f"asset.{key}").read_text())
    assert shipped == json.loads(spec.definition.read_text())
    assert shipped["States"], "the definition has no states"
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert set(props.get("DefinitionSubstitutions", {})) == set(spec.substitutions)


@pytest.mark.parametrize("spec", WIRING.state_machines, ids=lambda m: m.name)
def test_each_state_machine_may_invoke_the_functions_it_substitutes(synth, spec):
    role_id = synth.logical_id(synth.stack.workflows.state_machines[spec.name].role)
    statements = [
        s
        for p in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    invoked = json.dumps([s["Resource"] for s in statements if s["Action"] == "lambda:InvokeFunction"])
    for fn_name in set(spec.substitutions.values()):
        assert synth.logical_id(synth.stack.functions.functions[fn_name]) in invoked
