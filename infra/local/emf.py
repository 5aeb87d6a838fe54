"""What CloudWatch does with the EMF records a Lambda prints, done for the local runtime's moto.

In AWS, a function's stdout goes to CloudWatch Logs, and a log line in the Embedded Metric Format
(a JSON object with an `_aws.CloudWatchMetrics` directive) becomes metric data in its namespace, one
datum per metric and dimension set of the directive, at the record's timestamp.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

Locally the handlers run in this process and Powertools prints those records (`print(json.dumps(...))`
in its EMF provider and in `single_metric`). The forwarder takes them where they are printed: it
stands in for `print` in those two Powertools modules (a module global comes before the builtin),
prints as before (the demo's log file still gets every line), and keeps the metric data, which
`flush()` puts on moto's CloudWatch in PutMetricData calls of up to 1,000 data, so that
`close2cash report` and `status` read the same metrics locally as in AWS. Taking them from `print`,
not from `sys.stdout`, survives whoever swaps `sys.stdout` meanwhile (pytest does between phases).
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html
"""

from __future__ import annotations

import builtins
import importlib
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

LOG = logging.getLogger(__name__)

# The Powertools modules whose `print` writes EMF records (aws-lambda-powertools 3.x).
EMF_PRINTERS = (
    "aws_lambda_powertools.metrics.base",
    "aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch",
)
# PutMetricData: at most 1,000 metric data per call.
MAX_DATA_PER_PUT = 1000
# Values of one datum: at most 150 distinct values (with their counts) per datum.
MAX_VALUES_PER_DATUM = 150


def metric_data(record: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (namespace, PutMetricData datum) pairs one EMF record stands for (none if it is not one)."""
    directive = record.get("_aws")
    if not isinstance(directive, Mapping):
        return []
    stamp = directive.get("Timestamp")
    at = datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int | float) else datetime.now(UTC)
    data: list[tuple[str, dict[str, Any]]] = []
    for block in directive.get("CloudWatchMetrics") or []:
        namespace = block.get("Namespace")
        if not namespace:
            continue
        # An empty dimension set list still publishes the metric, without dimensions.
        sets = block.get("Dimensions") or [[]]
        for metric in block.get("Metrics") or []:
            raw = record.get(metric.get("Name"))
            values = raw if isinstance(raw, list) else [raw]
            numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
            if not numbers:
                continue
            for names in sets:
                if any(name not in record for name in names):
                    continue  # the spec: a dimension without a value drops the set
                for start in range(0, len(numbers), MAX_VALUES_PER_DATUM):
                    datum: dict[str, Any] = {
                        "MetricName": metric["Name"],
                        "Dimensions": [{"Name": name, "Value": str(record[name])} for name in names],
                        "Timestamp": at,
                        "Values": numbers[start : start + MAX_VALUES_PER_DATUM],
                        "Unit": metric.get("Unit") or "None",
                    }
                    if metric.get("StorageResolution") == 1:
                        datum["StorageResolution"] = 1
                    data.append((namespace, datum))
    return data


class EmfForwarder:
    """Keeps the EMF records printed in this process and puts them on a CloudWatch client."""

    def __init__(self, cloudwatch: Any) -> None:
        self._cloudwatch = cloudwatch
        self._pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._installed: list[Any] = []
        self.forwarded = 0

    def install(self) -> EmfForwarder:
        """Take the Powertools modules' `print` (each named module must exist: a moved one fails here)."""
        for name in EMF_PRINTERS:
            module = importlib.import_module(name)
            module.print = self._print  # type: ignore[attr-defined]
            self._installed.append(module)
        return self

    def uninstall(self) -> None:
        for module in self._installed:
            if getattr(module, "print", None) == self._print:
                del module.print
        self._installed.clear()

    def _print(self, *args: Any, **kwargs: Any) -> None:
        builtins.print(*args, **kwargs)
        if len(args) == 1 and isinstance(args[0], str) and args[0].startswith('{"_aws"'):
            self.record(args[0])

    def record(self, line: str) -> None:
        """Keep the metric data of one printed EMF line (anything else is ignored)."""
        try:
            parsed = json.loads(line)
        except ValueError:
            return
        if not isinstance(parsed, dict):
            return
        found = metric_data(parsed)
        with self._lock:
            for namespace, datum in found:
                self._pending[namespace].append(datum)

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(len(data) for data in self._pending.values())

    def flush(self) -> int:
        """Put what was kept on CloudWatch, 1,000 data per call; returns how many data were put."""
        with self._flushing:
            with self._lock:
                taken, self._pending = self._pending, defaultdict(list)
            put = 0
            for namespace, data in taken.items():
                for start in range(0, len(data), MAX_DATA_PER_PUT):
                    chunk = data[start : start + MAX_DATA_PER_PUT]
                    try:
                        self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=chunk)
                    except Exception:
                        # Metrics never fail the work they describe (CloudWatch's do not either).
                        LOG.warning(
                            "could not put %s EMF metric data on CloudWatch", len(chunk), exc_info=True
                        )
                        continue
                    put += len(chunk)
            self.forwarded += put
            return put
