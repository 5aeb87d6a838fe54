"""SuiteQL over REST: `POST /services/rest/query/v1/suiteql` with `{"q": ...}`, run and paged.

The answer is `{links, count, hasMore, items, offset, totalResults}`; each item carries `links: []`
and its columns in lower case (an expression without an alias is `expr1`, `expr2`, ...). Pages
hold `limit` rows (1 to 1,000, default 1,000) from `offset`; at most 100,000 results are reachable.
An unknown table or column, or a statement outside the grammar, is a 400 INVALID_PARAMETER (on `q`)
whose detail starts "Invalid search query. Detailed unprocessed description follows." as NetSuite's does.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html (resource)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_156414087576.html (paging)
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html (Prefer: transient)
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from infra.local.sandboxes.netsuite.account import Account
from infra.local.sandboxes.netsuite.errors import NetSuiteError, invalid_parameter
from infra.local.sandboxes.netsuite.suiteql_syntax import (
    AGGREGATES,
    Arithmetic,
    Call,
    Column,
    Comparison,
    Condition,
    Expr,
    InList,
    IsNull,
    Junction,
    Like,
    Literal,
    Negation,
    Statement,
    SuiteQLSyntaxError,
    contains_aggregate,
    parse,
)
from infra.local.sandboxes.netsuite.suiteql_tables import TABLES, Row, Table, table_rows
from infra.local.sandboxes.netsuite.suiteql_values import (
    FormatError,
    as_datetime,
    comparable,
    like,
    render,
    to_char,
    to_datetime,
)

MAX_LIMIT = 1000
MAX_RESULTS = 100_000
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
# NetSuite's wording, as clients of live accounts record it: an unknown table is an "Invalid search
# type", an unknown column an "Unknown identifier" with the statement's identifiers listed.
_PREFIX = "Invalid search query. Detailed unprocessed description follows. "
_SCALAR_FUNCTIONS = frozenset(
    {"TO_DATE", "TO_TIMESTAMP", "TO_CHAR", "DATE_LITERAL", "TIMESTAMP_LITERAL", "SYSDATE", "CURRENT_DATE"}
    | {"CURRENT_TIMESTAMP", "UPPER", "LOWER", "NVL", "COALESCE", "TRUNC", "ABS", "ROUND", "BUILTIN.DF"}
)


def search_error(detail: str, *, prefix: str = "Search error occurred: ") -> NetSuiteError:
    """400 INVALID_PARAMETER on `q` with NetSuite's "Invalid search query" wording."""
    return invalid_parameter(_PREFIX + prefix + detail, query_param="q")


