"""Event schemas: one registry, one Draft 4 schema per committed file, matching the events the hub puts."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft4Validator

from infra.cdk.constructs.schemas import to_draft4
from infra.wiring import WIRING
from shared.aws.events import to_put_events_entry
from shared.domain.schemas import committed
from tests.domain.test_event_schemas import EXAMPLES

pytestmark = pytest.mark.infra


def test_one_registry_named_after_the_bus(synth):
    registries = synth.of_type("AWS::EventSchemas::Registry")
    assert [r["Properties"]["RegistryName"] for r in registries.values()] == [WIRING.bus.name]


def test_one_draft4_schema_per_committed_file_in_that_registry(synth):
    registry = synth.stack.event_schemas.registry
    registry_id = synth.stack.resolve(synth.stack.get_logical_id(registry))
    schemas = synth.of_type("AWS::EventSchemas::Schema")
    names = sorted(s["Properties"]["SchemaName"] for s in schemas.values())
    assert names == sorted(name.removesuffix(".json") for name in committed())
    for schema in schemas.values():
        props = schema["Properties"]
        assert props["Type"] == "JSONSchemaDraft4"
        assert props["RegistryName"] == {"Fn::GetAtt": [registry_id, "RegistryName"]}
        Draft4Validator.check_schema(json.loads(props["Content"]))


@pytest.mark.parametrize("event", EXAMPLES.values(), ids=lambda e: e.type)
def test_the_event_as_consumers_receive_it_matches_its_published_schema(synth, event):
    # given the event as the hub puts it on the bus, and as EventBridge delivers it to a rule's target
    entry = to_put_events_entry(event, WIRING.bus.name)
    delivered = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "111122223333",
        "time": "2025-03-14T09:30:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }
    # then the schema published for its type and version accepts it, and no other published schema does
    published = {
        s["Properties"]["SchemaName"]: Draft4Validator(json.loads(s["Properties"]["Content"]))
        for s in synth.of_type("AWS::EventSchemas::Schema").values()
    }
    accepted = [name for name, validator in published.items() if validator.is_valid(delivered)]
    assert accepted == [f"{event.type}.v{event.schema_version}"]


def test_draft4_conversion_keeps_every_constraint():
    converted = to_draft4(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "urn:x",
            "$defs": {"Kind": {"const": "a"}},
            "properties": {
                "kind": {"$ref": "#/$defs/Kind", "description": "what"},
                "amount": {"type": "number", "exclusiveMinimum": 0},
                "pair": {"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
                "tagged": {"$ref": "#/$defs/Kind", "maxLength": 3},
            },
        }
    )
    assert converted == {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "id": "urn:x",
        "definitions": {"Kind": {"enum": ["a"]}},
        "properties": {
            "kind": {"$ref": "#/definitions/Kind", "description": "what"},
            "amount": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
            "pair": {"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False},
            "tagged": {"allOf": [{"$ref": "#/definitions/Kind"}, {"maxLength": 3}]},
        },
    }
    Draft4Validator.check_schema(converted)


def test_draft4_conversion_refuses_keywords_it_cannot_express():
    with pytest.raises(ValueError, match="propertyNames"):
        to_draft4({"type": "object", "propertyNames": {"pattern": "^a"}})
