"""Imports point inward (DESIGN.md §3): the import-linter contracts in pyproject.toml hold."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is a dev dependency: run `make install`"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _contract(name: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    [contract] = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == name]
    return dict(contract)


def test_the_aws_adapters_are_forbidden_use_cases_and_vendor_code():
    # the adapters implement ports; what they need of a use case's results lives in shared.domain
    contract = _contract("the AWS adapters import no use case and no vendor code")
    assert contract["source_modules"] == ["shared.aws"]
    assert {"shared.sync", "shared.connectors"} <= set(contract["forbidden_modules"])  # type: ignore[arg-type]
