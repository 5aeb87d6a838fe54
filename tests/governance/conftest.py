"""The demo landscape, and edits of it that break one thing each."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.governance.landscape import Landscape
from shared.governance.loader import load_landscape

DEMO = Path(__file__).resolve().parents[2] / "infra" / "landscapes" / "demo.toml"


def demo_text() -> str:
    return DEMO.read_text(encoding="utf-8")


def edited(*replacements: tuple[str, str]) -> str:
    """The demo file with each `old` replaced by `new` (each `old` must be there: a test that edits
    nothing would pass for the wrong reason)."""
    text = demo_text()
    for old, new in replacements:
        assert old in text, f"the demo landscape no longer contains {old!r}"
        text = text.replace(old, new, 1)
    return text


@pytest.fixture(scope="session")
def demo() -> Landscape:
    return load_landscape(DEMO)
