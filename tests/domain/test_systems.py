"""The table of systems: every vendor list derives from it, and every row it calls built is built."""

from __future__ import annotations

import importlib
import importlib.util

import pytest

from shared.bootstrap import Services
from shared.domain.errors import ConfigurationError
from shared.domain.models import SystemName
from shared.domain.systems import SYSTEMS, WEBHOOK_PROVIDERS, Intake, Role, with_role
from shared.settings import Settings

BUILT = [name for name, row in SYSTEMS.items() if row.built]


def test_every_system_name_has_one_row_and_a_role() -> None:
    assert set(SYSTEMS) == set(SystemName)
    assert {row.role for row in SYSTEMS.values()} == set(Role)
    assert set(with_role(Role.ACCOUNTING)) == {
        SystemName.NETSUITE,
        SystemName.QUICKBOOKS,
        SystemName.XERO,
        SystemName.BUSINESSCENTRAL,
    }


@pytest.mark.parametrize("system", BUILT, ids=str)
def test_a_built_system_has_its_connector_and_its_sandbox(system: SystemName) -> None:
    # given a row the table calls built
    row = SYSTEMS[system]
    # then its connector package builds, answers webhooks when it has them, and has a local twin
    connector = importlib.import_module(f"shared.connectors.{system.value}")
    assert callable(connector.build)
    assert callable(getattr(connector, "receiver", None)) is row.webhooks
    assert importlib.util.find_spec(f"infra.local.sandboxes.{system.value}.twin") is not None


def test_the_webhook_route_knows_every_system_and_which_push() -> None:
    # a pull-only vendor is known (its webhooks get a 4xx that says why), not an unknown provider
    assert {SystemName(name) for name in WEBHOOK_PROVIDERS} == set(SystemName)
    assert not SYSTEMS[SystemName.NETSUITE].webhooks
    assert SYSTEMS[SystemName.NETSUITE].default_intake is Intake.SWEEP
    assert SYSTEMS[SystemName.SALESFORCE].default_intake is Intake.OUTBOUND_MESSAGES


def test_a_system_without_a_connector_is_a_configuration_error_that_says_so() -> None:
    # given a connections secret that names a vendor close2cash has no connector for
    unbuilt = next(name for name, row in SYSTEMS.items() if not row.built)
    services = Services(
        settings=Settings(ledger_table="ledger", connections_secret="connections"),
        secrets_loader=lambda _: {unbuilt.value: {"token": "x"}},
    )
    # when the hub builds its connector
    with pytest.raises(ConfigurationError, match=f"no {unbuilt.value} connector"):
        services.connector(unbuilt)
