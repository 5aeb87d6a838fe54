"""SOQL, the subset the sandbox understands: parsing, matching, paging with query locators."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request

from infra.local.sandboxes.salesforce.errors import SalesforceApiError, malformed
from infra.local.sandboxes.salesforce.ids import to_18
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.schema import (
    CHILD_RELATIONSHIPS,
    DATETIME_FIELDS,
    OBJECT_FIELDS,
    PARENT_RELATIONSHIPS,
)

# --- SOQL (the subset this slice needs) ----------------------------------------------------------

_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"^\s*(?P<field>\w+)\s*(?P<op>!=|<=|>=|=|<|>|\bLIKE\b)\s*(?P<value>'(?:[^'\\]|\\.)*'|\S+)\s*$",
    re.IGNORECASE,
)
# SOQL dateTime literals: 2024-01-01T00:00:00Z or with an offset; never quoted.
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
_DATETIME_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Subquery:
    relationship: str
    fields: tuple[str, ...]
    order: str | None
    descending: bool


@dataclass(frozen=True)
class Query:
    fields: tuple[str, ...]
    conditions: tuple[Condition, ...]
    order: str | None
    descending: bool
    limit: int | None
    sobject: str = "Account"
    subqueries: tuple[Subquery, ...] = ()


# A parent-to-child subquery in the SELECT list: (SELECT fields FROM ChildRelationship [ORDER BY f]).
# https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-relationships-query-using.md
_SUBQUERY = re.compile(
    r"\(\s*SELECT\s+(?P<fields>[^()]+?)\s+FROM\s+(?P<relationship>\w+)"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?\s*\)",
    re.IGNORECASE,
)


def _literal(raw: str, field_name: str) -> Any:
    if raw.startswith("'"):
        if field_name in DATETIME_FIELDS:
            raise malformed(
                f"value of filter criterion for field '{field_name}' must be of type dateTime "
                "and should not be enclosed in quotes"
            )
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    lowered = raw.lower()
    if lowered == "null":
        return None
    if lowered in {"true", "false"}:
        return lowered == "true"
    if _DATETIME_LITERAL.match(raw):
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return date.fromisoformat(raw)
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw)
    raise malformed(f"unexpected token: '{raw}'")


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + "$",
        re.IGNORECASE | re.DOTALL,
    )


@dataclass
class Cursor:
    object_name: str
    ids: list[str]
    fields: tuple[str, ...]
    batch: int
    last_used: datetime
    version: str = field(default="")
    subqueries: tuple[Subquery, ...] = ()


class SoqlEngine(RecordStore):
    """Query, QueryAll and query locators over the record store."""

    _cursors: dict[str, Cursor]
    _page_size: int

    def _parse_soql(self, soql: str) -> Query:
        subqueries: list[str] = []

        def pull(found: re.Match[str]) -> str:
            subqueries.append(found.group(0))
            return f"__subquery{len(subqueries) - 1}"

        flat = _SUBQUERY.sub(pull, soql)
        match = _SOQL.match(flat)
        if match is None:
            raise malformed(f"unexpected token in query: {soql[:80]!r}")
        sobject = next((name for name in OBJECT_FIELDS if name.lower() == match["object"].lower()), None)
        if sobject in {None, "Account"} and subqueries:
            raise malformed("Account queries in this sandbox take no subqueries")
        if sobject is None:
            raise SalesforceApiError(
                400, "INVALID_TYPE", f"sObject type '{match['object']}' is not supported."
            )
        return self._parse_object_soql(sobject, match, subqueries)

    @staticmethod
    def _matches(record: dict[str, Any], condition: Condition) -> bool:
        value = record.get(condition.field)
        expected = condition.value
        if condition.op == "LIKE":
            return isinstance(value, str) and isinstance(expected, str) and bool(_like(expected).match(value))
        if condition.op == "=":
            return bool(value == expected)
        if condition.op == "!=":
            return bool(value != expected)
        if value is None or expected is None:
            return False
        try:
            if condition.op == "<":
                return bool(value < expected)
            if condition.op == "<=":
                return bool(value <= expected)
            if condition.op == ">":
                return bool(value > expected)
            return bool(value >= expected)
        except TypeError as exc:
            raise malformed(f"cannot compare field '{condition.field}' with {expected!r}") from exc

    def _batch_size(self, request: Request) -> int:
        # Sforce-Query-Options: batchSize=N (200..2,000, default 2,000), further capped by the
        # sandbox's own page size so that tests can page through a handful of records.
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
        requested = 2_000
        match = re.search(r"batchSize=(\d+)", request.headers.get("Sforce-Query-Options", ""))
        if match:
            requested = min(2_000, max(200, int(match.group(1))))
        return max(1, min(requested, self._page_size))

    def _run_query(self, request: Request, version: str, *, include_deleted: bool = False) -> dict[str, Any]:
        """Query; QueryAll (`include_deleted`) also returns deleted and merged-away records.

        https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html
        """
        soql = request.args.get("q")
        if not soql:
            raise malformed("A query string has to be specified")
        query = self._parse_soql(soql)
        rows = [r for r in self._objects[query.sobject].values() if include_deleted or not r["IsDeleted"]]
        rows = [r for r in rows if all(self._matches(r, c) for c in query.conditions)]
        if query.order is not None:
            order = query.order
            rows.sort(key=lambda r: (r.get(order) is None, r.get(order)), reverse=query.descending)
        if query.limit is not None:
            rows = rows[: query.limit]
        cursor = Cursor(
            object_name=query.sobject,
            ids=[r["Id"] for r in rows],
            fields=query.fields,
            batch=self._batch_size(request),
            last_used=self._clock(),
            version=version,
            subqueries=query.subqueries,
        )
        return self._page(cursor, 0)

    def _page(self, cursor: Cursor, offset: int) -> dict[str, Any]:
        ids = cursor.ids[offset : offset + cursor.batch]
        records = []
        for record_id in ids:
            rendered = self._render_object(cursor.object_name, record_id, cursor)
            if "Id" not in cursor.fields:
                rendered.pop("Id", None)
            records.append(rendered)
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": offset + len(ids) >= len(cursor.ids)}
        if not body["done"]:
            locator = next((key for key, value in self._cursors.items() if value is cursor), None)
            if locator is None:
                locator = "01g" + secrets.token_hex(6)[:12] + "A2"
                self._cursors[locator] = cursor
            body["nextRecordsUrl"] = f"/services/data/v{cursor.version}/query/{locator}-{offset + len(ids)}"
        body["records"] = records
        return body

    def _query_more(self, locator: str, version: str) -> dict[str, Any]:
        key, _, raw_offset = locator.rpartition("-")
        cursor = self._cursors.get(key)
        now = self._clock()
        # Query locators expire after 15 minutes of inactivity.
        # https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query-more-results.html
        if cursor is None or not raw_offset.isdigit() or now - cursor.last_used > timedelta(minutes=15):
            self._cursors.pop(key, None)
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = now
        return self._page(cursor, int(raw_offset))

    def _render_object(self, sobject: str, record_id: str, cursor: Cursor) -> dict[str, Any]:
        record = self._objects[sobject][record_id]
        body = self._render_fields(sobject, record, cursor.fields)
        for sub in cursor.subqueries:
            child, parent_field = CHILD_RELATIONSHIPS[(sobject, sub.relationship)]
            rows = self._children(child, parent_field, record_id)
            if sub.order is not None:
                key = sub.order
                rows.sort(key=lambda r: (r.get(key) is None, r.get(key) or 0), reverse=sub.descending)
            if not rows:
                body[sub.relationship] = None  # an empty child relationship is null, not an empty result
                continue
            child_cursor = Cursor(
                object_name=child,
                ids=[r["Id"] for r in rows],
                fields=sub.fields,
                batch=cursor.batch,
                last_used=self._clock(),
                version=cursor.version,
            )
            body[sub.relationship] = self._page(child_cursor, 0)
        return body

    def _parse_object_soql(self, sobject: str, match: re.Match[str], subqueries: list[str]) -> Query:
        fields: list[str] = []
        subs: list[Subquery] = []
        for raw in match["fields"].split(","):
            name = raw.strip()
            placeholder = re.fullmatch(r"__subquery(\d+)", name)
            if placeholder and sobject != "Account":
                subs.append(self._parse_subquery(sobject, subqueries[int(placeholder.group(1))]))
                continue
            fields.append(self._select_field(sobject, name))
        conditions = []
        if match["where"]:
            for part in re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE):
                cond = _CONDITION.match(part)
                if cond is None:
                    raise malformed(f"unexpected token in WHERE clause: '{part.strip()}'")
                known = self._object_field(sobject, cond["field"])
                if known is None:
                    raise SalesforceApiError(
                        400, "INVALID_FIELD", f"No such column '{cond['field']}' on entity '{sobject}'."
                    )
                value = _literal(cond["value"], known)
                spec = OBJECT_FIELDS[sobject].get(known)
                is_id = sobject != "Account" and (
                    known == "Id" or (spec is not None and spec.kind == "reference")
                )
                # SOQL matches a 15-character id to its 18-character form (Account filters compare as typed).
                if (
                    is_id
                    and isinstance(value, str)
                    and re.fullmatch(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?", value)
                ):
                    value = to_18(value[:15])
                conditions.append(Condition(known, cond["op"].upper(), value))
        order = None
        if match["order"]:
            order = self._object_field(sobject, match["order"])
            if order is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{match['order']}' on entity '{sobject}'."
                )
        return Query(
            fields=tuple(fields),
            conditions=tuple(conditions),
            order=order,
            descending=(match["direction"] or "").upper() == "DESC",
            limit=int(match["limit"]) if match["limit"] else None,
            sobject=sobject,
            subqueries=tuple(subs),
        )

    def _select_field(self, sobject: str, name: str) -> str:
        # Account has no parent relationships here; a dotted name there is a malformed token.
        if "." in name and sobject != "Account":
            relationship, _, parent_field = name.partition(".")
            id_field = next(
                (
                    f
                    for (o, r), f in PARENT_RELATIONSHIPS.items()
                    if o == sobject and r.lower() == relationship.lower()
                ),
                None,
            )
            if id_field is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"Didn't understand relationship '{relationship}' in field path."
                )
            target = OBJECT_FIELDS[sobject][id_field].refers_to or ""
            known_parent = self._object_field(target, parent_field)
            if known_parent is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{parent_field}' on entity '{target}'."
                )
            relationship_name = next(
                r for (o, r) in PARENT_RELATIONSHIPS if o == sobject and r.lower() == relationship.lower()
            )
            return f"{relationship_name}.{known_parent}"
        known = self._object_field(sobject, name)
        if known is None:
            if not re.fullmatch(r"\w+", name):
                raise malformed(f"unexpected token: '{name}'")
            raise SalesforceApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.")
        return known

    def _parse_subquery(self, sobject: str, text: str) -> Subquery:
        found = _SUBQUERY.fullmatch(text.strip())
        if found is None:
            raise malformed(f"unexpected token in subquery: {text[:80]!r}")
        relationship = next(
            (
                r
                for (o, r) in CHILD_RELATIONSHIPS
                if o == sobject and r.lower() == found["relationship"].lower()
            ),
            None,
        )
        if relationship is None:
            raise SalesforceApiError(
                400,
                "INVALID_TYPE",
                f"Didn't understand relationship '{found['relationship']}' in FROM part of query call.",
            )
        child, _ = CHILD_RELATIONSHIPS[(sobject, relationship)]
        fields = tuple(self._select_field(child, raw.strip()) for raw in found["fields"].split(","))
        order = None
        if found["order"]:
            order = self._object_field(child, found["order"])
            if order is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"No such column '{found['order']}' on entity '{child}'."
                )
        return Subquery(relationship, fields, order, (found["direction"] or "").upper() == "DESC")
