"""Customer master sync: the owner's account reaches every target system exactly once.

The landscape declares who owns the customer (the CRM, usually) and, field by field, where that
differs (payment terms from accounting, say). A notice from the owner means "fetch the account and
upsert it everywhere", with values translated through the landscape's mapping tables. A notice from
a target is usually the echo of our own write: its content matches the checksum the ledger
recorded, so it goes nowhere. If it does not match, the changed fields decide: fields the target
owns are accepted and recorded; fields it does not own are drift, recorded as an exception and
never propagated.

On the first sync of an account to a target (no cross-reference yet, and no record the hub made
earlier), the target is asked for records that could be the same customer, and the landscape's
matching rules decide: exactly one links (that record is updated, not duplicated), several open an
"ambiguous_match" exception and nothing is written to that target, none means create.

An account the CRM no longer has (deleted, merged) and a copy a target merged into another follow the
landscape's `[lifecycle.customer]` policy (`shared.sync.account_lifecycle`). Any other permanent
error on the CRM's side (the record cannot be read or mapped) opens an exception naming the account,
the step and the cause, and the message is done: retrying it would only fill the DLQ.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from shared.domain.account_ports import AccountSource, AccountTarget, TargetRecord
from shared.domain.errors import NotFoundError, PermanentError, TransientError
from shared.domain.events import AccountChanged
from shared.domain.metrics import BusinessMetric
from shared.domain.models import Account, EntityType, SourceRef, SystemName, utcnow
from shared.domain.notices import ChangeNotice, Operation
from shared.domain.ports import CrossReference, ExceptionRecord, Ledger, Metrics, SyncAction
from shared.domain.results import SyncReport, SyncResult
from shared.domain.systems import Domain
from shared.governance.landscape import CustomerLifecycle
from shared.governance.mappings import Mappings
from shared.governance.matching import CustomerKeys, Matcher, MatchOutcome, MatchResult
from shared.governance.ownership import Ownership
from shared.sync.account_lifecycle import AccountLifecycle
from shared.sync.exceptions import open_exception
from shared.sync.facts import Publisher, publish_facts

LEASE_SECONDS = 120


class AccountSync:
    """The use case behind the `account_sync` worker."""

    def __init__(
        self,
        *,
        source: Callable[[], AccountSource],
        targets: Callable[[], Sequence[AccountTarget]],
        ledger: Ledger,
        metrics: Metrics,
        ownership: Ownership,
        mappings: Mappings,
        matcher: Matcher | None = None,
        lifecycle: CustomerLifecycle | None = None,
        clock: Callable[[], datetime] = utcnow,
        events: Publisher = None,
    ) -> None:
        self._events = events
        # Connectors are built lazily: building one reads credentials, which an echo check for a
        # provider that is not configured must not require.
        self._source = source
        self._targets = targets
        self._ledger = ledger
        self._metrics = metrics
        self._ownership = ownership
        self._mappings = mappings
        # The landscape's [matching] rules; without any, the defaults (tax id, domain, name).
        self._matcher = matcher if matcher is not None else Matcher()
        self._clock = clock
        self._lifecycle = AccountLifecycle(
            targets=targets,
            ledger=ledger,
            metrics=metrics,
            policy=lifecycle if lifecycle is not None else CustomerLifecycle(),
            clock=clock,
        )

    def on_notice(self, notice: ChangeNotice) -> SyncReport:
        source = self._source()
        if notice.provider == source.system:
            if notice.operation is Operation.UNDELETED:
                held = self._lifecycle.undeleted_at_source(source, notice)
                if held is not None:
                    return held
            try:
                # A merge edits the survivor and deletes the losers silently: their copies are
                # dealt with when the survivor's notice comes, before the survivor is synced (so it
                # takes them over instead of getting copies of its own).
                results: list[SyncResult] = []
                account: Account | None = None
                if notice.operation is not Operation.DELETED:
                    # One read answers both: the account as it is now, and who was merged into it.
                    account, losers = source.fetch_with_merged(notice.record_id)
                    for loser in losers:
                        merged = self._lifecycle.merged_into(
                            source, loser, notice.record_id, notice, self.sync_account
                        )
                        results.extend(merged.results)
                    if losers:
                        account = None  # the merges may have re-synced it: read it afresh below
                report = self.sync_account(notice.record_id, notice=notice, account=account)
                return SyncReport(results=(*results, *report.results))
            except NotFoundError:
                # Only the CRM's fetch lets NotFoundError out (a target's is an exception per target).
                return self._lifecycle.gone_at_source(source, notice.record_id, notice, self.sync_account)
            except PermanentError as exc:
                return self._unreadable(notice, exc)
        target = next((t for t in self._targets() if t.system == notice.provider), None)
        if target is None:
            return SyncReport()  # a provider that holds no account copies in this landscape
        if notice.operation is Operation.MERGED and notice.merged_away_id:
            return SyncReport(results=(self._lifecycle.merged_in_target(target, notice, self.sync_account),))
        return SyncReport(results=(self._check_target_change(target, notice),))

    def _unreadable(self, notice: ChangeNotice, exc: PermanentError) -> SyncReport:
        """The CRM's record cannot be read or used: an exception for a person, and the message is done."""
        subject = SourceRef(system=notice.provider, type=notice.vendor_type, id=notice.record_id)
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=f"fetch:{notice.provider}:{notice.record_id}:{type(exc).__name__}",
                kind=type(exc).__name__,
                entity=EntityType.ACCOUNT,
                subject=subject,
                reason=f"{notice.provider} {notice.vendor_type} {notice.record_id} was not synced: {exc}",
                step="account_sync",
                opened_at=self._clock(),
            ),
        )
        self._metrics.count(BusinessMetric.FAILED_TRANSACTIONS, dimensions={"source": notice.provider.value})
        return SyncReport()

    def sync_account(
        self, account_id: str, *, notice: ChangeNotice | None = None, account: Account | None = None
    ) -> SyncReport:
        """Fetch the account from its system of record and upsert it into every target.

        `account`: the record as the caller has just read it from the system of record (not read again).
        """
        if account is None:
            account = self._source().fetch_account(account_id)
        lease = f"account:{account.source.system}:{account.source.id}"
        # The customer as its system of record holds it, stated before any copy is written: a bus
        # that fails leaves the notice to be retried, and the retry states the same event id.
        changed = AccountChanged.fact(
            account, correlation_id=lease, occurred_at=account.modified_at or self._clock()
        )
        publish_facts(self._events, [changed])
        owner = uuid.uuid4().hex
        if not self._ledger.acquire_lease(lease, owner, LEASE_SECONDS):
            # Another worker is writing this account right now; retrying later (SQS visibility
            # timeout) is what keeps two concurrent notices from creating two customers.
            raise TransientError(f"account {account.source.id} is being synced by another worker")
        try:
            held = self._held_apart(account)
            results = tuple(
                self._upsert_or_open_exception(target, account, notice, held) for target in self._targets()
            )
        finally:
            self._ledger.release_lease(lease, owner)
        if notice is not None and notice.occurred_at is not None:
            latency = (self._clock() - notice.occurred_at).total_seconds()
            self._metrics.count(BusinessMetric.SYNC_LATENCY, max(latency, 0.0))
        return SyncReport(results=results)

    def _upsert_or_open_exception(
        self, target: AccountTarget, account: Account, notice: ChangeNotice | None, held: HeldApart
    ) -> SyncResult:
        """One target; a permanent refusal opens an exception and the other targets still sync."""
        try:
            return self._upsert(target, self._translated(account, target, held), notice)
        except PermanentError as exc:
            # Retrying cannot help (a mapping is missing, the target refuses the record): a person
            # must act, so the exception says what and the message is not sent round again.
            kind = type(exc).__name__
            open_exception(
                self._ledger,
                self._metrics,
                ExceptionRecord(
                    id=f"sync:{target.system}:{account.source.system}:{account.source.id}:{account.checksum()}",
                    kind=kind,
                    entity=EntityType.ACCOUNT,
                    subject=account.source,
                    reason=f"not synced to {target.system}: {exc}",
                    step="account_sync",
                    opened_at=self._clock(),
                ),
            )
            self._metrics.count(
                BusinessMetric.FAILED_TRANSACTIONS, dimensions={"target": target.system.value}
            )
            return SyncResult(
                notice_id=notice.event_id if notice else "-",
                source=account.source,
                target_system=target.system,
                action=SyncAction.EXCEPTION,
                detail=str(exc),
            )

    def rewrite(self, account: Account, system: SystemName) -> SyncResult:
        """Write `account` to `system` as the hub would now, whatever the ledger remembers.

        A replay has read the target and found it differs from what the hub would write (a mapping
        table corrected since): the checksum shortcut of a notice's sync would skip a record whose
        ledger entry already agrees, so here the write is made. No cross-reference yet: the first
        sync's matching decides between linking and creating, as for any notice.
        """
        target = next((t for t in self._targets() if t.system == system), None)
        if target is None:
            raise KeyError(f"{system} is not a target of the customer master")
        lease = f"account:{account.source.system}:{account.source.id}"
        owner = uuid.uuid4().hex
        if not self._ledger.acquire_lease(lease, owner, LEASE_SECONDS):
            raise TransientError(f"account {account.source.id} is being synced by another worker")
        try:
            translated = self._translated(account, target, self._held_apart(account))
            return self._upsert(target, translated, None, force=True)
        finally:
            self._ledger.release_lease(lease, owner)

    def expected_copy(
        self, account: Account, system: SystemName, xrefs: Sequence[CrossReference] | None = None
    ) -> Account:
        """The copy of `account` the hub would write to `system` now (reconciliation compares it);
        `xrefs`: the account's cross-references when the caller has read them already."""
        target = next((t for t in self._targets() if t.system == system), None)
        if target is None:
            raise KeyError(f"{system} is not a target of the customer master")
        return target.project(self._translated(account, target, self._held_apart(account, xrefs)))

    def _translated(self, account: Account, target: AccountTarget, held: HeldApart) -> Account:
        """The account with its coded values as `target` names them (the landscape's mapping tables).

        Fields another system owns (payment terms, from accounting) come from what that system
        holds, as last synced (`held`), not from the CRM's record.
        """
        update = self._in_words_of(held, target.system)
        if account.currency is not None:
            update["currency"] = self._mappings.map(
                "currencies", account.currency, source=account.source.system, target=target.system
            )
        return account.model_copy(update=update) if update else account

    def _held_apart(self, account: Account, known: Sequence[CrossReference] | None = None) -> HeldApart:
        """Each customer field a system other than the CRM owns: (owner, its value as last synced).

        Until the owner holds the customer, the CRM's value (if any) is the best first value, so
        such fields are left out.
        """
        held: HeldApart = {}
        xrefs: dict[SystemName, CrossReference | None] = {}
        if known is not None:
            xrefs = {x.target.system: x for x in known}
        for field, owner in self._ownership.fields_owned_apart(Domain.CUSTOMER).items():
            if field not in Account.model_fields:
                continue
            if owner not in xrefs and known is None:
                xrefs[owner] = self._ledger.cross_reference(EntityType.ACCOUNT, account.source, owner)
            xref = xrefs.get(owner)
            if xref is not None:
                held[field] = (owner, _text((xref.content or {}).get(field)))
        return held

    def _in_words_of(self, held: HeldApart, system: SystemName) -> dict[str, object]:
        """`held` as `system` says each value: the owner's own word, else its mapping row."""
        values: dict[str, object] = {}
        for field, (owner, value) in held.items():
            if value is None or owner == system or field not in _FIELD_TABLES:
                values[field] = value
            else:
                values[field] = self._mappings.map(_FIELD_TABLES[field], value, source=owner, target=system)
        return values

    def _upsert(
        self, target: AccountTarget, account: Account, notice: ChangeNotice | None, *, force: bool = False
    ) -> SyncResult:
        notice_id = notice.event_id if notice else "-"
        wanted = target.project(account).checksum()
        xref = self._ledger.cross_reference(EntityType.ACCOUNT, account.source, target.system)
        if xref is not None and xref.checksum == wanted and not force:
            self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED)
            return SyncResult(
                notice_id=notice_id,
                source=account.source,
                target_system=target.system,
                action=SyncAction.UNCHANGED,
                target_id=xref.target.id,
            )
        if xref is not None:
            record = target.update_account(
                xref.target.id, account, idempotency_key=_update_key(account, wanted), last_synced=xref
            )
            action = SyncAction.UPDATED
        else:
            # One search serves both questions of a first sync: is one of these the record an
            # earlier attempt made (it carries our stamp), and is one the same customer (matching)?
            # A record of ours that the search misses (the CRM renamed the account after a crash)
            # is the create's to find: the vendor refuses the second one (QBO requestid or name,
            # Productive company_code) and the connector returns the first.
            matched = self._match(target, account)
            if isinstance(matched, SyncResult):
                return matched.model_copy(update={"notice_id": notice_id})
            found = matched
            if found is None:
                record = target.create_account(account, idempotency_key=_create_key(account))
                action = SyncAction.CREATED
            elif found.view.checksum() == wanted:
                # Created by an earlier attempt that stopped before the ledger write.
                self._metrics.count(BusinessMetric.DUPLICATES_PREVENTED)
                record, action = found, SyncAction.LINKED
            else:
                record = target.update_account(
                    found.ref.id, account, idempotency_key=_update_key(account, wanted)
                )
                action = SyncAction.LINKED
        self._record(account, record, action)
        self._metrics.count(BusinessMetric.RECORDS_SYNCED)
        return SyncResult(
            notice_id=notice_id,
            source=account.source,
            target_system=target.system,
            action=action,
            target_id=record.ref.id,
        )

    def _match(self, target: AccountTarget, account: Account) -> TargetRecord | SyncResult | None:
        """The existing record to link `account` to, None to create it, or the exception opened.

        A candidate the ledger already links to another account is never taken over: two CRM
        accounts on one customer record would merge their invoices, so that is a person's call too.
        """
        candidates = {c.ref.id: c for c in target.match_candidates(account)}
        ours = [c for c in candidates.values() if c.made_for(account.source)]
        if ours:
            return ours[0]
        if not candidates:
            return None
        result = self._matcher.match(
            CustomerKeys.of(account), (CustomerKeys.of(c.view) for c in candidates.values())
        )
        if result.outcome is MatchOutcome.NEW:
            return None
        matched = [candidates[keys.ref.id] for keys in result.matches if keys.ref is not None]
        taken = {
            c.ref.id: xref.source
            for c in matched
            if (xref := self._ledger.find_by_target(EntityType.ACCOUNT, c.ref)) is not None
            and (xref.source.system, xref.source.id) != (account.source.system, account.source.id)
        }
        if result.outcome is MatchOutcome.LINK and not taken:
            self._metrics.count(BusinessMetric.CUSTOMERS_LINKED, dimensions={"target": target.system.value})
            return matched[0]
        return self._ambiguous(target, account, result, matched, taken)

    def _ambiguous(
        self,
        target: AccountTarget,
        account: Account,
        result: MatchResult,
        matched: list[TargetRecord],
        taken: dict[str, SourceRef],
    ) -> SyncResult:
        """Open an "ambiguous_match" exception naming the candidates; nothing is written to `target`."""
        ids = sorted(c.ref.id for c in matched)
        key = result.key.value if result.key is not None else "?"
        described = ", ".join(
            f"{c.ref.type} {c.ref.id} ({c.view.name!r}"
            + (
                f", already linked to {taken[c.ref.id].system} {taken[c.ref.id].id}"
                if c.ref.id in taken
                else ""
            )
            + ")"
            for c in sorted(matched, key=lambda c: c.ref.id)
        )
        reason = (
            f"{len(matched)} {target.system} record(s) match {account.source.system} account "
            f"{account.source.id} ({account.name!r}) by {key}: {described}; "
            f"a person must say which one is this customer (or merge or rename them in {target.system}); "
            "close2cash does not guess"
        )
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=f"match:{target.system}:{account.source.system}:{account.source.id}:{','.join(ids)}",
                kind="ambiguous_match",
                entity=EntityType.ACCOUNT,
                subject=account.source,
                reason=reason,
                opened_at=self._clock(),
            ),
        )
        self._metrics.count(BusinessMetric.AMBIGUOUS_MATCHES, dimensions={"target": target.system.value})
        return SyncResult(
            notice_id="-",
            source=account.source,
            target_system=target.system,
            action=SyncAction.EXCEPTION,
            detail=reason,
        )

    def _record(self, account: Account, record: TargetRecord, action: SyncAction) -> None:
        self._ledger.record_sync(
            CrossReference(
                entity=EntityType.ACCOUNT,
                source=account.source,
                target=record.ref,
                # What the target now holds, so its echo webhook is recognised byte for byte.
                checksum=record.view.checksum(),
                synced_at=self._clock(),
                content=record.view.synced_fields(),
                target_modified_at=record.view.modified_at,
            ),
            action,
        )

    def _check_target_change(self, target: AccountTarget, notice: ChangeNotice) -> SyncResult:
        subject = SourceRef(system=target.system, type=notice.vendor_type, id=notice.record_id)
        xref = self._ledger.find_by_target(EntityType.ACCOUNT, subject)
        if xref is None:
            # Not a record this hub wrote (linking pre-existing customers is a matching rule's job).
            return _on_target(notice, target, subject, SyncAction.IGNORED, detail="not managed by close2cash")
        if not xref.active:
            # A copy the hub deactivated (its account was deleted or merged): the notice is that echo.
            return _on_target(notice, target, xref.source, SyncAction.IGNORED, detail="deactivated copy")
        if notice.operation is Operation.DELETED:
            return self._drift(target, notice, xref, f"deleted in {target.system}", seen="deleted")
        if notice.occurred_at is not None and notice.occurred_at == xref.target_modified_at:
            # The notice is about the very change the ledger last saw: the target stamps each change
            # with its own modification time (QBO MetaData.LastUpdatedTime, Productive updated_at)
            # and its webhook carries that instant, so our own write's echo needs no read back.
            # A later change, ours or a person's, has a later instant and is read as before.
            self._metrics.count(BusinessMetric.ECHOES_SUPPRESSED)
            return _on_target(notice, target, xref.source, SyncAction.ECHO)
        current = target.read_account(notice.record_id)
        if current.view.checksum() == xref.checksum:
            self._metrics.count(BusinessMetric.ECHOES_SUPPRESSED)
            return _on_target(notice, target, xref.source, SyncAction.ECHO)
        now = current.view.synced_fields()
        before = xref.content or {}
        changed = [field for field, value in now.items() if before.get(field) != value]
        split = self._ownership.filter_changes(Domain.CUSTOMER, target.system, changed)
        if split.drift:
            return self._drift(
                target,
                notice,
                xref,
                f"{', '.join(split.drift)} changed in {target.system}, which does not own it",
                seen=current.ref.version or notice.event_id,
            )
        # Only fields the target owns changed: its word stands; remember it so it is not drift later.
        self._ledger.record_sync(
            xref.model_copy(
                update={
                    "checksum": current.view.checksum(),
                    "content": now,
                    "target": current.ref,
                    "synced_at": self._clock(),
                    "target_modified_at": current.view.modified_at,
                }
            ),
            SyncAction.ACCEPTED,
        )
        self._metrics.count(BusinessMetric.OWNER_CHANGES_ACCEPTED)
        if split.propagate:
            self._propagate_owned(target, xref, split.propagate)
        return _on_target(
            notice,
            target,
            xref.source,
            SyncAction.ACCEPTED,
            detail=f"{', '.join(split.propagate)} changed by its owner {target.system}",
        )

    def _propagate_owned(self, owner: AccountTarget, xref: CrossReference, fields: Sequence[str]) -> None:
        """The owner changed fields it owns: the CRM shows them, the other targets take them.

        The CRM gets them in its own words (`show_owned_elsewhere`); the other targets through a
        sync of the account, whose translation now reads the owner's new values. A value with no
        mapping row opens an exception naming the table; the owner's change itself stands.
        """
        source = self._source()
        shown = [f for f in fields if f in Account.model_fields]
        if not shown:
            return
        try:
            held = self._held_apart(source.fetch_account(xref.source.id))
            values = self._in_words_of({f: held[f] for f in shown if f in held}, source.system)
            source.show_owned_elsewhere(xref.source.id, {f: _text(values.get(f)) for f in shown})
            self.sync_account(xref.source.id)
        except PermanentError as exc:
            open_exception(
                self._ledger,
                self._metrics,
                ExceptionRecord(
                    id=f"owned:{owner.system}:{xref.source.id}:{','.join(shown)}:{xref.target.version}",
                    kind=type(exc).__name__,
                    entity=EntityType.ACCOUNT,
                    subject=xref.source,
                    reason=f"{', '.join(shown)} changed in its owner {owner.system}, not passed on: {exc}",
                    opened_at=self._clock(),
                ),
            )

    def _drift(
        self, target: AccountTarget, notice: ChangeNotice, xref: CrossReference, reason: str, *, seen: str
    ) -> SyncResult:
        # Keyed by the version seen, not by the notice: the same change brought by a webhook and by
        # a catch-up sweep (two notices) is one exception.
        open_exception(
            self._ledger,
            self._metrics,
            ExceptionRecord(
                id=f"drift:{target.system}:{notice.record_id}:{seen}",
                kind="drift",
                entity=EntityType.ACCOUNT,
                subject=xref.target,
                reason=f"{reason}; the {xref.source.system} account {xref.source.id} is the record",
                opened_at=self._clock(),
            ),
        )
        self._metrics.count(BusinessMetric.DRIFT_DETECTED)
        return _on_target(notice, target, xref.source, SyncAction.DRIFT, detail=reason)


# Canonical fields whose values differ between systems, and the mapping table that translates them.
_FIELD_TABLES = {"payment_terms": "payment_terms"}
# field -> (the system that owns it, its value there as last synced)
HeldApart = dict[str, tuple[SystemName, str | None]]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _on_target(
    notice: ChangeNotice, target: AccountTarget, source: SourceRef, action: SyncAction, detail: str = ""
) -> SyncResult:
    """What a target's own notice about one of its records came to."""
    return SyncResult(
        notice_id=notice.event_id,
        source=source,
        target_system=target.system,
        action=action,
        target_id=notice.record_id,
        detail=detail,
    )


def _create_key(account: Account) -> str:
    """Stable for the life of the account: any retry of its creation is the same request."""
    return f"c2c-{account.source.system}-{account.source.id}"


def _update_key(account: Account, checksum: str) -> str:
    """Stable for one content; connectors add the target's version so A->B->A is not swallowed."""
    digest = hashlib.sha256(f"{account.source.id}:{checksum}".encode()).hexdigest()[:20]
    return f"c2c-u-{digest}"
