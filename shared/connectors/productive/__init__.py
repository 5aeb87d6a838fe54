"""Productive.io connector: companies, engagements (projects), time and expenses read back; signed webhooks.

The package's face is `build` (the whole connector, `connector.py`) and `receiver` (webhook
verification and parsing only, `webhooks.py`). Both are loaded on first use, so a webhook is verified
without importing the API client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.face import lazy_face

if TYPE_CHECKING:
    from shared.connectors.productive.connection import ProductiveConnection
    from shared.connectors.productive.connector import ProductiveConnector, build
    from shared.connectors.productive.webhooks import receiver

__all__ = ["ProductiveConnection", "ProductiveConnector", "build", "receiver"]

__getattr__ = lazy_face(
    __name__,
    {
        "ProductiveConnection": "connection",
        "ProductiveConnector": "connector",
        "build": "connector",
        "receiver": "webhooks",
    },
)
