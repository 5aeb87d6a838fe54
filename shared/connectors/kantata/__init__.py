"""Kantata OX connector, being built: so far the capacity read (workweeks, time off, cost rates).

The package's face is `build` (`connector.py`), loaded on first use. The systems table keeps Kantata
`built=False` until the connector covers the rest of a PSA's ports (shared/domain/role_ports.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.connectors.face import lazy_face

if TYPE_CHECKING:
    from shared.connectors.kantata.connection import KantataConnection
    from shared.connectors.kantata.connector import KantataConnector, build

__all__ = ["KantataConnection", "KantataConnector", "build"]

__getattr__ = lazy_face(
    __name__,
    {"KantataConnection": "connection", "KantataConnector": "connector", "build": "connector"},
)
