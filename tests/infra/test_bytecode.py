"""The asset's bytecode: compiled at bundling by the runtime's Python version, or loudly absent.

This interpreter stands in for Lambda's (PYTHON_VERSION set to its version), and a tiny fake project
and dependency folder stand in for the real ones, so no pip install or synth is needed.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from infra.cdk import bundling, bytecode

THIS_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
THIS_TAG = sys.implementation.cache_tag  # e.g. cpython-311
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, check_source off


def _project(root: Path) -> Path:
    for package in bundling.SOURCE_PACKAGES:
        (root / package / "sub").mkdir(parents=True)
        (root / package / "__init__.py").write_text('"""x."""\n')
        (root / package / "sub" / "__init__.py").write_text("VALUE = 1\n")
        # The developer's own, stale bytecode: never shipped.
        (root / package / "__pycache__").mkdir()
        (root / package / "__pycache__" / "__init__.cpython-310.pyc").write_bytes(b"stale")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["fakedep"]\n')
    return root


def _dependencies(root: Path) -> Path:
    (root / "fakedep").mkdir(parents=True)
    (root / "fakedep" / "__init__.py").write_text("def f() -> int:\n    return 2\n")
    return root


def _bundle(tmp_path: Path, compiled: bytecode.Interpreter | None, monkeypatch: pytest.MonkeyPatch) -> Path:
    project = _project(tmp_path / "project")
    site = _dependencies(tmp_path / "site")
    monkeypatch.setattr(bundling, "installed_dependencies", lambda _requirements: site)
    out = tmp_path / "asset"
    out.mkdir()
    assert bundling.LocalBundler(project, ("fakedep",), None, compiled).try_bundle(str(out))
    return out


def _flags(pyc: Path) -> int:
    # PEP 552: magic (4 bytes), then a little-endian 32-bit flags field.
    flags: int = struct.unpack("<I", pyc.read_bytes()[4:8])[0]
    return flags


def test_an_interpreter_of_the_runtime_version_is_found_by_running_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv(bytecode.PYTHON_ENV, raising=False)
    found = bytecode.find_interpreter(THIS_VERSION, sys.executable)
    assert found == bytecode.Interpreter(sys.executable, THIS_TAG)
    # given the same interpreter named for another version, then it is refused
    assert bytecode.find_interpreter("3.99", sys.executable) is None
    # given a name that does not run (a failing pyenv shim, a typo), then it is refused
    assert bytecode.find_interpreter(THIS_VERSION, "/nonexistent/python") is None


def test_the_environment_variable_names_the_interpreter(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setenv(bytecode.PYTHON_ENV, sys.executable)
    assert bytecode.find_interpreter(THIS_VERSION) == bytecode.Interpreter(sys.executable, THIS_TAG)


def test_the_bundle_ships_unchecked_hash_bytecode_for_our_code_and_dependencies(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path / "elsewhere"))
    compiled = bytecode.find_interpreter(THIS_VERSION, sys.executable)
    assert compiled is not None
    out = _bundle(tmp_path, compiled, monkeypatch)
    modules = [
        out / "shared" / "__init__.py",
        out / "functions" / "sub" / "__init__.py",
        out / "fakedep" / "__init__.py",
    ]
    for module in modules:
        pyc = module.parent / "__pycache__" / f"{module.stem}.{THIS_TAG}.pyc"
        assert pyc.is_file(), pyc
        assert _flags(pyc) == UNCHECKED_HASH
    # the developer's stale bytecode did not ship, and none went to the pycache prefix
    assert not list(out.rglob("*.cpython-310.pyc"))
    assert not (tmp_path / "elsewhere").exists()


def test_without_an_interpreter_the_synth_warns_once_and_ships_no_bytecode(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(bundling, "PYTHON_VERSION", "3.99")
    with pytest.warns(bytecode.BytecodeSkipped, match="WITHOUT bytecode") as caught:
        bundling.lambda_code(_project(tmp_path / "synth"), None, sys.executable)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert bytecode.PYTHON_CONTEXT in message
    assert bytecode.PYTHON_ENV in message
    out = _bundle(tmp_path, None, monkeypatch)
    assert (out / "fakedep" / "__init__.py").is_file()
    assert not list(out.rglob("__pycache__"))
    assert not list(out.rglob("*.pyc"))


def test_the_asset_hash_records_whether_and_for_which_version_bytecode_ships(tmp_path):
    project = _project(tmp_path / "project")
    requirements = ("fakedep",)
    without = bundling.asset_hash(project, requirements)
    with_312 = bundling.asset_hash(project, requirements, compiled=bytecode.Interpreter("p", "cpython-312"))
    with_313 = bundling.asset_hash(project, requirements, compiled=bytecode.Interpreter("q", "cpython-313"))
    assert len({without, with_312, with_313}) == 3
    # the interpreter's path is not part of the asset: the same version compiles the same bytecode
    same_version = bytecode.Interpreter("r", "cpython-312")
    assert bundling.asset_hash(project, requirements, compiled=same_version) == with_312
