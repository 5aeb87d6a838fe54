"""The SuiteQL grammar alone: what an integration writes parses; what is not served is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from infra.local.sandboxes.netsuite.suiteql_syntax import (
    Between,
    Call,
    Column,
    Comparison,
    InList,
    IsNull,
    Junction,
    Like,
    Literal,
    Negation,
    SuiteQLSyntaxError,
    parse,
)


def test_columns_star_and_aliases() -> None:
    statement = parse("SELECT id, companyName AS name, email e, * FROM customer c")
    assert statement.table == "customer"
    assert statement.alias == "c"
    assert [item.alias for item in statement.items] == [None, "name", "e", None]
    assert statement.items[0].expr == Column("id")
    assert statement.items[1].expr == Column("companyname")
    assert statement.items[3].expr is None


def test_qualified_columns_and_top() -> None:
    statement = parse("select top 5 customer.id from customer")
    assert statement.top == 5
    assert statement.items[0].expr == Column("id", "customer")


def test_and_binds_tighter_than_or() -> None:
    statement = parse("SELECT id FROM transaction WHERE type = 'CustInvc' AND status = 'A' OR id = 5")
    assert isinstance(statement.where, Junction)
    assert statement.where.op == "OR"
    first = statement.where.parts[0]
    assert isinstance(first, Junction)
    assert first.op == "AND"


def test_parentheses_group_conditions() -> None:
    statement = parse("SELECT id FROM customer WHERE NOT (isinactive = 'T' OR email IS NULL)")
    assert isinstance(statement.where, Negation)
    assert isinstance(statement.where.part, Junction)


def test_predicates() -> None:
    where = parse(
        "SELECT id FROM customer WHERE id IN (1, 2, 3) AND email IS NOT NULL AND companyname LIKE 'Ac%'"
        " AND id NOT BETWEEN 10 AND 20 AND id <> 4 AND id != 6"
    ).where
    assert isinstance(where, Junction)
    kinds = [type(part) for part in where.parts]
    assert kinds == [InList, IsNull, Like, Between, Comparison, Comparison]
    between = where.parts[3]
    assert isinstance(between, Between)
    assert between.negated
    last = where.parts[5]
    assert isinstance(last, Comparison)
    assert last.op == "<>"


def test_date_functions_and_literals() -> None:
    where = parse(
        "SELECT id FROM customer WHERE lastmodifieddate >= TO_TIMESTAMP('2026-12-01 08:00:00', "
        "'YYYY-MM-DD HH24:MI:SS') AND datecreated < TO_DATE('12/1/2026', 'MM/DD/YYYY')"
        " AND lastmodifieddate > DATE '2026-11-01' AND lastmodifieddate > SYSDATE - 7"
    ).where
    assert isinstance(where, Junction)
    first = where.parts[0]
    assert isinstance(first, Comparison)
    assert first.right == Call(
        "TO_TIMESTAMP", (Literal("2026-12-01 08:00:00"), Literal("YYYY-MM-DD HH24:MI:SS"))
    )
    third = where.parts[2]
    assert isinstance(third, Comparison)
    assert third.right == Call("DATE_LITERAL", (Literal("2026-11-01"),))


def test_aggregates_group_by_and_order_by() -> None:
    statement = parse(
        "SELECT entity, COUNT(*) AS n, SUM(foreigntotal) FROM transaction WHERE type = 'CustInvc' "
        "GROUP BY entity ORDER BY n DESC, entity"
    )
    assert statement.items[1].expr == Call("COUNT", (), star=True)
    assert statement.items[2].expr == Call("SUM", (Column("foreigntotal"),))
    assert statement.group_by == (Column("entity"),)
    assert [(key.expr, key.descending) for key in statement.order_by] == [
        (Column("n"), True),
        (Column("entity"), False),
    ]


def test_builtin_df_and_text_escapes() -> None:
    statement = parse("SELECT BUILTIN.DF(status) FROM transaction WHERE memo = 'O''Brien'")
    assert statement.items[0].expr == Call("BUILTIN.DF", (Column("status"),))
    where = statement.where
    assert isinstance(where, Comparison)
    assert where.right == Literal("O'Brien")


def test_numbers_are_decimals() -> None:
    where = parse("SELECT id FROM transaction WHERE foreigntotal > 1500.50").where
    assert isinstance(where, Comparison)
    assert where.right == Literal(Decimal("1500.50"))


@pytest.mark.parametrize(
    "text",
    [
        "SELECT FROM customer",
        "SELECT id customer",
        "SELECT id FROM customer WHERE",
        "SELECT id FROM customer WHERE id = ",
        "SELECT id FROM customer, job",
        "SELECT id FROM customer JOIN job ON job.parent = customer.id",
        "SELECT id FROM customer WHERE id IN (SELECT id FROM job)",
        "SELECT DISTINCT id FROM customer",
        "SELECT id FROM customer WHERE id = 1 extra",
        "SELECT SUM(*) FROM transaction",
        "SELECT id FROM customer WHERE email = 'unterminated",
        "DELETE FROM customer",
    ],
)
def test_what_the_grammar_does_not_hold_is_refused(text: str) -> None:
    with pytest.raises(SuiteQLSyntaxError):
        parse(text)
