"""In-memory fakes of the ports, for use-case tests (fakes over mocks inside the domain)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from shared.domain.account_ports import MAX_MATCH_CANDIDATES, RecordFate, TargetRecord
from shared.domain.errors import NotFoundError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import Account, EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice
from shared.domain.ports import CrossReference, ExceptionRecord, NoticeClaim, SyncAction


class HandClock:
    """A clock the test moves by hand: call it for the time, `advance` it to let time pass."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeMetrics:
    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.latest: dict[str, float] = {}

    def count(
        self,
        metric: BusinessMetric,
        value: float = 1,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        name = metric.value
        labels = {**(dimensions or {}), **(properties or {})}
        key = name if not labels else f"{name}[{','.join(f'{k}={v}' for k, v in labels.items())}]"
        self.totals[key] += int(value)
        self.latest[key] = value


class InMemoryLedger:
    def __init__(self) -> None:
        self.xrefs: dict[tuple[EntityType, str, str, SystemName], CrossReference] = {}
        self.trace: list[tuple[CrossReference, SyncAction]] = []
        self.notices: dict[str, str] = {}
        self.exceptions: dict[str, ExceptionRecord] = {}
        self.resolutions: dict[str, str] = {}
        self.leases: dict[str, str] = {}
        self.cursors: dict[str, str] = {}

    def cross_reference(self, entity: EntityType, source: SourceRef, target_system: SystemName):
        return self.xrefs.get((entity, source.system, source.id, target_system))

    def cross_references(self, entity: EntityType, source: SourceRef) -> list[CrossReference]:
        return [
            x for (e, s, i, _), x in self.xrefs.items() if (e, s, i) == (entity, source.system, source.id)
        ]

    def find_by_target(self, entity: EntityType, target: SourceRef) -> CrossReference | None:
        return next(
            (
                x
                for x in self.xrefs.values()
                if x.entity == entity and x.target.system == target.system and x.target.id == target.id
            ),
            None,
        )

    def record_sync(self, xref: CrossReference, action: SyncAction) -> None:
        self.xrefs[(xref.entity, xref.source.system, xref.source.id, xref.target.system)] = xref
        self.trace.append((xref, action))

    def repoint(self, xref: CrossReference, *, was: SourceRef) -> None:
        self.record_sync(xref, SyncAction.REPOINTED)

    def record_exception(self, exception: ExceptionRecord) -> bool:
        known = self.exceptions.get(exception.id)
        if known is not None and known.state == "open":
            return False
        self.exceptions[exception.id] = exception
        return True

    def refresh_exception(self, exception: ExceptionRecord) -> bool:
        known = self.exceptions.get(exception.id)
        if known is None or known.state != "open":
            return False
        self.exceptions[exception.id] = exception.model_copy(update={"opened_at": known.opened_at})
        return True

    def open_exceptions(self) -> list[dict[str, str | None]]:
        opened = sorted((e for e in self.exceptions.values() if e.state == "open"), key=lambda e: e.opened_at)
        return [
            {"id": e.id, "kind": e.kind, "subject": str(e.subject), "reason": e.reason, "state": e.state}
            | {"opened_at": e.opened_at.isoformat(), "action": e.action}
            for e in opened
        ]

    def resolve_exception(self, exception_id: str, *, resolution: str, at: datetime) -> datetime | None:
        known = self.exceptions.get(exception_id)
        if known is None or known.state != "open":
            return None
        self.exceptions[exception_id] = known.model_copy(update={"state": "resolved"})
        self.resolutions[exception_id] = resolution
        return known.opened_at

    def acquire_lease(self, name: str, owner: str, seconds: int) -> bool:
        if name in self.leases:
            return False
        self.leases[name] = owner
        return True

    def release_lease(self, name: str, owner: str) -> None:
        if self.leases.get(name) == owner:
            del self.leases[name]

    def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def set_cursor(self, name: str, value: str) -> None:
        self.cursors[name] = value

    def claim_notice(self, notice: ChangeNotice, *, holder: str) -> NoticeClaim:
        # As DynamoLedger, without the claim timeout: a claim is held until published or released.
        state = self.notices.get(notice.idempotency_key)
        if state == "published":
            return NoticeClaim.PUBLISHED
        if state is not None and state != "released":
            return NoticeClaim.IN_FLIGHT
        self.notices[notice.idempotency_key] = f"received:{holder}"
        return NoticeClaim.CLAIMED

    def claim_notices(self, notices: Sequence[ChangeNotice], *, holder: str) -> list[NoticeClaim]:
        return [self.claim_notice(notice, holder=holder) for notice in notices]

    def release_notice(self, notice: ChangeNotice, *, holder: str) -> None:
        if self.notices.get(notice.idempotency_key) == f"received:{holder}":
            self.notices[notice.idempotency_key] = "released"

    def mark_published(self, notice: ChangeNotice) -> None:
        self.notices[notice.idempotency_key] = "published"

    def mark_all_published(self, notices: Sequence[ChangeNotice]) -> None:
        for notice in notices:
            self.mark_published(notice)


class FakeCrm:
    system = SystemName.SALESFORCE

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.shown: dict[str, dict[str, str | None]] = {}  # what the CRM shows of others' fields
        self.gone: dict[str, RecordFate] = {}  # deleted or merged away (the recycle bin)

    def put(self, account_id: str, name: str, **fields: object) -> Account:
        account = Account(
            source=SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id),
            name=name,
            modified_at=datetime.now(UTC),
            **fields,  # type: ignore[arg-type]
        )
        self.accounts[account_id] = account
        return account

    def fetch_account(self, account_id: str) -> Account:
        if account_id not in self.accounts:
            raise NotFoundError(f"no account {account_id}")
        return self.accounts[account_id]

    def show_owned_elsewhere(self, account_id: str, values: Mapping[str, str | None]) -> None:
        self.shown.setdefault(account_id, {}).update(values)

    def delete(self, account_id: str) -> None:
        del self.accounts[account_id]
        self.gone[account_id] = RecordFate(deleted=True)

    def merge(self, survivor: str, loser: str) -> None:
        del self.accounts[loser]
        self.gone[loser] = RecordFate(deleted=True, merged_into=survivor)

    def account_fate(self, account_id: str) -> RecordFate | None:
        return self.gone.get(account_id)

    def merged_away(self, survivor_id: str) -> list[str]:
        return [i for i, fate in self.gone.items() if fate.merged_into == survivor_id]

    def fetch_with_merged(self, account_id: str) -> tuple[Account, list[str]]:
        return self.fetch_account(account_id), self.merged_away(account_id)