def run_suiteql(
    account: Account, body: Any, *, limit_text: str | None, offset_text: str | None, base: str
) -> dict[str, Any]:
    """The page of results the request asks for, or a NetSuiteError."""
    limit = _int_param("limit", limit_text, MAX_LIMIT, 1, MAX_LIMIT)
    offset = _int_param("offset", offset_text, 0, 0, MAX_RESULTS)
    if not isinstance(body, dict) or not isinstance(body.get("q"), str) or not body["q"].strip():
        raise invalid_parameter("The request body must be an object with the query text in 'q'.")
    try:
        statement = parse(body["q"])
    except SuiteQLSyntaxError as error:
        raise search_error(f"Invalid or unsupported search. {error}") from None  # the grammar's reason added
    rows = execute(account, statement)[:MAX_RESULTS]
    page = rows[offset : offset + limit]
    total = len(rows)
    has_more = offset + len(page) < total
    url = base + SUITEQL_PATH
    links = [{"rel": "self", "href": f"{url}?limit={limit}&offset={offset}"}]
    if has_more:
        links.insert(0, {"rel": "next", "href": f"{url}?limit={limit}&offset={offset + limit}"})
    if offset > 0:
        links.insert(0, {"rel": "previous", "href": f"{url}?limit={limit}&offset={max(0, offset - limit)}"})
    if total > limit:
        last = ((total - 1) // limit) * limit
        links.insert(0, {"rel": "last", "href": f"{url}?limit={limit}&offset={last}"})
        links.insert(0, {"rel": "first", "href": f"{url}?limit={limit}&offset=0"})
    return {
        "links": links,
        "count": len(page),
        "hasMore": has_more,
        "items": page,
        "offset": offset,
        "totalResults": total,
    }


def _int_param(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise invalid_parameter(
            f"The value of the query parameter '{name}' must be a whole number from {low} to {high}.",
            query_param=name,
        )
    return int(text)


def execute(account: Account, statement: Statement) -> list[dict[str, Any]]:
    """Every result row of `statement` as the REST items carry them (before paging)."""
    table = TABLES.get(statement.table)
    if table is None:
        raise search_error(f"Invalid search type: {statement.table}.", prefix="")
    _check_names(statement, table)
    rows = table_rows(account, table)
    now = account.now()
    try:
        if statement.where is not None:
            rows = [row for row in rows if _holds(statement.where, row, now)]
        grouped = bool(statement.group_by) or any(contains_aggregate(item.expr) for item in statement.items)
        results = _grouped(statement, table, rows, now) if grouped else _plain(statement, table, rows, now)
    except FormatError as error:
        raise search_error(str(error)) from None
    if statement.top is not None:
        results = results[: statement.top]
    return [{"links": [], **{k: v for k, v in out.items() if v is not None}} for out, _ in results]


# --- names ---------------------------------------------------------------------------------------


def _check_names(statement: Statement, table: Table) -> None:
    aliases = {item.alias for item in statement.items if item.alias}
    qualifiers = {statement.table, statement.alias}
    identifiers = f"{{{statement.alias or statement.table}={statement.table}}}"

    def check(expr: Expr | None, *, order: bool = False) -> None:
        if isinstance(expr, Column):
            if expr.qualifier is not None and expr.qualifier not in qualifiers:
                raise search_error(
                    f"Unknown identifier '{expr.qualifier}'. Available identifiers are: {identifiers}."
                )
            if expr.name not in table.columns and not (
                order and expr.qualifier is None and expr.name in aliases
            ):
                raise search_error(
                    f"Unknown identifier '{expr.name}'. Available identifiers are: {identifiers}."
                )
        elif isinstance(expr, Call):
            if expr.name not in _SCALAR_FUNCTIONS and expr.name not in AGGREGATES:
                raise search_error(f"Unknown or unsupported function {expr.name}.")
            for arg in expr.args:
                check(arg, order=order)
        elif isinstance(expr, Arithmetic):
            check(expr.left, order=order)
            check(expr.right, order=order)

    for item in statement.items:
        check(item.expr)
    for expr in statement.group_by:
        check(expr)
    for key in statement.order_by:
        check(key.expr, order=True)
    for expr in _condition_exprs(statement.where):
        if contains_aggregate(expr):
            raise search_error("Aggregate functions are not allowed in WHERE.")
        check(expr)


def _condition_exprs(condition: Condition | None) -> Iterable[Expr]:
    if condition is None:
        return
    if isinstance(condition, Junction):
        for part in condition.parts:
            yield from _condition_exprs(part)
    elif isinstance(condition, Negation):
        yield from _condition_exprs(condition.part)
    elif isinstance(condition, Comparison):
        yield from (condition.left, condition.right)
    elif isinstance(condition, InList):
        yield condition.expr
        yield from condition.values
    elif isinstance(condition, IsNull):
        yield condition.expr
    elif isinstance(condition, Like):
        yield from (condition.expr, condition.pattern)
    else:
        yield from (condition.expr, condition.low, condition.high)


# --- evaluation ----------------------------------------------------------------------------------


def _value(expr: Expr, row: Row, now: datetime) -> Any:
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Column):
        return row.values.get(expr.name)
    if isinstance(expr, Arithmetic):
        return _arithmetic(expr.op, _value(expr.left, row, now), _value(expr.right, row, now))
    return _call(expr, row, now)


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    sign = 1 if op == "+" else -1
    if isinstance(left, datetime) and isinstance(right, Decimal):
        return left + sign * timedelta(days=float(right))
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return left + sign * right
    raise FormatError(f"inconsistent datatypes in {left!r} {op} {right!r}")


def _call(call: Call, row: Row, now: datetime) -> Any:
    name = call.name
    if name in AGGREGATES:
        raise search_error(f"{name} is an aggregate: use it with GROUP BY or alone.")
    if name in ("SYSDATE", "CURRENT_TIMESTAMP"):
        return now
    if name == "CURRENT_DATE":
        return datetime(now.year, now.month, now.day, tzinfo=UTC)
    if name == "BUILTIN.DF":
        arg = call.args[0] if len(call.args) == 1 else None
        if not isinstance(arg, Column):
            raise search_error("BUILTIN.DF takes one field.")
        return row.display.get(arg.name, render(row.values.get(arg.name)))
    return _apply(name, [_value(arg, row, now) for arg in call.args])


def _apply(name: str, args: list[Any]) -> Any:
    """A scalar function of evaluated arguments."""
    if name in ("TO_DATE", "TO_TIMESTAMP", "DATE_LITERAL", "TIMESTAMP_LITERAL"):
        if not 1 <= len(args) <= 2 or args[0] is None:
            return None
        if isinstance(args[0], datetime):
            return args[0]
        model = None if len(args) == 1 else str(args[1])
        return to_datetime(str(args[0]), model)
    if name == "TO_CHAR":
        return to_char(args[0], str(args[1]) if len(args) > 1 else None) if args else None
    if name in ("UPPER", "LOWER"):
        text = render(args[0]) if args else None
        return None if text is None else (text.upper() if name == "UPPER" else text.lower())
    if name in ("NVL", "COALESCE"):
        return next((arg for arg in args if arg is not None), None)
    if name == "TRUNC" and args and isinstance(args[0], datetime):
        return as_datetime(args[0].date())
    if name == "ABS" and args and isinstance(args[0], Decimal):
        return abs(args[0])
    if name == "ROUND" and args and isinstance(args[0], Decimal):
        places = int(args[1]) if len(args) > 1 and isinstance(args[1], Decimal) else 0
        return round(args[0], places)
    raise search_error(f"Invalid arguments for {name}.")


def _holds(condition: Condition, row: Row, now: datetime) -> bool:
    if isinstance(condition, Junction):
        parts = (_holds(part, row, now) for part in condition.parts)
        return all(parts) if condition.op == "AND" else any(parts)
    if isinstance(condition, Negation):
        return not _holds(condition.part, row, now)
    if isinstance(condition, IsNull):
        return (_value(condition.expr, row, now) is None) != condition.negated
    if isinstance(condition, Comparison):
        return _compare(_value(condition.left, row, now), condition.op, _value(condition.right, row, now))
    if isinstance(condition, InList):
        value = _value(condition.expr, row, now)
        if value is None:
            return False
        found = any(_compare(value, "=", _value(option, row, now)) for option in condition.values)
        return found != condition.negated
    if isinstance(condition, Like):
        value, pattern = _value(condition.expr, row, now), _value(condition.pattern, row, now)
        if value is None or pattern is None:
            return False
        return like(render(value) or "", str(pattern)) != condition.negated
    value = _value(condition.expr, row, now)
    inside = _compare(value, ">=", _value(condition.low, row, now)) and _compare(
        value, "<=", _value(condition.high, row, now)
    )
    return inside != condition.negated


def _compare(left: Any, op: str, right: Any) -> bool:
    pair = comparable(left, right)
    if pair is None:
        return False  # a comparison with null is unknown: the row is not selected
    a, b = pair
    if op == "=":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


# --- projection, grouping, ordering ---------------------------------------------------------------

Result = tuple[dict[str, Any], list[Any]]  # (output columns as text, raw order key values)


def _output_names(statement: Statement, table: Table) -> list[str]:
    names: list[str] = []
    unnamed = 0
    for item in statement.items:
        if item.expr is None:
            names.extend(table.columns)
        elif item.alias:
            names.append(item.alias)
        elif isinstance(item.expr, Column):
            names.append(item.expr.name)
        else:
            unnamed += 1
            names.append(f"expr{unnamed}")
    return names


def _plain(statement: Statement, table: Table, rows: list[Row], now: datetime) -> list[Result]:
    names = _output_names(statement, table)
    aliases = _alias_exprs(statement)
    results: list[Result] = []
    for row in rows:
        raw: list[Any] = []
        for item in statement.items:
            if item.expr is None:
                raw.extend(row.values.get(column) for column in table.columns)
            else:
                raw.append(_value(item.expr, row, now))
        keys = [_value(aliases.get(_alias_of(key.expr), key.expr), row, now) for key in statement.order_by]
        results.append(({name: render(value) for name, value in zip(names, raw, strict=True)}, keys))
    return _ordered(statement, results)


def _alias_exprs(statement: Statement) -> dict[str, Expr]:
    return {item.alias: item.expr for item in statement.items if item.alias and item.expr is not None}


def _alias_of(expr: Expr) -> str:
    return expr.name if isinstance(expr, Column) and expr.qualifier is None else ""


def _grouped(statement: Statement, table: Table, rows: list[Row], now: datetime) -> list[Result]:
    if any(item.expr is None for item in statement.items):
        raise search_error("SELECT * cannot be used with GROUP BY or aggregates.")
    for item in statement.items:
        if item.expr is not None and not _grouping_holds(item.expr, statement.group_by):
            raise search_error("not a GROUP BY expression.")
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in rows:
        key = tuple(render(_value(expr, row, now)) for expr in statement.group_by)
        groups.setdefault(key, []).append(row)
    if not statement.group_by and not groups:
        groups[()] = []  # an aggregate over no rows is still one row (COUNT 0)
    names = _output_names(statement, table)
    aliases = _alias_exprs(statement)
    results: list[Result] = []
    for members in groups.values():
        raw = [_group_value(item.expr, members, statement, now) for item in statement.items if item.expr]
        keys = [
            _group_value(aliases.get(_alias_of(key.expr), key.expr), members, statement, now)
            for key in statement.order_by
        ]
        results.append(({name: render(value) for name, value in zip(names, raw, strict=True)}, keys))
    return _ordered(statement, results)


def _grouping_holds(expr: Expr, group_by: tuple[Expr, ...]) -> bool:
    """Whether `expr` reads only grouped expressions, aggregates and constants."""
    if expr in group_by or isinstance(expr, Literal):
        return True
    if isinstance(expr, Call):
        return expr.name in AGGREGATES or all(_grouping_holds(arg, group_by) for arg in expr.args)
    if isinstance(expr, Arithmetic):
        return _grouping_holds(expr.left, group_by) and _grouping_holds(expr.right, group_by)
    return False


def _group_value(expr: Expr, members: list[Row], statement: Statement, now: datetime) -> Any:
    if isinstance(expr, Call) and expr.name in AGGREGATES:
        if expr.star:
            return Decimal(len(members))
        values = (
            [v for v in (_value(expr.args[0], row, now) for row in members) if v is not None]
            if expr.args
            else []
        )
        if expr.name == "COUNT":
            return Decimal(len(values))
        if not values:
            return None
        if expr.name == "SUM":
            return sum(values, Decimal(0))
        if expr.name == "AVG":
            return sum(values, Decimal(0)) / len(values)
        return min(values) if expr.name == "MIN" else max(values)
    if isinstance(expr, Arithmetic):
        return _arithmetic(
            expr.op,
            _group_value(expr.left, members, statement, now),
            _group_value(expr.right, members, statement, now),
        )
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Call) and not expr.args and not expr.star:
        return _call(expr, Row({}), now)  # SYSDATE, CURRENT_DATE
    if isinstance(expr, Call) and expr not in statement.group_by and expr.name != "BUILTIN.DF":
        # A function of aggregates or grouped values (TO_CHAR(MAX(lastmodifieddate), ...)).
        return _apply(expr.name, [_group_value(arg, members, statement, now) for arg in expr.args])
    if expr not in statement.group_by:
        raise search_error("not a GROUP BY expression.")
    return _value(expr, members[0], now) if members else None


def _ordered(statement: Statement, results: list[Result]) -> list[Result]:
    # Oracle: ascending puts nulls last, descending first. Stable sorts, last key first.
    for index in reversed(range(len(statement.order_by))):
        descending = statement.order_by[index].descending
        present = [r for r in results if r[1][index] is not None]
        absent = [r for r in results if r[1][index] is None]
        present.sort(key=functools.partial(_key_at, index), reverse=descending)
        results = absent + present if descending else present + absent
    return results


def _key_at(index: int, result: Result) -> Any:
    return _sort_key(result[1][index])


def _sort_key(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if hasattr(value, "toordinal"):
        return float(as_datetime(value).timestamp())
    return value
