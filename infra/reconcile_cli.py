"""`close2cash reconcile`: the nightly reconciliation, run now, and what it found."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer

# The function may run its full 15 minutes; the CLI waits for its answer, and never retries it.
READ_TIMEOUT_SECONDS = 910


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
    try:
        body = invoke(endpoint_url, since=since, engagement=engagement)
    except LookupError as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(2) from None
    except RuntimeError as failed:
        typer.echo(str(failed), err=True)
        raise typer.Exit(1) from None
    for line in report_lines(body):
        typer.echo(line)


def invoke(endpoint_url: str | None, *, since: str | None = None, engagement: str | None = None) -> Any:
    """Run the deployed `reconcile` function now and return its answer (LookupError: none deployed;
    RuntimeError: it failed)."""
    import boto3
    from botocore.config import Config

    from infra.status import find

    client: Any = boto3.client(
        "lambda",
        endpoint_url=endpoint_url,
        config=Config(read_timeout=READ_TIMEOUT_SECONDS, retries={"max_attempts": 1}),
    )
    pages = client.get_paginator("list_functions").paginate()
    name = find([f["FunctionName"] for page in pages for f in page["Functions"]], "reconcile")
    if name is None:
        raise LookupError("no reconcile function is deployed (expected one named like 'reconcile')")
    answer = client.invoke(
        FunctionName=name, Payload=json.dumps({"since": since, "engagement": engagement}).encode()
    )
    body = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        raise RuntimeError(f"reconciliation failed: {body.get('errorType')}: {body.get('errorMessage')}")
    return body


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
