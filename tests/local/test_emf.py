"""The local runtime's EMF forwarder: what Powertools prints becomes metric data on moto's CloudWatch."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from moto import mock_aws

from infra.local.emf import EMF_PRINTERS, EmfForwarder


@pytest.fixture
def cloudwatch() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("cloudwatch", region_name="us-east-1")


def test_a_printed_metric_reaches_cloudwatch_and_the_print_is_given_back(
    cloudwatch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # given the forwarder standing in for Powertools' print
    forwarder = EmfForwarder(cloudwatch).install()
    try:
        # when a handler emits a metric with a dimension (Powertools prints one EMF line)
        with single_metric(
            name="InvoiceRejections", unit=MetricUnit.Count, value=1, namespace="close2cash"
        ) as metric:
            metric.add_dimension(name="system", value="quickbooks")
        assert forwarder.flush() == 1
    finally:
        forwarder.uninstall()
    # then the line is still printed (the log keeps it) and CloudWatch holds the datum
    assert '"InvoiceRejections"' in capsys.readouterr().out
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="close2cash",
        MetricName="InvoiceRejections",
        Dimensions=[{"Name": "system", "Value": "quickbooks"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(p["Sum"] for p in points) == 1
    # and after uninstall the Powertools modules print with the builtin again
    for name in EMF_PRINTERS:
        assert "print" not in vars(importlib.import_module(name))
