"""In-memory fakes of the engagement setup ports (CRM opportunities, engagement targets, approvals, SNS),
and a landscape with two ledgers for the routing of engagements."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shared.domain.commercial import Opportunity, OpportunityLine, OpportunityStatus, RateCard
from shared.domain.engagement_ports import (
    ApprovalRequest,
    ApprovalState,
    Decision,
    EngagementRecord,
    EngagementStatus,
    SetupOutcome,
)
from shared.domain.engagements import Engagement
from shared.domain.errors import NotFoundError, TransientError, ValidationFailed
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.sync.engagements.state import Step

# The workflow's task steps up to the approval checkpoint, and after it (the ASL's order).
BEFORE_APPROVAL = (
    Step.VALIDATE_CUSTOMER,
    Step.UPSERT_CUSTOMER,
    Step.ASSIGN_DIMENSIONS,
    Step.GENERATE_SHELL,
    Step.APPLY_RATE_CARD,
    Step.REQUEST_APPROVAL,
)
AFTER_APPROVAL = (Step.ACTIVATE, Step.NOTIFY, Step.WRITE_BACK)


class FakeOpportunities:
    """The CRM's opportunities, and what setup wrote back to each."""

    system = SystemName.SALESFORCE

    def __init__(self) -> None:
        self.opportunities: dict[str, Opportunity] = {}
        self.written: dict[str, list[SetupOutcome]] = {}
        self.fetches = 0

    def put(
        self,
        opportunity_id: str,
        account_id: str,
        *,
        service_line: str = "Advisory",
        currency: str = "USD",
        amount: str = "120000.00",
        status: OpportunityStatus = OpportunityStatus.WON,
        version: str = "2025-03-01T10:00:00.000Z",
        lines: tuple[tuple[str, str, str], ...] = (("Consultant", "100", "180.00"),),
        stage_changed_at: datetime | None = None,
        department: str | None = None,
        location: str | None = None,
        cost_center: str | None = None,
        close_date: date = date(2025, 3, 1),
    ) -> Opportunity:
        opportunity = Opportunity(
            source=SourceRef(
                system=SystemName.SALESFORCE, type="Opportunity", id=opportunity_id, version=version
            ),
            account=SourceRef(system=SystemName.SALESFORCE, type="Account", id=account_id),
            name=f"Deal {opportunity_id}",
            stage="Closed Won" if status is OpportunityStatus.WON else "Negotiation",
            status=status,
            close_date=close_date,
            stage_changed_at=stage_changed_at,
            amount=Money(amount=Decimal(amount), currency=currency),
            service_line=service_line,
            department=department,
            location=location,
            cost_center=cost_center,
            lines=tuple(
                OpportunityLine(
                    role=role, quantity=Decimal(q), rate=Money(amount=Decimal(r), currency=currency)
                )
                for role, q, r in lines
            ),
        )
        self.opportunities[opportunity_id] = opportunity
        return opportunity

    def fetch_opportunity(self, opportunity_id: str) -> Opportunity:
        self.fetches += 1
        if opportunity_id not in self.opportunities:
            raise NotFoundError(f"no opportunity {opportunity_id}")
        return self.opportunities[opportunity_id]

    def write_back(self, opportunity_id: str, outcome: SetupOutcome) -> datetime | None:
        self.written.setdefault(opportunity_id, []).append(outcome)
        return None

    def last_status(self, opportunity_id: str) -> str | None:
        written = self.written.get(opportunity_id)
        return written[-1].status if written else None


