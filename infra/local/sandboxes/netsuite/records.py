"""The record service's writes and reads on the store: apply a body, check it, render a record.

A body's fields are checked by kind (schema.py); references are `{"id": ...}` (or `{"externalId":
...}`) objects naming an existing record of an allowed type, else the documented 400 INVALID_CONTENT
with `o:errorPath`; sublists are `{"items": [...]}`. Without `?replace=<sublist>` the lines sent are
added (a line carrying an existing `line` number updates that line); with it they replace the
sublist. Each type's own rules (defaults, totals, applications) run last (entities.py,
transactions.py). Every write stamps `lastModifiedDate`.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156570709583.html (errors)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156335203191.html (upsert)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156334828635.html (external ids)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

from infra.local.sandboxes.netsuite.account import Account, Record
from infra.local.sandboxes.netsuite.errors import (
    invalid_content,
    invalid_reference,
    nonexistent_id,
    required,
    user_error,
)
from infra.local.sandboxes.netsuite.schema import ADDRESS_FIELDS, FieldSpec, RecordSpec, SublistSpec
from infra.local.sandboxes.netsuite.wire import parse_scalar, render_scalar

# External ids: letters, digits, `_` and `-` (a pipe is read as a delimiter, so it is refused).
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]+")
# What a body may carry besides the type's fields (read back from a GET and sent again).
_IGNORED = frozenset({"links", "refName", "id", "lastModifiedDate", "dateCreated", "createdDate"})

# Per-type rules after the body is applied: (account, spec, record, previous or None) -> None.
Rule = Callable[[Account, RecordSpec, Record, Record | None], None]
RULES: dict[str, Rule] = {}
# Per-type checks before a delete: (account, spec, record) -> None (raise to refuse).
DELETE_RULES: dict[str, Callable[[Account, RecordSpec, Record], None]] = {}
# Run after any committed write of a type: (account, spec, record after or None, record before or None).
AFTER_WRITE: dict[str, Callable[[Account, RecordSpec, Record | None, Record | None], None]] = {}


def check_external_id(value: str, where: str) -> None:
    """400 USER_ERROR unless `value` is a usable external id."""
    if not _EXTERNAL_ID.fullmatch(value):
        raise user_error(
            f"Invalid external ID '{value}': an external ID may contain letters, digits, '_' and '-' "
            "(a '|' is read as a delimiter).",
            error_path=where,
        )


def resolve(account: Account, key: str, spec: RecordSpec) -> Record:
    """The record a URL's `{id}` names: an internal id, or `eid:<external id>`; else 404 NONEXISTENT_ID."""
    if key.startswith("eid:"):
        external = key[4:]
        check_external_id(external, "externalId")
        found = account.by_external_id(spec, external)
    else:
        found = account.get(spec, key) if key.isdigit() else None
    if found is None:
        raise nonexistent_id(spec.name.lower(), key)
    return found


def create(
    account: Account,
    spec: RecordSpec,
    body: Any,
    *,
    external_id: str | None = None,
    strict_names: bool = True,
    internal_id: str | None = None,
) -> Record:
    """Store a new record from `body` (the external id of an upsert URL wins over the body's).

    `internal_id`: seeding only (never through the API, where NetSuite assigns every id), so a
    twin can hold the records a landscape's mapping rows name by id."""
    record: Record = {}
    _apply(account, spec, record, body, replace=frozenset(), strict_names=strict_names)
    if external_id is not None:
        record["externalId"] = external_id
    _check_unique_external_id(account, spec, record, None)
    _check_required(spec, record)
    RULES.get(spec.name, _no_rule)(account, spec, record, None)
    record["id"] = account.claim_id(spec, internal_id) if internal_id else account.next_id(spec)
    now = account.now()
    record[spec.created_field] = now
    record["lastModifiedDate"] = now
    account.put(spec, record)
    account.writes += 1
    AFTER_WRITE.get(spec.name, _no_after)(account, spec, record, None)
    return record


def update(
    account: Account,
    spec: RecordSpec,
    stored: Record,
    body: Any,
    *,
    replace: frozenset[str] = frozenset(),
    strict_names: bool = True,
) -> Record:
    """Change a stored record by `body` (PATCH, or the update half of an upsert); all or nothing."""
    previous = copy.deepcopy(stored)
    record = copy.deepcopy(stored)
    _apply(account, spec, record, body, replace=replace, strict_names=strict_names)
    _check_unique_external_id(account, spec, record, record["id"])
    _check_required(spec, record)
    RULES.get(spec.name, _no_rule)(account, spec, record, previous)
    record["lastModifiedDate"] = account.now()
    stored.clear()
    stored.update(record)
    account.put(spec, stored, previous)
    account.writes += 1
    AFTER_WRITE.get(spec.name, _no_after)(account, spec, stored, previous)
    return stored


