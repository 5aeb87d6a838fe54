"""`close2cash reconcile`: the nightly reconciliation, run now, and what it found."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer

from infra.lambda_invoke import answer_or_exit
from infra.lambda_invoke import invoke as invoke_function


def reconcile(
    since: Annotated[
        str | None, typer.Option("--since", help="compare work and invoices from this day (YYYY-MM-DD)")
    ] = None,
    engagement: Annotated[
        str | None, typer.Option("--engagement", help="only this engagement (its PSA project id)")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="moto endpoint of `close2cash local up`; default: AWS"),
    ] = None,
) -> None:
    """Compare every customer, engagement and month across the systems now; each break is an exception."""
    if since is not None:
        try:
            date.fromisoformat(since)
        except ValueError:
            typer.echo(f"--since {since!r}: expected a day as YYYY-MM-DD", err=True)
            raise typer.Exit(2) from None
    body = answer_or_exit(lambda: invoke(endpoint_url, since=since, engagement=engagement))
    for line in report_lines(body):
        typer.echo(line)


def invoke(endpoint_url: str | None, *, since: str | None = None, engagement: str | None = None) -> Any:
    """Run the deployed `reconcile` function now and return its answer (LookupError: none deployed;
    RuntimeError: it failed)."""
    payload = {"since": since, "engagement": engagement}
    return invoke_function(endpoint_url, "reconcile", payload, what="reconciliation")


def report_lines(body: dict[str, Any]) -> list[str]:
    """What a person reads of one run: what was compared, what differs, what it cost."""
    census = body.get("census", {})
    read = ", ".join(
        f"{kind} {' / '.join(f'{system} {count}' for system, count in sorted(counts.items()))}"
        for kind, counts in census.items()
        if counts
    )
    calls = ", ".join(f"{system} {n}" for system, n in sorted(body.get("vendor_calls", {}).items()))
    stake = ", ".join(f"{amount} {currency}" for currency, amount in body.get("at_stake", {}).items())
    scope = f" (engagement {body['engagement']})" if body.get("engagement") else ""
    lines = [
        f"reconciled from {body.get('since')}{scope}",
        f"  read: {read or 'nothing'}",
        f"  vendor calls: {calls or 'none'}",
        f"  breaks: {body.get('found', 0)} found, {body.get('opened', 0)} new, "
        f"{body.get('resolved', 0)} resolved; {body.get('backlog', 0)} open"
        + (f", at stake {stake}" if stake else ""),
    ]
    for found in body.get("breaks", []):
        stake = f" [{found['at_stake']}]" if found.get("at_stake") else ""
        lines.append(f"  - {found['summary']}{stake}")
        lines.append(f"      do: {found['action']}")
    if body.get("found", 0) > len(body.get("breaks", [])):
        lines.append("  (the rest: close2cash exceptions list)")
    return lines
