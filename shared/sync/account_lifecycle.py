"""Merges and deletes of customers: what becomes of the copies, as the landscape's policy says.

Nothing is guessed. `[lifecycle.customer]` in the landscape decides (see `CustomerLifecycle`):

- An account deleted in the CRM (its fetch says not found, and the CRM's recycle bin says deleted):
  `deactivate` makes every copy inactive (kept with its history, out of use); `exception` opens one
  exception naming the copies. An account that never reached a target opens an exception either
  way: the notice named it, a person may want to know it went before it was synced.
- An account merged away in the CRM (deleted, with the survivor's id): `repoint` hands each copy to
  the survivor where the survivor has none in that system (then syncs the survivor into it), and
  deactivates it where the survivor has its own (two copies of one customer); `deactivate` makes the
  loser's copies inactive; `exception` opens an exception.
- An account restored from the CRM's recycle bin (undelete) whose copies the hub had deactivated:
  one exception names the copies, nothing is reactivated by guesswork.
- A copy merged away in a target (QuickBooks Merge: the notice names the survivor and the
  `deletedId`): `repoint` makes the ledger name the survivor; otherwise, or when the survivor is
  already another account's copy, an exception.

Every outcome is a `SyncResult`, so the worker logs it and the message is done: a deleted record is
a fact, not a failure, and retrying it five times into the DLQ would teach nobody anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from shared.domain.account_ports import AccountSource, AccountTarget
from shared.domain.errors import NotFoundError, PermanentError
from shared.domain.metrics import BusinessMetric
from shared.domain.models import EntityType, SourceRef, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import CrossReference, ExceptionRecord, Ledger, Metrics, SyncAction
from shared.domain.results import SyncReport, SyncResult
from shared.governance.landscape import CustomerLifecycle, OnDelete, OnMerge
from shared.sync.exceptions import open_exception

# Re-sync one account by id (AccountSync.sync_account): a survivor takes over the copies it got.
Resync = Callable[[str], SyncReport]


class AccountLifecycle:
    """Applies the landscape's merge and delete policy to an account's cross-references and copies."""

    def __init__(
        self,
        *,
        targets: Callable[[], Sequence[AccountTarget]],
        ledger: Ledger,
        metrics: Metrics,
        policy: CustomerLifecycle,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._targets = targets
        self._ledger = ledger
        self._metrics = metrics
        self._policy = policy
        self._clock = clock

    # --- the CRM: the account is gone -------------------------------------------------------------

    def gone_at_source(
        self, source: AccountSource, account_id: str, notice: ChangeNotice | None, resync: Resync
    ) -> SyncReport:
        """The CRM no longer returns `account_id`: deleted or merged; apply the policy to its copies."""
        ref = SourceRef(system=source.system, type=notice.vendor_type if notice else "Account", id=account_id)
        fate = source.account_fate(account_id)
        copies = [x for x in self._ledger.cross_references(EntityType.ACCOUNT, ref) if x.active]
        notice_id = notice.event_id if notice else "-"
        if fate is not None and fate.merged_into:
            survivor = ref.model_copy(update={"id": fate.merged_into, "version": None})
            return self._merged_at_source(ref, survivor, copies, notice_id, resync)
        self._metrics.count(BusinessMetric.ACCOUNTS_DELETED, dimensions={"system": source.system.value})
        how = (
            "deleted"
            if fate is not None
            else "not found (deleted and emptied from the recycle bin, or never created)"
        )
        reported = notice is not None and notice.operation is Operation.DELETED
        return self._deleted_at_source(ref, copies, notice_id, how, reported_deleted=reported)

    def _deleted_at_source(
        self,
        ref: SourceRef,
        copies: list[CrossReference],
        notice_id: str,
        how: str,
        *,
        reported_deleted: bool,
    ) -> SyncReport:
        """`reported_deleted`: the notice itself said deleted (the CRM's delete log, swept)."""
        where = f"{ref.system} {ref.type} {ref.id} was {how} in {ref.system}"
        if not copies and reported_deleted:
            return SyncReport()  # the delete log's own notice: nothing of it exists anywhere, all is well
        if not copies:
            self._open(
                f"deleted:{ref.system}:{ref.id}",
                "deleted_at_source",
                ref,
                f"{where} before close2cash synced it; it has no copies, so nothing was changed",
            )
            return SyncReport()
        if self._policy.on_delete is OnDelete.DEACTIVATE:
            return SyncReport(results=tuple(self._deactivate(x, f"{where}", notice_id) for x in copies))
        described = ", ".join(f"{x.target.system} {x.target.type} {x.target.id}" for x in copies)
        reason = (
            f"{where}; its copies ({described}) are still active: deactivate or delete them there "
            "(landscape lifecycle.customer.on_delete = exception)"
        )
        self._open(f"deleted:{ref.system}:{ref.id}", "deleted_at_source", ref, reason)
        return SyncReport(results=tuple(_result(notice_id, x, SyncAction.EXCEPTION, reason) for x in copies))

    def undeleted_at_source(self, source: AccountSource, notice: ChangeNotice) -> SyncReport | None:
        """The CRM restored the account from its recycle bin (Change Data Capture UNDELETE).

        Copies the hub made inactive when it was deleted (or merged away) are not brought back by
        guesswork: one exception names them, and nothing is written until a person has reactivated
        or replaced them. None: no such copies, the account syncs as any changed account does.
        """
        ref = SourceRef(system=source.system, type=notice.vendor_type, id=notice.record_id)
        inactive = [x for x in self._ledger.cross_references(EntityType.ACCOUNT, ref) if not x.active]
        if not inactive:
            return None
        described = ", ".join(f"{x.target.system} {x.target.type} {x.target.id}" for x in inactive)
        reason = (
            f"{ref.system} {ref.type} {ref.id} was restored in {ref.system} after close2cash had "
            f"deactivated its copies ({described}): reactivate them there (or mark them replaced), "
            "then edit the account to sync it; close2cash does not reactivate copies by itself"
        )
        self._open(f"undeleted:{ref.system}:{ref.id}", "undeleted_at_source", ref, reason)
        return SyncReport(
            results=tuple(_result(notice.event_id, x, SyncAction.EXCEPTION, reason) for x in inactive)
        )

    def merged_into(
        self, source: AccountSource, loser_id: str, survivor_id: str, notice: ChangeNotice, resync: Resync
    ) -> SyncReport:
        """`loser_id` was merged into `survivor_id` (the CRM said so): apply the policy to its copies."""
        loser = SourceRef(system=source.system, type=notice.vendor_type, id=loser_id)
        copies = [x for x in self._ledger.cross_references(EntityType.ACCOUNT, loser) if x.active]
        survivor = loser.model_copy(update={"id": survivor_id})
        return self._merged_at_source(loser, survivor, copies, notice.event_id, resync)

    def _merged_at_source(
        self,
        loser: SourceRef,
        survivor: SourceRef,
        copies: list[CrossReference],
        notice_id: str,
        resync: Resync,
    ) -> SyncReport:
        where = f"{loser.system} {loser.type} {loser.id} was merged into {survivor.id}"
        if not copies:
            # Nothing (left) of the loser's elsewhere: the survivor's own sync does the rest.
            return SyncReport()
        self._metrics.count(BusinessMetric.ACCOUNTS_MERGED, dimensions={"system": loser.system.value})
        if self._policy.on_merge is OnMerge.EXCEPTION:
            described = ", ".join(f"{x.target.system} {x.target.id}" for x in copies)
            reason = (
                f"{where}; the merged-away account's copies ({described}) are unchanged: link them to "
                f"{survivor.id} or deactivate them (landscape lifecycle.customer.on_merge = exception)"
            )
            self._open(f"merged:{loser.system}:{loser.id}", "merged_at_source", loser, reason)
            return SyncReport(
                results=tuple(_result(notice_id, x, SyncAction.EXCEPTION, reason) for x in copies)
            )
        results: list[SyncResult] = []
        handed_over = False
        for xref in copies:
            own = self._ledger.cross_reference(EntityType.ACCOUNT, survivor, xref.target.system)
            if self._policy.on_merge is OnMerge.DEACTIVATE or (own is not None and own.active):
                # Under `repoint`, a survivor with its own copy makes this one a duplicate.
                results.append(self._deactivate(xref, where, notice_id))
                continue
            # The loser's reference goes inactive first, then the survivor's is written: the
            # reverse reference (target -> account) ends up naming the survivor.
            self._ledger.record_sync(xref.model_copy(update={"active": False}), SyncAction.REPOINTED)
            self._ledger.record_sync(
                xref.model_copy(update={"source": survivor, "synced_at": self._clock()}),
                SyncAction.REPOINTED,
            )
            self._metrics.count(
                BusinessMetric.COPIES_REPOINTED, dimensions={"target": xref.target.system.value}
            )
            results.append(_result(notice_id, xref, SyncAction.REPOINTED, f"{where}; now its copy"))
            handed_over = True
        if handed_over:
            # The survivor's content goes into the copies it took over (one sync of the survivor).
            results.extend(resync(survivor.id).results)
        return SyncReport(results=tuple(results))

    def _deactivate(self, xref: CrossReference, why: str, notice_id: str) -> SyncResult:
        target = next((t for t in self._targets() if t.system == xref.target.system), None)
        if target is None:
            return _result(notice_id, xref, SyncAction.IGNORED, f"{xref.target.system} is not connected")
        try:
            record = target.deactivate_account(xref.target.id, reason=f"close2cash: {why}")
        except NotFoundError:
            record = None  # deleted there too: nothing left to deactivate
        except PermanentError as exc:
            reason = f"{why}; its {xref.target.system} copy {xref.target.id} could not be deactivated: {exc}"
            self._open(
                f"deactivate:{xref.target.system}:{xref.target.id}", type(exc).__name__, xref.source, reason
            )
            return _result(notice_id, xref, SyncAction.EXCEPTION, reason)
        update: dict[str, object] = {"active": False, "synced_at": self._clock()}
        if record is not None:
            update |= {"checksum": record.view.checksum(), "content": record.view.synced_fields()}
        self._ledger.record_sync(xref.model_copy(update=update), SyncAction.DEACTIVATED)
        self._metrics.count(
            BusinessMetric.COPIES_DEACTIVATED, dimensions={"target": xref.target.system.value}
        )
        return _result(notice_id, xref, SyncAction.DEACTIVATED, f"{why}; copy deactivated")

    # --- a target merged one of our copies into another record --------------------------------------

    def merged_in_target(self, target: AccountTarget, notice: ChangeNotice, resync: Resync) -> SyncResult:
        """`notice.merged_away_id` was merged into `notice.record_id` in `target`."""
        loser = SourceRef(system=target.system, type=notice.vendor_type, id=str(notice.merged_away_id))
        survivor = loser.model_copy(update={"id": notice.record_id})
        xref = self._ledger.find_by_target(EntityType.ACCOUNT, loser)
        if xref is None:
            return SyncResult(
                notice_id=notice.event_id,
                source=survivor,
                target_system=target.system,
                action=SyncAction.IGNORED,
                target_id=notice.record_id,
                detail=f"merged-away {loser.id} was not managed by close2cash",
            )
        where = (
            f"{target.system} merged {loser.type} {loser.id} (the copy of {xref.source.system} "
            f"account {xref.source.id}) into {survivor.id}"
        )
        taken = self._ledger.find_by_target(EntityType.ACCOUNT, survivor)
        if taken is not None and (taken.source.system, taken.source.id) != (
            xref.source.system,
            xref.source.id,
        ):
            reason = (
                f"{where}, which is the copy of {taken.source.system} account {taken.source.id}: two "
                "accounts now share one customer; merge them in the CRM too, or split them again"
            )
            return self._target_exception(notice, xref, target, reason)
        if self._policy.on_merge is not OnMerge.REPOINT:
            reason = f"{where}; the ledger still names {loser.id} (landscape lifecycle.customer.on_merge)"
            return self._target_exception(notice, xref, target, reason)
        current = target.read_account(survivor.id)
        self._ledger.repoint(
            xref.model_copy(
                update={
                    "target": current.ref,
                    "checksum": current.view.checksum(),
                    "content": current.view.synced_fields(),
                    "synced_at": self._clock(),
                    "active": True,
                }
            ),
            was=loser,
        )
        self._metrics.count(BusinessMetric.COPIES_REPOINTED, dimensions={"target": target.system.value})
        # The CRM owns the customer: what the merge left in the survivor is brought back to its word.
        resync(xref.source.id)
        return _on_survivor(notice, xref, SyncAction.REPOINTED, where)

    def _target_exception(
        self, notice: ChangeNotice, xref: CrossReference, target: AccountTarget, reason: str
    ) -> SyncResult:
        self._open(f"merged:{target.system}:{xref.target.id}", "merged_in_target", xref.source, reason)
        return _on_survivor(notice, xref, SyncAction.EXCEPTION, reason)

    def _open(self, exception_id: str, kind: str, subject: SourceRef, reason: str) -> None:
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=exception_id,
                kind=kind,
                entity=EntityType.ACCOUNT,
                subject=subject,
                reason=reason,
                step="account_sync",
                opened_at=self._clock(),
            ),
        )


def _result(notice_id: str, xref: CrossReference, action: SyncAction, detail: str) -> SyncResult:
    return SyncResult(
        notice_id=notice_id,
        source=xref.source,
        target_system=xref.target.system,
        action=action,
        target_id=xref.target.id,
        detail=detail,
    )


def _on_survivor(notice: ChangeNotice, xref: CrossReference, action: SyncAction, detail: str) -> SyncResult:
    """What a target's merge notice came to, reported on the survivor it names."""
    return SyncResult(
        notice_id=notice.event_id,
        source=xref.source,
        target_system=xref.target.system,
        action=action,
        target_id=notice.record_id,
        detail=detail,
    )