class FakeTarget:
    """A target that stores name and phone only (like a system with fewer fields)."""

    def __init__(self, system: SystemName) -> None:
        self.system = system
        self.records: dict[str, Account] = {}
        self.requests: dict[str, str] = {}  # idempotency key -> record id
        self.writes = 0
        self.searches = 0
        self.lookups = 0  # find_account calls (the stamped-record look-up)
        self.inactive: set[str] = set()

    def project(self, account: Account) -> Account:
        return Account(
            source=SourceRef(system=self.system, type="client", id="?"),
            name=account.name,
            phone=account.phone,
            currency=account.currency,
            payment_terms=account.payment_terms,
        )

    def _record(self, record_id: str) -> TargetRecord:
        view = self.records[record_id]
        made_for = next((key for key, rid in self.requests.items() if rid == record_id), None)
        origin = None
        if made_for is not None:  # c2c-<system>-<id>, as the hub's create key names it
            system, _, source_id = made_for.removeprefix("c2c-").partition("-")
            origin = SourceRef(system=SystemName(system), type="account", id=source_id)
        return TargetRecord(ref=view.source, view=view, origin=origin)

    def read_account(self, record_id: str) -> TargetRecord:
        return self._record(record_id)

    def find_account(self, account: Account) -> TargetRecord | None:
        self.lookups += 1
        record_id = self.requests.get(f"c2c-{account.source.system}-{account.source.id}")
        return self._record(record_id) if record_id else None

    def match_candidates(self, account: Account) -> list[TargetRecord]:
        # Like the connectors: records whose name starts with the same first word, any case.
        first = account.name.split()[0].casefold()
        hits = [rid for rid, view in self.records.items() if view.name.casefold().startswith(first)]
        self.searches += 1
        return [self._record(rid) for rid in hits[:MAX_MATCH_CANDIDATES]]

    def add_by_hand(self, name: str, **fields: object) -> str:
        """A record someone created in the target itself, before the hub knew the customer."""
        record_id = str(len(self.records) + 1)
        self.records[record_id] = Account(
            source=SourceRef(system=self.system, type="client", id=record_id),
            name=name,
            **fields,  # type: ignore[arg-type]
        )
        return record_id

    def create_account(self, account: Account, *, idempotency_key: str) -> TargetRecord:
        if idempotency_key in self.requests:
            return self._record(self.requests[idempotency_key])
        record_id = str(len(self.records) + 1)
        self.writes += 1
        self.records[record_id] = self.project(account).model_copy(
            update={"source": SourceRef(system=self.system, type="client", id=record_id)}
        )
        self.requests[idempotency_key] = record_id
        return self._record(record_id)

    def update_account(
        self,
        record_id: str,
        account: Account,
        *,
        idempotency_key: str,
        last_synced: CrossReference | None = None,
    ) -> TargetRecord:
        self.writes += 1
        self.records[record_id] = self.project(account).model_copy(
            update={"source": self.records[record_id].source}
        )
        return self._record(record_id)

    def deactivate_account(self, record_id: str, *, reason: str) -> TargetRecord:
        self.writes += record_id not in self.inactive
        self.inactive.add(record_id)
        return self._record(record_id)

    def edit_by_hand(self, record_id: str, **changes: object) -> None:
        self.records[record_id] = self.records[record_id].model_copy(update=changes)
