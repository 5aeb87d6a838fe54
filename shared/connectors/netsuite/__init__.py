"""NetSuite connector: accounts as customers (upsert by external id), changes by SuiteQL sweep.

The package's face is `build` (the whole connector, `connector.py`), loaded on first use like every
connector's. NetSuite sends no signed webhooks, so there is no `receiver`: changes are swept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.face import lazy_face

if TYPE_CHECKING:
    from shared.connectors.netsuite.connection import NetSuiteConnection
    from shared.connectors.netsuite.connector import NetSuiteConnector, build

__all__ = ["NetSuiteConnection", "NetSuiteConnector", "build"]

__getattr__ = lazy_face(
    __name__,
    {
        "NetSuiteConnection": "connection",
        "NetSuiteConnector": "connector",
        "build": "connector",
    },
)
