"""QuickBooks Online connector: accounts as Customers, engagements as sub-customers, webhooks as notices.

The package's face is `build` (the whole connector, `connector.py`) and `receiver` (webhook
verification and parsing only, `webhooks.py`). Both are loaded on first use, so a webhook is verified
without importing the API client, the mapper and the payload models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.connectors.quickbooks.connection import QuickBooksConnection
    from shared.connectors.quickbooks.connector import QuickBooksConnector, build
    from shared.connectors.quickbooks.webhooks import receiver

__all__ = ["QuickBooksConnection", "QuickBooksConnector", "build", "receiver"]

_HOME = {
    "QuickBooksConnection": "connection",
    "QuickBooksConnector": "connector",
    "build": "connector",
    "receiver": "webhooks",
}


def __getattr__(name: str) -> Any:
    # PEP 562: a name of the package's face is imported from its module on first use.
    if name in _HOME:
        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
