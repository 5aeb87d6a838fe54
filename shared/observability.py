"""Powertools Logger, Tracer and Metrics shared by every handler (namespace `close2cash`)."""

from __future__ import annotations

import numbers
import os
import warnings
from collections import Counter
from collections.abc import Generator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from shared.domain.metrics import BusinessMetric

NAMESPACE = "close2cash"

# The CDK stack sets POWERTOOLS_SERVICE_NAME per function; a process that imported this module first
# (the local runtime, the CLI) still logs under the product's name rather than "service_undefined".
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or NAMESPACE)


class XRayOnFirstTrace(BaseProvider):
    """Powertools' X-Ray provider, with the X-Ray SDK imported by the first trace instead of at import.

    `Tracer()` imports the SDK's recorder while the handler module loads, and with it asyncio and
    wrapt: ~25-50 ms of every cold start's init phase. The first invocation opens the handler's
    subsegment before any AWS or vendor call, so loading the recorder there (and applying the patches
    asked for so far) traces exactly what the default provider traces. Powertools documents the
    `provider` parameter for this; what it does for its own X-Ray provider (subsegments streamed one
    by one, https://github.com/aws-powertools/powertools-lambda-python/issues/283) is done here.
    https://docs.powertools.aws.dev/lambda/python/latest/core/tracer/
    """

    def __init__(self) -> None:
        self._recorder: Any = None
        self._patched: list[str] = []

    def _load(self) -> Any:
        if self._recorder is None:
            from aws_xray_sdk.core import patch, xray_recorder  # type: ignore[import-untyped]

            xray_recorder.configure(streaming_threshold=0)
            patch(self._patched)
            self._recorder = xray_recorder
        return self._recorder

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        with self._load().in_subsegment(name=name, **kwargs) as subsegment:
            yield subsegment

    def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AbstractAsyncContextManager[BaseSegment]:
        manager: AbstractAsyncContextManager[BaseSegment] = self._load().in_subsegment_async(
            name=name, **kwargs
        )
        return manager

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        self._load().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self._load().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        """Trace calls through `modules`: now if a trace has loaded the recorder, else at the first one."""
        self._patched += [module for module in modules if module not in self._patched]
        if self._recorder is not None:
            from aws_xray_sdk.core import patch

            patch(modules)

    def patch_all(self) -> None:
        from aws_xray_sdk.core import patch_all

        self._load()
        patch_all()


# X-Ray records the calls the hub makes: to AWS through botocore (boto3 is loaded by every handler
# anyway), and to vendors through httpx, patched by `trace_vendor_calls` once a connector is built.
# Powertools' default patches every library X-Ray knows, importing each one (httpx, requests,
# sqlite3, ...) on every cold start, whether the handler uses it or not.
# https://docs.powertools.aws.dev/lambda/python/latest/core/tracer/#patching-modules
tracer = Tracer(
    service=os.environ.get("POWERTOOLS_SERVICE_NAME") or NAMESPACE,
    patch_modules=("botocore",),
    provider=XRayOnFirstTrace(),
)
metrics = Metrics(namespace=NAMESPACE)
# An invocation with nothing to count is normal here (a notice about a deal that is not won, a
# listing of approvals with none pending): Powertools would warn on stderr for each one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def trace_vendor_calls() -> None:
    """Trace vendor HTTP calls (httpx) from now on; X-Ray patches a module once, so calls repeat freely."""
    tracer.patch(modules=("httpx",))


class PowertoolsMetrics:
    """`Metrics` port on Powertools EMF; also keeps a running tally (and each metric's latest value)
    the local runtime can read."""

    def __init__(self, sink: Metrics = metrics) -> None:
        self._sink = sink
        self.totals: Counter[str] = Counter()
        self.latest: dict[str, float] = {}

    def count(
        self,
        metric: BusinessMetric,
        value: float = 1,
        dimensions: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        name = metric.value
        labels = {**(dimensions or {}), **(properties or {})}
        key = name if not labels else f"{name}[{','.join(f'{k}={v}' for k, v in labels.items())}]"
        self.totals[key] += value  # type: ignore[assignment]  # Counter of floats
        self.latest[key] = value
        metric_unit = MetricUnit(metric.unit.value)
        if dimensions or properties:
            # Its own EMF blob: a dimensioned metric does not share the handler's dimensions, and
            # properties (EMF metadata: in the log record, searchable, not a metric) stay with this value.
            with single_metric(
                name=name,
                unit=metric_unit,
                value=value,
                namespace=NAMESPACE,
                default_dimensions=dict(dimensions) if dimensions else None,
            ) as blob:
                for key_name, text in (properties or {}).items():
                    blob.add_metadata(key=key_name, value=text)
            return
        self._sink.add_metric(name=name, unit=metric_unit, value=value)
