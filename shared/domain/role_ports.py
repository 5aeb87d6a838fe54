"""The ports a connector implements: what the hub's flows call on a system of each role and intake.

A connector class lists what it implements in `implements`; `required_ports` says what its row of
`shared/domain/systems.py` obliges it to (its role's ports for each domain it holds, its intakes'
and its change feed's), and
tests/connectors/test_ports.py proves, connector by connector, that the lists agree and that every
port is really there (the protocols are runtime-checkable).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.domain.account_ports import AccountSource, AccountTarget
from shared.domain.billing_ports import HealthTarget, InvoiceMirror, InvoiceTarget, MilestoneSource
from shared.domain.capacity_ports import CapacitySource
from shared.domain.delivery_ports import DeliverySource, PostingTarget
from shared.domain.engagement_ports import EngagementTarget, OpportunitySource
from shared.domain.intake_ports import ChangedRecordsFeed, ChangeEventReceiver, WebhookReceiver
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus
from shared.domain.sweeps import ChangeFeed
from shared.domain.systems import Domain, Intake, Role, System

# What the flows ask of a system of each role, per domain it holds (DESIGN.md §1). Each census
# feeds the reconciliation. A system holds what its connector covers today (`System.holds`).
DOMAIN_PORTS: Mapping[Role, Mapping[Domain, tuple[type, ...]]] = {
    # The system of record for customers and deals; it shows setup's outcome and a deal's health.
    Role.CRM: {
        Domain.CUSTOMER: (AccountSource, CustomerCensus),
        Domain.OPPORTUNITY: (OpportunitySource, HealthTarget, EngagementCensus),
    },
    # Holds a copy of each customer and the engagement; the system of record for time, expenses and
    # milestones, and for its workers' capacity and cost rates (the hours behind utilization and margin);
    # mirrors invoices and their payments.
    Role.PSA: {
        Domain.CUSTOMER: (AccountTarget, CustomerCensus),
        Domain.ENGAGEMENT: (EngagementTarget, MilestoneSource, EngagementCensus),
        Domain.TIME: (DeliverySource, WorkCensus, CapacitySource),
        Domain.EXPENSE: (DeliverySource, WorkCensus),
        Domain.INVOICE: (InvoiceMirror, InvoiceCensus),
    },
    # Holds a copy of each customer and the financial project; takes approved work; issues invoices
    # and holds their payments and credits.
    Role.ACCOUNTING: {
        Domain.CUSTOMER: (AccountTarget, CustomerCensus),
        Domain.ENGAGEMENT: (EngagementTarget, EngagementCensus),
        Domain.TIME: (PostingTarget, WorkCensus),
        Domain.EXPENSE: (PostingTarget, WorkCensus),
        Domain.INVOICE: (InvoiceTarget, InvoiceCensus),
        Domain.PAYMENT: (InvoiceTarget, InvoiceCensus),
        Domain.CREDIT_MEMO: (InvoiceTarget, InvoiceCensus),
    },
}

# What each way of delivering changes needs on the connector.
INTAKE_PORTS: Mapping[Intake, tuple[type, ...]] = {
    Intake.WEBHOOKS: (WebhookReceiver,),
    Intake.OUTBOUND_MESSAGES: (WebhookReceiver,),
    # Change events off the partner bus, and the ids changed since an instant when a gap is reported.
    Intake.CHANGE_DATA_CAPTURE: (ChangeEventReceiver, ChangedRecordsFeed),
    Intake.SWEEP: (ChangeFeed,),
}


def required_ports(system: System) -> tuple[type, ...]:
    """Every port `system`'s connector must implement, each once, in a stable order."""
    needed = [port for domain in sorted(system.holds) for port in DOMAIN_PORTS[system.role].get(domain, ())]
    for intake in system.intakes:
        needed += INTAKE_PORTS[intake]
    if system.feed is not None:
        needed.append(ChangeFeed)
    return tuple(dict.fromkeys(needed))
