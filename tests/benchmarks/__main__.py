"""`make bench`: print the figures issues #2, #8, #9, #10, #12 and #14 ask for (cold starts, calls per
account, webhooks, month-end precedence, approved time posted to QuickBooks (calls, cost, month-end drain:
`python -m tests.benchmarks.time_posting 1000`), the analytics layer at 1M events
(`python -m tests.benchmarks.analytics`), one reconciliation at issue 12's size
(`python -m tests.benchmarks.reconcile`), one replay of 1,000 customers' notices
(`python -m tests.benchmarks.replay`), the local runtime's scale curve to 1,000 accounts;
one step: `python -m tests.benchmarks.scale 1000`)."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

from tests.benchmarks import imports
from tests.benchmarks.logs import environment_logged_to


def _per(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))


def main() -> int:
    # Figures go to the terminal; what the handlers print (logs, EMF) goes to a file.
    say = functools.partial(print, file=sys.stdout, flush=True)
    say(
        f"== Cold import of each handler module as Lambda does it (LAMBDA_TASK_ROOT set, tracing on;"
        f" {imports.packages()}; {imports.RUNS} fresh interpreters, each paired with a bare import boto3) =="
    )
    for figure in imports.measure():
        if figure.ratio is None:
            say(f"  {figure.module:<40} {figure.median_ms:7.1f} ms  (baseline: bare import boto3)")
        else:
            verdict = "meets" if figure.goal and figure.ratio <= figure.goal else "MISSES"
            say(
                f"  {figure.module:<40} {figure.median_ms:7.1f} ms  {figure.ratio:4.2f}x boto3"
                f"  ({verdict} goal <= {figure.goal}x)"
            )
            parts = ", ".join(f"{package} {ms:.0f}" for package, ms in imports.breakdown(figure.module))
            say(f"    where it goes (own ms per package): {parts}")

    from tests.benchmarks.mapping import measure as measure_mapping

    figures = measure_mapping()
    say("\n== 10,000 canonical time entries through validation and the mapping layer ==")
    say(
        f"  {figures.per_second:,.0f} records/s, {figures.microseconds_per_record:.1f} µs per record"
        f" (validation {figures.validate_seconds / figures.records * 1e6:.1f} µs,"
        f" dimensions + revenue account + amount {figures.map_seconds / figures.records * 1e6:.1f} µs)"
    )

    from tests.benchmarks.budgets import measure as measure_budgets

    say(
        "\n== One QuickBooks realm, N account_sync containers reading at once"
        " (the sandbox's own count; Intuit allows 500/min, 10/s) =="
    )
    for realm in measure_budgets():
        say(realm.line())

    from tests.benchmarks.budgets import MONTH_END_SECONDS, measure_month_end

    say(
        f"\n== Month-end on one QuickBooks realm: posting containers flooding it for"
        f" {MONTH_END_SECONDS:.0f} s, a closed-won deal's setup making 20 calls (200 ms each)"
        " one minute in =="
    )
    for month_end in measure_month_end():
        say(month_end.line())

    from tests.benchmarks.calls import (
        GOAL_DEAL,
        GOAL_EDIT,
        GOAL_NEW_ACCOUNT,
        GOAL_WORKFLOW_STARTS,
        ingest_throughput,
        per_edit,
        per_synced_account,
        verdict,
    )

    log = Path(".close2cash/bench-handlers.log")
    with environment_logged_to(log) as env:
        result = per_synced_account(env)
        n = result.accounts
        say(
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
            say(f"  {service:<10} {count / n:6.2f} calls  ({ops})")
        for function, count in sorted(result.invocations.items()):
            say(f"  lambda     {count / n:6.2f} invocations of {function}")
        for vendor, count in sorted(result.vendor_calls.items()):
            say(f"  {vendor:<10} {count / n:6.2f} vendor API calls")
        say(f"  wall time  {result.seconds:.2f} s for {n} accounts on the local runtime")
        say(
            f"  vendor     {result.vendor_total:6.2f} calls per new account in all"
            f"  ({verdict(result.vendor_total, GOAL_NEW_ACCOUNT)})"
        )
        edits = per_edit(env, result.ids)
        say(
            f"  edit       {edits.vendor_total:6.2f} vendor calls per edited account in all ("
            + ", ".join(f"{k} {v / edits.accounts:.2f}" for k, v in sorted(edits.vendor_calls.items()) if v)
            + f"; {verdict(edits.vendor_total, GOAL_EDIT)})"
        )
        say(
            "  note: sqs ReceiveMessage/GetQueueAttributes and states ListExecutions are the local runtime"
            " looking for work while it drains; in AWS, Lambda's pollers long-poll the queue instead"
        )

        from tests.benchmarks.cold_start import measure as measure_cold_start

        cold = measure_cold_start(env)
        say("\n== webhook_ingest cold start in Lambda's order: import, then its first QuickBooks notice ==")
        say(
            f"  import {cold.import_ms:.0f} ms ({cold.ratio:.2f}x bare boto3, {cold.boto3_ms:.0f} ms),"
            f" first invocation {cold.first_ms:.0f} ms, together {cold.import_ms + cold.first_ms:.0f} ms"
            f" (QuickBooks wants the answer within 3 s); answers {sorted(set(cold.statuses))}"
        )

        from tests.benchmarks.sweeps import measure as measure_sweeps

        sweeps = measure_sweeps(env)
        say("\n== Catch-up sweep of the customer master (Salesforce queryAll, QuickBooks CDC) ==")
        say("  vendor calls, nothing changed (goal 1 per swept vendor): " + _per(sweeps.quiet))
        say(f"  vendor calls, one lost edit brought ({_per(sweeps.brought)} swept): " + _per(sweeps.lost))

        from tests.benchmarks.engagement import measure as measure_engagement

        engagement = measure_engagement(env)
        say("\n== One closed-won deal to an active engagement (approval included) ==")
        say(f"  state transitions: {engagement.transitions} (Standard workflows bill each)")
        say(
            "  lambda invocations: "
            + ", ".join(f"{k} {v}" for k, v in sorted(engagement.invocations.items()))
        )
        deal_calls = sum(engagement.vendor_calls.values())
        say(
            "  vendor API calls: "
            + ", ".join(f"{k} {v}" for k, v in sorted(engagement.vendor_calls.items()))
            + f"; {deal_calls} in all ({verdict(deal_calls, GOAL_DEAL)})"
        )
        starts = engagement.invocations.get("workflow_start", 0)
        say(f"  workflow_start runs: {starts} ({verdict(starts, GOAL_WORKFLOW_STARTS)})")
        say("  AWS calls: " + ", ".join(f"{k} {v}" for k, v in sorted(engagement.aws_calls.items())))
        costs = engagement.cost_per_thousand()
        say(
            f"  modelled AWS cost per 1,000 engagements (us-east-1 list prices): ${sum(costs.values()):.3f}"
            + " ("
            + ", ".join(f"{k} ${v:.3f}" for k, v in costs.items())
            + ")"
        )
        if not engagement.active:
            say("  WARNING: the engagement did not end active in both systems")

        from tests.benchmarks.billing import measure as measure_billing

        billing = measure_billing(env)
        say(f"\n== One billing run of {billing.lines} lines (approval included), then one payment ==")
        say(f"  state transitions per run: {billing.transitions}")
        for label, counted in (("invoice", billing.invoice), ("payment", billing.payment)):
            say(
                f"  per {label}: vendor calls "
                + ", ".join(f"{k} {v}" for k, v in sorted(counted.vendor_calls.items()))
                + f"; AWS calls {sum(counted.aws_calls.values())} ("
                + ", ".join(f"{k} {v}" for k, v in sorted(counted.aws_calls.items()))
                + "); invocations "
                + ", ".join(f"{k} {v}" for k, v in sorted(counted.invocations.items()))
            )
        say(f"  payment in QuickBooks -> visible in Salesforce: {billing.payment.seconds:.2f}s (local)")
        costs = billing.cost_per_10k_invoices()
        say(
            f"  modelled AWS cost per 10,000 invoices (one payment each): ${sum(costs.values()):.2f}"
            + " ("
            + ", ".join(f"{k} ${v:.2f}" for k, v in costs.items())
            + ")"
        )
        if not billing.posted:
            say("  WARNING: the billing run did not post its invoice")

        say("\n== Webhook ingest throughput on the local runtime (loopback HTTP, one client) ==")
        for label, value in ingest_throughput(env).items():
            say(f"  {label:<55} {value:8.1f}")

        from tests.benchmarks.webhooks import concurrent_senders, fuzz, identical_deliveries

        senders = concurrent_senders(env, senders=20, rounds=5)
        say("\n== 20 concurrent senders, valid and wrong-token Salesforce notices (goal: equal, 0) ==")
        say(
            f"  {senders.requests} requests; valid notices acknowledged {senders.acknowledged}, recorded"
            f" {senders.recorded}; wrong-token requests accepted {senders.wrong_token_accepted}"
        )
        same = identical_deliveries(env, deliveries=20)
        say(
            f"  one notice delivered {same.deliveries} times at once: published {same.published}"
            f" (goal 1), answers {dict(sorted(same.statuses.items()))}"
        )
        hostile = fuzz(env)
        say("\n== Hostile webhooks, each provider, on loopback (goal: 0 5xx, 0 enqueued by refusals) ==")
        say(
            f"  {hostile.sent} requests; answers {dict(sorted(hostile.statuses.items()))};"
            f" 5xx {len(hostile.five_xx)}; refusals that enqueued {len(hostile.enqueued_by_rejects)}"
        )

    from tests.benchmarks.ledger_reads import measure as measure_ledger_reads

    say("\n== Ledger reads per GET /approvals (5 pending, 3 open exceptions; goal: independent of size) ==")
    with log.open("a") as stream, contextlib.redirect_stdout(stream):
        readings = [measure_ledger_reads(size) for size in (1_000, 100_000)]
    for reads in readings:
        calls = ", ".join(f"{op} {n}" for op, n in sorted(reads.calls.items()))
        say(
            f"  ledger of {reads.ledger_items:>7,} items: {calls}, {reads.items_read} items read,"
            f" {reads.listed} listed  (one scan of it: {reads.full_scan_calls} calls,"
            f" {reads.full_scan_items:,} items)"
        )

    from tests.benchmarks import time_posting

    # Issue 10: approved time to QuickBooks (one size: python -m tests.benchmarks.time_posting 1000).
    time_posting.run(say=say)

    from tests.benchmarks import reconcile

    # Issue 12: one reconciliation of 1,000 customers, 100 engagements, 20,000 entries
    # (other sizes: python -m tests.benchmarks.reconcile 20 5 200).
    reconcile.run(say=say)

    from tests.benchmarks import replay

    # Issue 12: a replay (dry run) of a window of 1,000 customers' notices
    # (other sizes: python -m tests.benchmarks.replay 100).
    replay.run(say=say)

    from tests.benchmarks import analytics

    # Issue 14: landing cost per 1M events, bytes per event, the report on 1M landed events
    # (other sizes: python -m tests.benchmarks.analytics 100000).
    say("")
    analytics.main([])

    from tests.benchmarks import scale

    say(
        "\n== The local runtime at scale: new accounts synced, a fresh runtime per step"
        " (one step: python -m tests.benchmarks.scale 1000) =="
    )
    scale.print_curve(scale.measure(scale.BENCH_CURVE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
