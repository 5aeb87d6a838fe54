"""The one code asset: our packages plus dependencies built for Lambda's arm64 CPython 3.12."""

from __future__ import annotations

import pytest

from infra.cdk import bundling, bytecode

pytestmark = pytest.mark.infra


def test_asset_holds_our_packages_and_no_runtime_provided_sdk(asset_dir):
    assert (asset_dir / "functions" / "__init__.py").is_file()
    assert (asset_dir / "shared" / "__init__.py").is_file()
    assert not (asset_dir / "boto3").exists()
    assert not (asset_dir / "botocore").exists()


def test_asset_bytecode_is_the_runtime_versions_or_none(asset_dir):
    # The session's synth compiles with the CPython 3.12 it finds ($CLOSE2CASH_BUNDLING_PYTHON or
    # python3.12 on PATH); without one, the asset holds no bytecode at all (tests/infra/test_bytecode.py).
    compiled = bytecode.find_interpreter(bundling.PYTHON_VERSION)
    pycs = sorted(asset_dir.rglob("*.pyc"))
    if compiled is None:
        assert not pycs
        return
    assert {p.name.rsplit(".", 2)[1] for p in pycs} == {"cpython-312"}
    ours_and_dependencies = ("shared/__init__", "functions/__init__", "pydantic/main", "httpx/__init__")
    for module in ours_and_dependencies:
        folder, _, stem = module.rpartition("/")
        pyc = asset_dir / folder / "__pycache__" / f"{stem}.cpython-312.pyc"
        assert pyc.read_bytes()[4:8] == b"\x01\0\0\0"  # PEP 552: hash-based, unchecked


def test_compiled_dependencies_are_built_for_lambda_arm64_python312(asset_dir):
    [extension] = (asset_dir / "pydantic_core").glob("_pydantic_core*.so")
    assert extension.name == "_pydantic_core.cpython-312-aarch64-linux-gnu.so"
    assert (asset_dir / "aws_lambda_powertools").is_dir()


def test_asset_hash_follows_the_shipped_sources_only(tmp_path):
    # given a project with the two shipped packages
    for package in ("shared", "functions"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text('"""x."""\n')
    requirements = ("pydantic==2.0",)
    before = bundling.asset_hash(tmp_path, requirements)
    # when only bytecode or unshipped files appear, then the asset is unchanged
    (tmp_path / "shared" / "__pycache__").mkdir()
    (tmp_path / "shared" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    (tmp_path / "README.md").write_text("docs")
    assert bundling.asset_hash(tmp_path, requirements) == before
    # when shipped code changes, then so does the asset
    (tmp_path / "functions" / "__init__.py").write_text('"""y."""\n')
    assert bundling.asset_hash(tmp_path, requirements) != before


def test_runtime_requirements_leave_out_what_lambda_provides():
    requirements = bundling.runtime_requirements()
    assert requirements
    assert not [r for r in requirements if r.lower().startswith(("boto3", "botocore"))]


def test_asset_hash_changes_with_requirements_and_not_otherwise():
    requirements = bundling.runtime_requirements()
    same = bundling.asset_hash(bundling.REPO_ROOT, requirements)
    assert bundling.asset_hash(bundling.REPO_ROOT, requirements) == same
    assert bundling.asset_hash(bundling.REPO_ROOT, (*requirements, "six==1.17.0")) != same
