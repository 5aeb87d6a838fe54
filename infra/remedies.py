"""One way to retry what failed: each exception (and each dead-lettered message) has a remedy that says
what it will do before it does it.

`close2cash exceptions retry ID` and `close2cash dlq redrive QUEUE` both build remedies here, print
what each says, ask (unless `--yes`), then apply them. What a remedy does is what the hub itself does
with the failed thing, so a retry is as idempotent as the first attempt:
- a dead-lettered message goes back to its queue (`dlq:`);
- a notice-driven failure (`sync:`, `match:`, `fetch:`, `delivery:`, `start:`) gets a fresh change
  notice for the same record on the bus: the record is read again from its system and synced;
- a failed engagement setup (`setup:`) starts again from the start with its input;
- a refused billing run (`billing:`) composes again and posts;
- a reconciliation break (`reconciliation:`) is checked again by a reconciliation run.
Drift and a change owned elsewhere (`drift:`, `owned:`) have no retry: a person decides, then
`close2cash exceptions resolve`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.domain.models import EntityType, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation

# What a fresh notice names for each kind of record the hub reads again.
_VENDOR_TYPES = {
    (SystemName.SALESFORCE, EntityType.ACCOUNT): "Account",
    (SystemName.SALESFORCE, EntityType.OPPORTUNITY): "Opportunity",
    (SystemName.PRODUCTIVE, EntityType.TIME_ENTRY): "time_entries",
    (SystemName.PRODUCTIVE, EntityType.EXPENSE_ENTRY): "expenses",
}
_WORK_KINDS = {"time": EntityType.TIME_ENTRY, "expense": EntityType.EXPENSE_ENTRY}


class NoRemedy(Exception):
    """The exception has no retry: the message says what a person does instead."""


@dataclass(frozen=True)
class Remedy:
    """What one retry will do (`says`), and doing it (`apply` returns what was done)."""

    subject: str
    says: str
    apply: Callable[[], str]


def renotice(provider: SystemName, entity: EntityType, record_id: str) -> ChangeNotice:
    """A fresh change notice for `record_id`: the hub reads the record again, as for a webhook."""
    vendor_type = _VENDOR_TYPES.get((provider, entity))
    if vendor_type is None:
        raise NoRemedy(f"no notice can be made for a {provider} {entity.value}")
    return ChangeNotice(
        provider=provider,
        event_id=f"retry-{uuid.uuid4()}",
        entity=entity,
        vendor_type=vendor_type,
        record_id=record_id,
        operation=Operation.UPDATED,
        occurred_at=utcnow(),
    )


def notice_for(exception_id: str) -> ChangeNotice | None:
    """The notice that makes the hub do again what failed, for the notice-driven exceptions."""
    kind, _, rest = exception_id.partition(":")
    parts = rest.split(":")
    try:
        if kind in ("sync", "match") and len(parts) >= 3:
            return renotice(SystemName(parts[1]), EntityType.ACCOUNT, parts[2])
        if kind == "fetch" and len(parts) >= 2:
            return renotice(SystemName(parts[0]), EntityType.ACCOUNT, parts[1])
        if kind == "start" and len(parts) >= 2:
            return renotice(SystemName(parts[0]), EntityType.OPPORTUNITY, parts[1])
        if kind == "delivery" and len(parts) >= 3 and parts[1] in _WORK_KINDS:
            return renotice(SystemName(parts[0]), _WORK_KINDS[parts[1]], parts[2])
    except ValueError:
        return None
    return None


class Remedies:
    """Builds remedies against one deployment (AWS, or the local runtime's moto endpoint)."""

    def __init__(
        self,
        *,
        ledger: Any,
        publish: Callable[[ChangeNotice], None],
        dead_letters: Callable[[], list[tuple[str, Any]]],
        restart_setup: Callable[[str], str],
        retry_billing: Callable[[str], str],
        reconcile: Callable[[], str],
    ) -> None:
        self._ledger = ledger
        self._publish = publish
        self._dead_letters = dead_letters
        self._restart_setup = restart_setup
        self._retry_billing = retry_billing
        self._reconcile = reconcile

    def for_exception(self, exception_id: str) -> Remedy:
        """The remedy of the open exception `exception_id`; NoRemedy says why there is none."""
        found = self._ledger.exception(exception_id)
        if found is None or found.get("state") != "open":
            raise NoRemedy(f"no open exception {exception_id!r} (see close2cash exceptions list)")
        kind, _, rest = exception_id.partition(":")
        if kind == "dlq":
            letters = [r for r in self.dead_lettered() if r.subject == exception_id]
            if not letters:
                raise NoRemedy(f"{exception_id}: its message is no longer in a dead-letter queue")
            return letters[0]
        if kind == "setup":
            return Remedy(
                exception_id,
                f"start engagement setup {rest} again from the start, with its input "
                "(its steps find what exists; refused while a run is going or after one succeeded)",
                lambda: self._restart_setup(rest),
            )
        if kind == "billing":
            return Remedy(
                exception_id,
                f"compose billing run {rest} again and post it (a new attempt of the same run)",
                lambda: self._retry_billing(rest),
            )
        if kind == "reconciliation":
            return Remedy(
                exception_id,
                "run reconciliation now: the break resolves if the systems agree again",
                self._reconcile,
            )
        notice = notice_for(exception_id)
        if notice is not None:
            return Remedy(
                exception_id,
                f"put a fresh change notice for {notice.provider} {notice.vendor_type} {notice.record_id} "
                "on the bus: the hub reads it again and syncs it (the exception resolves when it succeeds)",
                lambda: self._published(notice),
            )
        raise NoRemedy(
            f"{exception_id}: no retry for a {found.get('kind') or kind} exception: a person decides "
            f"({found.get('reason')}); then `close2cash exceptions resolve {exception_id} --note ...`"
        )

    def dead_lettered(self, queue: str | None = None) -> list[Remedy]:
        """One remedy per dead-lettered message (of `queue`, or of every queue): back to its queue."""
        from shared.sync.exceptions import dead_letter_exception_id

        remedies: list[Remedy] = []
        for name, dead in self._dead_letters():
            if queue is not None and name != queue:
                continue
            for letter in dead.messages():
                try:
                    notice = ChangeNotice.model_validate(letter.notice)
                except ValueError:
                    notice = None
                subject = dead_letter_exception_id(notice) if notice is not None else letter.message_id
                event = letter.notice.get("event_id", letter.message_id)
                remedies.append(
                    Remedy(
                        subject,
                        f"move message {event} from the dead-letter queue of {name} back to {name} "
                        "(a notice that already succeeded is a no-op)",
                        self._redrive(name, dead, letter.message_id, subject),
                    )
                )
        return remedies

    def _redrive(self, name: str, dead: Any, message_id: str, subject: str) -> Callable[[], str]:
        def apply() -> str:
            moved = dead.redrive(lambda m: m.message_id == message_id)
            if not moved:
                return f"{subject}: the message was no longer in the dead-letter queue"
            if subject.startswith("dlq:"):
                self._ledger.resolve_exception(subject, resolution=f"redriven to {name}", at=utcnow())
            return f"{subject}: moved back to {name}"

        return apply

    def _published(self, notice: ChangeNotice) -> str:
        self._publish(notice)
        record = f"{notice.provider} {notice.vendor_type} {notice.record_id}"
        return f"notice {notice.event_id} published for {record}"
