"""CDK entry point: `python -m infra.cdk.app` (or `npx cdk synth` via cdk.json) synthesizes offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# jsii prints a banner on every run for a Node major it considers end-of-life (it names the silenced
# majors in this variable) or untested; the Node in use here is a deliberate choice, so silence it
# before aws_cdk (and with it the jsii runtime) loads.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

import aws_cdk as cdk
import cdk_nag
from constructs import Construct

from infra.cdk.bundling import DEFAULT_LANDSCAPE, REPO_ROOT
from infra.cdk.nag import acknowledge
from infra.cdk.stack import Close2CashStack
from infra.wiring import WIRING, with_sweep_interval
from shared.governance.loader import LandscapeInvalid

DEFAULT_REGION = "eu-west-1"


def nag_packs(scope: Construct) -> list[cdk_nag.NagPack]:
    """The rule packs close2cash is held to."""
    return [
        cdk_nag.AwsSolutionsChecks(scope, verbose=True),
        cdk_nag.ServerlessChecks(scope, verbose=True),
    ]


def build(
    outdir: str | None = None,
    *,
    nag: bool = True,
    landscape: Path | None = None,
    context: dict[str, str] | None = None,
) -> tuple[cdk.App, Close2CashStack]:
    """The app with its one stack, every acknowledgement recorded and (unless `nag=False`) cdk-nag run.

    Tests pass `nag=False` and run the packs themselves, so a finding fails one named test with its
    details instead of failing the synth every other test needs.
    """
    # The CLI passes its output folder in CDK_OUTDIR; run directly, synth writes to ./cdk.out like the CLI.
    # `context`: what `-c key=value` gives the CLI (tests; e.g. salesforceEventBusName).
    app = cdk.App(outdir=outdir or os.environ.get("CDK_OUTDIR") or "cdk.out", context=context)
    # Which landscape ships with this deployment: `cdk deploy -c landscape=path/to/firm.toml`, or the
    # `landscape` context in cdk.json; relative paths are relative to the repository.
    chosen = landscape or Path(str(app.node.try_get_context("landscape") or DEFAULT_LANDSCAPE))
    if not chosen.is_absolute():
        chosen = REPO_ROOT / chosen
    # How often the catch-up sweep runs: `cdk deploy -c account_sweep_minutes=5` (default: the wiring's).
    minutes = app.node.try_get_context("account_sweep_minutes")
    wiring = with_sweep_interval(WIRING, int(minutes)) if minutes else WIRING
    # Environment-agnostic for the account (no lookups, so synth works offline); the region comes from
    # the CLI's environment when there is one.
    stack = Close2CashStack(
        app,
        WIRING.stack_name,
        wiring=wiring,
        env=cdk.Environment(region=os.environ.get("CDK_DEFAULT_REGION", DEFAULT_REGION)),
        description="close2cash: CRM, PSA and accounting kept in sync from opportunity close to cash",
        landscape=chosen,
    )
    acknowledge(stack)
    # cdk-nag 3 packs are CDK policy-validation plugins: findings that are not acknowledged fail synth
    # and the report is written to cdk.out/validation-report.json.
    if nag:
        cdk.Validations.of(app).add_plugins(*nag_packs(app))
    return app, stack


def main() -> None:
    try:
        app, _ = build()
    except LandscapeInvalid as invalid:
        # The stack refuses to synthesize (so to deploy) around an invalid landscape.
        for problem in invalid.problems:
            print(problem, file=sys.stderr)
        print("refusing to synthesize: the landscape file is invalid", file=sys.stderr)
        raise SystemExit(2) from None
    app.synth()


if __name__ == "__main__":
    main()
