"""Cold start as Lambda runs it: each handler's import, and the webhook handler's first invocation.

Lambda imports the handler in a fresh interpreter with LAMBDA_TASK_ROOT set, which turns Powertools
Tracer on (the stack's functions have tracing Active), then calls it once. Each figure here is the
median of RUNS fresh interpreters, and each handler run is paired with a bare `import boto3` run
just before it: the ratio is the median of the pairs' ratios, so the load of a shared machine falls
on both sides of each pair alike.

The interpreters see what the code asset holds, as bundling ships it (infra/cdk/bundling.py): the
project's runtime dependencies (installed once for this machine into .close2cash/, plus boto3 as
Lambda's runtime provides it), not the dev venv, whose extra packages change what some imports pull
in (httpx loads rich when it is installed); and `shared`/`functions` copied to a task root of their
own. Both are compiled to unchecked hash-based bytecode for this interpreter, as bundling compiles
the asset for Lambda's (infra/cdk/bytecode.py), and nothing is written at import
(PYTHONDONTWRITEBYTECODE, as /var/task is read-only). So the figures are imports from bytecode, for
our code and the dependencies alike: what a cold start costs when the asset ships its bytecode.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.cdk import bytecode
from infra.cdk.sources import source_files
from infra.wiring import WIRING

RUNS = 7
REPO_ROOT = Path(__file__).resolve().parents[2]
SITE_CACHE = REPO_ROOT / ".close2cash" / "bench-lambda-site"
TASK_ROOT_CACHE = REPO_ROOT / ".close2cash" / "bench-task-root"
LANDSCAPE = REPO_ROOT / "infra" / "landscapes" / "demo.toml"
# What Lambda's environment sets that imports care about: the task root (Tracer on; lambda_env() sets
# it to task_root()), the function's name, X-Ray's daemon address, as for a function with tracing
# Active. The trace header comes with each invocation (the runtime client sets it before calling the
# handler), not during init.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
LAMBDA_LIKE_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "POWERTOOLS_SERVICE_NAME": "close2cash",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
}
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
GOALS = {"webhook_ingest": 1.5}
DEFAULT_GOAL = 2.5

# One cold start in a fresh interpreter: the import, then (with an event on stdin) one invocation.
# Figures go to the file named in argv[1]: the handler's own logs use stdout.
_COLD_START = """
import json, os, sys, time
started = time.perf_counter()
import {module} as entry
imported = time.perf_counter()
figures = {{"import_ms": (imported - started) * 1000}}
event = sys.stdin.read()
if event:
    class Context:
        function_name = "bench"
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        memory_limit_in_mb = 512
        aws_request_id = "bench-request"
        log_group_name = "/aws/lambda/bench"
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 29000
    os.environ["_X_AMZN_TRACE_ID"] = "{trace}"
    answer = entry.{attribute}(json.loads(event), Context())
    figures["first_ms"] = (time.perf_counter() - imported) * 1000
    figures["status"] = answer.get("statusCode")
with open(sys.argv[1], "w") as out:
    json.dump(figures, out)
"""


@dataclass
class ImportFigure:
    module: str
    median_ms: float
    ratio: float | None = None
    goal: float | None = None


@dataclass
class FirstInvocation:
    """A handler's cold start in Lambda's order: import, then its first invocation."""

    module: str
    import_ms: float
    first_ms: float
    boto3_ms: float
    ratio: float  # import / bare `import boto3`, median of pairs
    statuses: list[int]


@functools.cache
def lambda_site() -> Path | None:
    """The asset's third-party packages for this machine (cached); None if pip cannot install them."""
    # The asset's dependencies less boto3, plus the boto3 Lambda provides: [project].dependencies.
    with (REPO_ROOT / "pyproject.toml").open("rb") as fh:
        requirements: tuple[str, ...] = tuple(tomllib.load(fh)["project"]["dependencies"])
    target = SITE_CACHE / hashlib.sha256("\0".join(requirements).encode()).hexdigest()[:16]
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target"]
    if not (target / ".complete").exists():
        if subprocess.run([*pip, str(target), *requirements], capture_output=True, check=False).returncode:
            return None
        (target / ".complete").write_text("\n".join(requirements) + "\n")
    # pip wrote timestamp-based pycs; the asset ships unchecked hash-based ones.
    if not (target / ".unchecked-hash").exists():
        _compile(target, force=True)
        (target / ".unchecked-hash").touch()
    return target


def _compile(directory: Path, *, force: bool = False) -> None:
    """Byte-compile `directory` for the bench's interpreter, as bundling compiles the asset."""
    interpreter = bytecode.Interpreter(_base_python(), sys.implementation.cache_tag)
    bytecode.compile_tree(directory, interpreter, force=force)


def _base_python() -> str:
    return getattr(sys, "_base_executable", sys.executable)


