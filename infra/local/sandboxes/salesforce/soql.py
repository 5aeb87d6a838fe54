"""SOQL over the record store: names resolved against the org's objects, rows matched, paged.

Query and QueryAll answer pages of at most the batch size with a query locator for the rest.
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request

from infra.local.sandboxes.salesforce.errors import SalesforceApiError, malformed
from infra.local.sandboxes.salesforce.ids import to_18
from infra.local.sandboxes.salesforce.records import RecordStore
from infra.local.sandboxes.salesforce.schema import (
    CHILD_RELATIONSHIPS,
    OBJECT_FIELDS,
    PARENT_RELATIONSHIPS,
    FieldSpec,
)
from infra.local.sandboxes.salesforce.soql_syntax import (
    Comparison,
    Condition,
    Group,
    Junction,
    Literal,
    Negation,
    OrderKey,
    SelectStatement,
    parse,
)

_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
# The SOQL type each field kind compares as, for the refusal naming it.
_SOQL_TYPES = {
    "number": "double",
    "integer": "int",
    "datetime": "dateTime",
    "date": "date",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Subquery:
    relationship: str
    child: str
    parent_field: str
    query: Query


@dataclass(frozen=True)
class Query:
    """A statement resolved against the schema: canonical names, typed values."""

    sobject: str
    fields: tuple[str, ...]
    count: bool
    where: Condition | None
    order: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None
    subqueries: tuple[Subquery, ...] = ()


@dataclass
class Cursor:
    object_name: str
    ids: list[str]
    fields: tuple[str, ...]
    batch: int
    last_used: datetime
    version: str = field(default="")
    subqueries: tuple[Subquery, ...] = ()


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern) + "$",
        re.IGNORECASE | re.DOTALL,
    )


def _unknown(code: str, message: str, kind: str, suffix: str) -> SalesforceApiError:
    """A name the org does not know, with the hint Salesforce adds about custom names."""
    hint = f"If you are attempting to use a custom {kind}, be sure to append the '{suffix}' after the name."
    return SalesforceApiError(400, code, f"{message} {hint}")


def _comparable(value: Any) -> Any:
    # Text compares case-insensitively in SOQL (= and LIKE alike).
    return value.lower() if isinstance(value, str) else value


class SoqlEngine(RecordStore):
    """Query, QueryAll and query locators over the record store."""

    _cursors: dict[str, Cursor]
    _page_size: int

    # --- resolving names ---------------------------------------------------------------------

    def _resolve_object(self, name: str) -> str:
        sobject = next((known for known in OBJECT_FIELDS if known.lower() == name.lower()), None)
        if sobject is None:
            raise _unknown("INVALID_TYPE", f"sObject type '{name}' is not supported.", "object", "__c")
        return sobject

    def _select_field(self, sobject: str, name: str) -> str:
        """The canonical name of a field or one-level parent path (Account.Name), or INVALID_FIELD."""
        if "." in name:
            relationship, _, parent_field = name.partition(".")
            if "." in parent_field:
                raise malformed(f"unexpected token: '{name}': paths of one relationship only are served")
            found = next(
                (r for (o, r) in PARENT_RELATIONSHIPS if o == sobject and r.lower() == relationship.lower()),
                None,
            )
            if found is None:
                raise SalesforceApiError(
                    400, "INVALID_FIELD", f"Didn't understand relationship '{relationship}' in field path."
                )
            return f"{found}.{self._select_field(self._parent_of(sobject, found)[1], parent_field)}"
        known = self._object_field(sobject, name)
        if known is None:
            raise _unknown("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'.", "field", "__c")
        return known

    def _path_spec(self, sobject: str, path: str) -> FieldSpec:
        if "." in path:
            relationship, _, parent_field = path.partition(".")
            return self._field_spec(self._parent_of(sobject, relationship)[1], parent_field)
        return self._field_spec(sobject, path)

    def _resolve(self, statement: SelectStatement, sobject: str) -> Query:
        fields: list[str] = []
        subqueries: list[Subquery] = []
        count = False
        for item in statement.items:
            if item.kind == "count":
                count = True
            elif item.kind == "fields":
                # FIELDS(ALL) and FIELDS(CUSTOM) are bounded: LIMIT 200 at most.
                # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_fields.htm
                if item.path != "STANDARD" and (statement.limit is None or statement.limit > 200):
                    raise malformed("The SOQL FIELDS function must have a LIMIT of at most 200")
                names = self._object_fields(sobject)
                if item.path == "STANDARD":
                    names = tuple(n for n in names if not n.endswith("__c"))
                elif item.path == "CUSTOM":
                    names = tuple(n for n in names if n.endswith("__c"))
                fields.extend(names)
            elif item.kind == "subquery" and item.subquery is not None:
                subqueries.append(self._resolve_subquery(sobject, item.subquery))
            else:
                fields.append(self._select_field(sobject, item.path))
        if count and (len(statement.items) > 1):
            raise malformed("COUNT() must be the only element in the SELECT list")
        return Query(
            sobject=sobject,
            fields=tuple(dict.fromkeys(fields)),
            count=count,
            where=self._resolve_condition(sobject, statement.where) if statement.where else None,
            order=tuple(
                OrderKey(self._select_field(sobject, key.path), key.descending, key.nulls_first)
                for key in statement.order
            ),
            limit=statement.limit,
            offset=statement.offset,
            subqueries=tuple(subqueries),
        )

    def _resolve_subquery(self, sobject: str, statement: SelectStatement) -> Subquery:
        # https://developer.salesforce.com/docs/platform/salesforce-soql-sosl/guide/sforce-api-calls-soql-relationships-query-using.md
        relationship = next(
            (r for (o, r) in CHILD_RELATIONSHIPS if o == sobject and r.lower() == statement.sobject.lower()),
            None,
        )
        if relationship is None:
            raise _unknown(
                "INVALID_TYPE",
                f"Didn't understand relationship '{statement.sobject}' in FROM part of query call.",
                "relationship",
                "__r",
            )
        child, parent_field = CHILD_RELATIONSHIPS[(sobject, relationship)]
        query = self._resolve(statement, child)
        if query.count:
            raise malformed("COUNT() is not allowed in a subquery")
        return Subquery(relationship, child, parent_field, query)

    def _resolve_condition(self, sobject: str, condition: Condition) -> Condition:
        if isinstance(condition, Junction):
            return Junction(condition.op, tuple(self._resolve_condition(sobject, p) for p in condition.parts))
        if isinstance(condition, Negation):
            return Negation(self._resolve_condition(sobject, condition.part))
        if isinstance(condition, Group):
            return self._resolve_condition(sobject, condition.part)
        path = self._select_field(sobject, condition.path)
        spec = self._path_spec(sobject, path)
        values = tuple(self._typed(path, spec.kind, condition.op, value) for value in condition.values)
        return Comparison(path, condition.op, values)

    def _typed(self, path: str, kind: str, op: str, value: Literal) -> Literal:
        """`value` as the field compares it, or the refusal Salesforce gives for the mismatch."""
        if value.kind == "null":
            return value
        if kind in {"id", "reference"}:
            if value.kind != "text" or not _ID.fullmatch(value.value):
                raise SalesforceApiError(
                    400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value.value}"
                )
            # A 15-character id and its 18-character form name the same record.
            return Literal("text", to_18(value.value[:15]))
        if kind in {"text", "picklist"}:
            if value.kind != "text":
                raise malformed(
                    f"value of filter criterion for field '{path}' must be of type string and should be "
                    "enclosed in quotes"
                )
            return value
        if op == "LIKE":
            raise SalesforceApiError(
                400,
                "INVALID_QUERY_FILTER_OPERATOR",
                f"invalid operator on field '{path}': LIKE needs a text field",
            )
        wanted = {
            "number": {"number"},
            "integer": {"number"},
            "boolean": {"boolean"},
            "date": {"date", "day_range"},
            "datetime": {"datetime", "day_range"},
        }.get(kind, set())
        if value.kind not in wanted:
            quoted = "should not be enclosed in quotes" if value.kind == "text" else "is not a valid value"
            raise malformed(
                f"value of filter criterion for field '{path}' must be of type {_SOQL_TYPES.get(kind, kind)} "
                f"and {quoted}"
            )
        if kind == "boolean" and op not in {"=", "!=", "IN", "NOTIN"}:
            raise SalesforceApiError(
                400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on boolean field '{path}'"
            )
        if value.kind == "day_range":
            today = self._clock().astimezone(UTC).date()
            start, end = (today + timedelta(days=n) for n in value.value)
            if kind == "datetime":
                return Literal(
                    "day_range", tuple(datetime.combine(d, time(), tzinfo=UTC) for d in (start, end))
                )
            return Literal("day_range", (start, end))
        return value

    # --- matching ------------------------------------------------------------------------------

    def _value_at(self, sobject: str, record: dict[str, Any], path: str) -> Any:
        if "." not in path:
            return record.get(path)
        relationship, _, parent_field = path.partition(".")
        parent = self._parent_record(sobject, record, relationship)
        return parent.get(parent_field) if parent else None

    def _holds(self, sobject: str, record: dict[str, Any], condition: Condition) -> bool:
        if isinstance(condition, Junction):
            results = (self._holds(sobject, record, part) for part in condition.parts)
            return all(results) if condition.op == "AND" else any(results)
        if isinstance(condition, Negation):
            return not self._holds(sobject, record, condition.part)
        if isinstance(condition, Group):
            return self._holds(sobject, record, condition.part)
        value = self._value_at(sobject, record, condition.path)
        if condition.op == "IN":
            return any(self._compare(value, "=", literal) for literal in condition.values)
        if condition.op == "NOTIN":
            return not any(self._compare(value, "=", literal) for literal in condition.values)
        return self._compare(value, condition.op, condition.values[0])

    @staticmethod
    def _compare(value: Any, op: str, literal: Literal) -> bool:
        if literal.kind == "null":
            return (value is None) == (op == "=") if op in {"=", "!="} else False
        if op == "LIKE":
            return isinstance(value, str) and bool(_like(literal.value).match(value))
        if literal.kind == "day_range":
            start, end = literal.value
            if value is None:
                return op == "!="
            inside = bool(start <= value < end)
            outcomes: dict[str, bool] = {
                "=": inside,
                "!=": not inside,
                "<": value < start,
                "<=": value < end,
                ">": value >= end,
                ">=": value >= start,
            }
            return outcomes[op]
        left, right = _comparable(value), _comparable(literal.value)
        if isinstance(left, int | Decimal) and not isinstance(left, bool):
            left = Decimal(left)
        if op == "=":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if left is None:
            return False
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])

    # --- running -------------------------------------------------------------------------------

    def _batch_size(self, request: Request) -> int:
        # Sforce-Query-Options: batchSize=N (200..2,000, default 2,000), further capped by the
        # sandbox's own page size so that tests can page through a handful of records.
        # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
        requested = 2_000
        match = re.search(r"batchSize=(\d+)", request.headers.get("Sforce-Query-Options", ""))
        if match:
            requested = min(2_000, max(200, int(match.group(1))))
        return max(1, min(requested, self._page_size))

    def _rows(self, query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`rows` filtered, ordered, offset and limited as `query` says."""
        if query.where is not None:
            where = query.where
            rows = [r for r in rows if self._holds(query.sobject, r, where)]
        for key in reversed(query.order):
            present = [r for r in rows if self._value_at(query.sobject, r, key.path) is not None]
            nulls = [r for r in rows if self._value_at(query.sobject, r, key.path) is None]
            sobject, order_key = query.sobject, key
            present.sort(key=lambda r: self._sort_key(sobject, r, order_key), reverse=key.descending)
            rows = nulls + present if key.nulls_first else present + nulls
        if query.offset:
            rows = rows[query.offset :]
        if query.limit is not None:
            rows = rows[: query.limit]
        return rows

    def _sort_key(self, sobject: str, record: dict[str, Any], key: OrderKey) -> Any:
        return _comparable(self._value_at(sobject, record, key.path))

    def _run_query(self, request: Request, version: str, *, include_deleted: bool = False) -> dict[str, Any]:
        """Query; QueryAll (`include_deleted`) also returns deleted and merged-away records.

        https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html
        """
        soql = request.args.get("q")
        if not soql:
            raise malformed("A query string has to be specified")
        statement = parse(soql)
        query = self._resolve(statement, self._resolve_object(statement.sobject))
        table = self._objects[query.sobject].values()
        rows = self._rows(query, [r for r in table if include_deleted or not r["IsDeleted"]])
        if query.count:
            # COUNT() answers the number of rows in totalSize, with no records.
            # https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_count.htm
            return {"totalSize": len(rows), "done": True, "records": []}
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
        records = [self._render_object(cursor.object_name, record_id, cursor) for record_id in ids]
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
            rows = self._rows(sub.query, self._children(sub.child, sub.parent_field, record_id))
            if not rows:
                body[sub.relationship] = None  # an empty child relationship is null, not an empty result
                continue
            child_cursor = Cursor(
                object_name=sub.child,
                ids=[r["Id"] for r in rows],
                fields=sub.query.fields,
                batch=cursor.batch,
                last_used=self._clock(),
                version=cursor.version,
            )
            body[sub.relationship] = self._page(child_cursor, 0)
        return body
