"""The `close2cash` command: the demo, the local stack, the landscape, workflows and exceptions."""

from __future__ import annotations

import json
import os
import signal
import threading
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from infra.analytics_cli import analytics
from infra.billing_cli import billing
from infra.cutover_cli import cutover
from infra.reconcile_cli import reconcile
from infra.replay_cli import replay
from shared.domain.systems import SYSTEMS, Role, with_role

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
local = typer.Typer(
    no_args_is_help=True, help="The local runtime: the whole stack on loopback, no AWS account."
)
app.add_typer(local, name="local")
config = typer.Typer(
    no_args_is_help=True, help="The landscape file: connected systems, ownership, mappings, matching."
)
app.add_typer(config, name="config")
workflow = typer.Typer(
    no_args_is_help=True, help="Engagement setup executions: status, current step, approvals."
)
app.add_typer(workflow, name="workflow")
exceptions = typer.Typer(
    no_args_is_help=True, help="What needs a person: open exceptions, and marking one resolved."
)
app.add_typer(exceptions, name="exceptions")
time_ = typer.Typer(
    no_args_is_help=True, help="Approved time and expenses: what reached accounting, what waits, and why."
)
app.add_typer(time_, name="time")
dlq = typer.Typer(
    no_args_is_help=True, help="Dead-letter queues: what is in them and why, and moving it back."
)
app.add_typer(dlq, name="dlq")
app.add_typer(billing, name="billing")
app.add_typer(analytics, name="analytics")
app.add_typer(cutover, name="cutover")
app.command("reconcile")(reconcile)
app.command("replay")(replay)

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url", help="moto endpoint of `close2cash local up`; default: AWS (boto3 session)"
    ),
]
MachineOption = Annotated[
    str, typer.Option("--state-machine", help="name (or part of it) of the state machine")
]
TableOption = Annotated[str, typer.Option("--table", help="name (or part of it) of the ledger table")]


LandscapeOption = Annotated[
    Path | None,
    typer.Option("--landscape", help="landscape file (TOML); default: infra/landscapes/demo.toml"),
]


def _landscape(path: Path | None) -> Path:
    """The landscape to start with, validated first: an invalid file stops here with every problem."""
    from infra.local.environment import DEFAULT_LANDSCAPE
    from shared.governance.loader import LandscapeInvalid, load_landscape

    chosen = path or DEFAULT_LANDSCAPE
    try:
        load_landscape(chosen)
    except LandscapeInvalid as invalid:
        for problem in invalid.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{chosen}: refusing to start with an invalid landscape", err=True)
        raise typer.Exit(2) from None
    return chosen


IntakeOption = Annotated[
    str | None,
    typer.Option(
        "--intake",
        help="how Salesforce delivers its changes: outbound (outbound messages) or cdc (change data "
        "capture via Event Relay); default: what the landscape says",
    ),
]


def _with_intake(landscape: Path, intake: str | None) -> Path:
    """The landscape, or a copy of it with Salesforce on the chosen intake."""
    if intake is None:
        return landscape
    from infra.local.intake import INTAKE_CHOICES, with_salesforce_intake

    if intake not in INTAKE_CHOICES:
        typer.echo(f"--intake must be one of {', '.join(INTAKE_CHOICES)}, not {intake!r}", err=True)
        raise typer.Exit(2)
    try:
        return with_salesforce_intake(landscape, INTAKE_CHOICES[intake])
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@app.command()
def demo(landscape: LandscapeOption = None, intake: IntakeOption = None) -> None:
    """Customer master sync end to end on the local runtime; exits non-zero unless exactly once."""
    from infra.local.demo import run

    raise typer.Exit(run(landscape=_landscape(_with_intake(_landscape(landscape), intake))))