class FakeEngagementTarget:
    """A PSA or accounting system holding engagements; `fail_next` injects vendor failures."""

    def __init__(self, system: SystemName) -> None:
        self.system = system
        self.records: dict[str, EngagementRecord] = {}
        self.by_opportunity: dict[str, str] = {}
        self.engagements: dict[str, Engagement] = {}
        self.rate_cards: dict[str, RateCard] = {}
        self.customers: dict[str, str] = {}
        self.closed_reasons: dict[str, str] = {}
        self.reopened: list[str] = []
        self.finished: list[str] = []
        self.fail_next: dict[str, list[Exception]] = {}
        self._ids = itertools.count(1)

    def _maybe_fail(self, operation: str) -> None:
        queued = self.fail_next.get(operation)
        if queued:
            raise queued.pop(0)

    def find_engagement(
        self, opportunity: SourceRef, *, customer_id: str | None = None
    ) -> EngagementRecord | None:
        record_id = self.by_opportunity.get(opportunity.id)
        return self.records[record_id] if record_id else None

    def create_engagement(
        self, engagement: Engagement, *, customer_id: str, idempotency_key: str, searched: bool = False
    ) -> EngagementRecord:
        self._maybe_fail("create")
        assert engagement.opportunity is not None
        if engagement.opportunity.id in self.by_opportunity:
            # As the connectors do: an earlier attempt's record is found by its stamp and returned.
            self.finished.append(self.by_opportunity[engagement.opportunity.id])
            return self.records[self.by_opportunity[engagement.opportunity.id]]
        record_id = f"{self.system.value}-{next(self._ids)}"
        record = EngagementRecord(
            ref=SourceRef(system=self.system, type="project", id=record_id),
            status=EngagementStatus.DRAFT,
            name=engagement.name,
        )
        self.records[record_id] = record
        self.engagements[record_id] = engagement
        self.customers[record_id] = customer_id
        assert engagement.opportunity is not None
        self.by_opportunity[engagement.opportunity.id] = record_id
        return record

    def apply_rate_card(self, record_id: str, rate_card: RateCard) -> None:
        self._maybe_fail("rate_card")
        self.rate_cards[record_id] = rate_card

    def _set(self, record_id: str, status: EngagementStatus) -> EngagementRecord:
        record = self.records[record_id].model_copy(update={"status": status})
        self.records[record_id] = record
        return record

    def activate_engagement(self, record_id: str) -> EngagementRecord:
        self._maybe_fail("activate")
        if self.records[record_id].status is EngagementStatus.CLOSED:
            raise ValidationFailed(f"{self.system} engagement {record_id} was closed; it cannot be activated")
        return self._set(record_id, EngagementStatus.ACTIVE)

    def reopen_engagement(self, record_id: str, engagement: Engagement) -> EngagementRecord:
        self._maybe_fail("reopen")
        if self.records[record_id].status is not EngagementStatus.CLOSED:
            return self.records[record_id]
        self.reopened.append(record_id)
        self.engagements[record_id] = engagement
        return self._set(record_id, EngagementStatus.DRAFT)

    def close_engagement(self, record_id: str, *, reason: str) -> EngagementRecord:
        self.closed_reasons[record_id] = reason
        return self._set(record_id, EngagementStatus.CLOSED)

    def statuses(self) -> list[EngagementStatus]:
        return [r.status for r in self.records.values()]


class InMemoryApprovals:
    """The ApprovalStore port in memory, with the adapter's conditional writes (tests/aws proves those)."""

    def __init__(self) -> None:
        self.requests: dict[str, ApprovalRequest] = {}
        self.deliver_until: dict[str, datetime] = {}

    def put(self, request: ApprovalRequest) -> None:
        self.requests[request.id] = request

    def get(self, approval_id: str) -> ApprovalRequest | None:
        return self.requests.get(approval_id)

    def pending(self) -> list[ApprovalRequest]:
        return [r for r in self.requests.values() if r.state is ApprovalState.PENDING]

    def undelivered(self) -> list[ApprovalRequest]:
        return [
            r
            for r in self.requests.values()
            if r.state in (ApprovalState.APPROVED, ApprovalState.REJECTED) and r.delivered_at is None
        ]

    def decide(self, approval_id: str, decision: Decision) -> bool:
        request = self.requests.get(approval_id)
        if request is None or request.state is not ApprovalState.PENDING:
            return False
        self.requests[approval_id] = request.model_copy(
            update={
                "state": decision.state,
                "decided_by": decision.by,
                "decided_at": decision.at,
                "reason": decision.reason,
            }
        )
        self.deliver_until[approval_id] = decision.deliver_until
        return True

    def claim_delivery(self, approval_id: str, *, now: datetime, until: datetime) -> bool:
        if approval_id not in self.undelivered_ids() or self.deliver_until.get(approval_id, now) > now:
            return False
        self.deliver_until[approval_id] = until
        return True

    def undelivered_ids(self) -> set[str]:
        return {r.id for r in self.undelivered()}

    def release_delivery(self, approval_id: str) -> None:
        self.deliver_until.pop(approval_id, None)

    def delivered(self, approval_id: str, *, at: datetime) -> None:
        self.requests[approval_id] = self.requests[approval_id].model_copy(update={"delivered_at": at})

    def time_out(self, approval_id: str) -> bool:
        if approval_id not in self.requests:
            return False
        self.requests[approval_id] = self.requests[approval_id].model_copy(
            update={"state": ApprovalState.TIMED_OUT}
        )
        return True

    def reminded(self, approval_id: str, *, at: datetime) -> None:
        if self.requests[approval_id].state is ApprovalState.PENDING:
            self.requests[approval_id] = self.requests[approval_id].model_copy(update={"reminded_at": at})


