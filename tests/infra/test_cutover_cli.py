"""What `close2cash cutover` prints of the function's answer, and how it refuses."""

from __future__ import annotations

from typer.testing import CliRunner

from infra.cli import app
from infra.cutover_cli import diff_lines

DIFF = {
    "legal_entity": "US01",
    "old": "quickbooks",
    "new": "netsuite",
    "cutover_on": "2027-01-01",
    "shadow_from": "2026-12-01",
    "documents": 2,
    "lines": [
        {
            "id": "US01:time:8812:amount",
            "document": "time entry 8812 of 2026-12-03 (quickbooks 145), Acme rollout",
            "kind": "differs",
            "field": "amount",
            "old": "225.00 USD",
            "new": "225.02 USD",
            "at_stake": {"amount": "0.02", "currency": "USD"},
            "acknowledged": None,
        }
    ],
    "to_set_up": ["Acme rollout"],
    "confirmed": None,
}


def test_each_line_shows_both_ledgers_the_amount_at_stake_and_how_to_settle_it() -> None:
    lines = diff_lines(DIFF)
    assert lines[0] == "cutover of US01: quickbooks -> netsuite on 2027-01-01 (shadow from 2026-12-01)"
    assert (
        "  [US01:time:8812:amount] time entry 8812 of 2026-12-03 (quickbooks 145), Acme rollout: amount: "
        "quickbooks 225.00 USD | netsuite 225.02 USD (at stake 0.02 USD) [open]"
    ) in lines
    assert "  set up in netsuite at the cutover: engagement Acme rollout" in lines
    assert lines[-1].startswith("  1 open line(s)")


def test_an_acknowledged_line_names_who_and_why_and_a_clear_diff_says_how_to_go_ahead() -> None:
    nod = {"by": "controller@northwind.example", "at": "2026-12-04T09:00:00Z", "note": "rounding"}
    lines = diff_lines({**DIFF, "lines": [{**DIFF["lines"][0], "acknowledged": nod}]})
    assert any(line.endswith("[acknowledged by controller@northwind.example: rounding]") for line in lines)
    assert lines[-1].startswith("  clear: `close2cash cutover confirm --legal-entity US01")


def test_without_a_deployed_function_the_command_says_so_and_exits_2() -> None:
    answer = CliRunner().invoke(
        app, ["cutover", "diff", "--legal-entity", "US01", "--endpoint-url", "http://127.0.0.1:9"]
    )
    assert answer.exit_code != 0
