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


@pytest.mark.parametrize("spec", [t for t in WIRING.tables if t.indexes], ids=lambda t: t.name)
def test_each_declared_index_is_a_global_secondary_index_of_its_table(synth, spec):
    # the ledger's status index lets approvals and exceptions be queried, never scanned
    props = synth.resources[synth.logical_id(synth.stack.state.tables[spec.name])]["Properties"]
    rendered = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    for index in spec.indexes:
        keys = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        if index.sort_key:
            keys.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        assert rendered[index.name]["KeySchema"] == keys
        projection = "KEYS_ONLY" if index.keys_only else "ALL"
        assert rendered[index.name]["Projection"] == {"ProjectionType": projection}
        for key in (index.partition_key, index.sort_key):
            if key:
                assert {"AttributeName": key, "AttributeType": "S"} in props["AttributeDefinitions"]
