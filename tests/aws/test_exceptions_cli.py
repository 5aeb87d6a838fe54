"""`close2cash exceptions list / resolve` on the ledger table (moto): what needs a person, and closing it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from infra import cli
from shared.aws.ledger import DynamoLedger
from shared.domain.models import EntityType, SourceRef, SystemName
from shared.domain.ports import ExceptionRecord

SUBJECT = SourceRef(system=SystemName.QUICKBOOKS, type="customer", id="58", version="3")


@pytest.fixture
def ledger(dynamodb, monkeypatch: pytest.MonkeyPatch) -> DynamoLedger:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    ledger = DynamoLedger("ledger", client=dynamodb)
    for number, kind in ((1, "drift"), (2, "ambiguous_match")):
        ledger.record_exception(
            ExceptionRecord(
                id=f"{kind}:quickbooks:{number}",
                kind=kind,
                entity=EntityType.ACCOUNT,
                subject=SUBJECT,
                reason=f"reason {number}",
                opened_at=datetime(2026, 11, number, 9, 0, tzinfo=UTC),
            )
        )
    return ledger


def test_list_shows_the_open_exceptions_oldest_first(ledger: DynamoLedger) -> None:
    shown = CliRunner().invoke(cli.app, ["exceptions", "list"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].startswith("drift:quickbooks:1  [open] drift  quickbooks/customer/58")
    assert lines[1].strip() == "reason 1" and lines[2].startswith("ambiguous_match:quickbooks:2")
    assert lines[-1] == "2 open exception(s)"


def test_resolve_closes_one_with_a_note_and_list_all_still_shows_it(ledger: DynamoLedger) -> None:
    runner = CliRunner()
    done = runner.invoke(
        cli.app, ["exceptions", "resolve", "drift:quickbooks:1", "--note", "renamed back in QuickBooks"]
    )
    assert done.exit_code == 0 and "resolved drift:quickbooks:1" in done.output, done.output
    assert [e["id"] for e in ledger.open_exceptions()] == ["ambiguous_match:quickbooks:2"]
    every = runner.invoke(cli.app, ["exceptions", "list", "--all"])
    assert "[resolved] drift" in every.output and "renamed back in QuickBooks" in every.output
    # resolving it again, or an id that does not exist, says so and exits 1
    again = runner.invoke(cli.app, ["exceptions", "resolve", "drift:quickbooks:1", "--note", "x"])
    assert again.exit_code == 1 and "no open exception 'drift:quickbooks:1'" in again.output


def test_a_blank_note_is_refused(ledger: DynamoLedger) -> None:
    refused = CliRunner().invoke(cli.app, ["exceptions", "resolve", "drift:quickbooks:1", "--note", " "])
    assert refused.exit_code == 2 and "--note must say what was done" in refused.output
    assert len(ledger.open_exceptions()) == 2
