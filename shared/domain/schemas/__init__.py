"""Committed JSON Schemas of the domain events: generated from the models, checked for staleness and breaks.

Run `python -m shared.domain.schemas` to regenerate the files next to this module, and
`python -m shared.domain.schemas --check` to list stale, missing and extra files (exit 1 if any).
The versioning rule the generator enforces is written in `shared.domain.events`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.domain.events import EVENT_VERSIONS, DomainEvent

SCHEMA_DIR = Path(__file__).resolve().parent
DIALECT = "https://json-schema.org/draft/2020-12/schema"
REGENERATE = "python -m shared.domain.schemas"


def file_name(event_type: str, version: int) -> str:
    """`<type>.v<version>.json`, e.g. close2cash.account.changed.v1.json."""
    return f"{event_type}.v{version}.json"


def title_for(event_type: str) -> str:
    """A class-like title from the type alone ("close2cash.account.changed" -> "AccountChanged").

    Derived from the type, not the Python class, so that renaming a superseded class (say to
    `AccountChangedV1`) leaves its committed schema untouched.
    """
    return "".join(part.capitalize() for segment in event_type.split(".")[1:] for part in segment.split("_"))


def schema_for(cls: type[DomainEvent[Any]]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event class, as the events serialize, with fixed `$id`/title."""
    event_type, version = cls.event_type(), cls.event_version()
    schema = cls.model_json_schema(mode="serialization")
    schema["$schema"] = DIALECT
    schema["$id"] = f"urn:close2cash:event:{event_type}:v{version}"
    schema["title"] = title_for(event_type)
    return schema


def render(schema: Mapping[str, Any]) -> str:
    """The committed text: sorted keys and stable indentation so diffs show only real changes."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected() -> dict[str, str]:
    """File name -> text for every readable event type and version."""
    return {
        file_name(event_type, version): render(schema_for(cls))
        for (event_type, version), cls in sorted(EVENT_VERSIONS.items())
    }


def committed(directory: Path = SCHEMA_DIR) -> dict[str, str]:
    """File name -> text of the schema files in `directory`."""
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.json"))}


@dataclass(frozen=True)
class Drift:
    """How the committed files differ from what the models generate."""

    stale: dict[str, list[str]]  # file -> breaking changes (empty list: an additive change)
    missing: list[str]
    extra: list[str]

    def __bool__(self) -> bool:
        return bool(self.stale or self.missing or self.extra)

    def report(self) -> str:
        """One line per differing file, with any breaking change named."""
        lines = []
        for name, breaks in sorted(self.stale.items()):
            lines.append(f"stale:   {name}")
            lines += [f"           breaking: {b} (needs a new schema_version)" for b in breaks]
        lines += [f"missing: {name}" for name in self.missing]
        lines += [f"extra:   {name} (no event class generates it)" for name in self.extra]
        return "\n".join(lines)


def drift(directory: Path = SCHEMA_DIR) -> Drift:
    """Compare the generated schemas with the files committed in `directory`."""
    want, have = expected(), committed(directory)
    stale = {
        name: breaking_changes(json.loads(have[name]), json.loads(text))
        for name, text in want.items()
        if name in have and have[name] != text
    }
    return Drift(
        stale=stale,
        missing=sorted(set(want) - set(have)),
        extra=sorted(set(have) - set(want)),
    )


def write(directory: Path = SCHEMA_DIR, *, allow_breaking: bool = False) -> Drift:
    """Bring `directory` in line with the models; refuses a breaking change to a committed version.

    Returns what differed before writing. With breaking changes and not `allow_breaking`, nothing
    is written.
    """
    found = drift(directory)
    if not allow_breaking and any(found.stale.values()):
        return found
    for name, text in expected().items():
        (directory / name).write_text(text, encoding="utf-8")
    for name in found.extra:
        (directory / name).unlink()
    return found


# --- breaking-change detection ---------------------------------------------------------------

# Keywords that describe rather than constrain: changing them never rejects an event.
_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$id", "$schema", "$comment", "deprecated", "readOnly"}
)
_UPPER_BOUNDS = frozenset({"maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum"})
_LOWER_BOUNDS = frozenset({"minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum"})
_STRUCTURE = frozenset({"properties", "required", "additionalProperties", "items", "anyOf", "oneOf", "$defs"})
# Domain models are not recursive; this only stops a runaway walk should one ever become so.
_MAX_DEPTH = 32


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Ways in which an event valid under `old` could be invalid under `new` (empty: compatible).

    Conservative: a changed constraint counts as breaking unless it plainly loosens (a wider bound,
    more enum values, more union members, a dropped keyword).
    """
    return _compare(old, old, new, new, "$", 0)


def _resolve(node: Any, root: Mapping[str, Any]) -> Any:
    while isinstance(node, Mapping) and "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/$defs/"):
            return node
        target = root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
        # Keywords beside a $ref (pydantic puts descriptions there) apply together with the target.
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _compare(
    old_root: Mapping[str, Any], old: Any, new_root: Mapping[str, Any], new: Any, path: str, depth: int
) -> list[str]:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    if depth > _MAX_DEPTH or old == new:
        return []
    if not isinstance(old, Mapping) or not isinstance(new, Mapping):
        return [f"{path} changed"]
    for union in ("anyOf", "oneOf"):
        if union in new and union not in old:
            # A field that became a union (typically Optional) still accepts what it did if one
            # alternative does.
            compatible = any(
                not _compare(old_root, old, new_root, option, path, depth + 1) for option in new[union]
            )
            return [] if compatible else [f"{path} no {union} alternative accepts the old values"]

    problems: list[str] = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in sorted(set(old_props) - set(new_props)):
        problems.append(f"{path}.{name} removed")
    for name in sorted(set(old_props) & set(new_props)):
        problems += _compare(
            old_root, old_props[name], new_root, new_props[name], f"{path}.{name}", depth + 1
        )
    for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
        problems.append(f"{path}.{name} became required")
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties") is False:
        problems.append(f"{path} no longer accepts additional properties")
    if "items" in old and "items" in new:
        problems += _compare(old_root, old["items"], new_root, new["items"], f"{path}[]", depth + 1)
    for union in ("anyOf", "oneOf"):
        for index, option in enumerate(old.get(union, [])):
            # Each alternative an old event could take must still be accepted by some new one.
            if not any(
                not _compare(old_root, option, new_root, candidate, path, depth + 1)
                for candidate in new.get(union, [])
            ):
                problems.append(f"{path} {union}[{index}] no longer accepted")

    for key in sorted(set(new) - _ANNOTATIONS - _STRUCTURE):
        if key not in old:
            problems.append(f"{path} gained constraint {key}={new[key]!r}")
        elif old[key] != new[key] and not _loosens(key, old[key], new[key]):
            problems.append(f"{path}.{key} changed {old[key]!r} -> {new[key]!r}")
    return problems


def _loosens(key: str, old: Any, new: Any) -> bool:
    if key in _UPPER_BOUNDS:
        return isinstance(old, int | float) and isinstance(new, int | float) and new >= old
    if key in _LOWER_BOUNDS:
        return isinstance(old, int | float) and isinstance(new, int | float) and new <= old
    if key in {"enum", "type"}:
        return all(value in _as_list(new) for value in _as_list(old))
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
