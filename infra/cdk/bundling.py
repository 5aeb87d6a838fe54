"""One Lambda code asset for every function, bundled locally with pip's platform flags (no Docker)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from infra.cdk import bytecode
from infra.cdk.sources import SOURCE_PACKAGES, source_files

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".close2cash" / "bundle-cache"
# The landscape file ships inside the code asset under this name; handlers find it through
# LANDSCAPE_FILE, relative to LAMBDA_TASK_ROOT (shared.settings).
LANDSCAPE_IN_ASSET = "landscape.toml"
DEFAULT_LANDSCAPE = REPO_ROOT / "infra" / "landscapes" / "demo.toml"

# Must match the Lambda runtime and architecture chosen in constructs/functions.py.
PYTHON_VERSION = "3.12"
PLATFORM = "manylinux2014_aarch64"
PIP_FLAGS = (
    "--platform",
    PLATFORM,
    "--only-binary=:all:",
    "--python-version",
    PYTHON_VERSION,
    "--implementation",
    "cp",
)
# The Lambda Python runtime ships boto3/botocore; they may still arrive transitively (aws-xray-sdk needs
# botocore), so they are removed after install to keep the asset small and use the runtime's copies.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# The developer's own bytecode (any version, any mode) never ships: the bundler compiles the asset afresh.
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")


def runtime_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> tuple[str, ...]:
    """[project].dependencies from pyproject.toml, without the packages Lambda's runtime provides."""
    with pyproject.open("rb") as fh:
        deps: list[str] = tomllib.load(fh)["project"]["dependencies"]
    return tuple(d for d in deps if _distribution_name(d) not in RUNTIME_PROVIDED)


def _distribution_name(requirement: str) -> str:
    name = requirement
    for sep in ("[", "=", "<", ">", "!", "~", ";", " "):
        name = name.split(sep, 1)[0]
    return name.strip().lower().replace("_", "-")


def requirements_hash(requirements: tuple[str, ...]) -> str:
    """Key of the dependency cache: the requirement list plus the target platform."""
    digest = hashlib.sha256()
    for part in (*requirements, *PIP_FLAGS):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def asset_hash(
    root: Path,
    requirements: tuple[str, ...],
    landscape: Path | None = None,
    compiled: bytecode.Interpreter | None = None,
) -> str:
    """Hash of the shipped sources, landscape, requirements and bytecode (which version, or none):
    unchanged inputs, unchanged asset."""
    digest = hashlib.sha256(requirements_hash(requirements).encode())
    digest.update(f"bytecode:{compiled.fingerprint if compiled else 'none'}\0".encode())
    if landscape is not None:
        digest.update(landscape.read_bytes())
    for path in source_files(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def installed_dependencies(requirements: tuple[str, ...], cache_dir: Path = CACHE_DIR) -> Path:
    """Install the requirements for Lambda's platform once per requirement list; return the folder."""
    target = cache_dir / requirements_hash(requirements)
    if (target / ".complete").exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Install into a scratch folder and rename it into place, so a concurrent or interrupted synth never
    # sees a half-installed cache entry.
    scratch = Path(tempfile.mkdtemp(prefix="install-", dir=cache_dir))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *PIP_FLAGS,
        "--target",
        str(scratch),
        *requirements,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        shutil.rmtree(scratch, ignore_errors=True)
        raise RuntimeError(f"pip could not install the Lambda dependencies:\n{result.stderr}")
    for name in RUNTIME_PROVIDED:
        shutil.rmtree(scratch / name, ignore_errors=True)
        for info in scratch.glob(f"{name}-*.dist-info"):
            shutil.rmtree(info, ignore_errors=True)
    (scratch / ".complete").write_text("\n".join(requirements) + "\n")
    try:
        scratch.rename(target)
    except OSError:
        # Another process finished the same install first; its copy is equivalent.
        shutil.rmtree(scratch, ignore_errors=True)
    return target


@jsii.implements(cdk.ILocalBundling)
class LocalBundler:
    """Builds the asset on this machine: cached dependencies plus the `shared` and `functions` packages,
    all compiled to bytecode by `compiled` (an interpreter of the runtime's version) when there is one."""

    def __init__(
        self,
        root: Path,
        requirements: tuple[str, ...],
        landscape: Path | None = None,
        compiled: bytecode.Interpreter | None = None,
    ) -> None:
        self._root = root
        self._requirements = requirements
        self._landscape = landscape
        self._compiled = compiled

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        # jsii passes the BundlingOptions either positionally or as keywords depending on its version;
        # none of them matter here because nothing runs in a container.
        out = Path(output_dir)
        dependencies = installed_dependencies(self._requirements)
        shutil.copytree(dependencies, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
        for package in SOURCE_PACKAGES:
            shutil.copytree(self._root / package, out / package, dirs_exist_ok=True, ignore=_IGNORED)
        if self._landscape is not None:
            shutil.copyfile(self._landscape, out / LANDSCAPE_IN_ASSET)
        if self._compiled is not None:
            bytecode.compile_tree(out, self._compiled)
        return True


def lambda_code(
    root: Path = REPO_ROOT, landscape: Path | None = DEFAULT_LANDSCAPE, python: str | None = None
) -> lambda_.AssetCode:
    """The single code asset shared by every function in the wiring, with the landscape file in it.

    `python` (the `bundling_python` context) names the interpreter that compiles its bytecode; without
    a CPython of the runtime's version the asset ships without bytecode, and one warning says so.
    """
    requirements = runtime_requirements(root / "pyproject.toml")
    compiled = bytecode.find_interpreter(PYTHON_VERSION, python)
    if compiled is None:
        bytecode.warn_without_bytecode(PYTHON_VERSION, python)
    return lambda_.Code.from_asset(
        # Only names the asset's source: with a CUSTOM hash CDK never fingerprints this folder, and the
        # local bundler reads `root` itself.
        str(root / "functions"),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        asset_hash=asset_hash(root, requirements, landscape, compiled),
        bundling=cdk.BundlingOptions(
            # Never pulled: local bundling always succeeds or raises, and this machine has no Docker.
            image=cdk.DockerImage.from_registry("public.ecr.aws/sam/build-python3.12"),
            local=LocalBundler(root, requirements, landscape, compiled),
        ),
    )
