"""Powertools Logger, Tracer and Metrics shared by every handler (namespace `close2cash`)."""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Mapping

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "close2cash"

# The CDK stack sets POWERTOOLS_SERVICE_NAME per function; a process that imported this module first
# (the local runtime, the CLI) still logs under the product's name rather than "service_undefined".
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or NAMESPACE)
# X-Ray records the calls the hub makes: to AWS through botocore, patched here (boto3 is loaded by
# every handler anyway), and to vendors through httpx, patched by `trace_vendor_calls` once a
# connector is built. Powertools' default patches every library X-Ray knows, importing each one
# (httpx, requests, sqlite3, ...) on every cold start, whether the handler uses it or not.
# https://docs.powertools.aws.dev/lambda/python/latest/core/tracer/#patching-modules
tracer = Tracer(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or NAMESPACE, patch_modules=("botocore",))
metrics = Metrics(namespace=NAMESPACE)
# An invocation with nothing to count is normal here (a notice about a deal that is not won, a
# listing of approvals with none pending): Powertools would warn on stderr for each one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def trace_vendor_calls() -> None:
    """Trace vendor HTTP calls (httpx) from now on; X-Ray patches a module once, so calls repeat freely."""
    tracer.patch(modules=("httpx",))


class PowertoolsMetrics:
    """`Metrics` port on Powertools EMF; also keeps a running tally the local runtime can read."""

    def __init__(self, sink: Metrics = metrics) -> None:
        self._sink = sink
        self.totals: Counter[str] = Counter()

    def count(
        self, name: str, value: float = 1, unit: str = "Count", dimensions: Mapping[str, str] | None = None
    ) -> None:
        key = name if not dimensions else f"{name}[{','.join(f'{k}={v}' for k, v in dimensions.items())}]"
        self.totals[key] += value  # type: ignore[assignment]  # Counter of floats
        metric_unit = MetricUnit(unit)
        if dimensions:
            # A dimensioned metric gets its own EMF blob so it does not share the handler's dimensions.
            with single_metric(
                name=name,
                unit=metric_unit,
                value=value,
                namespace=NAMESPACE,
                default_dimensions=dict(dimensions),
            ):
                pass
            return
        self._sink.add_metric(name=name, unit=metric_unit, value=value)
