"""QBO's query language: SELECT * | count(*) FROM Entity [WHERE] [ORDERBY] [STARTPOSITION] [MAXRESULTS].

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from infra.local.sandboxes.quickbooks.company import Company
from infra.local.sandboxes.quickbooks.faults import fault

MAX_RESULTS = 1000  # query page ceiling
DEFAULT_MAX_RESULTS = 100
QUERYABLE = {"customer": "Customer", "class": "Class", "department": "Department"}


def run_query(company: Company, statement: str | None) -> dict[str, Any]:
    """The QueryResponse for one statement, or the parser's / validator's Fault."""
    if not statement:
        raise fault(400, "4000", "Error parsing query", "QueryParserError: empty query")
    try:
        parsed = _parse_query(statement)
    except ValueError as exc:
        raise fault(400, "4000", "Error parsing query", f"QueryParserError: {exc}") from None
    entity = QUERYABLE.get(parsed.entity.lower())
    if entity is None:
        raise fault(
            400,
            "4001",
            "Invalid query",
            f"QueryValidationError: {parsed.entity} is not served "
            "by this sandbox (customers, classes and departments)",
        )
    rows = company.rows(entity)
    if not any(field.lower() == "active" for field, _, _ in parsed.conditions):
        # Like QBO, inactive customers are returned only when the query asks about Active.
        rows = [row for row in rows if row.get("Active", True)]
    rows = [row for row in rows if all(_matches(row, cond) for cond in parsed.conditions)]
    if parsed.count:
        return {"QueryResponse": {"totalCount": len(rows)}}
    page = rows[parsed.start - 1 : parsed.start - 1 + parsed.max_results]
    response: dict[str, Any] = {}
    if page:
        response = {entity: copy.deepcopy(page), "startPosition": parsed.start, "maxResults": len(page)}
    return {"QueryResponse": response}


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)|(?P<word>[\w.]+))", re.S
)


class _Query:
    def __init__(self) -> None:
        self.entity = ""
        self.count = False
        self.conditions: list[tuple[str, str, list[str]]] = []
        self.start = 1
        self.max_results = DEFAULT_MAX_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"unexpected text at {position}: {text[position : position + 20]!r}")
        position = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append((kind, value))
    return found


def _parse_query(statement: str) -> _Query:
    """SELECT * | count(*) FROM Entity [WHERE a = 'x' AND b IN (...) AND c LIKE 'x%'] [ORDERBY ...]
    [STARTPOSITION n] [MAXRESULTS m]  (keywords case-insensitive, STARTPOSITION is 1-based)."""
    tokens = _tokens(statement)
    query = _Query()
    index = 0

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise ValueError("query ends too early")
        index += 1
        return tokens[index - 1]

    def keyword(expected: str) -> bool:
        return index < len(tokens) and tokens[index][0] == "word" and tokens[index][1].lower() == expected

    if take()[1].lower() != "select":
        raise ValueError("a query starts with SELECT")
    first = take()
    if first[1].lower() == "count":
        for expected in ("(", "*", ")"):
            if take()[1] != expected:
                raise ValueError("count(*) expected")
        query.count = True
    elif first[1] != "*":
        # A column list is legal in QBO; the sandbox returns whole records either way.
        while index < len(tokens) and not keyword("from"):
            take()
    if take()[1].lower() != "from":
        raise ValueError("FROM expected")
    query.entity = take()[1]
    if keyword("where"):
        take()
        while True:
            field = take()
            if field[0] != "word":
                raise ValueError(f"field name expected, got {field[1]!r}")
            operator = take()[1].lower()
            if operator == "in":
                if take()[1] != "(":
                    raise ValueError("IN needs a parenthesised list")
                values: list[str] = []
                while True:
                    values.append(take()[1])
                    separator = take()[1]
                    if separator == ")":
                        break
                    if separator != ",":
                        raise ValueError("IN list items are separated by commas")
                query.conditions.append((field[1], "in", values))
            elif operator in ("=", "like", "<", ">", "<=", ">=", "!="):
                query.conditions.append((field[1], operator, [take()[1]]))
            else:
                raise ValueError(f"operator {operator!r} is not supported")
            if keyword("and"):
                take()
                continue
            break
    if keyword("orderby") or keyword("order"):
        take()
        if keyword("by"):
            take()
        while index < len(tokens) and not (keyword("startposition") or keyword("maxresults")):
            take()
    while index < len(tokens):
        word = take()[1].lower()
        number = take()[1]
        if not number.isdigit():
            raise ValueError(f"{word.upper()} needs a number")
        if word == "startposition":
            query.start = max(1, int(number))
        elif word == "maxresults":
            query.max_results = min(MAX_RESULTS, max(1, int(number)))
        else:
            raise ValueError(f"unexpected {word!r}")
    return query


def _field_value(row: Mapping[str, Any], path: str) -> str | None:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = next((item for key, item in value.items() if key.lower() == part.lower()), None)
    if isinstance(value, Mapping):
        # PrimaryEmailAddr = 'a@b.c' compares the address itself, as in QBO.
        value = value.get("Address", value.get("FreeFormNumber", value.get("value")))
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _matches(row: Mapping[str, Any], condition: tuple[str, str, list[str]]) -> bool:
    field, operator, values = condition
    actual = _field_value(row, field)
    if actual is None:
        return False
    folded = actual.casefold()
    wanted = [value.casefold() for value in values]
    if operator == "=":
        return folded == wanted[0]
    if operator == "!=":
        return folded != wanted[0]
    if operator == "in":
        return folded in wanted
    if operator == "like":
        pattern = "".join(".*" if char == "%" else re.escape(char) for char in wanted[0])
        return re.fullmatch(pattern, folded, re.S) is not None
    return _compare(folded, wanted[0], operator)


def _compare(left: str, right: str, operator: str) -> bool:
    def key(text: str) -> tuple[int, float | str]:
        try:
            return (0, float(text))
        except ValueError:
            return (1, text)

    a, b = key(left), key(right)
    if a[0] != b[0]:
        return False
    if operator == "<":
        return a < b
    if operator == ">":
        return a > b
    if operator == "<=":
        return a <= b
    return a >= b
