"""`close2cash cutover diff | acknowledge | confirm`: a legal entity's move to another ledger.

Each command invokes the deployed `cutover` function (it reads the PSA and the old ledger with the
deployment's own connections) and prints its answer: the shadow diff document by document, what
was acknowledged and by whom, and whether the cutover may go ahead. A refusal exits 2 with its
reason; `confirm` over open lines is a refusal that lists them.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from infra.lambda_invoke import answer_or_exit
from infra.lambda_invoke import invoke as invoke_function

cutover = typer.Typer(
    help="A legal entity's cutover to another ledger: shadow diff, acknowledgements, go-ahead."
)

EntityOption = Annotated[str, typer.Option("--legal-entity", help="the legal entity's code, e.g. US01")]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="moto endpoint of `close2cash local up`; default: AWS")
]


@cutover.command("diff")
def diff(legal_entity: EntityOption, endpoint_url: EndpointOption = None) -> None:
    """What the new ledger would hold against what the old one holds, document by document."""
    _answer(endpoint_url, {"action": "diff", "legal_entity": legal_entity})


@cutover.command("acknowledge")
def acknowledge(
    line: Annotated[str, typer.Argument(help="the line's id, as `cutover diff` prints it")],
    legal_entity: EntityOption,
    by: Annotated[str, typer.Option("--by", help="who accepts the line as it is")],
    note: Annotated[str, typer.Option("--note", help="why it may stand")],
    endpoint_url: EndpointOption = None,
) -> None:
    """Accept one line of the diff as it is (it stays in the diff, acknowledged)."""
    _answer(
        endpoint_url,
        {"action": "acknowledge", "legal_entity": legal_entity, "line": line, "by": by, "note": note},
    )


@cutover.command("confirm")
def confirm(
    legal_entity: EntityOption,
    by: Annotated[str, typer.Option("--by", help="who lets the cutover go ahead")],
    endpoint_url: EndpointOption = None,
) -> None:
    """Let the cutover go ahead: refused while a line is open; work waiting for it then posts."""
    _answer(endpoint_url, {"action": "confirm", "legal_entity": legal_entity, "by": by})


def _answer(endpoint_url: str | None, payload: dict[str, Any]) -> None:
    body = answer_or_exit(lambda: invoke_function(endpoint_url, "cutover", payload, what="cutover"))
    if "diff" in body and "refused" in body:
        for line in diff_lines(body["diff"]):
            typer.echo(line)
    if "refused" in body:
        typer.echo(body["refused"], err=True)
        raise typer.Exit(2)
    for line in diff_lines(body):
        typer.echo(line)


def diff_lines(body: dict[str, Any]) -> list[str]:
    """What a person reads of one diff: the cutover, each line with its id, the verdict."""
    shadow = f"shadow from {body['shadow_from']}" if body.get("shadow_from") else "no shadow period"
    entity, old, new, on = body["legal_entity"], body["old"], body["new"], body["cutover_on"]
    lines = [
        f"cutover of {entity}: {old} -> {new} on {on} ({shadow})",
        f"  documents compared: {body.get('documents', 0)}",
    ]
    for line in body.get("lines", []):
        nod = line.get("acknowledged")
        state = f"acknowledged by {nod['by']}: {nod['note']}" if nod else "open"
        what = line["field"] or line["kind"]
        sides = f"{body['old']} {line.get('old') or '-'} | {body['new']} {line.get('new') or '-'}"
        stake = (
            f" (at stake {line['at_stake']['amount']} {line['at_stake']['currency']})"
            if line.get("at_stake")
            else ""
        )
        lines.append(f"  [{line['id']}] {line['document']}: {what}: {sides}{stake} [{state}]")
    for name in body.get("to_set_up", []):
        lines.append(f"  set up in {body['new']} at the cutover: engagement {name}")
    open_count = sum(1 for line in body.get("lines", []) if not line.get("acknowledged"))
    if body.get("confirmed"):
        done = body["confirmed"]
        lines.append(f"  confirmed by {done['by']} at {done['at']}: postings from {on} go to {new}")
    elif open_count:
        lines.append(
            f"  {open_count} open line(s): fix their causes or `close2cash cutover acknowledge LINE ...`"
        )
    else:
        lines.append(
            f"  clear: `close2cash cutover confirm --legal-entity {entity} --by YOU` lets it go ahead"
        )
    return lines
