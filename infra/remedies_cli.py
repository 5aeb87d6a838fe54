"""The command line's side of remedies: built against a deployment, said, confirmed, applied."""

from __future__ import annotations

from typing import Any

import typer


def apply_remedies(remedies: list[Any], *, yes: bool, dry_run: bool, question: str) -> None:
    """Say what each remedy will do; unless --dry-run, ask (or --yes), then do it."""
    for remedy in remedies:
        typer.echo(f"  will {remedy.says}")
    if not remedies or dry_run:
        typer.echo("nothing done" + (" (--dry-run)" if dry_run and remedies else ""))
        return
    if not yes and not typer.confirm(question):
        raise typer.Exit(1)
    for remedy in remedies:
        typer.echo(f"  {remedy.apply()}")


def remedies_of(endpoint_url: str | None, table: str) -> Any:
    """The remedies against this deployment: its ledger, bus, queues, workflows and functions."""
    import boto3

    from infra.billing_cli import _runs
    from infra.cli import _dead_letters, _ledger, _machine_arn, _sfn
    from infra.reconcile_cli import invoke
    from infra.remedies import NoRemedy, Remedies
    from infra.status import find
    from infra.wiring import WIRING
    from infra.workflow_view import RetryRefused, retry
    from shared.aws.events import EventBridgePublisher
    from shared.domain.errors import PermanentError

    events = boto3.client("events", endpoint_url=endpoint_url)
    buses = [b["Name"] for b in events.list_event_buses().get("EventBuses", [])]

    def publish(notice: Any) -> None:
        bus = find(buses, WIRING.bus.name)
        if bus is None:
            raise NoRemedy(f"no event bus named like {WIRING.bus.name!r} is deployed")
        EventBridgePublisher(bus, client=events).publish([notice])

    def dead_letters() -> list[tuple[str, Any]]:
        return [_dead_letters(endpoint_url, spec.name) for spec in WIRING.queues]

    def restart_setup(execution: str) -> str:
        sfn = _sfn(endpoint_url)
        try:
            return f"started {retry(sfn, _machine_arn(sfn, 'close-to-cash'), execution)}"
        except RetryRefused as refused:
            return f"not retried: {refused}"

    def retry_billing(run: str) -> str:
        try:
            name, started = _runs(endpoint_url, table, None).retry(run)
        except PermanentError as refused:
            return f"not retried: {refused}"
        return f"started {name}" if started else f"{name} is running already"

    def reconcile() -> str:
        body = invoke(endpoint_url)
        return (
            f"reconciled: {body.get('found', 0)} break(s) found, {body.get('resolved', 0)} resolved, "
            f"{body.get('backlog', 0)} open"
        )

    return Remedies(
        ledger=_ledger(endpoint_url, table),
        publish=publish,
        dead_letters=dead_letters,
        restart_setup=restart_setup,
        retry_billing=retry_billing,
        reconcile=reconcile,
    )
