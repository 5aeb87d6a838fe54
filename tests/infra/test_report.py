"""The run report's parts: the money waterfall, the metrics read from CloudWatch, the page itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.local.emf import EmfForwarder, metric_data
from infra.report.gather import duplicates_created, open_exception
from infra.report.metrics import OPERATIONAL, CloudWatchMetrics
from infra.report.models import Flows, MetricFigure, Report
from infra.report.money import waterfalls
from infra.report.render import render
from shared.domain.billing_ports import InvoiceRecord
from shared.domain.billing_runs import BillingTerms, MilestoneTerm
from shared.domain.cash import Applied, InvoiceStanding
from shared.domain.delivery_ports import BookedEngagement, WorkRecord
from shared.domain.engagement_ports import EngagementStatus
from shared.domain.engagements import BillingModel
from shared.domain.models import SourceRef, SystemName
from shared.domain.money import Money
from shared.domain.postings import PostingState, WorkKind

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
PROJECT = SourceRef(system=SystemName.PRODUCTIVE, type="projects", id="77")


def usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def engagement(**changes: Any) -> BookedEngagement:
    fields: dict[str, Any] = {
        "psa": PROJECT,
        "opportunity": SourceRef(system=SystemName.SALESFORCE, type="Opportunity", id="006A"),
        "name": "Rollout",
        "legal_entity": "US01",
        "currency": "USD",
        "status": EngagementStatus.ACTIVE,
        "booked": usd("8000"),
        "updated_at": NOW,
    }
    return BookedEngagement(**(fields | changes))


def work(key: str, state: PostingState, amount: str, *, billable: bool = True) -> WorkRecord:
    return WorkRecord(
        key=key,
        kind=WorkKind.TIME,
        source=SourceRef(system=SystemName.PRODUCTIVE, type="time_entries", id=key),
        project="77",
        worked_on=date(2026, 11, 10),
        state=state,
        amount=usd(amount),
        billable=billable,
    )


def invoice(total: str, balance: str, *, credit: str | None = None, voided: bool = False) -> InvoiceRecord:
    applied = (Applied(id="cm1", amount=usd(credit), on=date(2026, 12, 1), credit=True),) if credit else ()
    standing = InvoiceStanding(
        system=SystemName.QUICKBOOKS,
        id=f"inv-{total}",
        customer="58",
        total=usd(total),
        balance=usd(balance),
        issued_on=date(2026, 12, 1),
        voided=voided,
        applied=applied,
        read_at=NOW,
    )
    return InvoiceRecord.model_construct(
        system=SystemName.QUICKBOOKS, id=standing.id, run="r1", engagement=PROJECT, standing=standing
    )


def test_the_waterfall_adds_each_step_to_the_cent() -> None:
    # given approved work posted, parked and not billable, two invoices (one voided) and a credit
    works = [
        work("a", PostingState.POSTED, "1400.005"),
        work("b", PostingState.CORRECTED, "1399.995"),
        work("c", PostingState.PARKED, "200.00"),
        work("d", PostingState.POSTED, "999.00", billable=False),
        work("e", PostingState.REMOVED, "50.00"),
    ]
    invoices = [invoice("2800.00", "2450.00", credit="100.00"), invoice("500.00", "500.00", voided=True)]
    # when the waterfall is drawn up
    [row] = waterfalls(engagement(), works, invoices)
    # then each step is the exact sum, rounded once to the cent
    assert (row.booked, row.approved, row.posted) == (
        Decimal("8000.00"),
        Decimal("3000.00"),
        Decimal("2800.00"),
    )
    assert (row.invoiced, row.paid, row.credited) == (
        Decimal("2800.00"),
        Decimal("250.00"),
        Decimal("100.00"),
    )
    assert row.open_ar == Decimal("2450.00") and row.invoices == 1 and row.entries == 3


def test_a_fixed_fee_booked_before_the_amount_was_kept_shows_its_fee() -> None:
    terms = BillingTerms(
        model=BillingModel.FIXED_FEE,
        fixed_fee=Decimal("2500"),
        milestones=(MilestoneTerm(code="M1", name="Discovery", amount=Decimal("2500")),),
    )
    [row] = waterfalls(engagement(booked=None, billing=terms), [], [])
    assert row.booked == Decimal("2500.00") and row.invoiced == Decimal("0.00")
    [unknown] = waterfalls(engagement(booked=None), [], [])
    assert unknown.booked is None


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def emf(metrics: dict[str, tuple[str, float | list[float]]], dimensions: dict[str, str], at: datetime) -> str:
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "close2cash",
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in metrics.items()],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (_, value) in metrics.items()},
    }
    return json.dumps(record, separators=(",", ":"))


def test_emf_records_become_metric_data_that_the_report_sums_over_dimension_sets(cloudwatch: Any) -> None:
    # given what three handlers printed (EMF), one in milliseconds, and a line that is not EMF
    forwarder = EmfForwarder(cloudwatch)
    at = datetime.now(UTC) - timedelta(minutes=5)
    forwarder.record(emf({"SyncLatency": ("Milliseconds", 1500.0)}, {"service": "account_sync"}, at))
    forwarder.record(emf({"SyncLatency": ("Seconds", [2.0, 4.5])}, {"flow": "time"}, at))
    forwarder.record(emf({"FailedTransactions": ("Count", 1.0)}, {"flow": "time"}, at))
    forwarder.record(emf({"FailedTransactions": ("Count", 2.0)}, {"target": "quickbooks"}, at))
    forwarder.record('{"level": "INFO", "message": "not a metric"}')
    assert forwarder.pending == 4
    # when they are put on CloudWatch and read back
    assert forwarder.flush() == 4 and forwarder.pending == 0
    reader = CloudWatchMetrics(cloudwatch, since=at - timedelta(hours=1), until=at + timedelta(hours=1))
    specs = {spec.name: spec for spec in OPERATIONAL}
    latency = reader.figure(specs["SyncLatency"])
    failed = reader.figure(specs["FailedTransactions"])
    backlog = reader.figure(specs["ReconciliationBacklog"])
    # then each metric adds up over its dimension sets, durations in seconds whatever their unit
    assert latency.samples == 3 and latency.average == pytest.approx(8.0 / 3) and latency.maximum == 4.5
    assert latency.per_flow == {"account_sync": 1.5, "time": 3.25}
    assert failed.total == 3 and failed.per_flow == {"time": 1.0, "quickbooks": 2.0}
    # and a metric nobody emitted has no data
    assert not backlog.has_data and backlog.average is None


def test_an_emf_directive_without_a_dimension_value_drops_that_set() -> None:
    line = emf({"RecordsSynced": ("Count", 1.0)}, {"flow": "time"}, NOW)
    record = json.loads(line)
    record["_aws"]["CloudWatchMetrics"][0]["Dimensions"].append(["missing"])
    [(namespace, datum)] = metric_data(record)
    assert namespace == "close2cash" and datum["Dimensions"] == [{"Name": "flow", "Value": "time"}]
    assert datum["Values"] == [1.0] and datum["Timestamp"] == NOW


def test_the_page_shows_what_a_break_carries_and_says_no_data_for_silent_metrics() -> None:
    # given a break with the attributes reconciliation adds, and one exception of another kind
    record = {
        "id": "reconciliation-money-77",
        "kind": "reconciliation",
        "subject": "productive/projects/77",
        "reason": "invoiced differs",
        "state": "open",
        "opened_at": (NOW - timedelta(days=2, hours=3)).isoformat(),
        "action": "Correct the invoice in QuickBooks",
        "evidence": json.dumps([{"system": "quickbooks", "value": "2900.00 USD"}, {"system": "productive"}]),
        "at_stake": None,
    }
    drift = {"id": "drift-1", "kind": "drift", "subject": "s", "reason": "r", "opened_at": NOW.isoformat()}
    exceptions = (open_exception(record, now=NOW), open_exception(drift, now=NOW))
    metrics = (
        duplicates_created(exceptions),
        MetricFigure(
            name="DuplicatesPrevented", label="duplicates prevented", kind="count", samples=2, total=5
        ),
        MetricFigure(name="ReconciliationBacklog", label="reconciliation backlog", kind="gauge"),
    )
    report = Report(
        generated_at=NOW,
        since=NOW - timedelta(days=14),
        source="test",
        flows=Flows(),
        exceptions=exceptions,
        metrics=metrics,
    )
    # when the page is rendered
    page = render(report)
    # then the break shows its age, action and each side; the silent metric says "no data"
    assert "2 d 3 h" in page and "Correct the invoice in QuickBooks" in page
    assert "<td>quickbooks</td>" in page and "<td>2900.00 USD</td>" in page and "at_stake" not in page
    assert "breaks (reconciliation): 1" in page and "drift: 1" in page
    assert ">0 created · 5 prevented<" in page and ">no data<" in page
