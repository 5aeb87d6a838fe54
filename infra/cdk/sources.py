"""What of our tree the Lambda code asset ships: the packages, without any developer's bytecode.

Kept free of aws_cdk so that the cold-start bench can build the same task root without loading CDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

SOURCE_PACKAGES = ("shared", "functions")


def source_files(root: Path) -> Iterator[Path]:
    """Every file of the shipped packages under `root`, in a stable order (no `__pycache__`, no pyc)."""
    for package in SOURCE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                yield path
