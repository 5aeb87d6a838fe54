"""Tables and secrets: recoverable, encrypted, expiring where declared, and never dropped with the stack."""

from __future__ import annotations

import pytest

from infra.wiring import WIRING

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("spec", WIRING.tables, ids=lambda t: t.name)
def test_each_table_is_keyed_recoverable_encrypted_and_expiring_as_declared(synth, spec):
    resource = synth.resources[synth.logical_id(synth.stack.state.tables[spec.name])]
    props = resource["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {"AttributeName": "pk", "AttributeType": "S"} in props["AttributeDefinitions"]
    assert {"AttributeName": "sk", "AttributeType": "S"} in props["AttributeDefinitions"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": spec.point_in_time_recovery
    }
    assert props["SSESpecification"]["SSEEnabled"] is True
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("spec", WIRING.secrets, ids=lambda s: s.name)
def test_each_secret_starts_as_a_generated_placeholder(synth, spec):
    props = synth.resources[synth.logical_id(synth.stack.state.secrets[spec.name])]["Properties"]
    assert props["Description"] == spec.description
    # no credential ever passes through CloudFormation
    assert "SecretString" not in props
    assert "GenerateSecretString" in props
