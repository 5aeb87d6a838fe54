"""SOQL syntax: the tokens and the grammar of the SELECT statements the sandbox answers.

The parser knows no objects or fields (the engine resolves names); it refuses with MALFORMED_QUERY
whatever is not in this grammar, so a query the sandbox does not understand is never half-answered.
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm

    query      := SELECT item (, item)* FROM name [WHERE or] [ORDER BY key (, key)*] [LIMIT n] [OFFSET n]
    item       := COUNT() | FIELDS(STANDARD|ALL|CUSTOM) | path | ( query )        -- subquery: one level
    or         := and (OR and)*          and := not (AND not)*   (AND and OR never mix unparenthesized)
    not        := NOT not | ( or ) | path op value | path [NOT] IN ( value, ... ) | path LIKE 'text'
    value      := 'text' | number | true | false | null | date | dateTime | TODAY | LAST_N_DAYS:n ...
    key        := path [ASC|DESC] [NULLS FIRST|LAST]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from infra.local.sandboxes.kit.tokens import Token, TokenCursor
from infra.local.sandboxes.kit.tokens import tokenize as kit_tokenize
from infra.local.sandboxes.salesforce.errors import SalesforceApiError, malformed

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')"
    r"|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})(?![\dT])"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<op>!=|<>|<=|>=|=|<|>)"
    r"|(?P<punct>[(),:])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*))",
    re.DOTALL,
)
_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET"}
    | {"ASC", "DESC", "NULLS", "FIRST", "LAST", "GROUP", "HAVING", "WITH", "FOR", "USING", "TYPEOF"}
)
# Date literals: a range of whole days relative to today (UTC, the integration user's time zone).
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
DAY_LITERALS = {"YESTERDAY": (-1, 0), "TODAY": (0, 1), "TOMORROW": (1, 2)}
N_DAY_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"})


@dataclass(frozen=True)
class Literal:
    """A value in a condition: kind is text, number, boolean, null, date, datetime or day_range."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str  # = != < <= > >= LIKE IN NOTIN
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Junction:
    op: str  # AND or OR
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    part: Condition


@dataclass(frozen=True)
class Group:
    """A parenthesized condition."""

    part: Condition


Condition = Comparison | Junction | Negation | Group


@dataclass(frozen=True)
class OrderKey:
    path: str
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class SelectItem:
    kind: str  # field, count, fields, subquery
    path: str = ""
    subquery: SelectStatement | None = None


@dataclass(frozen=True)
class SelectStatement:
    items: tuple[SelectItem, ...]
    sobject: str
    where: Condition | None
    order: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None


def tokenize(soql: str) -> list[Token]:
    return kit_tokenize(
        _TOKEN, soql.rstrip(), lambda at, rest: malformed(f"unexpected token: '{rest.split()[0][:40]}'")
    )


def parse(soql: str) -> SelectStatement:
    """The statement `soql` says, or MALFORMED_QUERY naming the first token the grammar has no place for."""
    parser = _Parser(tokenize(soql))
    statement = parser.statement(nested=False)
    if not parser.at_end():
        raise malformed(f"unexpected token: '{parser.peek().text}'")
    return statement