class FakeNotifier:
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, dict[str, str]]] = []

    def notify(self, subject: str, message: str, *, attributes: Mapping[str, str] | None = None) -> None:
        self.messages.append((subject, message, dict(attributes or {})))

    def kinds(self) -> list[str]:
        return [a.get("kind", "") for _, _, a in self.messages]


class FakeEvents:
    """The bus: every event published, and each publish call's events (PutEvents batches)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.calls: list[list[Any]] = []

    def publish_events(self, events: list[Any]) -> None:
        self.calls.append(list(events))
        self.events.extend(events)


class FakeCallback:
    """Records task-token answers (the unit tests play the workflow's part)."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, Any]] = []
        self.gone: set[str] = set()  # tokens nothing waits for any more (the wait timed out)

    def _check(self, token: str) -> None:
        if token in self.gone:
            raise NotFoundError(f"Invalid Token: {token}")

    def succeed(self, token: str, output: Mapping[str, Any]) -> None:
        self._check(token)
        self.answers.append(("success", token, dict(output)))

    def fail(self, token: str, *, error: str, cause: str) -> None:
        self._check(token)
        self.answers.append(("failure", token, {"Error": error, "Cause": cause}))


class FakeStarter:
    """Step Functions StartExecution: a name already used is refused (ExecutionAlreadyExists)."""

    def __init__(self) -> None:
        self.started: dict[str, Mapping[str, Any]] = {}

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = payload
        return True


def flaky(times: int, message: str = "503 from the vendor") -> list[Exception]:
    """`times` transient failures, for FakeEngagementTarget.fail_next."""
    return [TransientError(message) for _ in range(times)]


CUTOVER = date(2025, 3, 1)
# A landscape with two ledgers: US01 books in QuickBooks until CUTOVER, in NetSuite from that day on.
COEXISTENCE = """
[landscape]
name = "Coexistence (test)"
version = "1"

[[systems]]
name = "salesforce"
role = "crm"

[[systems]]
name = "productive"
role = "psa"

[[systems]]
name = "quickbooks"
role = "accounting"

[[systems]]
name = "netsuite"
role = "accounting"

[[legal_entities]]
code = "US01"
name = "Northwind Advisory Inc."
functional_currency = "USD"

[[routing]]
legal_entity = "US01"
system = "quickbooks"

[[routing]]
legal_entity = "US01"
system = "netsuite"
from_date = 2025-03-01

[ownership]
contact = { owner = "salesforce" }
opportunity = { owner = "salesforce" }
engagement = { owner = "productive" }
time = { owner = "productive" }
expense = { owner = "productive" }
invoice = { owner = "quickbooks" }
payment = { owner = "quickbooks" }
credit_memo = { owner = "quickbooks" }

[ownership.customer]
owner = "salesforce"

[mappings]
classes = [
  { source = "Advisory", target = "QB-ADV", source_system = "salesforce", target_system = "quickbooks" },
  { source = "Advisory", target = "NS-ADV", source_system = "salesforce", target_system = "netsuite" },
]
[[mappings.rate_cards]]
source = "Standard 2025 USD"
target = "rc-1"
source_system = "salesforce"
target_system = "productive"

[[mappings.project_templates]]
source = "Advisory"
target = "900301"
source_system = "salesforce"
target_system = "productive"
rate_card = "Standard 2025 USD"

[[rate_card]]
name = "Standard 2025 USD"
currency = "USD"
effective_from = 2025-01-01
rates = { "Consultant" = "180.00" }
"""
