"""Productive.io connector: accounts become companies, engagements projects; signed webhooks come back.

The package's face is `build` (the whole connector, `connector.py`) and `receiver` (webhook
verification and parsing only, `webhooks.py`). Both are loaded on first use, so a webhook is verified
without importing the API client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.connectors.productive.connection import ProductiveConnection
    from shared.connectors.productive.connector import ProductiveConnector, build
    from shared.connectors.productive.webhooks import receiver

__all__ = ["ProductiveConnection", "ProductiveConnector", "build", "receiver"]

_HOME = {
    "ProductiveConnection": "connection",
    "ProductiveConnector": "connector",
    "build": "connector",
    "receiver": "webhooks",
}


def __getattr__(name: str) -> Any:
    # PEP 562: a name of the package's face is imported from its module on first use.
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
