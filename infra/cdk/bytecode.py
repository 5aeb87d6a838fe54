"""The code asset's bytecode, compiled at bundling by an interpreter of the Lambda runtime's version.

Lambda's /var/task is read-only, so an asset without `__pycache__` is compiled from source on every
cold start (pydantic, Powertools and ours: measured on a dev machine, ~640 ms above `import boto3`
without bytecode, ~120 ms with it). Bytecode is specific to the interpreter's minor version,
so only a CPython of the runtime's version can compile it: `cdk synth -c bundling_python=PATH`,
the CLOSE2CASH_BUNDLING_PYTHON variable, or `python3.12` on PATH.

The pycs are hash-based and unchecked (PEP 552, https://peps.python.org/pep-0552/): the asset's
files never change once deployed, and their mtimes come from the zip, so a timestamp-based pyc
would be compared against a meaningless mtime: `compileall --invalidation-mode unchecked-hash`,
https://docs.python.org/3/library/compileall.html
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

PYTHON_ENV = "CLOSE2CASH_BUNDLING_PYTHON"
PYTHON_CONTEXT = "bundling_python"
INVALIDATION_MODE = "unchecked-hash"
_CACHE_TAG = "import sys; print(sys.implementation.cache_tag)"


class BytecodeSkipped(UserWarning):
    """The asset ships without bytecode: no interpreter of the runtime's version was found."""


@dataclass(frozen=True)
class Interpreter:
    """A CPython of the runtime's version, checked by running it."""

    path: str
    cache_tag: str  # e.g. cpython-312: the suffix of the pycs it writes

    @property
    def fingerprint(self) -> str:
        """What the asset hash records about the bytecode: its version and invalidation mode."""
        return f"{self.cache_tag}:{INVALIDATION_MODE}"


def cache_tag(version: str) -> str:
    """The pyc tag of CPython `version` ("3.12" -> "cpython-312")."""
    return "cpython-" + version.replace(".", "")


def _probe(candidate: str) -> str | None:
    """The cache tag `candidate` reports when run, or None if it cannot run (a pyenv shim may fail)."""
    try:
        result = subprocess.run(  # noqa: S603 - the developer names this interpreter
            [candidate, "-c", _CACHE_TAG], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_interpreter(version: str, requested: str | None = None) -> Interpreter | None:
    """The interpreter that compiles the asset: `requested`, else $CLOSE2CASH_BUNDLING_PYTHON, else
    `python<version>` on PATH; the first that runs and really is CPython `version`, or None."""
    wanted = cache_tag(version)
    named = requested or os.environ.get(PYTHON_ENV)
    candidates = [named] if named else []
    on_path = shutil.which(f"python{version}")
    if on_path is not None:
        candidates.append(on_path)
    for candidate in candidates:
        if _probe(candidate) == wanted:
            return Interpreter(candidate, wanted)
    return None


def warn_without_bytecode(version: str, requested: str | None = None) -> None:
    """The one warning of a synth whose asset ships without bytecode: what it costs, how to fix it."""
    named = requested or os.environ.get(PYTHON_ENV)
    tried = f"{named} is not a runnable CPython {version}, and " if named else ""
    warnings.warn(
        f"the Lambda code asset ships WITHOUT bytecode: {tried}no python{version} on PATH "
        f"runs as CPython {version}. Every cold start will compile pydantic, Powertools and close2cash "
        f"from source (~0.5 s more per cold start). Give the synth an interpreter of the runtime's "
        f"version: `cdk synth -c {PYTHON_CONTEXT}=/path/to/python{version}` or "
        f"{PYTHON_ENV}=/path/to/python{version}.",
        BytecodeSkipped,
        stacklevel=2,
    )


def compile_tree(directory: Path, interpreter: Interpreter, *, force: bool = False) -> None:
    """Compile every module under `directory` to unchecked hash-based pycs, in `__pycache__` beside it.

    `force` recompiles modules that already have a pyc (e.g. one written in timestamp mode).
    """
    env = dict(os.environ)
    # A pycache prefix would write the pycs outside the asset.
    env.pop("PYTHONPYCACHEPREFIX", None)
    command = [
        interpreter.path,
        "-m",
        "compileall",
        "-q",
        "-j",
        "0",
        "--invalidation-mode",
        INVALIDATION_MODE,
        *(["-f"] if force else []),
        str(directory),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise RuntimeError(f"could not compile the Lambda code asset's bytecode:\n{output}")
