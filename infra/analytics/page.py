"""The analytics report as text (the terminal) and as one self-contained HTML page.

The page reads as a leader asks: the headline measures per currency, then how they moved month by
month, then per customer and per engagement, then who delivered. Each chart (matplotlib, inline
SVG, as the run report's) stands beside the table with its exact figures; every measure's
definition from the semantic model is printed under the page, so no figure is without its meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from infra.analytics.report import DAYS, HOURS_UNIT, RATIOS, AnalyticsReport, Figure, Slice
from infra.report.charts import GRID, INK, PALETTE, new_figure, rc_context, to_svg
from infra.report.render import CSS

HEADLINE = (
    "pipeline",
    "bookings",
    "delivered",
    "backlog",
    "billed",
    "collected",
    "open_ar",
    "cash_realization",
    "dso",
    "margin",
    "billable_hours",
    "available_hours",
    "utilization",
)
# The measures a unit's tiles show: money rows do not show hours, the hours row shows only hours.
HOURS_HEADLINE = ("billable_hours", "available_hours", "utilization")
HOURS_CHARTED = ("billable_hours", "available_hours")
CHARTED = {
    "period": ("bookings", "delivered", "billed", "collected"),
    "customer": ("pipeline", "bookings", "billed", "collected", "open_ar"),
    "engagement": ("delivered", "billed", "margin"),
    "worker": ("delivered", "cost", "margin"),
}
TITLES = {
    "period": "Month by month",
    "customer": "Per customer",
    "engagement": "Per engagement",
    "worker": "Per worker",
}
NONE = "-"
# One colour per measure on every chart of the page, none shared.
COLORS = {
    "bookings": "#2563eb",
    "delivered": "#16a34a",
    "billed": "#d97706",
    "collected": "#9333ea",
    "open_ar": "#dc2626",
    "pipeline": "#0891b2",
    "cost": "#4b5563",
    "margin": "#0f766e",
    "billable_hours": "#2563eb",
    "available_hours": "#9ca3af",
}
EXTRA_CSS = """
dl.defs { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; }
dl.defs dt { font-weight: 600; }
dl.defs dd { margin: 0; color: var(--muted); }
.tablebox { overflow-x: auto; }
table.slice { font-size: 12px; }
table.slice th, table.slice td { padding: 4px 6px; }
"""


def label(measure: str) -> str:
    """A measure's name as a heading: open_ar -> Open AR."""
    return {"open_ar": "Open AR", "dso": "DSO"}.get(measure, measure.replace("_", " ").capitalize())


def shown(measure: str, value: Figure) -> str:
    """A figure as text: amounts with separators, ratios as per cent, days with their unit."""
    if value is None:
        return NONE
    if not isinstance(value, Decimal):
        return str(value)
    if measure in RATIOS:
        return f"{value * 100:.1f} %"
    if measure in DAYS:
        return f"{value} days"
    if measure.endswith("_hours"):
        return f"{value:,} h"
    return f"{value:,}"


def text(report: AnalyticsReport) -> list[str]:
    """The report as terminal lines: the headline per currency, then the customers."""
    lines = [
        f"analytics as of {report.as_of:%Y-%m-%d %H:%M} UTC (model v{report.model_version}, {report.source})"
    ]
    landed = sum(report.landed_rows.values())
    lines.append(f"  landed events: {landed}, current records: {sum(report.current_rows.values())}")
    for row in report.totals:
        currency = str(row["currency"])
        figures = ", ".join(f"{label(m)} {shown(m, row.get(m))}" for m in headline(row))
        lines.append(f"  {currency}: {figures}")
    customers = report.slice("customer")
    for row in customers.rows:
        name = row.get("name") or row["customer"]
        figures = ", ".join(f"{label(m)} {shown(m, row.get(m))}" for m in CHARTED["customer"] if m in row)
        lines.append(f"  customer {name} ({row['currency']}): {figures}")
    return lines


def _bars(labels: Sequence[str], series: dict[str, list[float]], *, name: str, currency: str) -> str:
    """Grouped bars: one group per label, one bar per series, in one currency."""
    count = max(len(series), 1)
    width = 0.8 / count
    with rc_context():
        figure = new_figure(7.5, 3.0 if len(labels) <= 12 else 4.0)
        axes = figure.add_subplot()
        for index, (measure, values) in enumerate(series.items()):
            positions = [i + (index - (count - 1) / 2) * width for i in range(len(labels))]
            axes.bar(
                positions,
                values,
                width=width * 0.92,
                color=COLORS.get(measure, PALETTE[index % len(PALETTE)]),
                label=label(measure),
            )
        axes.set_xticks(
            range(len(labels)),
            [text_label[:28] for text_label in labels],
            rotation=0 if len(labels) < 7 else 30,
        )
        axes.set_ylabel(currency, color=INK)
        axes.grid(axis="y", color=GRID)
        axes.set_axisbelow(True)
        axes.legend(loc="upper left", fontsize=7, frameon=False, ncols=len(series), bbox_to_anchor=(0, 1.12))
        return to_svg(figure, name)


