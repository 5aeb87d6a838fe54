"""The business metrics the hub emits (Powertools EMF, namespace `close2cash`): one table.

Every emitter names a `BusinessMetric` member (the `Metrics` port takes nothing else), and the
CloudWatch dashboard draws one widget per member, so a metric cannot be emitted without being shown.
Each member carries the unit it is emitted in and the statistic that answers "how is it going" for it
on the dashboard: Sum for counts, p90 for durations, Maximum or Average for gauges.
DESIGN.md §5 names the ones a finance lead asks for first (billing cycle time, sync latency, failed
transactions, duplicates prevented / created, exceptions opened / resolved and resolution time,
project setup turnaround, invoice rejections, reconciliation backlog).
"""

from __future__ import annotations

from enum import StrEnum


class MetricUnit(StrEnum):
    """The unit a metric is emitted in (CloudWatch unit names)."""

    COUNT = "Count"
    SECONDS = "Seconds"
    NONE = "None"  # a figure of its own: an amount of money, a number of days


class Statistic(StrEnum):
    """How the dashboard aggregates a metric over a period (CloudWatch statistic names)."""

    SUM = "Sum"
    AVERAGE = "Average"
    P90 = "p90"
    MAXIMUM = "Maximum"


class BusinessMetric(StrEnum):
    """A business metric: its CloudWatch name (the value), its unit and its dashboard statistic."""

    unit: MetricUnit
    statistic: Statistic

    def __new__(
        cls, name: str, unit: MetricUnit = MetricUnit.COUNT, statistic: Statistic = Statistic.SUM
    ) -> BusinessMetric:
        member = str.__new__(cls, name)
        member._value_ = name
        member.unit = unit
        member.statistic = statistic
        return member

    # --- notices in (webhooks, change streams, sweeps) -------------------------------------------
    NOTICES_RECEIVED = "NoticesReceived"
    NOTICES_DROPPED = "NoticesDropped"
    NOTICES_IN_FLIGHT = "NoticesInFlight"
    NOTICES_SWEPT = "NoticesSwept"
    SWEEP_CAPPED = "SweepCapped"
    WEBHOOK_REJECTED = "WebhookRejected"
    CHANGE_EVENTS_REJECTED = "ChangeEventsRejected"
    CHANGE_STREAM_SWEEPS = "ChangeStreamSweeps"
    # --- writes, duplicates, echoes, failures ------------------------------------------------------
    RECORDS_SYNCED = "RecordsSynced"
    SYNC_LATENCY = "SyncLatency", MetricUnit.SECONDS, Statistic.P90
    DUPLICATES_PREVENTED = "DuplicatesPrevented"
    # Found by reconciliation: duplicates standing in a system when the run looked (made by hand).
    DUPLICATES_CREATED = "DuplicatesCreated", MetricUnit.COUNT, Statistic.MAXIMUM
    ECHOES_SUPPRESSED = "EchoesSuppressed"
    FAILED_TRANSACTIONS = "FailedTransactions"
    # --- customer master ---------------------------------------------------------------------------
    CUSTOMERS_LINKED = "CustomersLinked"
    AMBIGUOUS_MATCHES = "AmbiguousMatches"
    OWNER_CHANGES_ACCEPTED = "OwnerChangesAccepted"
    DRIFT_DETECTED = "DriftDetected"
    ACCOUNTS_DELETED = "AccountsDeleted"
    ACCOUNTS_MERGED = "AccountsMerged"
    COPIES_DEACTIVATED = "CopiesDeactivated"
    COPIES_REPOINTED = "CopiesRepointed"
    # --- engagement setup and workflows ------------------------------------------------------------
    PROJECT_SETUP_TURNAROUND = "ProjectSetupTurnaround", MetricUnit.SECONDS, Statistic.P90
    APPROVALS_PENDING = "ApprovalsPending", MetricUnit.COUNT, Statistic.MAXIMUM
    OPEN_DEALS_SKIPPED = "OpenDealsSkipped"
    WORKFLOW_FAILURES = "WorkflowFailures"
    # --- time and expenses posted ------------------------------------------------------------------
    POSTINGS_WRITTEN = "PostingsWritten"
    REPLAY_WRITES = "ReplayWrites"
    # --- exceptions and dead letters ---------------------------------------------------------------
    EXCEPTIONS_OPENED = "ExceptionsOpened"
    EXCEPTIONS_RESOLVED = "ExceptionsResolved"
    EXCEPTION_RESOLUTION_TIME = "ExceptionResolutionTime", MetricUnit.SECONDS, Statistic.P90
    MESSAGES_DEAD_LETTERED = "MessagesDeadLettered"
    # --- billing and cash --------------------------------------------------------------------------
    INVOICES_POSTED = "InvoicesPosted"
    INVOICE_REJECTIONS = "InvoiceRejections"
    BILLING_CYCLE_TIME = "BillingCycleTime", MetricUnit.SECONDS, Statistic.P90
    BILLING_CYCLE_TIME_FROM_APPROVAL = "BillingCycleTimeFromApproval", MetricUnit.SECONDS, Statistic.P90
    PAYMENTS_RECEIVED = "PaymentsReceived"
    PAYMENTS_PARKED = "PaymentsParked"
    CASH_COLLECTED = "CashCollected", MetricUnit.NONE, Statistic.SUM
    # Per customer, the customer an EMF property (a dimension would bill a metric per customer).
    DAYS_SALES_OUTSTANDING = "DaysSalesOutstanding", MetricUnit.NONE, Statistic.AVERAGE
    # --- analytics landing -------------------------------------------------------------------------
    EVENTS_LANDED = "EventsLanded"
    # Records the transform could not turn into rows: Firehose keeps them under landing-errors/.
    EVENTS_NOT_LANDED = "EventsNotLanded"
    # --- reconciliation ----------------------------------------------------------------------------
    RECONCILIATION_BREAKS = "ReconciliationBreaks"
    RECONCILIATION_BACKLOG = "ReconciliationBacklog", MetricUnit.COUNT, Statistic.MAXIMUM
    RECONCILIATION_BACKLOG_AGE = "ReconciliationBacklogAge", MetricUnit.SECONDS, Statistic.MAXIMUM
    # Over the customers updated in the period (per currency).
    RECONCILIATION_AT_STAKE = "ReconciliationAtStake", MetricUnit.NONE, Statistic.MAXIMUM