class _Parser(TokenCursor):
    def __init__(self, tokens: list[Token]) -> None:
        super().__init__(
            tokens,
            expected=lambda what, found: malformed(f"unexpected token: '{found}', expecting {what}"),
            end="end of query",
        )

    def _name(self) -> str:
        token = self.peek()
        if token.kind != "name" or token.text.upper() in _KEYWORDS:
            raise malformed(f"unexpected token: '{token.text or 'end of query'}'")
        self._at += 1
        return token.text

    def statement(self, *, nested: bool) -> SelectStatement:
        self._expect_keyword("SELECT")
        items = [self._item(nested=nested)]
        while self.peek().text == ",":
            self._at += 1
            items.append(self._item(nested=nested))
        self._expect_keyword("FROM")
        sobject = self._name()
        where = self._or() if self._keyword("WHERE") else None
        order: list[OrderKey] = []
        if self._keyword("ORDER", "BY"):
            order.append(self._order_key())
            while self.peek().text == ",":
                self._at += 1
                order.append(self._order_key())
        limit = self._count_after("LIMIT")
        offset = self._count_after("OFFSET")
        return SelectStatement(tuple(items), sobject, where, tuple(order), limit, offset)

    def _count_after(self, word: str) -> int | None:
        if not self._keyword(word):
            return None
        token = self.peek()
        if token.kind != "number" or not token.text.isdigit():
            raise malformed(f"unexpected token: '{token.text or 'end of query'}', expecting a number")
        self._at += 1
        return int(token.text)

    def _item(self, *, nested: bool) -> SelectItem:
        token = self.peek()
        if token.text == "(":
            if nested:
                raise malformed("unexpected token: '(': a subquery cannot contain another subquery")
            self._at += 1
            subquery = self.statement(nested=True)
            self._expect(")")
            return SelectItem("subquery", subquery=subquery)
        if token.kind == "name" and self.peek(1).text == "(":
            function = token.text.upper()
            self._at += 2
            if function == "COUNT" and self.peek().text == ")":
                self._at += 1
                return SelectItem("count")
            if function == "FIELDS":
                group = self._name().upper()
                self._expect(")")
                if group not in {"STANDARD", "ALL", "CUSTOM"}:
                    raise malformed(f"unexpected token: '{group}', expecting STANDARD, ALL or CUSTOM")
                return SelectItem("fields", path=group)
            raise malformed(f"unexpected token: '{token.text}(': only COUNT() and FIELDS() are served here")
        return SelectItem("field", path=self._name())

    def _order_key(self) -> OrderKey:
        path = self._name()
        descending = self._keyword("DESC")
        if not descending:
            self._keyword("ASC")
        # Null values come first, ascending or descending, unless NULLS LAST says otherwise.
        # https://developer.salesforce.com/docs/atlas.en-us.258.0.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_orderby.htm
        nulls_first = True
        if self._keyword("NULLS", "LAST"):
            nulls_first = False
        else:
            self._keyword("NULLS", "FIRST")
        return OrderKey(path, descending, nulls_first)

    def _or(self) -> Condition:
        # SOQL has no precedence between AND and OR: mixing them needs parentheses.
        parts = [self._and()]
        while self._keyword("OR"):
            parts.append(self._and())
        if len(parts) > 1 and any(isinstance(p, Junction) and p.op == "AND" for p in parts):
            raise malformed("unexpected token: 'OR': use parentheses to mix AND and OR")
        return parts[0] if len(parts) == 1 else Junction("OR", tuple(parts))

    def _and(self) -> Condition:
        parts = [self._not()]
        while self._keyword("AND"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else Junction("AND", tuple(parts))

    def _not(self) -> Condition:
        if self._keyword("NOT"):
            return Negation(self._not())
        if self.peek().text == "(":
            self._at += 1
            inner = self._or()
            self._expect(")")
            return Group(inner)
        return self._comparison()

    def _comparison(self) -> Condition:
        path = self._name()
        token = self.peek()
        if token.kind == "op":
            self._at += 1
            op = "!=" if token.text == "<>" else token.text
            return Comparison(path, op, (self._value(),))
        if self._keyword("LIKE"):
            return Comparison(path, "LIKE", (self._value(),))
        negated = self._keyword("NOT", "IN")
        if negated or self._keyword("IN"):
            self._expect("(")
            if self.peek().kind == "name" and self.peek().text.upper() == "SELECT":
                raise malformed("unexpected token: 'SELECT': semi-join subqueries are not served here")
            values = [self._value()]
            while self.peek().text == ",":
                self._at += 1
                values.append(self._value())
            self._expect(")")
            return Comparison(path, "NOTIN" if negated else "IN", tuple(values))
        raise malformed(f"unexpected token: '{token.text or 'end of query'}'")

    def _value(self) -> Literal:
        token = self.peek()
        self._at += 1
        if token.kind == "string":
            return Literal("text", re.sub(r"\\(.)", r"\1", token.text[1:-1]))
        if token.kind == "number":
            return Literal("number", Decimal(token.text))
        if token.kind == "datetime":
            return Literal(
                "datetime", datetime.fromisoformat(token.text.replace("Z", "+00:00")).astimezone(UTC)
            )
        if token.kind == "date":
            return Literal("date", date.fromisoformat(token.text))
        word = token.text.upper() if token.kind == "name" else ""
        if word in {"TRUE", "FALSE"}:
            return Literal("boolean", word == "TRUE")
        if word == "NULL":
            return Literal("null", None)
        if word in DAY_LITERALS:
            return Literal("day_range", DAY_LITERALS[word])
        if word in N_DAY_LITERALS:
            self._expect(":")
            count = self.peek()
            if count.kind != "number" or not count.text.isdigit():
                raise malformed(f"unexpected token: '{count.text}', expecting a number of days")
            self._at += 1
            n = int(count.text)
            span = {"LAST_N_DAYS": (-n, 1), "NEXT_N_DAYS": (1, n + 1), "N_DAYS_AGO": (-n, -n + 1)}[word]
            return Literal("day_range", span)
        if token.kind == "name":
            raise SalesforceApiError(
                400, "MALFORMED_QUERY", f"unexpected token: '{token.text}': not a value this sandbox serves"
            )
        raise malformed(f"unexpected token: '{token.text or 'end of query'}'")