@local.command("up")
def local_up(
    secrets_file: Annotated[
        Path | None,
        typer.Option(
            "--secrets",
            help="JSON connections file (real vendors); default: the local sandboxes. Rotated OAuth "
            "tokens are kept beside it in FILE-STEM.oauth-tokens.json and loaded again on the next start",
        ),
    ] = None,
    landscape: LandscapeOption = None,
    intake: IntakeOption = None,
    sweep_minutes: Annotated[
        int | None,
        typer.Option(
            "--sweep-minutes",
            min=1,
            max=1440,
            help="how often the catch-up sweep reads each vendor's change feed (default: the wiring's 15)",
        ),
    ] = None,
) -> None:
    """Start the stack on loopback and keep it up until Ctrl-C."""
    from infra.local.environment import local_environment

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    chosen = _landscape(_with_intake(_landscape(landscape), intake))
    with local_environment(secrets_file=secrets_file, landscape=chosen, sweep_minutes=sweep_minutes) as env:
        assert env.runtime is not None
        env.runtime.start_background()
        typer.echo(f"webhooks:  {env.api_url}/webhooks/{{provider}}")
        typer.echo(
            f"moto:      {env.runtime.moto_endpoint}   (aws --endpoint-url {env.runtime.moto_endpoint} ...)"
        )
        for name, url in env.urls.items():
            typer.echo(f"sandbox:   {name:<11} {url}")
        if env.tokens_file is not None:
            typer.echo(f"tokens:    {env.tokens_file}   (rotated OAuth tokens, kept between runs)")
        if secrets_file is None:
            for name, token in env.approver_tokens.items():
                typer.echo(f"approvals: {env.api_url}/approvals   as {name}: Authorization: Bearer {token}")
            for twin in env.twins.values():
                for line in twin.describe():
                    typer.echo(line)
        typer.echo("AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1")
        typer.echo(f"at a glance: close2cash status --endpoint-url {env.runtime.moto_endpoint}")
        typer.echo("Ctrl-C stops the stack.")
        while not stop.wait(0.5):
            for twin in env.twins.values():
                twin.push_pending()
    typer.echo("stopped")


@config.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="the landscape file (TOML), e.g. infra/landscapes/demo.toml")],
) -> None:
    """Validate a landscape file: every problem with its place in the file, or a short summary."""
    from shared.domain.systems import Domain
    from shared.governance.landscape import MappingTables
    from shared.governance.loader import LandscapeInvalid, load_landscape

    try:
        landscape = load_landscape(file)
    except LandscapeInvalid as invalid:
        for problem in invalid.problems:
            typer.echo(str(problem), err=True)
        count = len(invalid.problems)
        typer.echo(f"{file}: {count} problem{'s' if count != 1 else ''}; nothing was loaded", err=True)
        raise typer.Exit(1) from None
    info, ownership = landscape.landscape, landscape.ownership
    tables = {name: len(landscape.mappings.table(name)) for name in MappingTables.model_fields}
    named_fields = sum(len(f) for d in Domain for f in ownership.rule(d).fields.values())
    typer.echo(f"{file}: valid — {info.name}, version {info.version}")
    typer.echo("  systems:        " + ", ".join(f"{s.name} ({s.role})" for s in landscape.systems))
    typer.echo(
        "  legal entities: "
        + (", ".join(f"{e.code} ({e.functional_currency})" for e in landscape.legal_entities) or "none")
    )
    for entity, line in routing_lines(landscape).items():
        typer.echo(f"  routing {entity}:   {line}")
    typer.echo(f"  ownership:      {len(Domain)} domains, {named_fields} fields with an owner of their own")
    typer.echo(
        f"  mappings:       {sum(tables.values())} rows in {sum(1 for n in tables.values() if n)} tables"
    )
    typer.echo("  matching:       by " + ", then ".join(k.value for k in landscape.matching.keys))
    cards = landscape.rate_card
    typer.echo(
        "  rate cards:     "
        + (", ".join(f"{c.name} ({c.currency}, {len(c.rates)} roles)" for c in cards) or "none with rates")
    )


def routing_lines(landscape: Any) -> dict[str, str]:
    """Each legal entity's systems over time, e.g. "quickbooks, netsuite from 2027-01-01 (shadow from
    2026-12-01)"."""
    lines: dict[str, list[str]] = {}
    for route in sorted(landscape.routing, key=lambda r: (r.legal_entity, r.from_date or date.min)):
        text = route.system.value
        if route.from_date is not None:
            text += f" from {route.from_date.isoformat()}"
        if route.shadow_from is not None:
            text += f" (shadow from {route.shadow_from.isoformat()})"
        lines.setdefault(route.legal_entity, []).append(text)
    return {entity: ", ".join(parts) for entity, parts in lines.items()}


