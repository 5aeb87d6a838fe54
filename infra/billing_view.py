"""What `close2cash billing list` prints: each run, its invoice and what is paid and open."""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.billing_ports import InvoiceRecord
from shared.domain.billing_runs import BillingRun


def run_lines(runs: Sequence[BillingRun], invoices: Sequence[InvoiceRecord]) -> list[str]:
    """One line per run (period, state, invoice, amount, paid, open), then the reason a run stopped."""
    if not runs:
        return ["no billing runs recorded"]
    by_id = {(record.system, record.id): record for record in invoices}
    lines = [
        f"{'run':34}  {'period':7}  {'state':17}  {'invoice':>14}  {'amount':>14}  {'paid':>12}  {'open':>12}"
    ]
    for run in runs:
        record = by_id.get((run.target, run.invoice_id)) if run.target and run.invoice_id else None
        amount = f"{run.total.amount} {run.total.currency}" if run.total is not None else "-"
        number = f"{run.invoice.number}" if run.invoice is not None else "-"
        paid = str(record.standing.paid.amount) if record is not None else "-"
        owed = str(record.standing.balance.amount) if record is not None else "-"
        standing = f" ({record.standing.standing.value})" if record is not None else ""
        lines.append(
            f"{run.id:34}  {run.period.month:7}  {run.state.value + standing:17}  {number:>14}  "
            f"{amount:>14}  {paid:>12}  {owed:>12}"
        )
        if run.reason:
            lines.append(f"{'':36}{run.reason}")
        lines.extend(f"{'':36}left out: {note}" for note in run.skipped)
    return lines
