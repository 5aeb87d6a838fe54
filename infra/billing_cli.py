"""`close2cash billing`: start an engagement's monthly run, list runs and invoices, retry a refused run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

billing = typer.Typer(
    no_args_is_help=True,
    help="Billing runs: an engagement's month invoiced in accounting, what is paid and open, retries.",
)

Endpoint = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", help="moto endpoint of `close2cash local up`; default: AWS (boto3 session)"
    ),
]
Table = Annotated[str, typer.Option("--table", help="name (or part of it) of the ledger table")]
Landscape = Annotated[
    Path | None,
    typer.Option("--landscape", help="landscape file (TOML); default: infra/landscapes/demo.toml"),
]
Psa = Annotated[str, typer.Option("--psa", help="the PSA the project lives in")]


class _Unused:
    """A port the starting of runs never calls (the workflow's steps do)."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{name} is not available from the command line")


class _Quiet:
    def count(self, *args: Any, **kwargs: Any) -> None:
        return None


def _runs(endpoint_url: str | None, table: str, landscape: Path | None) -> Any:
    """The billing use case with what starting a run needs: the stores and the billing workflow."""
    from infra.cli import _landscape, _machine_arn, _sfn, _table
    from shared.aws.approvals import DynamoApprovals
    from shared.aws.billing import DynamoBilling
    from shared.aws.ledger import DynamoLedger
    from shared.aws.postings import DynamoPostings
    from shared.aws.workflows import StepFunctionsWorkflow
    from shared.governance.loader import load_landscape
    from shared.sync.billing.runs import BillingRuns

    client, name = _table(endpoint_url, table)
    sfn = _sfn(endpoint_url)
    workflow = StepFunctionsWorkflow(_machine_arn(sfn, "billing-run"), client=sfn)
    unused = _Unused()
    return BillingRuns(
        store=DynamoBilling(name, client=client),
        postings=DynamoPostings(name, client=client),
        target=lambda system: unused,
        milestones=lambda: unused,
        approvals=DynamoApprovals(name, client=client),
        starter=lambda: workflow,
        ledger=DynamoLedger(name, client=client),
        metrics=_Quiet(),
        landscape=load_landscape(_landscape(landscape)),
        feedback=lambda record: None,
    )


@billing.command("run")
def billing_run(
    engagement: Annotated[str, typer.Option("--engagement", help="the engagement's PSA project id")],
    period: Annotated[str, typer.Option("--period", help="the month to bill, YYYY-MM")],
    psa: Psa = "productive",
    endpoint_url: Endpoint = None,
    table: Table = "ledger",
    landscape: Landscape = None,
) -> None:
    """Start the run of one engagement's month (a run posted already starts nothing)."""
    from shared.domain.billing_runs import BillingPeriod
    from shared.domain.errors import ValidationFailed
    from shared.domain.models import SourceRef, SystemName

    try:
        month = BillingPeriod.parse(period)
        project = SourceRef(system=SystemName(psa), type="projects", id=engagement)
        name, started = _runs(endpoint_url, table, landscape).start(project, month)
    except (ValidationFailed, ValueError) as bad:
        typer.echo(str(bad), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"started {name}" if started else f"{name}: already run (see close2cash billing list)")


@billing.command("retry")
def billing_retry(
    run: Annotated[str, typer.Argument(help="the run's id, as `billing list` shows it")],
    endpoint_url: Endpoint = None,
    table: Table = "ledger",
    landscape: Landscape = None,
) -> None:
    """A new attempt of a refused or rejected run, once its cause is fixed."""
    from shared.domain.errors import PermanentError

    try:
        name, started = _runs(endpoint_url, table, landscape).retry(run)
    except PermanentError as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"started {name}" if started else f"{name} is running already")


@billing.command("list")
def billing_list(
    engagement: Annotated[
        str | None, typer.Option("--engagement", help="only this engagement's runs (its PSA project id)")
    ] = None,
    psa: Psa = "productive",
    endpoint_url: Endpoint = None,
    table: Table = "ledger",
) -> None:
    """Runs, their invoices, state, amount, paid and open."""
    from infra.billing_view import run_lines
    from infra.cli import _table
    from shared.aws.billing import DynamoBilling
    from shared.domain.models import SourceRef, SystemName

    client, name = _table(endpoint_url, table)
    store = DynamoBilling(name, client=client)
    project = SourceRef(system=SystemName(psa), type="projects", id=engagement) if engagement else None
    runs = store.runs(project)
    invoices = [
        record
        for run in runs
        if run.target is not None and run.invoice_id is not None
        for record in [store.invoice(run.target, run.invoice_id)]
        if record is not None
    ]
    for line in run_lines(runs, invoices):
        typer.echo(line)
