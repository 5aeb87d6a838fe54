"""Accounts changed in a window, edits and deletes alike, in one queryAll on SystemModstamp.

Why this query and not the `updated` and `deleted` resources: those are two calls per sweep, and
queryAll already returns both. SystemModstamp moves on every change to the record, the system's own
included, and a delete stamps it too (the delete log's `deletedDate` is "obtained using the
SystemModstamp system field"), and queryAll returns records in the recycle bin with IsDeleted = true.
SystemModstamp is indexed, so the filter is selective however large the org is.
https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html
https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_getdeleted_getdeletedresult.htm
https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/system_fields.htm
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from shared.connectors.salesforce.mapper import ACCOUNT_TYPE, version_of
from shared.connectors.salesforce.schemas import SalesforceAccount
from shared.domain.errors import ValidationFailed
from shared.domain.sweeps import ChangeWindow, SweptChange

# A SOQL dateTime literal: no quotes, seconds precision, UTC.
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
_LITERAL = "%Y-%m-%dT%H:%M:%SZ"


def changed_accounts_soql(since: datetime, until: datetime) -> str:
    """The queryAll text for Accounts stamped after `since` and at or before `until` (whole seconds)."""
    for when in (since, until):
        if when.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
    start = since.astimezone(UTC).strftime(_LITERAL)
    end = window_end(until).strftime(_LITERAL)
    # Only formatted datetimes go into the text: nothing user-supplied.
    return (
        "SELECT Id, IsDeleted, SystemModstamp FROM Account "  # noqa: S608
        f"WHERE SystemModstamp > {start} AND SystemModstamp <= {end} ORDER BY SystemModstamp ASC"
    )


def window_end(until: datetime) -> datetime:
    """`until` rounded up to a whole second (the literal's precision), so that no change before it is cut."""
    until = until.astimezone(UTC)
    whole = until.replace(microsecond=0)
    return whole if whole == until else whole + timedelta(seconds=1)


def change_window(rows: Iterable[dict[str, Any]], until: datetime, realm: str) -> ChangeWindow:
    """The rows of `changed_accounts_soql` as a window that reaches `until` (rounded up to the second)."""
    changes: list[SweptChange] = []
    for row in rows:
        try:
            record = SalesforceAccount.model_validate(row)
        except ValidationError as exc:
            raise ValidationFailed(f"Salesforce Account changes: unreadable row: {exc}") from exc
        if record.system_modstamp is None:
            raise ValidationFailed(f"Salesforce Account changes: {record.id} has no SystemModstamp")
        changes.append(
            SweptChange(
                record_id=record.id,
                vendor_type=ACCOUNT_TYPE,
                # The same version string the account's fetch gives, so the ledger can be compared.
                version=version_of(record.system_modstamp),
                changed_at=record.system_modstamp,
                deleted=record.is_deleted,
            )
        )
    return ChangeWindow(changes=tuple(changes), covered_until=window_end(until), realm=realm)
