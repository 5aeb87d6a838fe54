"""QBO's query language: SELECT * | cols | count(*) FROM Entity [WHERE] [ORDERBY] [STARTPOSITION n] ...

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from infra.local.sandboxes.kit.tokens import tokenize
from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.entities import ENTITIES, EntitySpec, entity
from infra.local.sandboxes.quickbooks.faults import Fault, fault

MAX_RESULTS = 1000  # query page ceiling
DEFAULT_MAX_RESULTS = 100
_SERVED = ", ".join(spec.name for spec in ENTITIES)
Condition = tuple[str, str, list[str]]


def parse_error(detail: str) -> Fault:
    """4000 Error parsing query (QueryParserError)."""
    return fault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def validation_error(detail: str) -> Fault:
    """4001 Invalid query (QueryValidationError): a statement that parses but names what is not there."""
    return fault(400, "4001", "Invalid query", f"QueryValidationError: {detail}")


def run_query(company: Company, statement: str | None) -> dict[str, Any]:
    """The QueryResponse for one statement, or the parser's / validator's Fault."""
    if not statement:
        raise parse_error("empty query")
    try:
        parsed = _parse_query(statement)
    except ValueError as exc:
        raise parse_error(str(exc)) from None
    spec = entity(parsed.entity)
    if spec is None:
        raise validation_error(f"{parsed.entity} is not served by this sandbox ({_SERVED})")
    _check_properties(spec, parsed)
    if parsed.max_results > MAX_RESULTS:
        # QBO refuses a page above its ceiling rather than shortening it (quickbooks-ruby issue 24
        # quotes the Fault: "QueryValidationError: value 1500 is too large. Max allowed value is 1000").
        raise validation_error(f"value {parsed.max_results} is too large. Max allowed value is {MAX_RESULTS}")
    rows = list(company.rows(spec.name))
    if not any(name.lower() == "active" for name, _, _ in parsed.conditions):
        # Like QBO, inactive list entries are returned only when the query asks about Active.
        rows = [row for row in rows if row.get("Active", True)]
    rows = [row for row in rows if all(_matches(row, condition) for condition in parsed.conditions)]
    for name, descending in reversed(parsed.order):
        rows.sort(key=_sorter(name), reverse=descending)
    if parsed.count:
        return {"QueryResponse": {"totalCount": len(rows)}}
    page = rows[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
    if not page:
        return {"QueryResponse": {}}
    found = [_columns(row, parsed.columns) for row in page] if parsed.columns else copy.deepcopy(page)
    return {"QueryResponse": {spec.name: found, "startPosition": parsed.start, "maxResults": len(page)}}


def _check_properties(spec: EntitySpec, parsed: _Query) -> None:
    """Every property the statement names must be one of the entity's: else QueryValidationError."""
    conditions = [name for name, _, _ in parsed.conditions]
    for name in [*parsed.columns, *conditions, *(name for name, _ in parsed.order)]:
        if not spec.knows(name):
            raise validation_error(f"Property {name} not found for Entity {spec.name}")


def _columns(row: Mapping[str, Any], columns: list[str]) -> dict[str, Any]:
    """Only the selected properties (by their stored spelling), as QBO answers a column list."""
    picked: dict[str, Any] = {}
    for column in columns:
        head = column.split(".")[0]
        key = next((key for key in row if key.casefold() == head.casefold()), None)
        if key is not None:
            picked[key] = copy.deepcopy(row[key])
    return picked


@dataclass
class _Query:
    entity: str = ""
    count: bool = False
    columns: list[str] = field(default_factory=list)
    conditions: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)|(?P<word>[\w.:+-]+))", re.S
)
_CLAUSE_END = ("orderby", "order", "startposition", "maxresults")


