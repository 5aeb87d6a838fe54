"""The SuiteQL statements the connector sends, and the quoting of what goes into them.

SuiteQL is SQL-92 (Oracle dialect): string literals in single quotes (a quote doubled inside),
LIKE with `%` / `_` and an ESCAPE character, TO_CHAR / TO_TIMESTAMP for datetimes. Every paged
statement ends in a unique ORDER BY (the id last), or pages may repeat or skip rows.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157960491275.html
"""

from __future__ import annotations

from datetime import datetime, tzinfo

# Datetimes are read and compared to the second, in SuiteQL's zone (the user's preference).
TIMESTAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS"
_PY_TIMESTAMP = "%Y-%m-%d %H:%M:%S"

# The customer columns every statement selects: the body fields the hub maps, and the default
# billing address through the customer's `defaultbillingaddress` (an entity address's nkey).
CUSTOMER_COLUMNS = (
    "c.id, c.externalid, c.companyname, c.email, c.phone, c.url, c.currency, c.terms, c.isinactive, "
    """TO_CHAR(c.lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') AS lastmodified, """
    "a.addr1, a.city, a.state, a.zip, a.country"
)
CUSTOMER_FROM = "FROM customer c LEFT JOIN entityaddress a ON a.nkey = c.defaultbillingaddress"


def literal(value: str) -> str:
    """A SuiteQL string literal: single quotes, a quote inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def like_prefix(value: str) -> str:
    """A LIKE pattern for text starting with `value`, its `%`, `_` and `\\` escaped (ESCAPE '\\')."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return literal(escaped + "%")


def like_containing(value: str) -> str:
    """A LIKE pattern for text containing `value` (escaped as in `like_prefix`)."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return literal("%" + escaped + "%")


def timestamp(moment: datetime, zone: tzinfo) -> str:
    """TO_TIMESTAMP('YYYY-MM-DD HH24:MI:SS') of `moment` in SuiteQL's zone."""
    if moment.tzinfo is None:
        raise ValueError("a moment must be timezone-aware")
    text = moment.astimezone(zone).strftime(_PY_TIMESTAMP)
    return f"TO_TIMESTAMP({literal(text)}, {literal(TIMESTAMP_FORMAT)})"


def customers(where: str | None = None, *, order: str = "c.id") -> str:
    """SELECT the customer columns [WHERE ...] ORDER BY `order` (unique: it ends in c.id)."""
    statement = f"SELECT {CUSTOMER_COLUMNS} {CUSTOMER_FROM}"
    if where:
        statement += f" WHERE {where}"
    return f"{statement} ORDER BY {order}"


def namesakes(prefix: str, domain: str | None) -> str:
    """Customers whose company name starts with `prefix` (lower case), or whose web address has `domain`."""
    conditions = [f"LOWER(c.companyname) LIKE {like_prefix(prefix)} ESCAPE '\\'"]
    if domain:
        conditions.append(f"LOWER(c.url) LIKE {like_containing(domain)} ESCAPE '\\'")
    return customers("(" + " OR ".join(conditions) + ")")


def changed_between(since: datetime, until: datetime, zone: tzinfo) -> str:
    """Customers last modified after `since` and up to `until`, oldest change first (then by id)."""
    window = (
        f"c.lastmodifieddate > {timestamp(since, zone)} AND c.lastmodifieddate <= {timestamp(until, zone)}"
    )
    return customers(window, order="c.lastmodifieddate, c.id")
