"""`close2cash replay`: a window of past notices re-derived under a landscape; the diff, or it applied."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.lambda_invoke import answer_or_exit
from infra.lambda_invoke import invoke as invoke_function


def replay(
    start: Annotated[
        str, typer.Option("--from", help="start of the window (ISO 8601 with zone, e.g. 2026-11-02T00:00Z)")
    ],
    end: Annotated[str, typer.Option("--to", help="end of the window, exclusive (ISO 8601 with zone)")],
    flow: Annotated[str | None, typer.Option("--flow", help="only this flow (customers)")] = None,
    landscape: Annotated[
        Path | None,
        typer.Option("--landscape", help="the landscape file to re-derive under (default: the deployed one)"),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the diff, write nothing")] = False,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="moto endpoint of `close2cash local up`; default: AWS"),
    ] = None,
) -> None:
    """Re-derive what the hub would write for the notices of a window and diff it with the targets;
    without --dry-run, write exactly that diff."""
    from shared.governance.loader import LandscapeInvalid, load_landscape

    try:
        window = [_instant(name, text) for name, text in (("--from", start), ("--to", end))]
        text = None
        if landscape is not None:
            load_landscape(landscape)  # every problem named here, before anything is asked of AWS
            text = landscape.read_text(encoding="utf-8")
    except (ValueError, LandscapeInvalid) as bad:
        typer.echo(str(bad), err=True)
        raise typer.Exit(2) from None
    body = answer_or_exit(
        lambda: invoke(endpoint_url, window[0], window[1], flow=flow, landscape=text, dry_run=dry_run)
    )
    if "refused" in body:
        typer.echo(body["refused"], err=True)
        raise typer.Exit(2)
    for line in report_lines(body):
        typer.echo(line)


def invoke(
    endpoint_url: str | None,
    start: datetime,
    end: datetime,
    *,
    flow: str | None = None,
    landscape: str | None = None,
    dry_run: bool = True,
) -> Any:
    """Run the deployed `replay` function now and return its answer."""
    payload = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "flow": flow,
        "landscape": landscape,
        "dry_run": dry_run,
    }
    return invoke_function(endpoint_url, "replay", payload, what="replay")


def report_lines(body: dict[str, Any]) -> list[str]:
    """What a person reads of one replay: the window, the diff, what was written."""
    flows = ", ".join(f"{flow} {n}" for flow, n in body.get("by_flow", {}).items())
    calls = ", ".join(f"{system} {n}" for system, n in sorted(body.get("vendor_calls", {}).items()))
    archive = ", ".join(f"{call} {n}" for call, n in sorted(body.get("archive_calls", {}).items()))
    mode = (
        "dry run: nothing written" if body.get("dry_run") else f"{body.get('written', 0)} record(s) written"
    )
    lines = [
        f"replayed {body.get('start')} .. {body.get('end')} under landscape {body.get('landscape')} ({mode})",
        f"  notices in the window: {body.get('notices', 0)}" + (f" ({flows})" if flows else ""),
        f"  vendor calls: {calls or 'none'}",
        f"  archive: {archive or 'not read'}",
        f"  differences: {body.get('found', 0)}",
    ]
    for diff in body.get("diffs", []):
        lines.append(f"  - {diff['summary']}")
    if body.get("found", 0) > len(body.get("diffs", [])):
        lines.append(f"  (and {body['found'] - len(body['diffs'])} more)")
    for flow, n in body.get("not_replayed", {}).items():
        lines.append(f"  not re-derived: {n} {flow} notice(s) (`close2cash reconcile` compares that flow)")
    for note in body.get("left_aside", []):
        lines.append(f"  note: {note}")
    return lines


def _instant(option: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{option} {text!r}: expected an instant as ISO 8601, e.g. 2026-11-02T00:00Z"
        ) from None
    if value.tzinfo is None:
        raise ValueError(f"{option} {text!r}: say its time zone (e.g. 2026-11-02T00:00Z or +01:00)")
    return value
