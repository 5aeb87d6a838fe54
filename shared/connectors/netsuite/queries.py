"""The SuiteQL statements the connector sends, and the quoting of what goes into them.

SuiteQL is SQL-92 (Oracle dialect): string literals in single quotes (a quote doubled inside),
LIKE with `%` / `_`, LOWER, TO_CHAR / TO_TIMESTAMP for datetimes; one table per statement. Every paged
statement ends in a unique ORDER BY (the id last), or pages may repeat or skip rows.
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157960491275.html
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

# Datetimes are read and compared to the second, in SuiteQL's zone (the user's preference).
TIMESTAMP_FORMAT = "YYYY-MM-DD HH24:MI:SS"
_PY_TIMESTAMP = "%Y-%m-%d %H:%M:%S"

# The customer columns the hub maps. The billing address is not a customer column: the customer's
# `defaultbillingaddress` names an entity address (its `nkey`), read by a second statement, so no
# statement needs a join.
# https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html
CUSTOMER_COLUMNS = (
    "id, externalid, companyname, email, phone, url, currency, terms, isinactive, defaultbillingaddress, "
    """TO_CHAR(lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') AS lastmodified"""
)
ADDRESS_COLUMNS = "nkey, addr1, city, state, zip, country"
# Oracle's limit on the values of one IN list.
MAX_IN_LIST = 1000


def literal(value: str) -> str:
    """A SuiteQL string literal: single quotes, a quote inside doubled."""
    return "'" + value.replace("'", "''") + "'"


def like_prefix(value: str) -> str:
    """A LIKE pattern for text starting with `value`: `'acme consulting%'`, quotes doubled.

    A `%` or `_` inside `value` is left a wildcard (no ESCAPE clause): the search can only come
    back wider, never narrower, and the matcher decides among what it finds.
    """
    return literal(value + "%")


def timestamp(moment: datetime, zone: tzinfo) -> str:
    """TO_TIMESTAMP('YYYY-MM-DD HH24:MI:SS') of `moment` in SuiteQL's zone."""
    if moment.tzinfo is None:
        raise ValueError("a moment must be timezone-aware")
    text = moment.astimezone(zone).strftime(_PY_TIMESTAMP)
    return f"TO_TIMESTAMP({literal(text)}, {literal(TIMESTAMP_FORMAT)})"


def customers(where: str | None = None) -> str:
    """SELECT the customer columns FROM customer [WHERE ...] ORDER BY id (unique)."""
    statement = f"SELECT {CUSTOMER_COLUMNS} FROM customer"  # noqa: S608 - fixed text, values quoted
    if where:
        statement += f" WHERE {where}"
    return f"{statement} ORDER BY id"


def addresses(nkeys: Sequence[str]) -> str:
    """The entity addresses with the given keys (at most MAX_IN_LIST)."""
    if not 1 <= len(nkeys) <= MAX_IN_LIST:
        raise ValueError(f"an IN list holds 1 to {MAX_IN_LIST} values, not {len(nkeys)}")
    keys = ", ".join(literal(key) for key in nkeys)
    return f"SELECT {ADDRESS_COLUMNS} FROM entityaddress WHERE nkey IN ({keys}) ORDER BY nkey"  # noqa: S608


def namesakes(prefix: str, domain: str | None) -> str:
    """Customers whose company name starts with `prefix` (lower case), or whose web address has `domain`."""
    conditions = [f"LOWER(companyname) LIKE {like_prefix(prefix)}"]
    if domain:
        conditions.append(f"LOWER(url) LIKE {literal('%' + domain + '%')}")
    return customers("(" + " OR ".join(conditions) + ")")


def changed_between(since: datetime, until: datetime, zone: tzinfo) -> str:
    """Ids and modification times of customers modified after `since` and up to `until`, oldest first."""
    window = f"lastmodifieddate > {timestamp(since, zone)} AND lastmodifieddate <= {timestamp(until, zone)}"
    return (
        """SELECT id, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') AS lastmodified FROM customer """  # noqa: S608
        f"WHERE {window} ORDER BY lastmodifieddate, id"
    )