def _tokens(text: str) -> list[tuple[str, str]]:
    found = tokenize(
        _TOKEN, text.strip(), lambda at, rest: ValueError(f"unexpected text at {at}: {rest[:20]!r}")
    )
    return [
        (token.kind, re.sub(r"\\(.)", r"\1", token.text[1:-1]) if token.kind == "str" else token.text)
        for token in found
    ]


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise ValueError("query ends too early")
        self.index += 1
        return self.tokens[self.index - 1]

    def keyword(self, *expected: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        kind, value = self.tokens[self.index]
        return kind == "word" and value.lower() in expected

    def done(self) -> bool:
        return self.index >= len(self.tokens)


def _parse_query(statement: str) -> _Query:
    """SELECT * | a, b | count(*) FROM Entity [WHERE a = 'x' AND b IN (...) AND c LIKE 'x%']
    [ORDERBY a [ASC|DESC], ...] [STARTPOSITION n] [MAXRESULTS m]  (keywords case-insensitive)."""
    reader = _Reader(_tokens(statement))
    query = _Query()
    if reader.take()[1].lower() != "select":
        raise ValueError("a query starts with SELECT")
    first = reader.take()
    if first[1].lower() == "count" and not reader.done() and reader.tokens[reader.index][1] == "(":
        for expected in ("(", "*", ")"):
            if reader.take()[1] != expected:
                raise ValueError("count(*) expected")
        query.count = True
    elif first[1] != "*":
        query.columns.append(_name(first))
        while not reader.keyword("from"):
            if reader.take()[1] != ",":
                raise ValueError("columns are separated by commas")
            query.columns.append(_name(reader.take()))
    if reader.take()[1].lower() != "from":
        raise ValueError("FROM expected")
    query.entity = _name(reader.take())
    if reader.keyword("where"):
        reader.take()
        query.conditions = _conditions(reader)
    if reader.keyword("orderby", "order"):
        if reader.take()[1].lower() == "order" and reader.take()[1].lower() != "by":
            raise ValueError("ORDER BY expected")
        query.order = _order(reader)
    while not reader.done():
        word = reader.take()[1].lower()
        number = reader.take()[1]
        if not number.isdigit():
            raise ValueError(f"{word.upper()} needs a number")
        if word == "startposition":
            query.start = max(1, int(number))
        elif word == "maxresults":
            query.max_results = max(1, int(number))
        else:
            raise ValueError(f"unexpected {word!r}")
    return query


def _name(token: tuple[str, str]) -> str:
    if token[0] != "word":
        raise ValueError(f"a name was expected, got {token[1]!r}")
    return token[1]


def _conditions(reader: _Reader) -> list[Condition]:
    found: list[Condition] = []
    while True:
        name = _name(reader.take())
        operator = reader.take()[1].lower()
        if operator == "in":
            if reader.take()[1] != "(":
                raise ValueError("IN needs a parenthesised list")
            values: list[str] = []
            while True:
                values.append(reader.take()[1])
                separator = reader.take()[1]
                if separator == ")":
                    break
                if separator != ",":
                    raise ValueError("IN list items are separated by commas")
            found.append((name, "in", values))
        elif operator in ("=", "like", "<", ">", "<=", ">=", "!="):
            found.append((name, operator, [reader.take()[1]]))
        else:
            raise ValueError(f"operator {operator!r} is not supported")
        if not reader.keyword("and"):
            return found
        reader.take()


def _order(reader: _Reader) -> list[tuple[str, bool]]:
    order: list[tuple[str, bool]] = []
    while True:
        name = _name(reader.take())
        descending = False
        if reader.keyword("asc", "desc"):
            descending = reader.take()[1].lower() == "desc"
        order.append((name, descending))
        if reader.done() or reader.tokens[reader.index][1] != ",":
            return order
        reader.take()


# --- evaluation -----------------------------------------------------------------------------------


def _raw_value(row: Mapping[str, Any], path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = next((item for key, item in value.items() if key.lower() == part.lower()), None)
    if isinstance(value, Mapping):
        # PrimaryEmailAddr = 'a@b.c' compares the address itself, CustomerRef = '1' the Id, as in QBO.
        value = value.get("Address", value.get("FreeFormNumber", value.get("value")))
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _instant(text: str) -> datetime | None:
    """A date or date-time literal; QBO compares date-times as instants whatever their offsets."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?", text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def _comparable(left: str, right: str) -> tuple[Any, Any] | None:
    """Both sides as instants, dates or numbers when they are such; None when not comparable so."""
    a, b = _instant(left), _instant(right)
    if a is not None and b is not None:
        if a.tzinfo is not None and b.tzinfo is not None:
            return a, b
        return a.date(), b.date()  # a date on either side compares calendar dates
    x, y = _number(left), _number(right)
    if x is not None and y is not None:
        return x, y
    return None


def _sorter(name: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(_raw_value(row, name))


def _sort_key(value: Any) -> tuple[int, Any]:
    text = _text(value)
    if text is None:
        return (3, "")
    moment = _instant(text)
    if moment is not None and moment.tzinfo is not None:
        return (0, moment.timestamp())
    number = _number(text)
    return (1, number) if number is not None else (2, text.casefold())


def _matches(row: Mapping[str, Any], condition: Condition) -> bool:
    name, operator, values = condition
    actual = _text(_raw_value(row, name))
    if actual is None:
        return False
    if operator in ("in", "like"):
        folded = actual.casefold()
        if operator == "in":
            return folded in [value.casefold() for value in values]
        pattern = "".join(".*" if char == "%" else re.escape(char) for char in values[0].casefold())
        return re.fullmatch(pattern, folded, re.S) is not None
    # Text compares case-insensitively, as QBO's `=` on names does.
    a, b = _comparable(actual, values[0]) or (actual.casefold(), values[0].casefold())
    outcomes: dict[str, bool] = {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        ">": a > b,
        "<=": a <= b,
        ">=": a >= b,
    }
    return outcomes[operator]
