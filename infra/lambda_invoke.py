"""Run a deployed function now and return its answer: what the on-demand commands share."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

# A function may run its full 15 minutes; the CLI waits for its answer, and never retries it.
READ_TIMEOUT_SECONDS = 910


def invoke(endpoint_url: str | None, function: str, payload: dict[str, Any], *, what: str) -> Any:
    """The answer of the deployed function named like `function` (LookupError: none deployed;
    RuntimeError: it failed, `what` saying what did)."""
    import boto3
    from botocore.config import Config

    from infra.status import find

    client: Any = boto3.client(
        "lambda",
        endpoint_url=endpoint_url,
        config=Config(read_timeout=READ_TIMEOUT_SECONDS, retries={"max_attempts": 1}),
    )
    # https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
    pages = client.get_paginator("list_functions").paginate()
    name = find([f["FunctionName"] for page in pages for f in page["Functions"]], function)
    if name is None:
        raise LookupError(f"no {function} function is deployed (expected one named like {function!r})")
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    answer = client.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    body = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        raise RuntimeError(f"{what} failed: {body.get('errorType')}: {body.get('errorMessage')}")
    return body


def answer_or_exit(call: Callable[[], Any]) -> Any:
    """`call`'s answer; none deployed exits 2, a failed run 1, each with its reason on stderr."""
    try:
        return call()
    except LookupError as missing:
        typer.echo(str(missing), err=True)
        raise typer.Exit(2) from None
    except RuntimeError as failed:
        typer.echo(str(failed), err=True)
        raise typer.Exit(1) from None
