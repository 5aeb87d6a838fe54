"""Each exception's retry says what it will do, and does what the hub itself would do with the failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.remedies import NoRemedy, Remedies, notice_for
from shared.domain.models import EntityType, SystemName
from shared.domain.notices import ChangeNotice


@dataclass
class Ledger:
    open: set[str]
    resolved: list[str] = field(default_factory=list)

    def exception(self, exception_id: str) -> dict[str, Any] | None:
        state = "open" if exception_id in self.open else None
        return {"id": exception_id, "state": state, "kind": exception_id.split(":")[0], "reason": "why"}

    def resolve_exception(self, exception_id: str, **_: Any) -> None:
        self.resolved.append(exception_id)


def remedies(ledger: Ledger, done: list[str]) -> Remedies:
    def published(notice: ChangeNotice) -> None:
        done.append(f"notice {notice.provider} {notice.entity.value} {notice.record_id}")

    return Remedies(
        ledger=ledger,
        publish=published,
        dead_letters=list,
        restart_setup=lambda execution: done.append(f"setup {execution}") or "started",
        retry_billing=lambda run: done.append(f"billing {run}") or "started",
        reconcile=lambda: done.append("reconcile") or "reconciled",
    )


@pytest.mark.parametrize(
    ("exception_id", "provider", "entity", "record"),
    [
        ("sync:quickbooks:salesforce:001A:abc", SystemName.SALESFORCE, EntityType.ACCOUNT, "001A"),
        ("match:productive:salesforce:001B:7,9", SystemName.SALESFORCE, EntityType.ACCOUNT, "001B"),
        ("fetch:salesforce:001C:NotFoundError", SystemName.SALESFORCE, EntityType.ACCOUNT, "001C"),
        ("start:salesforce:006A:ValidationFailed", SystemName.SALESFORCE, EntityType.OPPORTUNITY, "006A"),
        ("delivery:productive:time:42", SystemName.PRODUCTIVE, EntityType.TIME_ENTRY, "42"),
        ("delivery:productive:expense:7", SystemName.PRODUCTIVE, EntityType.EXPENSE_ENTRY, "7"),
    ],
)
def test_a_notice_driven_failure_is_retried_by_a_fresh_notice_for_its_record(
    exception_id: str, provider: SystemName, entity: EntityType, record: str
) -> None:
    notice = notice_for(exception_id)
    assert notice is not None and (notice.provider, notice.entity, notice.record_id) == (
        provider,
        entity,
        record,
    )
    assert notice.event_id.startswith("retry-")  # a new notice: not deduplicated as the first delivery
    # and the remedy says so before it publishes it
    done: list[str] = []
    remedy = remedies(Ledger({exception_id}), done).for_exception(exception_id)
    assert f"{record} on the bus" in remedy.says and done == []
    remedy.apply()
    assert done == [f"notice {provider} {entity.value} {record}"]


def test_setups_billing_runs_and_breaks_are_retried_by_their_own_mechanism() -> None:
    done: list[str] = []
    ids = {"setup:opp-006A-2026", "billing:productive-10-202611", "reconciliation:money:salesforce:006A:open"}
    book = remedies(Ledger(ids), done)
    for exception_id in sorted(ids):
        book.for_exception(exception_id).apply()
    assert done == ["billing productive-10-202611", "reconcile", "setup opp-006A-2026"]


def test_drift_has_no_retry_and_a_closed_exception_none_either() -> None:
    book = remedies(Ledger({"drift:quickbooks:58:3"}), [])
    with pytest.raises(NoRemedy, match="a person decides"):
        book.for_exception("drift:quickbooks:58:3")
    with pytest.raises(NoRemedy, match="no open exception"):
        book.for_exception("sync:quickbooks:salesforce:001A:abc")
    with pytest.raises(NoRemedy, match="no longer in a dead-letter queue"):
        remedies(Ledger({"dlq:x"}), []).for_exception("dlq:x")