def _number(value: Figure) -> float:
    return float(value) if isinstance(value, Decimal) else 0.0


def _in_unit(measure: str, currency: str) -> bool:
    """Whether a measure is shown in the rows of `currency` (hours measures in the hours rows only)."""
    return (measure in HOURS_HEADLINE) == (currency == HOURS_UNIT)


def _chart(part: Slice, currency: str) -> str:
    rows = [r for r in part.rows if r["currency"] == currency]
    charted = HOURS_CHARTED if currency == HOURS_UNIT else CHARTED[part.entity]
    measures = [m for m in charted if m in part.measures]
    if not rows or not measures:
        return ""
    labels = [str(r.get("name") or r[part.entity] or f"(no {part.entity})") for r in rows]
    series = {m: [_number(r.get(m)) for r in rows] for m in measures}
    return _bars(labels, series, name=f"{TITLES[part.entity].lower()} {currency}", currency=currency)


def _table(part: Slice, currency: str) -> str:
    rows = [r for r in part.rows if r["currency"] == currency]
    measures = [m for m in part.measures if _in_unit(m, currency)]
    named = any(r.get("name") for r in rows)
    head = f"<th>{escape(part.entity)}</th>" + ("<th>name</th>" if named else "")
    head += "".join(f'<th class="num">{escape(label(m))}</th>' for m in measures)
    body = []
    for row in rows:
        key = row[part.entity] if row[part.entity] is not None else f"(no {part.entity})"
        cells = f"<td>{escape(str(key))}</td>"
        if named:
            cells += f"<td>{escape(str(row.get('name') or ''))}</td>"
        cells += "".join(f'<td class="num">{escape(shown(m, row.get(m)))}</td>' for m in measures)
        body.append(f"<tr>{cells}</tr>")
    if not body:
        return f'<p class="muted">Nothing landed yet for {escape(part.entity)}.</p>'
    return (
        f'<div class="tablebox"><table class="slice"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def headline(row: dict[str, Figure]) -> list[str]:
    """The headline measures of one totals row: hours for the hours row, the rest for a currency's."""
    return [m for m in HEADLINE if m in row and _in_unit(m, str(row["currency"]))]


def _tiles(row: dict[str, Figure]) -> str:
    tiles = "".join(
        f'<div class="tile"><div class="label">{escape(label(m))}</div>'
        f'<div class="value">{escape(shown(m, row.get(m)))}</div></div>'
        for m in headline(row)
    )
    return f'<div class="tiles">{tiles}</div>'


def render(report: AnalyticsReport) -> str:
    """The report as one HTML page (inline CSS and SVG, no requests)."""
    currencies = [str(row["currency"]) for row in report.totals]
    sections = []
    for row in report.totals:
        currency = str(row["currency"])
        sections.append(f"<h2>{escape(currency)}</h2>{_tiles(row)}")
    if not currencies:
        sections.append('<p class="muted">No event has landed yet: every measure is zero.</p>')
    for part in report.slices:
        for currency in currencies:
            if not any(_in_unit(m, currency) for m in part.measures):
                continue  # e.g. hours per customer: no hours measure carries the customer
            chart = _chart(part, currency)
            sections.append(
                f"<h2>{escape(TITLES[part.entity])} ({escape(currency)})</h2>"
                f'<div class="chartbox">{chart}</div>{_table(part, currency)}'
            )
    definitions = "".join(
        f"<dt>{escape(label(m))}</dt><dd>{escape(report.descriptions.get(m, ''))}</dd>"
        for m in report.measures
    )
    landed = "".join(
        f'<tr><td>{escape(table)}</td><td class="num">{landed}</td>'
        f'<td class="num">{report.current_rows.get(table, 0)}</td></tr>'
        for table, landed in report.landed_rows.items()
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>close2cash analytics as of {report.as_of:%Y-%m-%d}</title><style>{CSS}{EXTRA_CSS}</style>"
        "</head><body>"
        f'<h1>close2cash analytics</h1><p class="meta">As of {report.as_of:%Y-%m-%d %H:%M} UTC'
        f" &middot; semantic model v{report.model_version} &middot; {escape(report.source)}</p>"
        f"{''.join(sections)}"
        '<h2>Landed data</h2><table><thead><tr><th>table</th><th class="num">events landed</th>'
        f'<th class="num">current records</th></tr></thead><tbody>{landed}</tbody></table>'
        f'<h2>Definitions</h2><dl class="defs">{definitions}</dl></body></html>'
    )
