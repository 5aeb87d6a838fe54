"""`make bench`: print the figures issue #2 asks for (import times, calls per account, throughput)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from tests.benchmarks import imports


def main() -> int:
    print("== Cold import of each handler module (fresh interpreter, median of 7) ==")
    for figure in imports.measure():
        if figure.ratio is None:
            print(f"  {figure.module:<40} {figure.median_ms:7.1f} ms  (baseline: bare import boto3)")
        else:
            verdict = "meets" if figure.goal and figure.ratio <= figure.goal else "MISSES"
            print(
                f"  {figure.module:<40} {figure.median_ms:7.1f} ms  {figure.ratio:4.2f}x boto3"
                f"  ({verdict} goal <= {figure.goal}x)"
            )

    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from infra.local.environment import local_environment
    from shared.observability import logger
    from tests.benchmarks.calls import ingest_throughput, per_synced_account

    log = Path(".close2cash/bench-handlers.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as stream, local_environment() as env:
        handler = logger.registered_handler
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
        result = per_synced_account(env)
        n = result.accounts
        print(
            f"\n== Per synced account ({n} new accounts, Salesforce -> Productive + QuickBooks,"
            " echoes included) =="
        )
        by_service: dict[str, int] = {}
        for key, count in result.aws_calls.items():
            by_service[key.split(":")[0]] = by_service.get(key.split(":")[0], 0) + count
        for service, count in sorted(by_service.items()):
            ops = ", ".join(
                f"{k.split(':')[1]} {v / n:.2f}"
                for k, v in sorted(result.aws_calls.items())
                if k.startswith(service)
            )
            print(f"  {service:<10} {count / n:6.2f} calls  ({ops})")
        for function, count in sorted(result.invocations.items()):
            print(f"  lambda     {count / n:6.2f} invocations of {function}")
        for vendor, count in sorted(result.vendor_calls.items()):
            print(f"  {vendor:<10} {count / n:6.2f} vendor API calls")
        print(f"  wall time  {result.seconds:.2f} s for {n} accounts on the local runtime")
        print(
            "  note: sqs ReceiveMessage counts the local pollers' receives while draining; Lambda's own"
            " pollers long-poll continuously in AWS"
        )

        print("\n== Webhook ingest throughput on the local runtime (loopback HTTP, one client) ==")
        for label, value in ingest_throughput(env).items():
            print(f"  {label:<55} {value:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
