"""`[[systems]] intake`: how Salesforce delivers its changes, validated with an error that names it."""

from __future__ import annotations

import pytest

from shared.domain.systems import Intake
from shared.governance.loader import LandscapeInvalid, parse_landscape
from tests.governance.conftest import edited


def test_salesforce_delivers_by_outbound_message_unless_the_landscape_says_otherwise(demo):
    assert demo.system("salesforce").chosen_intake is Intake.OUTBOUND_MESSAGES
    assert demo.system("productive").chosen_intake is Intake.WEBHOOKS


def test_change_data_capture_is_chosen_on_the_salesforce_system():
    text = edited(
        (
            'name = "salesforce"\nrole = "crm"',
            'name = "salesforce"\nrole = "crm"\nintake = "change_data_capture"',
        )
    )
    assert parse_landscape(text).system("salesforce").chosen_intake is Intake.CHANGE_DATA_CAPTURE


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'name = "salesforce"\nrole = "crm"',
            'name = "salesforce"\nrole = "crm"\nintake = "pubsub"',
            "'webhooks', 'outbound_messages', 'change_data_capture' or 'sweep'",
        ),
        (
            'name = "productive"\nrole = "psa"',
            'name = "productive"\nrole = "psa"\nintake = "change_data_capture"',
            "productive cannot deliver its changes by 'change_data_capture'; expected intake = 'webhooks'",
        ),
    ],
)
def test_an_intake_the_vendor_does_not_offer_is_an_error_naming_it(old, new, expected):
    with pytest.raises(LandscapeInvalid) as invalid:
        parse_landscape(edited((old, new)))
    assert any(expected in str(problem) for problem in invalid.value.problems), invalid.value.problems


def test_the_demo_refuses_an_intake_it_does_not_know_before_starting_anything():
    from typer.testing import CliRunner

    from infra.cli import app

    result = CliRunner().invoke(app, ["demo", "--intake", "pubsub"])
    assert result.exit_code == 2
    assert "--intake must be one of outbound, cdc" in result.output
