"""The ports a connector implements: what the hub's flows call on a system of each role and intake.

A connector class lists what it implements in `implements`; `required_ports` says what its row of
`shared/domain/systems.py` obliges it to (its role's ports, its intakes' and its change feed's), and
tests/connectors/test_ports.py proves, connector by connector, that the lists agree and that every
port is really there (the protocols are runtime-checkable).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared.domain.billing_ports import HealthTarget, InvoiceMirror, InvoiceTarget, MilestoneSource
from shared.domain.delivery_ports import DeliverySource, PostingTarget
from shared.domain.ports import (
    AccountSource,
    AccountTarget,
    ChangedRecordsFeed,
    ChangeEventReceiver,
    EngagementTarget,
    OpportunitySource,
    WebhookReceiver,
)
from shared.domain.reconciliation_ports import CustomerCensus, EngagementCensus, InvoiceCensus, WorkCensus
from shared.domain.sweeps import ChangeFeed
from shared.domain.systems import Intake, Role, System

# What every flow asks of a system of each role (DESIGN.md §1). Each census feeds the reconciliation.
ROLE_PORTS: Mapping[Role, tuple[type, ...]] = {
    # The system of record for customers and deals; it shows setup's outcome and a deal's health.
    Role.CRM: (AccountSource, OpportunitySource, HealthTarget, CustomerCensus, EngagementCensus),
    # Holds a copy of each customer and the engagement; the system of record for time, expenses and
    # milestones; mirrors invoices and their payments.
    Role.PSA: (
        AccountTarget,
        EngagementTarget,
        DeliverySource,
        MilestoneSource,
        InvoiceMirror,
        CustomerCensus,
        EngagementCensus,
        WorkCensus,
        InvoiceCensus,
    ),
    # Holds a copy of each customer and the financial project; takes approved work; issues invoices
    # and holds their payments and credits.
    Role.ACCOUNTING: (
        AccountTarget,
        EngagementTarget,
        PostingTarget,
        InvoiceTarget,
        CustomerCensus,
        EngagementCensus,
        WorkCensus,
        InvoiceCensus,
    ),
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
    needed = [*ROLE_PORTS[system.role]]
    for intake in system.intakes:
        needed += INTAKE_PORTS[intake]
    if system.feed is not None:
        needed.append(ChangeFeed)
    return tuple(dict.fromkeys(needed))
