"""The report's charts: matplotlib figures rendered to SVG text, inlined in the page (no requests).

matplotlib draws them without a display (its SVG backend, through the object-oriented API: no
pyplot state), text kept as text (`svg.fonttype: none`, so the page's font and a reader's search
apply), without the XML prolog and DOCTYPE an inline `<svg>` must not carry, and scaled to the
width of their box.
https://matplotlib.org/stable/users/explain/figure/backends.html
https://matplotlib.org/stable/users/explain/customizing.html#the-matplotlibrc-file
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from infra.report.models import WATERFALL_STEPS, OpenException, Waterfall

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#4b5563")
STEP_COLORS = dict(zip(WATERFALL_STEPS, ("#1e3a8a", "#2563eb", "#0891b2", "#16a34a", "#15803d"), strict=True))
INK, GRID = "#1f2937", "#e5e7eb"
STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_SIZE = re.compile(r'<svg([^>]*?) width="[\d.]+pt" height="[\d.]+pt"')


def rc_context(extra: dict[str, str] | None = None) -> Any:
    """matplotlib's settings for the report's charts (its typed keys are a Literal: any str here)."""
    return matplotlib.rc_context(cast(Any, {**STYLE, **(extra or {})}))


def to_svg(figure: Figure, name: str) -> str:
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": name}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return _SIZE.sub(rf'<svg\1 role="img" aria-label="{name}" class="chart"', text, count=1)


def new_figure(width: float, height: float) -> Figure:
    with rc_context():
        return Figure(figsize=(width, height), layout="constrained")


def waterfall_chart(rows: Sequence[Waterfall], currency: str) -> str:
    """Grouped bars: each engagement's five steps, in one currency."""
    rows = [r for r in rows if r.currency == currency]
    with rc_context():
        figure = new_figure(7.5, 1.2 + 0.9 * len(rows))
        axes = figure.add_subplot()
        height = 0.8 / len(WATERFALL_STEPS)
        for offset, step in enumerate(WATERFALL_STEPS):
            values = [float(r.step(step) or Decimal(0)) for r in rows]
            positions = [i + (offset - 2) * height for i in range(len(rows))]
            bars = axes.barh(positions, values, height=height * 0.92, color=STEP_COLORS[step], label=step)
            labels = [f"{r.step(step):,}" if r.step(step) is not None else "not kept" for r in rows]
            axes.bar_label(bars, labels=labels, padding=3, fontsize=7, color=INK)
        axes.set_yticks(range(len(rows)), [r.name[:32] for r in rows])
        axes.invert_yaxis()
        axes.set_xlabel(currency)
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        axes.margins(x=0.18)
        axes.legend(loc="lower right", fontsize=7, frameon=False, ncols=5, bbox_to_anchor=(1, 1.0))
        return to_svg(figure, f"money waterfall {currency}")


def per_flow_chart(values: dict[str, float], *, name: str, unit: str = "", width: float = 6.0) -> str:
    """Horizontal bars, one per flow (dimension set), largest first."""
    ordered = sorted(values.items(), key=lambda kv: -kv[1])[:12]
    with rc_context():
        figure = new_figure(width, 0.5 + 0.3 * len(ordered))
        axes = figure.add_subplot()
        bars = axes.barh(range(len(ordered)), [v for _, v in ordered], color=PALETTE[0], height=0.6)
        axes.bar_label(bars, labels=[_short(v) for _, v in ordered], padding=3, fontsize=7, color=INK)
        axes.set_yticks(range(len(ordered)), [k[:40] for k, _ in ordered])
        axes.invert_yaxis()
        axes.margins(x=0.2)
        if unit:
            axes.set_xlabel(unit)
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        return to_svg(figure, name)


def workflow_chart(by_machine: dict[str, dict[str, int]]) -> str:
    """Stacked bars: each state machine's executions by status."""
    colors = {"SUCCEEDED": "#16a34a", "RUNNING": "#2563eb", "FAILED": "#dc2626"}
    statuses = sorted({s for counts in by_machine.values() for s in counts})
    machines = list(by_machine)
    with rc_context():
        figure = new_figure(6.0, 0.6 + 0.35 * len(machines))
        axes = figure.add_subplot()
        left = [0.0] * len(machines)
        for number, status in enumerate(statuses):
            values = [float(by_machine[m].get(status, 0)) for m in machines]
            color = colors.get(status, PALETTE[(number + 3) % len(PALETTE)])
            axes.barh(machines, values, left=left, color=color, label=status.lower(), height=0.6)
            left = [a + b for a, b in zip(left, values, strict=True)]
        axes.invert_yaxis()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("executions")
        axes.legend(fontsize=7, frameon=False, loc="lower right", ncols=4, bbox_to_anchor=(1, 1.0))
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        return to_svg(figure, "workflow executions")


def exception_age_chart(exceptions: Sequence[OpenException]) -> str:
    """Horizontal bars: how long each open exception has waited (hours), coloured by kind."""
    aged = sorted((e for e in exceptions if e.age is not None), key=lambda e: e.age or timedelta(0))[-15:]
    kinds = sorted({e.kind for e in aged})
    with rc_context():
        figure = new_figure(6.0, 0.6 + 0.3 * max(len(aged), 1))
        axes = figure.add_subplot()
        for number, kind in enumerate(kinds):
            mine = [(i, e) for i, e in enumerate(aged) if e.kind == kind]
            axes.barh(
                [i for i, _ in mine],
                [(e.age or timedelta(0)).total_seconds() / 3600 for _, e in mine],
                color=PALETTE[number % len(PALETTE)],
                label=kind,
                height=0.6,
            )
        axes.set_yticks(range(len(aged)), [f"{e.subject[:34]}" for e in aged])
        axes.set_xlabel("hours open")
        axes.legend(fontsize=7, frameon=False, loc="lower right", bbox_to_anchor=(1, 1.0), ncols=4)
        axes.grid(axis="x", color=GRID)
        axes.set_axisbelow(True)
        return to_svg(figure, "age of open exceptions")


def _short(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"
