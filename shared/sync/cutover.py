"""A legal entity's cutover from one accounting system to another: the shadow diff, then the go-ahead.

The policy:
- The landscape names the cutover (`[[routing]]` with a later `from_date`, `shadow_from` before it).
  Postings dated in the shadow period go to the old system as before; the diff computes, for each of
  them, what the new system would receive (the delivery flow's own planner, routed to the new
  system; nothing is written there) and compares it with what the old system holds, read back from
  it, document by document (`shared.domain.cutover`). Each invoice of the shadow period is composed
  again for the new system and compared with the old system's total (`shared.sync.cutover_invoices`).
- A line is settled by fixing its cause (a mapping row, an employee in the new system) and running
  the diff again, or by a person acknowledging it with a note. `confirm` lets the cutover go ahead
  only over a clear diff; until then, work dated from the cutover on is parked (never posted to a
  ledger nobody signed off). Confirming first gives each live engagement its record in the new
  system (`shared.sync.cutover_setup`), then records the go-ahead and releases the parked work.
  Engagement setup writes nothing to the new system before the go-ahead either (it sets a deal up
  in the old one); `confirm` run again sets up those activated since.
- Open AR stays where it was invoiced: a payment follows its invoice's system (cash feedback reads
  the invoice's record), whatever the routing says for the payment's date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from shared.domain.cutover import (
    Acknowledgement,
    Confirmation,
    CutoverBook,
    CutoverDiff,
    CutoverLine,
    Figures,
    compare,
)
from shared.domain.delivery_ports import (
    BookedEngagement,
    DeliverySource,
    PostingStore,
    PostingTarget,
    WorkRecord,
)
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.errors import ValidationFailed
from shared.domain.models import SystemName, utcnow
from shared.domain.postings import DeliveredWork, Posting, WorkKind
from shared.governance.routing import Cutover, Routing
from shared.sync.cutover_invoices import ShadowInvoices
from shared.sync.cutover_setup import CutoverSetup
from shared.sync.delivery.sync import FETCH_CHUNK, DeliverySync

# Engagements whose work the diff looks at: live ones, and closed ones (their work was posted too).
_HELD_STATUSES = (EngagementStatus.ACTIVE, EngagementStatus.CLOSED)


class CutoverRequestInvalid(ValidationFailed):
    """A cutover request that cannot be carried out as asked (no cutover, a line not in the diff, ...)."""


class CutoverNotClear(ValidationFailed):
    """The diff still has lines nobody acknowledged: the cutover does not go ahead."""

    def __init__(self, diff: CutoverDiff) -> None:
        self.diff = diff
        open_lines = diff.open_lines
        super().__init__(
            f"the cutover of {diff.legal_entity} to {diff.new} has {len(open_lines)} open line"
            f"{'s' if len(open_lines) != 1 else ''}: fix their causes or acknowledge each "
            f"(first: {open_lines[0].id})"
        )


class Cutovers:
    """`close2cash cutover diff | acknowledge | confirm` for one deployment."""

    def __init__(
        self,
        *,
        routing: Routing,
        delivery: DeliverySync,
        source: Callable[[], DeliverySource],
        target: Callable[[SystemName], PostingTarget],
        store: PostingStore,
        book: CutoverBook,
        setup: CutoverSetup | None = None,
        invoices: ShadowInvoices | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._routing = routing
        self._delivery = delivery
        self._source = source
        self._target = target
        self._store = store
        self._book = book
        self._setup = setup
        self._invoices = invoices
        self._clock = clock

    def cutover(self, legal_entity: str) -> Cutover:
        """The entity's next cutover not yet confirmed (else its latest one)."""
        cutovers = self._routing.cutovers(legal_entity)
        if not cutovers:
            raise CutoverRequestInvalid(
                f"legal entity {legal_entity!r} has no cutover: its [[routing]] names one system; add a "
                "route with the new system's from_date (and shadow_from) to plan one"
            )
        pending = [c for c in cutovers if self._book.confirmation(c.legal_entity, c.new) is None]
        return pending[0] if pending else cutovers[-1]

    def diff(self, legal_entity: str) -> CutoverDiff:
        """The shadow period compared document by document, with the acknowledgements made so far."""
        cutover = self.cutover(legal_entity)
        diff = CutoverDiff(
            legal_entity=legal_entity,
            old=cutover.old,
            new=cutover.new,
            cutover_on=cutover.on,
            shadow_from=cutover.shadow_from,
            documents=0,
            confirmed=self._book.confirmation(legal_entity, cutover.new),
        )
        if cutover.shadow_from is None:
            return diff  # no shadow period: nothing was computed for the new system
        engagements = [
            booked
            for status in _HELD_STATUSES
            for booked in self._store.engagements(status)
            if booked.legal_entity == legal_entity
        ]
        lines: list[CutoverLine] = []
        documents = 0
        for booked in engagements:
            found, compared = self._engagement(cutover, booked)
            lines += found
            documents += compared
        nods = self._book.acknowledgements(legal_entity, cutover.new)
        lines = [line.model_copy(update={"acknowledged": nods.get(line.id)}) for line in lines]
        to_set_up = sorted(
            b.name
            for b in engagements
            if b.status is EngagementStatus.ACTIVE and cutover.new not in b.accounting
        )
        return diff.model_copy(update={"documents": documents, "lines": lines, "to_set_up": to_set_up})

    def acknowledge(self, legal_entity: str, line_id: str, *, by: str, note: str) -> CutoverLine:
        """Accept one line of the current diff as it is (refused for a line the diff does not have)."""
        diff = self.diff(legal_entity)
        line = next((line for line in diff.lines if line.id == line_id), None)
        if line is None:
            raise CutoverRequestInvalid(
                f"the diff of {legal_entity}'s cutover to {diff.new} has no line {line_id!r} "
                "(run `close2cash cutover diff` for the current ones)"
            )
        nod = Acknowledgement(by=by, at=self._clock(), note=note)
        self._book.acknowledge(legal_entity, diff.new, line_id, nod)
        return line.model_copy(update={"acknowledged": nod})

    def confirm(self, legal_entity: str, *, by: str) -> CutoverDiff:
        """Let the cutover go ahead (only over a clear diff); parked work dated from it then posts.
        Run again after the go-ahead, it sets up the live engagements still missing in the new system."""
        diff = self.diff(legal_entity)
        if diff.confirmed is not None:
            # Confirmed before: an engagement activated since (its setup was begun before the
            # go-ahead, in the old ledger) gets its record in the new one now; its parked work posts.
            self._set_up_engagements(legal_entity, diff.new)
            self._delivery.release()
            return diff
        if not diff.clear:
            raise CutoverNotClear(diff)
        self._set_up_engagements(legal_entity, diff.new)
        confirmation = Confirmation(
            by=by, at=self._clock(), documents=diff.documents, acknowledged=len(diff.lines)
        )
        self._book.confirm(legal_entity, diff.new, confirmation)
        self._delivery.release()
        return diff.model_copy(update={"confirmed": confirmation})

    def _set_up_engagements(self, legal_entity: str, new: SystemName) -> None:
        """Every live engagement of the entity gets its record in the new system before the go-ahead:
        a failure names the engagement and confirms nothing (those set up stay, found next time)."""
        for booked in self._store.engagements(EngagementStatus.ACTIVE):
            if booked.legal_entity != legal_entity or new in booked.accounting:
                continue
            if self._setup is None:
                raise CutoverRequestInvalid(f"engagement {booked.name} has no record in {new} to post to")
            try:
                self._setup.set_up(booked, new)
            except ValidationFailed as missing:
                raise CutoverRequestInvalid(
                    f"the cutover of {legal_entity} to {new} is not confirmed: {missing}"
                ) from missing

    # --- one engagement's documents -----------------------------------------------------------------

    def _engagement(self, cutover: Cutover, booked: BookedEngagement) -> tuple[list[CutoverLine], int]:
        """(lines, documents compared) of one engagement: its entries of the shadow period, then its
        invoices (whose month may begin before the shadow period: their works are read from then)."""
        assert cutover.shadow_from is not None
        since = cutover.shadow_from.replace(day=1) if self._invoices is not None else cutover.shadow_from
        records = [
            record
            for record in self._store.engagement_works(booked.psa.system, booked.psa.id, since=since)
            if record.worked_on < cutover.on
        ]
        shadow: dict[str, Posting | str] = {}
        lines: list[CutoverLine] = []
        documents = 0
        for kind in WorkKind:
            of_kind = [record for record in records if record.kind is kind]
            if not of_kind:
                continue
            works = self._read(kind, [record.source.id for record in of_kind])
            by_key = {record.key: record for record in of_kind}
            shadow |= {
                key: posting
                for key, posting in self._delivery.expected(
                    list(works.values()), by_key, shadow_of=cutover.new
                ).items()
                if works[by_key[key].source.id].postable  # what is not postable, nobody would post
            }
            in_shadow = [record for record in of_kind if record.worked_on >= cutover.shadow_from]
            found, compared = self._documents(cutover, booked, kind, in_shadow, shadow)
            lines += found
            documents += compared
        if self._invoices is not None:
            found, compared = self._invoices.compared(cutover, booked, records, shadow)
            lines += found
            documents += compared
        return lines, documents

    def _documents(
        self,
        cutover: Cutover,
        booked: BookedEngagement,
        kind: WorkKind,
        records: Sequence[WorkRecord],
        shadow: Mapping[str, Posting | str],
    ) -> tuple[list[CutoverLine], int]:
        """(lines, documents compared) of one engagement's entries of one kind."""
        posted = [
            r.record.id
            for r in records
            if r.record is not None and r.posted is not None and r.posted.target == cutover.old
        ]
        held = self._target(cutover.old).held_postings(kind, posted) if posted else {}
        lines: list[CutoverLine] = []
        compared = 0
        for record in records:
            old = None
            if record.record is not None and record.record.id in held:
                old = Figures.of_held(kind, held[record.record.id].fields, currency=booked.currency)
            new = shadow.get(record.key)
            if old is None and new is None:
                continue  # neither system holds it (unapproved, removed): not a document
            compared += 1
            where = f" ({cutover.old} {record.record.id})" if record.record is not None else ""
            day = record.worked_on.isoformat()
            document = f"{kind.value} entry {record.source.id} of {day}{where}, {booked.name}"
            lines += compare(f"{cutover.legal_entity}:{kind.value}:{record.source.id}", document, old, new)
        return lines, compared

    def _read(self, kind: WorkKind, ids: Sequence[str]) -> dict[str, DeliveredWork]:
        """The entries as the PSA holds them now (pages of its largest size)."""
        found: dict[str, DeliveredWork] = {}
        for start in range(0, len(ids), FETCH_CHUNK):
            read = self._source().read_work(kind, ids[start : start + FETCH_CHUNK])
            found.update((work.source.id, work) for work in read.works)
        return found
