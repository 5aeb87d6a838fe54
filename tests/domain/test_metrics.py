"""Every business metric the hub emits is a member of one enumeration, emitted in the unit it declares."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from shared.domain.metrics import BusinessMetric, MetricUnit, Statistic
from shared.observability import PowertoolsMetrics

ROOT = Path(__file__).resolve().parents[2]
# Where metrics are emitted: the runtime package and the handlers (infra only reads them).
EMITTERS = ("shared", "functions")


def _metric_calls() -> list[tuple[str, ast.Call]]:
    """Every `<...metrics...>.count(...)` call in the emitting packages, with where it is."""
    calls = []
    for package in EMITTERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "count"
                    and "metrics" in ast.unparse(node.func.value).lower()
                ):
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


def _named(call: ast.Call) -> str | None:
    """The member a call names as `BusinessMetric.X`, or None when it names a metric otherwise."""
    first = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "metric"), None)
    if (
        isinstance(first, ast.Attribute)
        and isinstance(first.value, ast.Name)
        and first.value.id == "BusinessMetric"
    ):
        return first.attr
    return None


def test_every_metric_the_hub_emits_is_a_member_named_at_the_call() -> None:
    # given every metrics call in shared/ and functions/
    calls = _metric_calls()
    assert len(calls) > 40  # the scan sees the emitters (a broken scan would pass vacuously)
    # then each names a BusinessMetric member: no string literal, no name built at run time
    by_string = [where for where, call in calls if _named(call) is None]
    assert by_string == [], f"metrics named other than by a BusinessMetric member: {by_string}"
    unknown = [where for where, call in calls if _named(call) not in BusinessMetric.__members__]
    assert unknown == []
    # and no unit is passed at a call: the member says what unit it is emitted in
    with_unit = [where for where, call in calls if any(k.arg == "unit" for k in call.keywords)]
    assert with_unit == []


def test_every_member_is_emitted_somewhere() -> None:
    # a member nobody emits would be an empty widget on the dashboard, forever
    emitted = {_named(call) for _, call in _metric_calls()}
    assert sorted(set(BusinessMetric.__members__) - emitted) == []


def test_the_business_metrics_of_the_design_are_members() -> None:
    # DESIGN.md §5: billing cycle time, sync latency, failed transactions, duplicates prevented /
    # created, exceptions opened / resolved and resolution time, project setup turnaround, invoice
    # rejections, reconciliation backlog
    named = {
        "BillingCycleTime",
        "SyncLatency",
        "FailedTransactions",
        "DuplicatesPrevented",
        "DuplicatesCreated",
        "ExceptionsOpened",
        "ExceptionsResolved",
        "ExceptionResolutionTime",
        "ProjectSetupTurnaround",
        "InvoiceRejections",
        "ReconciliationBacklog",
    }
    assert named <= {m.value for m in BusinessMetric}


@pytest.mark.parametrize("metric", list(BusinessMetric), ids=str)
def test_a_duration_is_never_summed_and_a_count_is_never_averaged_away(metric: BusinessMetric) -> None:
    # a sum of latencies or a p90 of "1 notice received" means nothing on the dashboard
    if metric.unit is MetricUnit.SECONDS:
        assert metric.statistic in (Statistic.P90, Statistic.MAXIMUM)
    if metric.unit is MetricUnit.COUNT:
        assert metric.statistic in (Statistic.SUM, Statistic.MAXIMUM)


class _Sink:
    """Powertools' `Metrics.add_metric`, recorded."""

    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    def add_metric(self, **kwargs: Any) -> None:
        self.added.append(kwargs)


def test_a_metric_is_emitted_in_the_unit_its_member_declares() -> None:
    # given the Powertools adapter of the Metrics port
    sink = _Sink()
    metrics = PowertoolsMetrics(sink=sink)  # type: ignore[arg-type]
    # when a duration and a count are emitted
    metrics.count(BusinessMetric.SYNC_LATENCY, 2.5)
    metrics.count(BusinessMetric.RECORDS_SYNCED)
    # then EMF carries each in its own unit, under its CloudWatch name
    assert [(a["name"], a["unit"].value, a["value"]) for a in sink.added] == [
        ("SyncLatency", "Seconds", 2.5),
        ("RecordsSynced", "Count", 1),
    ]
    assert metrics.totals == {"SyncLatency": 2.5, "RecordsSynced": 1}
