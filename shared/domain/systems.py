"""The one table of connected systems: what each vendor is, how its changes reach the hub, what it holds.

Every list that names vendors derives from `SYSTEMS`: the landscape's role and intake checks, the
webhook route's providers, the catch-up sweeps, the connectors that share rotated tokens, the local
environment's sandboxes and the CLI's choices. `SystemName` is the table's key column (an enum, so
that a typo is a type error); the table must have one row per member, checked when this loads.

Adding a vendor: a member of `SystemName`, one row here, a connector package
`shared/connectors/<name>/` and a sandbox `infra/local/sandboxes/<name>/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from shared.domain.models import SystemName


class Role(StrEnum):
    """What a connected system does for the firm."""

    CRM = "crm"
    PSA = "psa"
    ACCOUNTING = "accounting"


class Domain(StrEnum):
    """The business domains whose records have one owning system each."""

    CUSTOMER = "customer"
    CONTACT = "contact"
    OPPORTUNITY = "opportunity"
    ENGAGEMENT = "engagement"
    TIME = "time"
    EXPENSE = "expense"
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_MEMO = "credit_memo"


class Intake(StrEnum):
    """How a system's changes reach the hub (`[[systems]] intake`)."""

    WEBHOOKS = "webhooks"  # the vendor calls POST /webhooks/{provider}
    OUTBOUND_MESSAGES = "outbound_messages"  # Salesforce Outbound Messages (SOAP) to the webhook route
    # Salesforce Change Data Capture relayed to an EventBridge partner bus (Event Relay)
    CHANGE_DATA_CAPTURE = "change_data_capture"
    SWEEP = "sweep"  # no pushes: the hub reads what changed since its cursor, on a schedule

    @property
    def webhook_route(self) -> bool:
        """Changes arrive as requests to `POST /webhooks/{provider}`."""
        return self in (Intake.WEBHOOKS, Intake.OUTBOUND_MESSAGES)


@dataclass(frozen=True)
class SweepFeed:
    """A vendor's change feed the customer-master sweep reads, and how far back the vendor keeps it."""

    reads: str
    max_look_back: timedelta
    doc: str


@dataclass(frozen=True)
class System:
    """One vendor close2cash speaks to: one connector package and one local sandbox."""

    name: SystemName
    role: Role
    # The intakes the vendor offers; the first is its default.
    intakes: tuple[Intake, ...]
    # The domains whose records close2cash keeps in it (as their owner or as a copy): what its
    # connector covers, and so the ports it must implement (shared/domain/role_ports.py). A connector
    # being built holds fewer than its role; a system without one lists what its role's would hold.
    holds: frozenset[Domain]
    # Its connector reads and writes shared OAuth tokens (Secrets Manager): tokens that rotate on
    # refresh, or an access token every container may reuse until it expires.
    shares_tokens: bool = False
    # The change feed a catch-up sweep reads (None: not swept; a lost notice waits for reconciliation).
    feed: SweepFeed | None = None
    # A connector and a sandbox exist in this repository (the others are declared so a landscape
    # naming them is read, and refused at connection time with a clear error).
    built: bool = False

    @property
    def default_intake(self) -> Intake:
        return self.intakes[0]

    @property
    def webhooks(self) -> bool:
        """One of its intakes delivers to the webhook route."""
        return any(intake.webhook_route for intake in self.intakes)


_CRM = frozenset({Domain.CUSTOMER, Domain.CONTACT, Domain.OPPORTUNITY})
_PSA = frozenset({Domain.CUSTOMER, Domain.ENGAGEMENT, Domain.TIME, Domain.EXPENSE, Domain.INVOICE})
_LEDGER = frozenset(
    {
        Domain.CUSTOMER,
        Domain.ENGAGEMENT,
        Domain.TIME,
        Domain.EXPENSE,
        Domain.INVOICE,
        Domain.PAYMENT,
        Domain.CREDIT_MEMO,
    }
)

_ROWS = (
    System(
        SystemName.SALESFORCE,
        Role.CRM,
        (Intake.OUTBOUND_MESSAGES, Intake.CHANGE_DATA_CAPTURE),
        _CRM,
        # queryAll on SystemModstamp: edits and deletes in one call. Deleted records stay in the
        # recycle bin (and so in queryAll) for 15 days.
        feed=SweepFeed(
            reads="queryAll: Account WHERE SystemModstamp in the window (IsDeleted included)",
            max_look_back=timedelta(days=15),
            doc="https://developer.salesforce.com/docs/platform/api-rest/guide/dome-queryall.html",
        ),
        built=True,
    ),
    System(SystemName.HUBSPOT, Role.CRM, (Intake.WEBHOOKS,), _CRM),
    # Kantata OX has no webhooks: its changes are polled.
    System(SystemName.KANTATA, Role.PSA, (Intake.SWEEP,), _PSA),
    System(SystemName.PRODUCTIVE, Role.PSA, (Intake.WEBHOOKS,), _PSA, built=True),
    # NetSuite sends no signed webhooks: changes are read by a SuiteQL sweep on lastModifiedDate.
    # Its connector holds the customer master and the deals' projects so far (postings, invoices to come).
    System(
        SystemName.NETSUITE,
        Role.ACCOUNTING,
        (Intake.SWEEP,),
        _LEDGER,  # every domain of a ledger: customers, projects, time, expenses, invoices, cash
        shares_tokens=True,  # one M2M access token, reused by every container until it expires
        # lastModifiedDate is a field of the record, not a feed that forgets: any window can be read.
        # The bound keeps one catch-up after a long outage to a quarter's changes.
        feed=SweepFeed(
            reads="SuiteQL: customer WHERE lastModifiedDate in the window, ORDER BY lastModifiedDate, id",
            max_look_back=timedelta(days=90),
            doc="https://docs.oracle.com/en/cloud/saas/netsuite/ns-online-help/section_157909186990.html",
        ),
        built=True,
    ),
    System(
        SystemName.QUICKBOOKS,
        Role.ACCOUNTING,
        (Intake.WEBHOOKS,),
        _LEDGER,
        shares_tokens=True,  # refresh tokens rotate
        # ChangeDataCapture for Customer: 30 days back, at most 1,000 objects an answer.
        feed=SweepFeed(
            reads="ChangeDataCapture: entities=Customer, changedSince the window's start",
            max_look_back=timedelta(days=30),
            doc="https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture",
        ),
        built=True,
    ),
    System(SystemName.XERO, Role.ACCOUNTING, (Intake.WEBHOOKS,), _LEDGER),
    System(SystemName.BUSINESSCENTRAL, Role.ACCOUNTING, (Intake.WEBHOOKS,), _LEDGER),
)

SYSTEMS: Mapping[SystemName, System] = {row.name: row for row in _ROWS}

if len(SYSTEMS) != len(_ROWS) or set(SYSTEMS) != set(SystemName):  # pragma: no cover - a load error
    raise RuntimeError("shared/domain/systems.py: the table needs exactly one row per SystemName")


def system(name: SystemName) -> System:
    """The table's row for `name`."""
    return SYSTEMS[name]


def with_role(role: Role) -> tuple[SystemName, ...]:
    """Every system of `role`, in the table's order."""
    return tuple(row.name for row in _ROWS if row.role is role)


# Every provider the webhook route knows: an unknown one is 404; a known one the landscape does not
# connect, or whose changes come another way (a sweep, an event bus), gets a 4xx that says so.
WEBHOOK_PROVIDERS = frozenset(row.name.value for row in _ROWS)
