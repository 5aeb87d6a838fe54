"""The customer master's replay: each account a window's notices name, as the hub would copy it now.

A notice is a hint that a record changed; what the hub writes is the record as its system of record
holds it, translated by the landscape. So replaying a window does not re-send old payloads: it
takes the accounts the window's notices name (the CRM's own, and those whose copies a target's
notice was about), reads each from the CRM as it is now, translates it under the landscape given
(a corrected mapping table, say), and compares that, field by field, with what each target holds
now, read from the target. Applying writes exactly those records, through the same idempotent
writes the flow uses, and records them in the ledger as any sync does; a second replay then finds
nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.domain.account_ports import AccountSource, AccountTarget, TargetRecord
from shared.domain.errors import NotFoundError, PermanentError
from shared.domain.models import Account, EntityType, SourceRef, SystemName
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import CrossReference, Ledger, SyncAction
from shared.domain.reconciliation_ports import CustomerCensus
from shared.sync.accounts import AccountSync
from shared.sync.replay.diff import Change, FieldChange, RecordDiff

FLOW = "customers"


class Drifted(Exception):
    """A copy a person changed in its target since the hub wrote it; a replay does not overwrite it."""


class CustomerReplay:
    """`FlowReplay` for the customer master (CRM account -> PSA client and accounting customer)."""

    name = FLOW

    def __init__(
        self,
        *,
        sync: AccountSync,
        source: Callable[[], AccountSource],
        targets: Callable[[], Sequence[AccountTarget]],
        ledger: Ledger,
    ) -> None:
        # `sync`: the customer flow built under the landscape being replayed.
        self._sync = sync
        self._source = source
        self._targets = targets
        self._ledger = ledger

    def diff(self, notices: Sequence[ChangeNotice]) -> tuple[list[RecordDiff], list[str]]:
        source = self._source()
        diffs: list[RecordDiff] = []
        aside: list[str] = []
        ids = self._accounts(source.system, notices, aside)
        reads = _Reads(source, self._targets(), ids)
        for account_id in ids:
            try:
                account = reads.account(account_id)
            except NotFoundError:
                aside.append(
                    f"{source.system} account {account_id}: no longer in {source.system} "
                    "(deleted or merged): its copies follow the lifecycle policy, not a replay"
                )
                continue
            except PermanentError as exc:
                aside.append(f"{source.system} account {account_id}: cannot be read ({exc})")
                continue
            xrefs = self._ledger.cross_references(EntityType.ACCOUNT, account.source)
            by_system = {x.target.system: x for x in xrefs}
            for target in reads.targets:
                try:
                    diff = self._compare(account, target, by_system.get(target.system), xrefs, reads)
                except Drifted as drifted:
                    aside.append(f"{source.system} account {account_id}: {drifted}")
                    continue
                except PermanentError as exc:
                    aside.append(f"{source.system} account {account_id} in {target.system}: {exc}")
                    continue
                if diff is not None:
                    diffs.append(diff)
        return diffs, aside

    def apply(self, diff: RecordDiff) -> RecordDiff:
        account = self._source().fetch_account(diff.source.id)
        result = self._sync.rewrite(account, diff.system)
        if result.action is SyncAction.EXCEPTION:
            raise PermanentError(
                f"{diff.system} refused {diff.source.system} account {diff.source.id}: {result.detail}"
            )
        record = diff.record
        if result.target_id is not None:
            record = SourceRef(
                system=diff.system,
                type=diff.record.type if diff.record else "customer",
                id=result.target_id,
            )
        return diff.model_copy(update={"record": record})

    def _accounts(self, crm: SystemName, notices: Sequence[ChangeNotice], aside: list[str]) -> list[str]:
        """The CRM accounts the notices name, once each, in the order first named."""
        ids: dict[str, None] = {}
        for notice in notices:
            if notice.entity is not EntityType.ACCOUNT:
                continue
            if notice.provider == crm:
                if notice.operation is Operation.DELETED:
                    aside.append(
                        f"{crm} account {notice.record_id}: deleted (notice {notice.event_id}): "
                        "the lifecycle policy handled its copies"
                    )
                    continue
                ids.setdefault(notice.record_id, None)
                continue
            # A target's notice about a copy: the account it is a copy of is re-derived (the copy's
            # owned fields, accepted from that target, flow to the other targets through it).
            subject = SourceRef(system=notice.provider, type=notice.vendor_type, id=notice.record_id)
            xref = self._ledger.find_by_target(EntityType.ACCOUNT, subject)
            if xref is not None and xref.active and xref.source.system == crm:
                ids.setdefault(xref.source.id, None)
        return list(ids)

    def _compare(
        self,
        account: Account,
        target: AccountTarget,
        xref: CrossReference | None,
        xrefs: Sequence[CrossReference],
        reads: _Reads,
    ) -> RecordDiff | None:
        wanted = self._sync.expected_copy(account, target.system, xrefs).synced_fields()
        if xref is None:
            return RecordDiff(
                flow=FLOW,
                source=account.source,
                system=target.system,
                change=Change.CREATE,
                fields=tuple(
                    FieldChange(field=f, then=v) for f, v in sorted(wanted.items()) if v is not None
                ),
            )
        if not xref.active:
            return None  # a copy the hub made inactive (its account deleted or merged away)
        try:
            held = reads.held(target, xref.target.id).view.synced_fields()
        except NotFoundError:
            raise PermanentError(
                f"its {xref.target.type} {xref.target.id} is no longer there (deleted by hand): "
                "the drift check and reconciliation name it; a replay does not make it again"
            ) from None
        written = xref.content or {}
        differ = [f for f, v in sorted(wanted.items()) if held.get(f) != v]
        # A field the hub would write as it last wrote it, changed since in the target by a person,
        # is drift: a notice would not overwrite it either (its exception is a person's call).
        drift = [f for f in differ if f in written and written[f] == wanted[f]]
        if drift:
            rest = ", ".join(f for f in differ if f not in drift)
            raise Drifted(
                f"{target.system} {xref.target.type} {xref.target.id} was changed there by hand "
                f"({', '.join(f'{f} {held.get(f)!r}' for f in drift)}; the hub wrote "
                f"{', '.join(repr(written[f]) for f in drift)}): drift, left to its exception"
                + (f"; once settled a replay would also write {rest}" if rest else "")
            )
        changes = tuple(FieldChange(field=f, now=held.get(f), then=wanted[f]) for f in differ)
        if not changes:
            return None
        return RecordDiff(
            flow=FLOW,
            source=account.source,
            system=target.system,
            record=xref.target,
            change=Change.UPDATE,
            fields=changes,
        )


# From this many accounts on, each system is read whole, a page of the largest size at a time (its
# census: Salesforce 2,000 rows a query, QuickBooks 1,000, Productive 200) instead of one read per
# account and system: a window of a thousand accounts costs a dozen calls, not three thousand.
BULK_FROM = 50


class _Reads:
    """The accounts and their copies as the systems hold them now: one read each, or each system whole."""

    def __init__(self, source: AccountSource, targets: Sequence[AccountTarget], ids: Sequence[str]) -> None:
        self._source = source
        self.targets = list(targets)
        self._accounts: dict[str, Account] | None = None
        self._held: dict[SystemName, dict[str, TargetRecord]] = {}
        systems = (source, *self.targets)
        if len(ids) >= BULK_FROM and all(isinstance(s, CustomerCensus) for s in systems):
            wanted = set(ids)
            assert isinstance(source, CustomerCensus)
            self._accounts = {r.ref.id: r.view for r in source.census_customers() if r.ref.id in wanted}
            for target in self.targets:
                assert isinstance(target, CustomerCensus)
                self._held[target.system] = {r.ref.id: r for r in target.census_customers()}

    def account(self, account_id: str) -> Account:
        if self._accounts is None:
            return self._source.fetch_account(account_id)
        if account_id not in self._accounts:
            raise NotFoundError(f"no account {account_id}")
        return self._accounts[account_id]

    def held(self, target: AccountTarget, record_id: str) -> TargetRecord:
        if target.system not in self._held:
            return target.read_account(record_id)
        found = self._held[target.system].get(record_id)
        if found is None:
            raise NotFoundError(f"no {target.system} record {record_id}")
        return found