def delete(account: Account, spec: RecordSpec, stored: Record) -> None:
    """Remove a record, unless its type's rules refuse (a customer with transactions, a paid invoice)."""
    refuse = DELETE_RULES.get(spec.name)
    if refuse is not None:
        refuse(account, spec, stored)
    account.remove(spec, stored)
    account.writes += 1
    AFTER_WRITE.get(spec.name, _no_after)(account, spec, None, stored)


def _no_rule(account: Account, spec: RecordSpec, record: Record, previous: Record | None) -> None:
    return None


def _no_after(account: Account, spec: RecordSpec, after: Record | None, before: Record | None) -> None:
    return None


def _check_unique_external_id(account: Account, spec: RecordSpec, record: Record, own_id: str | None) -> None:
    external = record.get("externalId")
    if external is None:
        return
    check_external_id(external, "externalId")
    other = account.by_external_id(spec, external)
    if other is not None and other["id"] != own_id:
        raise user_error(
            f"A record with the external ID '{external}' already exists for the record type "
            f"{spec.name}. Use upsert (PUT .../eid:{external}) to update it.",
            error_path="externalId",
        )


def _check_required(spec: RecordSpec, record: Record) -> None:
    for name in spec.required:
        if record.get(name) in (None, ""):
            raise required(spec.fields[name].label or name, name)
    for sublist, lines_spec in spec.sublists.items():
        for index, line in enumerate(record.get(sublist, [])):
            for name in lines_spec.required:
                if line.get(name) in (None, ""):
                    raise required(lines_spec.fields[name].label or name, f"{sublist}.items[{index}].{name}")


def _apply(
    account: Account,
    spec: RecordSpec,
    record: Record,
    body: Any,
    *,
    replace: frozenset[str],
    strict_names: bool,
) -> None:
    if not isinstance(body, Mapping):
        raise invalid_content("Invalid content in the request body. A JSON object is expected.")
    for name, value in body.items():
        if name in _IGNORED:
            continue
        if name in spec.sublists:
            record[name] = _apply_sublist(
                account, spec.sublists[name], name, record.get(name, []), value, name in replace
            )
            continue
        field = spec.fields.get(name)
        if field is None:
            if strict_names:
                raise invalid_content(
                    f"Invalid content in the request body. Unknown property name: {name}.", error_path=name
                )
            continue
        if field.read_only:
            continue  # computed by NetSuite; a value sent back from a GET is not an error
        record[name] = parse_field(account, field, value, name)


def parse_field(account: Account, field: FieldSpec, value: Any, path: str) -> Any:
    """The stored form of one field's value: a scalar, or a checked reference's internal id."""
    if field.kind != "ref":
        return parse_scalar(field.kind, value, path, field.label)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not ({"id", "externalId"} & set(value)):
        raise invalid_content(
            f"Invalid value for the field {field.label or path}: a reference is an object with an id.",
            error_path=path,
        )
    if value.get("id") not in (None, ""):
        key = str(value["id"])
        found = account.find(field.refs, key) if key.isdigit() else None
    else:
        key = str(value.get("externalId"))
        found = account.find_external(field.refs, key)
    if found is None:
        raise invalid_reference(key, path.rsplit(".", 1)[-1], path)
    return found[1]["id"]


def _apply_sublist(
    account: Account,
    spec: SublistSpec,
    name: str,
    current: list[Record],
    value: Any,
    replacing: bool,
) -> list[Record]:
    if not isinstance(value, Mapping) or not isinstance(value.get("items", []), list):
        raise invalid_content(
            f'Invalid value for the sublist {name}: expected {{"items": [...]}}.', error_path=name
        )
    lines = [] if replacing else copy.deepcopy(current)
    next_line = max((int(line["line"]) for line in lines), default=0) + 1
    for index, sent in enumerate(value.get("items", [])):
        path = f"{name}.items[{index}]"
        if not isinstance(sent, Mapping):
            raise invalid_content(
                "Invalid content in the request body. A sublist line is an object.", error_path=path
            )
        target: Record | None = None
        if sent.get("line") is not None and not replacing:
            target = next((line for line in lines if str(line["line"]) == str(sent["line"])), None)
            if target is None:
                raise invalid_content(
                    f"The line {sent['line']} does not exist in the sublist {name}.", error_path=path
                )
        if target is None:
            target = {"line": next_line}
            next_line += 1
            lines.append(target)
        for field_name, field_value in sent.items():
            if field_name in ("links", "line", "refName"):
                continue
            field = spec.fields.get(field_name)
            if field is None:
                raise invalid_content(
                    f"Invalid content in the request body. Unknown property name: {field_name}.",
                    error_path=f"{path}.{field_name}",
                )
            if field.kind == "subrecord":
                target[field_name] = _subrecord(
                    account, field_value, f"{path}.{field_name}", target.get(field_name)
                )
            else:
                target[field_name] = parse_field(account, field, field_value, f"{path}.{field_name}")
    return lines


