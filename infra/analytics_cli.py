"""`close2cash analytics report | backfill`: the measures from the landed events, and landing the past.

`report` syncs the landed Parquet files of the analytics bucket (AWS's, or the local runtime's with
`--endpoint-url`) into a local folder, answers the semantic model's measures with DuckDB as of a
moment, prints the headline and, with `--html`, writes the page with its charts. `backfill` replays
the bus archive's domain events of a window through the landing; what is landed already is not
landed again. A refusal (a date that does not parse, a backwards window, no landing deployed) exits
2 with its reason.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer

from infra.wiring import WIRING

analytics = typer.Typer(help="Pipeline, bookings, backlog, billing and cash from the landed events.")

EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="moto endpoint of `close2cash local up`; default: AWS")
]
CACHE = Path(".close2cash") / "analytics"


def moment(text: str | None, *, option: str, end_of_day: bool) -> datetime:
    """A date (YYYY-MM-DD: its end, or its start) or an ISO timestamp, as UTC; now when absent."""
    if text is None:
        return datetime.now(UTC)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        typer.echo(f"{option} {text!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 timestamp", err=True)
        raise typer.Exit(2) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@analytics.command("report")
def report(
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="the facts as they stood then (YYYY-MM-DD: its end); default now"),
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="also write the page with charts here")] = None,
    cache: Annotated[Path, typer.Option("--cache", help="local folder of the landed files")] = CACHE,
    endpoint_url: EndpointOption = None,
) -> None:
    """Bookings, delivered, backlog, billed, collected, cash realization, DSO: whole and per customer."""
    import boto3

    from infra.analytics.landed import NoAnalyticsBucket, bucket_of, sync

    cut_off = moment(as_of, option="--as-of", end_of_day=True)
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    landing = WIRING.landings[0]
    try:
        bucket = bucket_of(s3, landing.bucket)
    except NoAnalyticsBucket as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(2) from None
    synced = sync(s3, bucket, landing, cache)
    typer.echo(
        f"landed files: {synced.listed} in s3://{bucket}, {synced.downloaded} new ({synced.bytes} bytes)"
    )
    for line in write(cache, as_of=cut_off, html=html, source=f"s3://{bucket}"):
        typer.echo(line)


def write(folder: Path, *, as_of: datetime, html: Path | None, source: str) -> list[str]:
    """The report over the landed files in `folder`: its lines, and the page when `html` is given."""
    from infra.analytics.database import open_database
    from infra.analytics.page import render, text
    from infra.analytics.report import gather
    from shared.analytics.semantic import load_model

    model = load_model()
    db = open_database(folder, WIRING.landings[0], model)
    try:
        figures = gather(db, model, as_of=as_of, source=source)
    finally:
        db.close()
    lines = text(figures)
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render(figures), encoding="utf-8")
        lines.append(f"analytics report: {html}")
    return lines


@analytics.command("backfill")
def backfill(
    start: Annotated[str, typer.Option("--from", help="first moment to land (YYYY-MM-DD: its start)")],
    end: Annotated[str | None, typer.Option("--to", help="end of the window, exclusive; default now")] = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Land the bus archive's domain events of [--from, --to); what is landed already stays once."""
    import boto3

    from infra.analytics.backfill import BackfillRefused
    from infra.analytics.backfill import backfill as run_backfill
    from infra.status import find

    events = boto3.client("events", endpoint_url=endpoint_url)
    buses = [b["Name"] for b in events.list_event_buses().get("EventBuses", [])]
    bus = find(buses, WIRING.bus.name) or WIRING.stack_name
    try:
        done = run_backfill(
            events,
            bus=bus,
            start=moment(start, option="--from", end_of_day=False),
            end=moment(end, option="--to", end_of_day=False),
            poll_seconds=0.2 if endpoint_url else 5.0,
        )
    except BackfillRefused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(2) from None
    why = f"; {done.reason}" if done.reason else ""
    typer.echo(
        f"backfill {done.replay}: {done.state} over [{done.start:%Y-%m-%d %H:%M:%S},"
        f" {done.end:%Y-%m-%d %H:%M:%S}) to {done.rules} landing rules{why}"
    )
    if done.state != "COMPLETED":
        raise typer.Exit(1)
