"""The salesforce connector implements every port its role and intakes need (shared/domain/role_ports.py)."""

from __future__ import annotations

from tests.connectors.ports import assert_implements_its_ports


def test_the_connector_implements_what_the_flows_call_on_it(connector) -> None:
    # given the connector built from its sandbox's connection
    # then each port of its role and intakes is declared, and really there
    assert_implements_its_ports(connector)
