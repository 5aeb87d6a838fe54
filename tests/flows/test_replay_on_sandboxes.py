"""Replay on the sandboxes: a mapping row corrected after it went live, rolled out over past notices.

The hub runs under a landscape whose payment-terms row is wrong (QuickBooks "Net 30" became 45 due
days in Productive). A bookkeeper sets Net 30 on two customers; both companies get 45. The corrected
landscape file is then replayed over that window: the dry run shows exactly the two companies'
due days and writes nothing; the replay writes exactly those two; a second replay writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.environment import DEFAULT_LANDSCAPE, LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import EntityType, SourceRef, SystemName

pytestmark = pytest.mark.flow

RIGHT_ROW = '{ source = "3", target = "30",     source_system = "quickbooks", target_system = "productive" }'
WRONG_ROW = RIGHT_ROW.replace('"30"', '"45"')


@pytest.fixture(scope="module")
def wrong_landscape(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = DEFAULT_LANDSCAPE.read_text(encoding="utf-8")
    assert RIGHT_ROW in text
    path = tmp_path_factory.mktemp("landscape") / "wrong.toml"
    path.write_text(text.replace(RIGHT_ROW, WRONG_ROW), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def env(wrong_landscape: Path) -> Iterator[LocalEnvironment]:
    with local_environment(landscape=wrong_landscape) as environment:
        yield environment


@pytest.fixture(scope="module")
def window(env: LocalEnvironment) -> dict[str, object]:
    """Two customers given Net 30 by the bookkeeper under the wrong row; a third outside the window."""
    outside = env.salesforce.put_account({"Name": "Before Window Ltd"})
    env.settle()
    start = datetime.now(UTC)
    accounts = [
        env.salesforce.put_account({"Name": name}) for name in ("Replay Terms One", "Replay Terms Two")
    ]
    env.settle()
    for account in accounts:
        env.quickbooks.put_customer(
            {"Id": _links(account)[SystemName.QUICKBOOKS], "SalesTermRef": {"value": "3"}}
        )
    env.settle()
    end = datetime.now(UTC) + timedelta(seconds=1)
    assert [_due_days(env, a) for a in accounts] == [45, 45]
    return {"start": start, "end": end, "accounts": accounts, "outside": outside}


def _links(account: str) -> dict[SystemName, str]:
    source = SourceRef(system=SystemName.SALESFORCE, type="Account", id=account)
    return {
        x.target.system: x.target.id
        for x in bootstrap.services().ledger.cross_references(EntityType.ACCOUNT, source)
    }


def _due_days(env: LocalEnvironment, account: str) -> int | None:
    attributes = env.productive.company(_links(account)[SystemName.PRODUCTIVE])["attributes"]
    days: int | None = attributes.get("due_days")
    return days


def _replay(env: LocalEnvironment, window: dict[str, object], *extra: str, code: int = 0) -> str:
    assert env.runtime is not None
    start, end = window["start"], window["end"]
    assert isinstance(start, datetime) and isinstance(end, datetime)
    args = ["replay", "--from", start.isoformat(), "--to", end.isoformat(), *extra]
    answer = CliRunner().invoke(app, [*args, "--endpoint-url", env.runtime.moto_endpoint])
    assert answer.exit_code == code, answer.output
    return answer.output


def test_the_dry_run_shows_each_companys_due_days_and_writes_nothing(
    env: LocalEnvironment, window: dict[str, object]
) -> None:
    accounts = window["accounts"]
    assert isinstance(accounts, list)
    before = [
        env.productive.company(_links(a)[SystemName.PRODUCTIVE])["attributes"]["updated_at"] for a in accounts
    ]
    output = _replay(env, window, "--landscape", str(DEFAULT_LANDSCAPE), "--dry-run")
    assert "dry run: nothing written" in output and "differences: 2" in output
    for account in accounts:
        company = _links(account)[SystemName.PRODUCTIVE]
        assert (
            f"update productive company {company} for salesforce {account}: payment_terms: '45' -> '30'"
            in output
        )
    assert str(window["outside"]) not in output
    after = [
        env.productive.company(_links(a)[SystemName.PRODUCTIVE])["attributes"]["updated_at"] for a in accounts
    ]
    assert after == before and [_due_days(env, a) for a in accounts] == [45, 45]


def test_the_replay_writes_exactly_that_diff_and_a_second_one_writes_nothing(
    env: LocalEnvironment, window: dict[str, object]
) -> None:
    accounts = window["accounts"]
    assert isinstance(accounts, list)
    customers = {a: env.quickbooks.customer(_links(a)[SystemName.QUICKBOOKS])["SyncToken"] for a in accounts}
    output = _replay(env, window, "--landscape", str(DEFAULT_LANDSCAPE))
    assert "2 record(s) written" in output
    env.settle()  # Productive's webhooks about the writes: echoes, nothing bounces
    assert [_due_days(env, a) for a in accounts] == [30, 30]
    assert _due_days(env, str(window["outside"])) is None
    # QuickBooks held the right term all along: not written
    assert {
        a: env.quickbooks.customer(_links(a)[SystemName.QUICKBOOKS])["SyncToken"] for a in accounts
    } == customers
    again = _replay(env, window, "--landscape", str(DEFAULT_LANDSCAPE))
    assert "differences: 0" in again and "0 record(s) written" in again


def test_a_landscape_file_with_a_problem_is_refused_naming_it(
    env: LocalEnvironment, window: dict[str, object], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        DEFAULT_LANDSCAPE.read_text(encoding="utf-8").replace('target = "30"', 'targett = "30"'),
        encoding="utf-8",
    )
    output = _replay(env, window, "--landscape", str(broken), "--dry-run", code=2)
    assert "broken.toml" in output and "targett" in output


def test_a_backwards_window_is_refused(env: LocalEnvironment, window: dict[str, object]) -> None:
    backwards = {"start": window["end"], "end": window["start"]}
    output = _replay(env, backwards, "--dry-run", code=2)
    assert "must be after" in output
