"""QuickBooks Online connector: accounts as Customers, engagements as sub-customers, webhooks as notices.

The package's face is `build` (the whole connector, `connector.py`) and `receiver` (webhook
verification and parsing only, `webhooks.py`). Both are loaded on first use, so a webhook is verified
without importing the API client, the mapper and the payload models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.face import lazy_face

if TYPE_CHECKING:
    from shared.connectors.quickbooks.connection import QuickBooksConnection
    from shared.connectors.quickbooks.connector import QuickBooksConnector, build
    from shared.connectors.quickbooks.webhooks import receiver

__all__ = ["QuickBooksConnection", "QuickBooksConnector", "build", "receiver"]

__getattr__ = lazy_face(
    __name__,
    {
        "QuickBooksConnection": "connection",
        "QuickBooksConnector": "connector",
        "build": "connector",
        "receiver": "webhooks",
    },
)
