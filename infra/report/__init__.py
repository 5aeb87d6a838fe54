"""`close2cash report`: one self-contained HTML page of a run (flows, money, exceptions, metrics)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from infra.report.gather import ReportGatherer
from infra.report.models import Report
from infra.report.render import render
from shared.domain.models import utcnow

__all__ = ["Report", "ReportGatherer", "render", "write_report"]


def write_report(
    path: Path,
    *,
    sfn: Any,
    dynamodb: Any,
    sqs: Any,
    cloudwatch: Any,
    source: str,
    now: datetime | None = None,
) -> Path:
    """Gather from the four boto3 clients (AWS, or moto) and write the page to `path`.

    `now` is when ages are counted to: the local runtime's clock, which may run ahead of this one.
    """
    gatherer = ReportGatherer(sfn=sfn, dynamodb=dynamodb, sqs=sqs, cloudwatch=cloudwatch)
    report = gatherer.gather(now=now or utcnow(), source=source)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report), encoding="utf-8")
    return path
