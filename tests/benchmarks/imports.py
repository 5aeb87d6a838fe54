"""Cold-start import cost: each handler module in a fresh interpreter, against a bare `import boto3`."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass

from infra.wiring import WIRING

RUNS = 7
# Lambda's environment as far as imports care: tracing on (X-Ray SDK loaded), no local tooling.
LAMBDA_LIKE_ENV = {"AWS_LAMBDA_FUNCTION_NAME": "bench", "POWERTOOLS_SERVICE_NAME": "close2cash"}
GOALS = {"webhook_ingest": 1.5}
DEFAULT_GOAL = 2.5


@dataclass
class ImportFigure:
    module: str
    median_ms: float
    ratio: float | None = None
    goal: float | None = None


def import_ms(module: str, *, runs: int = RUNS) -> float:
    """Median wall time of `import module` in `runs` fresh interpreters (bytecode already cached)."""
    code = f"import time; t=time.perf_counter(); import {module}; print((time.perf_counter()-t)*1000)"
    env = {**os.environ, **LAMBDA_LIKE_ENV}
    subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)  # warm .pyc
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def measure() -> list[ImportFigure]:
    baseline = import_ms("boto3")
    figures = [ImportFigure("boto3", baseline)]
    for function in WIRING.functions:
        module = function.handler.rpartition(".")[0]
        ms = import_ms(module)
        figures.append(ImportFigure(module, ms, ms / baseline, GOALS.get(function.name, DEFAULT_GOAL)))
    return figures


def breakdown(module: str, *, top: int = 7) -> list[tuple[str, float]]:
    """Self import time per top-level package that `module` pulls in (python -X importtime), in ms."""
    env = {**os.environ, **LAMBDA_LIKE_ENV}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        root = name.split(".")[0]
        totals[root] = totals.get(root, 0.0) + int(own) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]