def _sfn(endpoint_url: str | None) -> Any:
    import boto3

    return boto3.client("stepfunctions", endpoint_url=endpoint_url)


def _machine_arn(sfn: Any, name: str) -> str:
    machines = [m for m in sfn.list_state_machines()["stateMachines"] if name in m["name"]]
    if len(machines) != 1:
        typer.echo(f"expected one state machine named like {name!r}, found {len(machines)}", err=True)
        raise typer.Exit(2)
    return str(machines[0]["stateMachineArn"])


@workflow.command("list")
def workflow_list(
    endpoint_url: EndpointOption = None, state_machine: MachineOption = "close-to-cash"
) -> None:
    """Every execution of engagement setup: name, status, start time."""
    sfn = _sfn(endpoint_url)
    arn = _machine_arn(sfn, state_machine)
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for execution in page["executions"]:
            started = f"{execution['startDate']:%Y-%m-%d %H:%M:%S}"
            typer.echo(f"{execution['name']:<60} {execution['status']:<10} {started}")


@workflow.command("show")
def workflow_show(
    execution_id: Annotated[str, typer.Argument(help="execution name (opp-<id>-<close version>) or ARN")],
    endpoint_url: EndpointOption = None,
    state_machine: MachineOption = "close-to-cash",
) -> None:
    """Status, current step, the pending approval's content and (when failed) the step and cause."""
    import boto3

    from infra.status import find
    from infra.workflow_view import describe
    from shared.aws.approvals import DynamoApprovals
    from shared.domain.models import utcnow

    sfn = _sfn(endpoint_url)
    arn = execution_id if execution_id.startswith("arn:") else None
    if arn is None:
        machine = _machine_arn(sfn, state_machine)
        arn = machine.replace(":stateMachine:", ":execution:") + f":{execution_id}"
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint_url)
    tables = [t for page in dynamodb.get_paginator("list_tables").paginate() for t in page["TableNames"]]
    ledger = find(tables, "ledger")
    approvals = DynamoApprovals(ledger, client=dynamodb) if ledger is not None else None
    for line in describe(sfn, arn, approvals=approvals, now=utcnow()):
        typer.echo(line)


@workflow.command("retry")
def workflow_retry(
    execution_id: Annotated[str, typer.Argument(help="name of the failed execution")],
    endpoint_url: EndpointOption = None,
    state_machine: MachineOption = "close-to-cash",
) -> None:
    """Run a failed setup again from the start with the same input (its steps find what exists)."""
    from infra.workflow_view import RetryRefused, retry

    sfn = _sfn(endpoint_url)
    try:
        name = retry(sfn, _machine_arn(sfn, state_machine), execution_id)
    except RetryRefused as refused:
        typer.echo(str(refused), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"started {name}")


