"""The check each connector's test_ports runs: it implements every port its row of the table needs."""

from __future__ import annotations

from typing import Any

from shared.domain.role_ports import required_ports
from shared.domain.systems import SYSTEMS


def assert_implements_its_ports(connector: Any) -> None:
    """`connector` declares every port its system's role and intakes need, and really has each one."""
    row = SYSTEMS[connector.system]
    declared = type(connector).implements
    missing = [port.__name__ for port in required_ports(row) if port not in declared]
    assert not missing, f"{row.name} ({row.role}) does not declare {missing}"
    absent = [port.__name__ for port in declared if not isinstance(connector, port)]
    assert not absent, f"{row.name} declares {absent} but lacks their methods or attributes"
