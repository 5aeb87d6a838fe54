"""The NetSuite connector offers the customer and engagement ports of accounting, and no receiver."""

from __future__ import annotations

from typing import Any

import shared.connectors.netsuite as face
from shared.connectors.netsuite import NetSuiteConnector, build
from shared.domain.account_ports import AccountTarget
from shared.domain.billing_ports import InvoiceTarget
from shared.domain.intake_ports import WebhookReceiver
from shared.domain.models import SystemName
from shared.domain.reconciliation_ports import InvoiceCensus
from shared.domain.sweeps import ChangeFeed
from shared.domain.systems import SYSTEMS, Domain
from tests.connectors.ports import assert_implements_its_ports


def test_the_connector_implements_the_ports_it_declares(connection: dict[str, Any]) -> None:
    # given the connector built from a connection
    connector = build(connection)
    # then each port it declares is really there (runtime-checkable protocols), the sweep's among them
    assert connector.system is SystemName.NETSUITE
    assert {AccountTarget, ChangeFeed, InvoiceTarget, InvoiceCensus} <= set(NetSuiteConnector.implements)
    assert [port.__name__ for port in NetSuiteConnector.implements if not isinstance(connector, port)] == []
    assert connector.http_calls == 0  # building it calls nobody
    connector.close()


def test_the_connector_implements_what_its_row_of_the_table_obliges(connection: dict[str, Any]) -> None:
    # NetSuite holds what a ledger holds: customers, projects, time and expenses, invoices, payments
    # and credit memos; their ports (targets and censuses), and the sweep as its intake
    connector = build(connection)
    assert SYSTEMS[SystemName.NETSUITE].holds == frozenset(Domain) - {Domain.CONTACT, Domain.OPPORTUNITY}
    assert_implements_its_ports(connector)
    connector.close()


def test_netsuite_has_no_webhook_receiver(connection: dict[str, Any]) -> None:
    # NetSuite sends no signed webhooks: its changes come by sweep, so the package offers no receiver
    assert "receiver" not in face.__all__
    assert not isinstance(build(connection), WebhookReceiver)
