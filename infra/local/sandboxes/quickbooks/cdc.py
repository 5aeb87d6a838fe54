"""ChangeDataCapture: what changed in the named entities since a moment at most 30 days back.

https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
and https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/changedatacapture:
GET /cdc?entities=<comma-separated list>&changedSince=<date-time>; "CDC operations can track changes
within the last 30 days"; a response holds "a maximum of 1,000 objects" across the entities; objects
are grouped by type, in order of last update within the group, and objects deleted within the
look-back period come after the active ones as `{"status": "Deleted", "domain": "QBO", "Id", "MetaData":
{"LastUpdatedTime"}}`. JournalCode, TimeActivity, TaxAgency, TaxCode and TaxRate are not served by CDC.
The documentation shows no error bodies for CDC; the refusals below use QBO's general Fault codes.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from infra.local.sandboxes.quickbooks.company import COMPANY_TZ, Company
from infra.local.sandboxes.quickbooks.entities import NOT_FOR_CDC, entity
from infra.local.sandboxes.quickbooks.faults import business_rule, invalid_property, required_missing

LOOK_BACK = timedelta(days=30)
MAX_OBJECTS = 1000


def _since(company: Company, text: str | None) -> datetime:
    if not text:
        raise required_missing("Required parameter changedSince is missing in the request", "changedSince")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise invalid_property(
            f"Property Name:changedSince {text!r} is not a date or date-time", "changedSince"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=COMPANY_TZ)  # a date (or local time) is the company's own
    if moment < company.now() - LOOK_BACK:
        raise business_rule("changedSince must be within the last 30 days", "changedSince")
    return moment


def _entities(text: str | None) -> list[str]:
    if not text:
        raise required_missing("Required parameter entities is missing in the request", "entities")
    names: list[str] = []
    for raw in (part.strip() for part in text.split(",")):
        spec = None if raw.casefold() in NOT_FOR_CDC else entity(raw)
        if spec is None:
            reason = (
                "is not supported by ChangeDataCapture" if raw.casefold() in NOT_FOR_CDC else "is not served"
            )
            raise invalid_property(f"Property Name:entities {raw} {reason}", "entities")
        if spec.name not in names:
            names.append(spec.name)
    return names


def change_data_capture(company: Company, entities: str | None, changed_since: str | None) -> dict[str, Any]:
    """The CDCResponse: one QueryResponse per entity named, 1,000 objects at most in all."""
    names = _entities(entities)
    since = _since(company, changed_since)
    latest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for change in company.journal:
        if change.at >= since and change.entity in names:
            latest[(change.entity, change.record_id)] = (change.at, change.operation)
    room = MAX_OBJECTS
    groups: list[dict[str, Any]] = []
    for name in names:
        table = company.table(name)
        changed = sorted(
            (at, record_id, op) for (kind, record_id), (at, op) in latest.items() if kind == name
        )
        alive = [copy.deepcopy(table[record_id]) for _, record_id, _ in changed if record_id in table]
        gone = [
            {
                "status": "Deleted",
                "domain": "QBO",
                "Id": record_id,
                "MetaData": {"LastUpdatedTime": at.astimezone(COMPANY_TZ).isoformat(timespec="seconds")},
            }
            for at, record_id, op in changed
            if record_id not in table and op == "Delete"
        ]
        objects = (alive + gone)[: max(room, 0)]
        room -= len(objects)
        group: dict[str, Any] = {"startPosition": 1, "maxResults": len(objects), "totalCount": len(objects)}
        if objects:
            group[name] = objects
        groups.append(group)
    return {"CDCResponse": [{"QueryResponse": groups}]}