@functools.cache
def task_root() -> Path:
    """Our packages as the asset holds them, with their bytecode: a copy per content, compiled once."""
    digest = hashlib.sha256(f"{sys.implementation.cache_tag}:{bytecode.INVALIDATION_MODE}".encode())
    for path in [*source_files(REPO_ROOT), LANDSCAPE]:
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    target = TASK_ROOT_CACHE / digest.hexdigest()[:16]
    if (target / ".complete").exists():
        return target
    TASK_ROOT_CACHE.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="copy-", dir=TASK_ROOT_CACHE))
    for path in source_files(REPO_ROOT):
        (scratch / path.relative_to(REPO_ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, scratch / path.relative_to(REPO_ROOT))
    shutil.copyfile(LANDSCAPE, scratch / "landscape.toml")
    _compile(scratch)
    (scratch / ".complete").touch()
    try:
        scratch.rename(target)
    except OSError:
        # Another bench built the same copy first; its content is the same.
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def packages() -> str:
    """Which packages the cold starts see, for the bench's heading."""
    return (
        "the asset's packages"
        if lambda_site() is not None
        else "the dev venv (pip could not build the asset's)"
    )


def interpreter() -> list[str]:
    """How Lambda's interpreter is started here: the base Python, without the dev venv's packages."""
    if lambda_site() is None:
        return [sys.executable]
    return [_base_python(), "-S"]


def lambda_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) as a Lambda function with tracing Active sees it."""
    env = {**(os.environ if base is None else base), **LAMBDA_LIKE_ENV}
    # The code at the task root is the asset's copy, with its bytecode; /var/task is read-only.
    env["LAMBDA_TASK_ROOT"] = str(task_root())
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPYCACHEPREFIX", None)
    # The local runtime turns tracing off for its in-process handlers; Lambda does not.
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    site = lambda_site()
    if site is not None:
        # The code at the task root, then the asset's packages (`-S`: no venv, no user site).
        env["PYTHONPATH"] = f"{task_root()}{os.pathsep}{site}"
        env.pop("VIRTUAL_ENV", None)
    return env


def cold_start(handler: str, *, env: Mapping[str, str], event: str = "") -> dict[str, float]:
    """One fresh interpreter: import the handler's module (and, given an event, invoke it once)."""
    module, _, attribute = handler.rpartition(".")
    code = _COLD_START.format(module=module, attribute=attribute, trace=TRACE_HEADER)
    with tempfile.NamedTemporaryFile("r", suffix=".json") as out:
        subprocess.run(
            [*interpreter(), "-c", code, out.name],
            env=dict(env),
            input=event,
            text=True,
            check=True,
            capture_output=True,
            cwd=task_root(),
        )
        figures: dict[str, float] = json.load(out)
    return figures


def _bare_boto3_ms(env: Mapping[str, str]) -> float:
    return cold_start("boto3.client", env=env)["import_ms"]


def paired(
    handler: str, *, env: Mapping[str, str], runs: int = RUNS, events: Callable[[int], str] | None = None
) -> tuple[list[float], list[dict[str, float]]]:
    """`runs` pairs of fresh interpreters: a bare `import boto3`, then the handler's cold start."""
    cold_start(handler, env=env)  # the files in the OS cache, as after a Lambda init has read them
    baselines: list[float] = []
    samples: list[dict[str, float]] = []
    for n in range(runs):
        baselines.append(_bare_boto3_ms(env))
        samples.append(cold_start(handler, env=env, event=events(n) if events else ""))
    return baselines, samples


def measure() -> list[ImportFigure]:
    """Each handler's import against a bare `import boto3`, paired runs, as Lambda imports it."""
    env = lambda_env()
    boto3_runs: list[float] = []
    figures: list[ImportFigure] = []
    for function in WIRING.functions:
        baselines, samples = paired(function.handler, env=env)
        boto3_runs += baselines
        ratio = statistics.median(s["import_ms"] / b for s, b in zip(samples, baselines, strict=True))
        module = function.handler.rpartition(".")[0]
        median = statistics.median(s["import_ms"] for s in samples)
        figures.append(ImportFigure(module, median, ratio, GOALS.get(function.name, DEFAULT_GOAL)))
    return [ImportFigure("boto3", statistics.median(boto3_runs)), *figures]


def first_invocation(handler: str, events: Callable[[int], str], *, runs: int = RUNS) -> FirstInvocation:
    """Cold starts of `handler` against the running local environment: import, then one event.

    Call with the local runtime started in this process: its environment (moto's endpoint, the
    tables, the connections secret) is what the fresh interpreters get, with Lambda's on top.
    """
    baselines, samples = paired(handler, env=lambda_env(), runs=runs, events=events)
    return FirstInvocation(
        module=handler.rpartition(".")[0],
        import_ms=statistics.median(s["import_ms"] for s in samples),
        first_ms=statistics.median(s["first_ms"] for s in samples),
        boto3_ms=statistics.median(baselines),
        ratio=statistics.median(s["import_ms"] / b for s, b in zip(samples, baselines, strict=True)),
        statuses=[int(s["status"]) for s in samples],
    )


def breakdown(module: str, *, top: int = 7) -> list[tuple[str, float]]:
    """Self import time per top-level package that `module` pulls in (python -X importtime), in ms."""
    result = subprocess.run(
        [*interpreter(), "-X", "importtime", "-c", f"import {module}"],
        env=lambda_env(),
        check=True,
        capture_output=True,
        text=True,
        cwd=task_root(),
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        root = name.split(".")[0]
        totals[root] = totals.get(root, 0.0) + int(own) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:top]
