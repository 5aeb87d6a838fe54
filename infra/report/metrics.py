"""The report's metrics, read from CloudWatch (namespace `close2cash`) in AWS and on the local moto.

A metric is published under several dimension sets (per flow, per system, per service), and
GetMetricData answers one set per query, so each metric's sets are listed first (ListMetrics) and
summed: a Sum, a SampleCount and a Maximum per set over the whole window (one period), one
GetMetricData call for up to 500 queries.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_ListMetrics.html
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricData.html
Durations are emitted in seconds (the unit each `BusinessMetric` declares); the account sync emitted
SyncLatency in milliseconds before that, so each unit is queried on its own (MetricStat.Unit) and
turned into seconds: a window that still holds such data reads right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.report.models import FlowCount, MetricFigure
from shared.domain.metrics import BusinessMetric

NAMESPACE = "close2cash"
COUNT, DURATION, GAUGE = "count", "duration", "gauge"
# GetMetricData: at most 500 queries per call.
MAX_QUERIES = 500
# Units a duration may be emitted in, and what one of each is in seconds.
DURATION_UNITS = {"Seconds": 1.0, "Milliseconds": 0.001}


@dataclass(frozen=True)
class MetricSpec:
    """One metric the report shows: its CloudWatch name, what people call it, and how it adds up."""

    name: BusinessMetric
    label: str
    kind: str
    meaning: str = ""


# The eight operational metrics of issue 12, in the order the page shows them. Duplicates created
# are counted from the ledger's breaks, not from CloudWatch (see infra/report/gather.py).
OPERATIONAL = (
    MetricSpec(
        BusinessMetric.BILLING_CYCLE_TIME, "billing cycle time", DURATION, "period end to invoice posted"
    ),
    MetricSpec(
        BusinessMetric.SYNC_LATENCY, "sync latency", DURATION, "change in the source to written in the target"
    ),
    MetricSpec(
        BusinessMetric.FAILED_TRANSACTIONS, "failed transactions", COUNT, "writes or reads that failed"
    ),
    MetricSpec(
        BusinessMetric.DUPLICATES_PREVENTED, "duplicates prevented", COUNT, "second writes the ledger refused"
    ),
    MetricSpec(
        BusinessMetric.EXCEPTION_RESOLUTION_TIME, "exception resolution time", DURATION, "opened to resolved"
    ),
    MetricSpec(
        BusinessMetric.PROJECT_SETUP_TURNAROUND,
        "project setup turnaround",
        DURATION,
        "deal won to project active",
    ),
    MetricSpec(BusinessMetric.INVOICE_REJECTIONS, "invoice rejections", COUNT, "invoices accounting refused"),
    MetricSpec(
        BusinessMetric.RECONCILIATION_BACKLOG,
        "reconciliation backlog",
        GAUGE,
        "open breaks (the most in the window)",
    ),
)
# What the flows did, counted per flow on the page's first section.
FLOW_COUNTS = (
    MetricSpec(BusinessMetric.NOTICES_RECEIVED, "notices received", COUNT),
    MetricSpec(BusinessMetric.RECORDS_SYNCED, "records synced", COUNT),
    MetricSpec(BusinessMetric.POSTINGS_WRITTEN, "postings written", COUNT),
    MetricSpec(BusinessMetric.INVOICES_POSTED, "invoices posted", COUNT),
    MetricSpec(BusinessMetric.PAYMENTS_RECEIVED, "payments received", COUNT),
    MetricSpec(BusinessMetric.EXCEPTIONS_OPENED, "exceptions opened", COUNT),
)


def flow_label(dimensions: list[dict[str, str]]) -> str:
    """A dimension set as the page names it: its own dimensions, the function's service otherwise."""
    own = [d for d in dimensions if d["Name"] != "service"]
    shown = own or dimensions
    return ", ".join(f"{d['Value']}" for d in sorted(shown, key=lambda d: d["Name"])) or "all flows"


@dataclass
class _SetFigures:
    label: str
    total: float = 0.0
    samples: float = 0.0
    maximum: float | None = None


