"""SuiteQL syntax: the tokens and grammar of the SELECT statements an integration sends.

The parser knows no tables or columns (the engine, suiteql.py, resolves names); whatever is not in
this grammar raises SuiteQLSyntaxError, so a statement the sandbox does not understand is refused,
never half-answered. SuiteQL is SQL-92 based with Oracle functions; `AND` binds tighter than `OR`.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_158394344595.html

    statement := SELECT [TOP n] item (, item)* FROM name [alias] [WHERE or]
                 [GROUP BY expr (, expr)*] [ORDER BY expr [ASC|DESC] (, ...)*]
    item      := * | expr [[AS] alias]
    or        := and (OR and)*            and := not (AND not)*
    not       := NOT not | ( or ) | predicate
    predicate := expr op expr | expr [NOT] IN ( expr, ... ) | expr IS [NOT] NULL
               | expr [NOT] LIKE expr [ESCAPE 'c'] | expr [NOT] BETWEEN expr AND expr
    expr      := term ((+|-) term)*
    term      := 'text' | number | NULL | column | alias.column | SYSDATE | CURRENT_DATE
               | DATE 'YYYY-MM-DD' | TIMESTAMP 'YYYY-MM-DD HH:MI:SS' | name ( [*|expr (, expr)*] )
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from infra.local.sandboxes.kit.tokens import Token, TokenCursor
from infra.local.sandboxes.kit.tokens import tokenize as kit_tokenize

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')"
    r"|(?P<number>\d+(?:\.\d+)?|\.\d+)"
    r"|(?P<op><>|!=|<=|>=|=|<|>)"
    r"|(?P<punct>[(),*+\-])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r'|(?P<quoted>"[^"]+"))',
    re.DOTALL,
)
KEYWORDS = frozenset(
    {"SELECT", "TOP", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "BETWEEN", "AS"}
    | {"GROUP", "BY", "ORDER", "ASC", "DESC", "HAVING", "UNION", "JOIN", "ON", "LEFT", "INNER", "DISTINCT"}
    | {"ESCAPE"}
)
AGGREGATES = frozenset({"COUNT", "SUM", "MIN", "MAX", "AVG"})


class SuiteQLSyntaxError(ValueError):
    """A statement outside the grammar; the message names the first token that has no place."""


@dataclass(frozen=True)
class Literal:
    """A constant: text, a number, or NULL (value None)."""

    value: str | Decimal | None


@dataclass(frozen=True)
class Column:
    """A column name, optionally qualified by the table or its alias (both as written, lower-cased)."""

    name: str
    qualifier: str | None = None


@dataclass(frozen=True)
class Call:
    """A function call: `name` upper-cased (BUILTIN.DF, TO_DATE, COUNT ...); `star` for COUNT(*)."""

    name: str
    args: tuple[Expr, ...] = ()
    star: bool = False


@dataclass(frozen=True)
class Arithmetic:
    """`left + right` or `left - right` (a date minus a number of days, SYSDATE - 7)."""

    op: str
    left: Expr
    right: Expr


Expr = Literal | Column | Call | Arithmetic


@dataclass(frozen=True)
class Comparison:
    """`left op right` with op one of = <> < > <= >=."""

    left: Expr
    op: str
    right: Expr


@dataclass(frozen=True)
class InList:
    """`expr [NOT] IN (values)`."""

    expr: Expr
    values: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True)
class IsNull:
    """`expr IS [NOT] NULL`."""

    expr: Expr
    negated: bool


@dataclass(frozen=True)
class Like:
    """`expr [NOT] LIKE pattern [ESCAPE 'c']` (% any run, _ one character; c makes the next one literal)."""

    expr: Expr
    pattern: Expr
    negated: bool
    escape: str | None = None


@dataclass(frozen=True)
class Between:
    """`expr [NOT] BETWEEN low AND high` (both ends included)."""

    expr: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(frozen=True)
class Junction:
    """AND / OR of two or more conditions."""

    op: str
    parts: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    """NOT condition."""

    part: Condition


Condition = Comparison | InList | IsNull | Like | Between | Junction | Negation


@dataclass(frozen=True)
class SelectItem:
    """One select-list entry: an expression with its alias, or `*` (expr None)."""

    expr: Expr | None
    alias: str | None = None


@dataclass(frozen=True)
class OrderKey:
    """One ORDER BY key."""

    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Statement:
    """A parsed SELECT."""

    items: tuple[SelectItem, ...]
    table: str
    alias: str | None
    where: Condition | None
    group_by: tuple[Expr, ...]
    order_by: tuple[OrderKey, ...]
    top: int | None


def tokenize(text: str) -> list[Token]:
    """The tokens of `text`, or SuiteQLSyntaxError at the first character that starts none."""
    return kit_tokenize(
        _TOKEN,
        text.rstrip().rstrip(";").rstrip(),
        lambda at, rest: SuiteQLSyntaxError(f"Unexpected character at position {at}: '{rest[0]}'"),
    )


def parse(text: str) -> Statement:
    """The statement `text` says, or SuiteQLSyntaxError naming the first token out of place."""
    parser = _Parser(tokenize(text))
    statement = parser.statement()
    if not parser.at_end():
        raise SuiteQLSyntaxError(f"Unexpected token '{parser.peek().text}'")
    return statement


def contains_aggregate(expr: Expr | None) -> bool:
    """Whether an expression calls COUNT, SUM, MIN, MAX or AVG."""
    if isinstance(expr, Call):
        return expr.name in AGGREGATES or any(contains_aggregate(arg) for arg in expr.args)
    if isinstance(expr, Arithmetic):
        return contains_aggregate(expr.left) or contains_aggregate(expr.right)
    return False


class _Parser(TokenCursor):
    def __init__(self, tokens: list[Token]) -> None:
        super().__init__(
            tokens,
            expected=lambda what, found: SuiteQLSyntaxError(f"Expected {what} but found '{found}'"),
            end="end of statement",
        )

    def _identifier(self) -> str:
        token = self.peek()
        if token.kind == "quoted":
            self._at += 1
            return token.text[1:-1].lower()
        if token.kind != "name" or token.text.upper() in KEYWORDS or "." in token.text:
            raise SuiteQLSyntaxError(f"Expected a name but found '{token.text or 'end of statement'}'")
        self._at += 1
        return token.text.lower()

    def statement(self) -> Statement:
        self._expect_keyword("SELECT")
        if self._is_keyword("DISTINCT"):
            raise SuiteQLSyntaxError("DISTINCT is not served by this sandbox")
        top = self._count() if self._keyword("TOP") else None
        items = [self._item()]
        while self.peek().text == ",":
            self._at += 1
            items.append(self._item())
        self._expect_keyword("FROM")
        table = self._identifier()
        alias = None
        if self.peek().kind in ("name", "quoted") and self.peek().text.upper() not in KEYWORDS:
            alias = self._identifier()
        if (
            self.peek().text == ","
            or self._is_keyword("JOIN")
            or self._is_keyword("LEFT")
            or self._is_keyword("INNER")
        ):
            raise SuiteQLSyntaxError("Joins are not served by this sandbox: one table per statement")
        where = self._or() if self._keyword("WHERE") else None
        group_by: list[Expr] = []
        if self._keyword("GROUP", "BY"):
            group_by = [self._expr()]
            while self.peek().text == ",":
                self._at += 1
                group_by.append(self._expr())
        if self._is_keyword("HAVING"):
            raise SuiteQLSyntaxError("HAVING is not served by this sandbox")
        order: list[OrderKey] = []
        if self._keyword("ORDER", "BY"):
            order.append(self._order_key())
            while self.peek().text == ",":
                self._at += 1
                order.append(self._order_key())
        return Statement(tuple(items), table, alias, where, tuple(group_by), tuple(order), top)

    def _count(self) -> int:
        token = self.peek()
        if token.kind != "number" or not token.text.isdigit():
            raise SuiteQLSyntaxError(f"Expected a number but found '{token.text or 'end of statement'}'")
        self._at += 1
        return int(token.text)

    def _item(self) -> SelectItem:
        if self.peek().text == "*":
            self._at += 1
            return SelectItem(None)
        expr = self._expr()
        alias = None
        if (
            self._keyword("AS")
            or self.peek().kind == "quoted"
            or (
                self.peek().kind == "name"
                and self.peek().text.upper() not in KEYWORDS
                and "." not in self.peek().text
            )
        ):
            alias = self._identifier()
        return SelectItem(expr, alias)

    def _order_key(self) -> OrderKey:
        expr = self._expr()
        descending = self._keyword("DESC")
        if not descending:
            self._keyword("ASC")
        return OrderKey(expr, descending)

    def _or(self) -> Condition:
        parts = [self._and()]
        while self._keyword("OR"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Junction("OR", tuple(parts))

    def _and(self) -> Condition:
        parts = [self._not()]
        while self._keyword("AND"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else Junction("AND", tuple(parts))

    def _not(self) -> Condition:
        if self._keyword("NOT"):
            return Negation(self._not())
        if self.peek().text == "(" and self._parenthesized_condition():
            self._at += 1
            inner = self._or()
            self._expect(")")
            return inner
        return self._predicate()

    def _parenthesized_condition(self) -> bool:
        # "(" opens a condition unless it is an expression in parentheses: look for a predicate
        # keyword or operator before the matching ")".
        depth = 0
        for offset in range(len(self._tokens) - self._at):
            token = self.peek(offset)
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth -= 1
                if depth == 0:
                    return False
            elif depth >= 1 and (
                token.kind == "op"
                or token.text.upper() in {"AND", "OR", "NOT", "IS", "IN", "LIKE", "BETWEEN"}
            ):
                return True
        return False

    def _predicate(self) -> Condition:
        left = self._expr()
        token = self.peek()
        if token.kind == "op":
            self._at += 1
            op = "<>" if token.text == "!=" else token.text
            return Comparison(left, op, self._expr())
        if self._keyword("IS"):
            negated = self._keyword("NOT")
            self._expect_keyword("NULL")
            return IsNull(left, negated)
        negated = self._keyword("NOT")
        if self._keyword("IN"):
            self._expect("(")
            if self._is_keyword("SELECT"):
                raise SuiteQLSyntaxError("Subqueries are not served by this sandbox")
            values = [self._expr()]
            while self.peek().text == ",":
                self._at += 1
                values.append(self._expr())
            self._expect(")")
            return InList(left, tuple(values), negated)
        if self._keyword("LIKE"):
            pattern = self._expr()
            escape = None
            if self._keyword("ESCAPE"):
                token = self.peek()
                if token.kind != "string" or len(token.text) != 3:
                    raise SuiteQLSyntaxError("ESCAPE takes one character in quotes")
                self._at += 1
                escape = token.text[1]
            return Like(left, pattern, negated, escape)
        if self._keyword("BETWEEN"):
            low = self._expr()
            self._expect_keyword("AND")
            return Between(left, low, self._expr(), negated)
        raise SuiteQLSyntaxError(f"Unexpected token '{token.text or 'end of statement'}'")

    def _expr(self) -> Expr:
        left = self._term()
        while self.peek().text in ("+", "-"):
            op = self.peek().text
            self._at += 1
            left = Arithmetic(op, left, self._term())
        return left

    def _term(self) -> Expr:
        token = self.peek()
        if token.kind == "string":
            self._at += 1
            return Literal(token.text[1:-1].replace("''", "'"))
        if token.kind == "number":
            self._at += 1
            return Literal(Decimal(token.text))
        if token.text == "-" and self.peek(1).kind == "number":
            self._at += 2
            return Literal(-Decimal(self.peek(-1).text))
        if token.text == "(":
            self._at += 1
            inner = self._expr()
            self._expect(")")
            return inner
        if token.kind == "quoted":
            return Column(self._identifier())
        if token.kind != "name":
            raise SuiteQLSyntaxError(f"Unexpected token '{token.text or 'end of statement'}'")
        word = token.text.upper()
        if word == "NULL":
            self._at += 1
            return Literal(None)
        if word in ("SYSDATE", "CURRENT_DATE", "CURRENT_TIMESTAMP") and self.peek(1).text != "(":
            self._at += 1
            return Call(word)
        if word in ("DATE", "TIMESTAMP") and self.peek(1).kind == "string":
            self._at += 2
            return Call(f"{word}_LITERAL", (Literal(self.peek(-1).text[1:-1]),))
        if self.peek(1).text == "(":
            return self._call(word)
        if word in KEYWORDS:
            raise SuiteQLSyntaxError(f"Unexpected keyword '{token.text}'")
        self._at += 1
        qualifier, _, name = token.text.lower().rpartition(".")
        if "." in qualifier:
            raise SuiteQLSyntaxError(f"Unexpected name '{token.text}': joined fields are not served here")
        return Column(name, qualifier or None)

    def _call(self, name: str) -> Call:
        self._at += 2  # name and "("
        if self.peek().text == "*":
            if name != "COUNT":
                raise SuiteQLSyntaxError(f"'*' is an argument of COUNT only, not of {name}")
            self._at += 1
            self._expect(")")
            return Call(name, (), star=True)
        args: list[Expr] = []
        if self.peek().text != ")":
            args.append(self._expr())
            while self.peek().text == ",":
                self._at += 1
                args.append(self._expr())
        self._expect(")")
        return Call(name, tuple(args))