def _subrecord(account: Account, value: Any, path: str, current: Record | None) -> Record | None:
    """An address subrecord: its fields merged over the line's current address (which keeps its id)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise invalid_content(
            "Invalid content in the request body. A subrecord is an object.", error_path=path
        )
    address: Record = dict(current) if current else {"id": account.next_in("address")}
    for name, field_value in value.items():
        if name in _IGNORED:
            continue
        field = ADDRESS_FIELDS.get(name)
        if field is None:
            raise invalid_content(
                f"Invalid content in the request body. Unknown property name: {name}.",
                error_path=f"{path}.{name}",
            )
        if not field.read_only:
            address[name] = parse_scalar(field.kind, field_value, f"{path}.{name}", field.label)
    lines = [address.get(key) for key in ("addressee", "attention", "addr1", "addr2", "addr3")]
    place = " ".join(
        str(part) for part in (address.get("city"), address.get("state"), address.get("zip")) if part
    )
    address["addrText"] = "\n".join(str(part) for part in [*lines, place, address.get("country")] if part)
    return address


# --- reading -------------------------------------------------------------------------------------


def record_url(base: str, record_type: str, record_id: str) -> str:
    """The record's REST URL, as its `links` and a create's `Location` name it."""
    return f"{base}/services/rest/record/v1/{record_type.lower()}/{record_id}"


def render(account: Account, spec: RecordSpec, record: Record, base: str, *, expand: bool) -> dict[str, Any]:
    """The record as GET answers it: `links`, `id`, fields; references as `{links, id, refName}`;
    sublists as a link unless `expandSubResources=true`."""
    own = record_url(base, spec.name, record["id"])
    body: dict[str, Any] = {"links": [{"rel": "self", "href": own}], "id": record["id"]}
    for name, value in record.items():
        if name == "id" or value is None or name in spec.sublists:
            continue
        field = spec.fields.get(name)
        body[name] = (
            render_reference(account, field.refs, value, base)
            if field is not None and field.kind == "ref"
            else render_scalar(value)
        )
    for name, lines_spec in spec.sublists.items():
        link = {"links": [{"rel": "self", "href": f"{own}/{name}"}]}
        body[name] = (
            render_sublist(account, lines_spec, record.get(name, []), base, own, name) if expand else link
        )
    return body


def render_reference(account: Account, types: tuple[str, ...], record_id: str, base: str) -> dict[str, Any]:
    """A reference field as GET answers it."""
    found = account.find(types, record_id)
    if found is None:
        return {"id": record_id}
    target_spec, target = found
    return {
        "links": [{"rel": "self", "href": record_url(base, target_spec.name, record_id)}],
        "id": record_id,
        "refName": account.ref_name(target_spec, target),
    }


def render_sublist(
    account: Account, spec: SublistSpec, lines: list[Record], base: str, own: str, name: str
) -> dict[str, Any]:
    """A sublist as a collection (`GET .../{id}/{sublist}`, or inline with `expandSubResources`)."""
    items = []
    for line in lines:
        item: dict[str, Any] = {"links": [{"rel": "self", "href": f"{own}/{name}/{line['line']}"}]}
        for field_name, value in line.items():
            field = spec.fields.get(field_name)
            if value is None:
                continue
            if field is not None and field.kind == "ref":
                item[field_name] = render_reference(account, field.refs, value, base)
            elif field is not None and field.kind == "subrecord":
                item[field_name] = {k: render_scalar(v) for k, v in value.items() if v is not None}
            else:
                item[field_name] = render_scalar(value)
        items.append(item)
    return {
        "links": [{"rel": "self", "href": f"{own}/{name}"}],
        "items": items,
        "totalResults": len(items),
        "count": len(items),
        "hasMore": False,
        "offset": 0,
    }
