"""Governance imports only the domain (DESIGN.md §3), checked here until pyproject has a contract for it."""

from __future__ import annotations

import ast
from pathlib import Path

GOVERNANCE = Path(__file__).resolve().parents[2] / "shared" / "governance"
FORBIDDEN = (
    "shared.aws",
    "shared.connectors",
    "shared.sync",
    "shared.bootstrap",
    "infra",
    "functions",
    "boto3",
)


def test_governance_imports_only_the_domain_and_itself():
    offending = []
    for module in sorted(GOVERNANCE.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offending += [
                f"{module.name}: {n}"
                for n in names
                if any(n == f or n.startswith(f"{f}.") for f in FORBIDDEN)
            ]
    assert offending == []
