"""Event schemas: the committed domain-event JSON Schemas published to an EventBridge schema registry."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import aws_eventschemas as eventschemas
from constructs import Construct

from shared.aws.events import DOMAIN_EVENT_SOURCE
from shared.domain.schemas import SCHEMA_DIR, committed

# The registry takes OpenAPI 3 or JSON Schema Draft 4 documents, nothing newer:
# https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-eventschemas-schema.html
SCHEMA_TYPE = "JSONSchemaDraft4"
DRAFT4 = "http://json-schema.org/draft-04/schema#"
# CreateSchema: Content is at most 100,000 characters.
# https://docs.aws.amazon.com/eventbridge/latest/schema-reference/v1-registries-name-registryname-schemas-name-schemaname.html
MAX_CONTENT = 100_000

# Draft 2020-12 keywords that change validation and have no Draft 4 spelling; Draft 4 validators would
# silently ignore them, so the conversion refuses them rather than publish a looser schema.
_UNTRANSLATABLE = frozenset(
    {
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
        "propertyNames",
        "contains",
        "$dynamicRef",
        "$anchor",
    }
)
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "readOnly", "deprecated"})


class EventSchemas(Construct):
    """One EventBridge schema registry with one schema per committed event schema file.

    Each schema describes the event as a consumer receives it from the bus: `detail-type` is the
    event type, `source` is the hub's domain source and `detail` is the committed schema, converted
    from draft 2020-12 (what pydantic emits) to Draft 4 (see `to_draft4`).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, registry_name: str, directory: Path = SCHEMA_DIR
    ) -> None:
        super().__init__(scope, construct_id)
        self.registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=registry_name,
            description="close2cash domain events, one schema per event type and schema version",
        )
        self.schemas: dict[str, eventschemas.CfnSchema] = {}
        for file_name, text in committed(directory).items():
            name = file_name.removesuffix(".json")
            content = json.dumps(bus_event_schema(json.loads(text)), sort_keys=True, separators=(",", ":"))
            if len(content) > MAX_CONTENT:
                raise ValueError(f"{file_name}: {len(content)} characters, the registry takes {MAX_CONTENT}")
            self.schemas[name] = eventschemas.CfnSchema(
                self,
                f"Schema-{name}",
                registry_name=self.registry.attr_registry_name,
                schema_name=name,
                type=SCHEMA_TYPE,
                content=content,
                description=f"Generated from shared/domain/schemas/{file_name}",
            )


def bus_event_schema(event_schema: Mapping[str, Any]) -> dict[str, Any]:
    """Draft 4 schema of the EventBridge event whose `detail` is an event matching `event_schema`."""
    detail = to_draft4(event_schema)
    title = str(detail.pop("title"))
    definitions = detail.pop("definitions", {})
    if title in definitions:
        raise ValueError(f"{title} names both the event and one of its definitions")
    event_type = detail["properties"]["type"]["enum"][0]
    identity = {key: detail.pop(key) for key in ("$schema", "id")}
    return {
        **identity,
        "title": title,
        "description": detail.get("description", title),
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            "detail-type": {"enum": [event_type]},
            "source": {"enum": [DOMAIN_EVENT_SOURCE]},
            "detail": {"$ref": f"#/definitions/{title}"},
        },
        "definitions": {**definitions, title: detail},
    }


def to_draft4(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The same constraints in JSON Schema Draft 4 spelling.

    `$defs`/`#/$defs/` become `definitions`/`#/definitions/`, `$id` becomes `id`, `const` becomes a
    one-value `enum`, numeric `exclusiveMinimum`/`exclusiveMaximum` become `minimum`/`maximum` with
    the Draft 4 boolean flag, `prefixItems` becomes the array form of `items`, and constraints written
    beside a `$ref` (ignored there in Draft 4) move into an `allOf`.
    """
    converted: dict[str, Any] = _convert(schema)
    converted["$schema"] = DRAFT4
    return converted


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    refused = _UNTRANSLATABLE & set(node)
    if refused:
        raise ValueError(f"no Draft 4 equivalent for {sorted(refused)}")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$defs":
            out["definitions"] = {name: _convert(sub) for name, sub in value.items()}
        elif key == "$ref":
            out["$ref"] = str(value).replace("#/$defs/", "#/definitions/")
        elif key == "$id":
            out["id"] = value
        elif key == "const":
            out["enum"] = [value]
        elif key in {"exclusiveMinimum", "exclusiveMaximum"} and not isinstance(value, bool):
            out[key.replace("exclusiveM", "m")] = value
            out[key] = True
        elif key == "prefixItems":
            out["items"] = _convert(value)
            if node.get("items") is False:
                out["additionalItems"] = False
        elif key == "items" and "prefixItems" in node:
            continue
        elif key in {"properties", "definitions"}:
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        else:
            out[key] = _convert(value)
    if "$ref" in out:
        constraints = {k: v for k, v in out.items() if k != "$ref" and k not in _ANNOTATIONS}
        if constraints:
            annotations = {k: v for k, v in out.items() if k in _ANNOTATIONS}
            return {**annotations, "allOf": [{"$ref": out["$ref"]}, constraints]}
    return out
