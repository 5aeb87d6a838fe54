"""Reconciliation on the sandboxes: agreeing systems give no break; each break the issue names is found
with both sides and an action; fixing it by hand and running again resolves it.

One module-scoped environment: a deal won, staffed, billed for November and paid in part. The
breaks are made as a person would make them, through each vendor's own API.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.environment import LocalEnvironment, local_environment
from shared import bootstrap
from shared.domain.models import SystemName
from tests.flows.deals import billed_and_part_paid, bookkeeper

pytestmark = pytest.mark.flow

SINCE = "2026-01-01"


@pytest.fixture(scope="module")
def env() -> Iterator[LocalEnvironment]:
    with local_environment() as environment:
        yield environment


@pytest.fixture(scope="module")
def billed(env: LocalEnvironment) -> dict[str, str]:
    """A deal won (8,000.00 USD), 14 h at 200.00 posted and invoiced for November, 250.00 paid."""
    return billed_and_part_paid(
        env, "Reconcile Flow Corp rollout", person=("Edsger", "Dijkstra", "ed@example.com")
    )


def reconcile(env: LocalEnvironment, *extra: str) -> str:
    assert env.runtime is not None
    answer = CliRunner().invoke(
        app, ["reconcile", "--since", SINCE, *extra, "--endpoint-url", env.runtime.moto_endpoint]
    )
    assert answer.exit_code == 0, answer.output
    return answer.output


def open_breaks(opportunity: str, account: str) -> dict[str, dict[str, Any]]:
    ledger = bootstrap.services().ledger
    return {
        e["id"] or "": e
        for e in ledger.open_exceptions()
        if e.get("kind") == "reconciliation"
        and (f":{opportunity}:" in (e["id"] or "") or f":{account}:" in (e["id"] or ""))
    }


def test_a_clean_engagement_reconciles_with_no_break_and_says_what_it_read(
    env: LocalEnvironment, billed: dict[str, str]
) -> None:
    output = reconcile(env, "--engagement", billed["project"])
    assert open_breaks(billed["opportunity"], billed["account"]) == {}, output
    assert "0 found" in output
    assert "vendor calls:" in output and "quickbooks" in output


def test_each_break_is_found_with_both_sides_then_resolved_once_fixed(
    env: LocalEnvironment, billed: dict[str, str]
) -> None:
    connector = bootstrap.services().connector(SystemName.QUICKBOOKS)
    # given a bookkeeper raises the invoice's first line by 100.00 in QuickBooks
    invoice = connector.client._send(
        "GET", connector.client._path(f"invoice/{billed['invoice']}"), context="read"
    )["Invoice"]
    lines = [dict(line) for line in invoice["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
    original = Decimal(str(lines[0]["Amount"]))
    lines[0]["Amount"] = original + 100
    detail = dict(lines[0]["SalesItemLineDetail"])
    detail.pop("Qty", None), detail.pop("UnitPrice", None)
    lines[0]["SalesItemLineDetail"] = detail
    bookkeeper(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines},
    )
    # and an hour of November is approved in Productive after that invoice was posted
    env.productive.approve_time_entry(
        env.productive.add_time_entry(billed["person"], billed["service"], "2026-11-20", 60)
    )
    # and the customer is created a second time by hand in QuickBooks
    name = env.salesforce.account(billed["account"])["Name"]
    twin = bookkeeper("Customer", {"DisplayName": f"{name}."})
    env.settle()
    # when reconciliation runs
    output = reconcile(env)
    found = open_breaks(billed["opportunity"], billed["account"])
    kinds = sorted(found)
    # then each is a break, with each side and what to do
    assert any(i.endswith(f":invoice:{billed['invoice']}") for i in kinds), output
    assert any(i.endswith(":unbilled:2026-11") for i in kinds), output
    assert any(i.endswith(":duplicate:quickbooks") for i in kinds), output
    edited = next(e for i, e in found.items() if i.endswith(f":invoice:{billed['invoice']}"))
    assert edited["at_stake"] == "100.00 USD" and edited["action"]
    assert "200.00 USD" in next(e for i, e in found.items() if i.endswith(":unbilled:2026-11"))["reason"]
    assert str(twin["Id"]) in (
        next(e for i, e in found.items() if i.endswith(":duplicate:quickbooks"))["evidence"] or ""
    )
    # and `close2cash exceptions list` shows each side and what to do
    assert env.runtime is not None
    listed = CliRunner().invoke(app, ["exceptions", "list", "--endpoint-url", env.runtime.moto_endpoint])
    assert listed.exit_code == 0, listed.output
    assert (
        "at stake: 100.00 USD" in listed.output
        and "do: the invoice was edited in accounting" in listed.output
    )
    # when the bookkeeper makes the hand-made customer inactive (the fix the break suggests for one)
    twin = connector.client._send("GET", connector.client._path(f"customer/{twin['Id']}"), context="read")[
        "Customer"
    ]
    bookkeeper(
        "Customer", {"Id": twin["Id"], "SyncToken": twin["SyncToken"], "sparse": True, "Active": False}
    )
    env.settle()
    # and asks the hub to retry the break: it says what it will do, then does it
    duplicate = next(i for i in found if i.endswith(":duplicate:quickbooks"))
    endpoint = ["--endpoint-url", env.runtime.moto_endpoint]
    dry = CliRunner().invoke(app, ["exceptions", "retry", duplicate, "--dry-run", *endpoint])
    assert dry.exit_code == 0 and "will run reconciliation now" in dry.output, dry.output
    assert "nothing done (--dry-run)" in dry.output
    retried = CliRunner().invoke(app, ["exceptions", "retry", duplicate, "--yes", *endpoint])
    assert retried.exit_code == 0 and "1 resolved" in retried.output, retried.output
    # then that break is resolved and the others stay open
    after = open_breaks(billed["opportunity"], billed["account"])
    assert not any(i.endswith(":duplicate:quickbooks") for i in after)
    assert any(i.endswith(":unbilled:2026-11") for i in after)