def _table(endpoint_url: str | None, name: str) -> tuple[Any, str]:
    """The DynamoDB client and the one table named like `name` (exit 2 when none or several)."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint_url)
    tables = [t for page in client.get_paginator("list_tables").paginate() for t in page["TableNames"]]
    found = [t for t in tables if name.lower() in t.lower()]
    if len(found) != 1:
        typer.echo(f"expected one table named like {name!r}, found {len(found)}: {found}", err=True)
        raise typer.Exit(2)
    return client, found[0]


def _ledger(endpoint_url: str | None, name: str) -> Any:
    from shared.aws.ledger import DynamoLedger

    client, table = _table(endpoint_url, name)
    return DynamoLedger(table, client=client)


@exceptions.command("list")
def exceptions_list(
    include_resolved: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False,
    endpoint_url: EndpointOption = None,
    table: TableOption = "ledger",
) -> None:
    """Open exceptions, oldest first: id, kind, record, when, and what to do about it."""
    ledger = _ledger(endpoint_url, table)
    found = ledger.exceptions() if include_resolved else ledger.open_exceptions()
    for item in sorted(found, key=lambda e: e["opened_at"] or ""):
        typer.echo(
            f"{item['id']}  [{item['state']}] {item['kind']}  {item['subject']}  opened {item['opened_at']}"
        )
        typer.echo(f"    {item['reason']}")
        for side in json.loads(item.get("evidence") or "[]"):
            shown = "  ".join(str(side[k]) for k in ("system", "record", "value") if side.get(k))
            typer.echo(f"      {shown}" + (f"  {side['link']}" if side.get("link") else ""))
        if item.get("at_stake"):
            typer.echo(f"    at stake: {item['at_stake']}")
        if item.get("action"):
            typer.echo(f"    do: {item['action']}")
        if item.get("resolution"):
            typer.echo(f"    resolved {item['resolved_at']}: {item['resolution']}")
    typer.echo(f"{len(found)} {'exception(s)' if include_resolved else 'open exception(s)'}")


@exceptions.command("resolve")
def exceptions_resolve(
    exception_id: Annotated[str, typer.Argument(help="the exception's id, as `exceptions list` prints it")],
    note: Annotated[str, typer.Option("--note", help="what was done about it (kept with the record)")],
    endpoint_url: EndpointOption = None,
    table: TableOption = "ledger",
) -> None:
    """Mark an open exception resolved, with a note saying what was done."""
    from shared.domain.models import utcnow

    if not note.strip():
        typer.echo("--note must say what was done", err=True)
        raise typer.Exit(2)
    if _ledger(endpoint_url, table).resolve_exception(exception_id, resolution=note, at=utcnow()) is None:
        typer.echo(f"no open exception {exception_id!r} (see close2cash exceptions list --all)", err=True)
        raise typer.Exit(1)
    typer.echo(f"resolved {exception_id}")


# The PSAs close2cash has a connector for (shared/domain/systems.py); the first is the default.
PSAS = tuple(name.value for name in with_role(Role.PSA) if SYSTEMS[name].built)


@time_.command("list")
def time_list(
    engagement: Annotated[str, typer.Option("--engagement", help="the engagement's PSA project id")],
    since: Annotated[
        str | None, typer.Option("--since", help="only work done on or after this date (YYYY-MM-DD)")
    ] = None,
    psa: Annotated[
        str, typer.Option("--psa", help=f"the PSA the project lives in ({', '.join(PSAS)})")
    ] = PSAS[0],
    endpoint_url: EndpointOption = None,
    table: TableOption = "ledger",
) -> None:
    """Each entry of an engagement: PSA id, date, hours, amount, state and its accounting record."""
    from datetime import date

    from infra.time_view import work_lines
    from shared.aws.postings import DynamoPostings
    from shared.domain.models import SystemName

    try:
        day = date.fromisoformat(since) if since else None
        system = SystemName(psa)
        if system.value not in PSAS:
            raise ValueError(f"{psa!r} is not one of {', '.join(PSAS)}")
    except ValueError as bad:
        typer.echo(f"--since must be a date (YYYY-MM-DD) and --psa a system name: {bad}", err=True)
        raise typer.Exit(2) from None
    client, name = _table(endpoint_url, table)
    postings = DynamoPostings(name, client=client)
    for line in work_lines(postings.engagement_works(system, engagement, since=day), engagement=engagement):
        typer.echo(line)


def _dead_letters(endpoint_url: str | None, queue: str) -> tuple[str, Any]:
    """The wiring queue named by `queue` (its name, or a physical name holding it) and its DLQ."""
    import boto3

    from infra.status import _key, find
    from infra.wiring import WIRING
    from shared.aws.dead_letters import DeadLetterQueue

    specs = [q for q in WIRING.queues if _key(q.name) in _key(queue)]
    if len(specs) != 1:
        typer.echo(
            f"no queue {queue!r} in the wiring; expected one of {[q.name for q in WIRING.queues]}", err=True
        )
        raise typer.Exit(2)
    sqs = boto3.client("sqs", endpoint_url=endpoint_url)
    names = {url.rsplit("/", 1)[-1]: url for url in sqs.list_queues().get("QueueUrls", [])}
    source, dead = find(names, specs[0].name, dead_letter=False), find(names, specs[0].name, dead_letter=True)
    if source is None or dead is None:
        typer.echo(f"queue {specs[0].name} or its dead-letter queue is not deployed here", err=True)
        raise typer.Exit(2)
    return specs[0].name, DeadLetterQueue(source_url=names[source], dlq_url=names[dead], client=sqs)


QueueArgument = Annotated[str, typer.Argument(help="the queue, by its wiring name (e.g. account-changes)")]


@dlq.command("list")
def dlq_list(
    queue: QueueArgument, endpoint_url: EndpointOption = None, table: TableOption = "ledger"
) -> None:
    """Each dead-lettered message: notice, record, first receive, receive count and the reason."""
    from shared.domain.notices import ChangeNotice
    from shared.sync.exceptions import dead_letter_exception_id

    name, dead = _dead_letters(endpoint_url, queue)
    ledger = _ledger(endpoint_url, table)
    letters = dead.messages()
    for letter in letters:
        detail = letter.notice
        try:
            notice: ChangeNotice | None = ChangeNotice.model_validate(detail)
        except ValueError:
            notice = None
        first = f"{letter.first_received_at:%Y-%m-%d %H:%M:%S}" if letter.first_received_at else "?"
        record = f"{detail.get('provider')} {detail.get('vendor_type')} {detail.get('record_id')}"
        typer.echo(
            f"{detail.get('event_id', letter.message_id)}  {record}  first received {first}"
            f"  received {letter.receive_count}x"
        )
        found = ledger.exception(dead_letter_exception_id(notice)) if notice is not None else None
        typer.echo(f"    {found['reason'] if found else 'no exception recorded for it (see the logs)'}")
    typer.echo(f"{len(letters)} message(s) in the dead-letter queue of {name}")


@dlq.command("redrive")
def dlq_redrive(
    queue: QueueArgument,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before moving")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would move, move nothing")] = False,
    endpoint_url: EndpointOption = None,
    table: TableOption = "ledger",
) -> None:
    """Move dead-lettered messages back to their queue (a notice that already succeeded is a no-op)."""
    from infra.remedies_cli import apply_remedies, remedies_of

    name, _ = _dead_letters(endpoint_url, queue)
    remedies = remedies_of(endpoint_url, table).dead_lettered(name)
    typer.echo(f"{len(remedies)} message(s) in the dead-letter queue of {name}")
    apply_remedies(remedies, yes=yes, dry_run=dry_run, question="move them?")


@exceptions.command("retry")
def exceptions_retry(
    exception_id: Annotated[str, typer.Argument(help="the exception's id, as `exceptions list` prints it")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask before retrying")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what the retry would do, do nothing")
    ] = False,
    endpoint_url: EndpointOption = None,
    table: TableOption = "ledger",
) -> None:
    """Retry what an exception stopped, the way the hub does it (it says what it will do first)."""
    from infra.remedies import NoRemedy
    from infra.remedies_cli import apply_remedies, remedies_of

    try:
        remedy = remedies_of(endpoint_url, table).for_exception(exception_id)
    except NoRemedy as none:
        typer.echo(str(none), err=True)
        raise typer.Exit(1) from None
    apply_remedies([remedy], yes=yes, dry_run=dry_run, question="retry it?")


@app.command("status")
def status(endpoint_url: EndpointOption = None) -> None:
    """What happened and what needs a person: workflows, approvals, exceptions, queues."""
    import boto3

    from infra.status import StatusReport
    from shared.domain.models import utcnow

    report = StatusReport(
        sfn=boto3.client("stepfunctions", endpoint_url=endpoint_url),
        dynamodb=boto3.client("dynamodb", endpoint_url=endpoint_url),
        sqs=boto3.client("sqs", endpoint_url=endpoint_url),
        cloudwatch=boto3.client("cloudwatch", endpoint_url=endpoint_url),
    )
    for line in report.lines(now=utcnow()):
        typer.echo(line)


@app.command("report")
def report(
    html: Annotated[
        Path, typer.Option("--html", help="where to write the page (one self-contained HTML file)")
    ],
    endpoint_url: EndpointOption = None,
) -> None:
    """One HTML page of the run: flows and counts, money per engagement, open exceptions, metrics."""
    import boto3

    from infra.report import write_report

    written = write_report(
        html,
        sfn=boto3.client("stepfunctions", endpoint_url=endpoint_url),
        dynamodb=boto3.client("dynamodb", endpoint_url=endpoint_url),
        sqs=boto3.client("sqs", endpoint_url=endpoint_url),
        cloudwatch=boto3.client("cloudwatch", endpoint_url=endpoint_url),
        source=endpoint_url or "AWS",
    )
    typer.echo(f"report: {written}")


def main() -> None:
    app()
