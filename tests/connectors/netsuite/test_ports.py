"""The NetSuite connector offers the ports of an accounting system's customer master, and no receiver."""

from __future__ import annotations

import inspect
from typing import Any

import shared.connectors.netsuite as face
from shared.connectors.netsuite import NetSuiteConnector, build
from shared.domain.models import SystemName
from shared.domain.ports import AccountTarget
from shared.domain.reconciliation_ports import CustomerCensus
from shared.domain.sweeps import ChangeFeed


def _members(protocol: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(protocol, inspect.isfunction) if not name.startswith("_")}


def test_the_connector_implements_account_target_change_feed_and_census(connection: dict[str, Any]) -> None:
    connector = build(connection)
    assert connector.system is SystemName.NETSUITE
    # every method of the ports, with the ports' own signatures
    for protocol in (AccountTarget, ChangeFeed):
        for name in _members(protocol):
            ours = inspect.signature(getattr(NetSuiteConnector, name))
            theirs = inspect.signature(getattr(protocol, name))
            assert list(ours.parameters) == list(theirs.parameters), name
    assert isinstance(connector, CustomerCensus)
    assert connector.http_calls == 0  # building it calls nobody
    connector.close()


def test_netsuite_has_no_webhook_receiver() -> None:
    # NetSuite sends no signed webhooks: its changes come by sweep, so the package offers no receiver
    assert "receiver" not in face.__all__
    assert not hasattr(NetSuiteConnector, "receive")