class CloudWatchMetrics:
    """Reads metrics of one namespace over [since, until) from a boto3 CloudWatch client."""

    def __init__(
        self, cloudwatch: Any, *, since: datetime, until: datetime, namespace: str = NAMESPACE
    ) -> None:
        self._cloudwatch = cloudwatch
        self._namespace = namespace
        self._since = since
        self._until = until
        # One period for the whole window: a multiple of 60 s, as GetMetricData wants.
        self._period = max(60, math.ceil((until - since).total_seconds() / 60) * 60)

    def dimension_sets(self, metric: str) -> list[list[dict[str, str]]]:
        sets: list[list[dict[str, str]]] = []
        paginator = self._cloudwatch.get_paginator("list_metrics")
        for page in paginator.paginate(Namespace=self._namespace, MetricName=metric):
            for found in page.get("Metrics", []):
                dims = [{"Name": d["Name"], "Value": d["Value"]} for d in found.get("Dimensions", [])]
                if dims not in sets:
                    sets.append(dims)
        return sets

    def _per_set(self, metric: str, units: dict[str | None, float]) -> list[_SetFigures]:
        sets = self.dimension_sets(metric)
        queries: list[dict[str, Any]] = []
        index: dict[str, tuple[int, str, float]] = {}
        for number, dims in enumerate(sets):
            for unit_number, (unit, scale) in enumerate(units.items()):
                for stat in ("Sum", "SampleCount", "Maximum"):
                    query_id = f"q{number}_{unit_number}_{stat.lower()}"
                    index[query_id] = (number, stat, scale)
                    stat_query: dict[str, Any] = {
                        "Metric": {"Namespace": self._namespace, "MetricName": metric, "Dimensions": dims},
                        "Period": self._period,
                        "Stat": stat,
                    }
                    if unit is not None:
                        stat_query["Unit"] = unit
                    queries.append({"Id": query_id, "MetricStat": stat_query, "ReturnData": True})
        figures = [_SetFigures(label=flow_label(dims)) for dims in sets]
        for start in range(0, len(queries), MAX_QUERIES):
            for result in self._results(queries[start : start + MAX_QUERIES]):
                number, stat, scale = index[result["Id"]]
                values = [float(v) for v in result.get("Values", [])]
                if not values:
                    continue
                figure = figures[number]
                if stat == "Sum":
                    figure.total += sum(values) * scale
                elif stat == "SampleCount":
                    figure.samples += sum(values)
                else:
                    peak = max(values) * scale
                    figure.maximum = peak if figure.maximum is None else max(figure.maximum, peak)
        return [f for f in figures if f.samples > 0]

    def _results(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": self._since,
            "EndTime": self._until,
        }
        while True:
            answer = self._cloudwatch.get_metric_data(**kwargs)
            results += answer.get("MetricDataResults", [])
            if not answer.get("NextToken"):
                return results
            kwargs["NextToken"] = answer["NextToken"]

    def figure(self, spec: MetricSpec) -> MetricFigure:
        """One metric over the window, summed over its dimension sets ("no data" when it has none)."""
        units: dict[str | None, float] = {None: 1.0}
        if spec.kind == DURATION:
            units = {unit: scale for unit, scale in DURATION_UNITS.items()}
        per_set = self._per_set(spec.name.value, units)
        samples = sum(s.samples for s in per_set)
        total = sum(s.total for s in per_set)
        peaks = [s.maximum for s in per_set if s.maximum is not None]
        if spec.kind == COUNT:
            per_flow = {s.label: s.total for s in per_set}
        else:
            per_flow = {s.label: s.total / s.samples for s in per_set}
        return MetricFigure(
            name=spec.name.value,
            label=spec.label,
            kind=spec.kind,
            samples=int(samples),
            total=total,
            average=total / samples if samples else None,
            maximum=max(peaks) if peaks else None,
            per_flow=per_flow,
            note=spec.meaning or None,
        )

    def flow_count(self, spec: MetricSpec) -> FlowCount:
        figure = self.figure(spec)
        return FlowCount(
            metric=spec.name.value, label=spec.label, total=figure.total, per_flow=figure.per_flow
        )
