"""The run report as one self-contained HTML page: inline CSS, inline SVG charts, no requests.

The page reads top to bottom as an operator would ask: what ran, where the money is, what needs a
person, how the hub is doing. Figures are exact (Decimal, to the currency's minor unit); a chart
stands beside a table, never instead of it, so every figure is also text a person can copy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from infra.report import charts
from infra.report.models import (
    WATERFALL_STEPS,
    Flows,
    MetricFigure,
    OpenException,
    Report,
    Waterfall,
)

NO_DATA = "no data"
NONE = "-"

CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bad:#b91c1c; --ok:#15803d; --panel:#f9fafb; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); margin: 0 auto; max-width: 1200px; padding: 24px 32px 48px; font-size: 14px;
       line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta, .muted { color: var(--muted); }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.tile, .card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
               padding: 10px 14px; }
.tile .value { font-size: 22px; font-weight: 600; }
.tile .label, .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
                             letter-spacing: .03em; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.bad { color: var(--bad); font-weight: 600; }
.ok { color: var(--ok); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
.card .value { font-size: 17px; font-weight: 600; margin: 2px 0; }
.card .value.none { color: var(--muted); font-weight: 400; font-style: italic; }
svg.chart { width: 100%; height: auto; max-width: 760px; display: block; }
.kind { display: inline-block; padding: 1px 8px; border-radius: 10px; background: #eef2ff; font-size: 12px; }
dl.extra { margin: 4px 0 0; display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px;
           font-size: 13px; }
dl.extra dt { color: var(--muted); }
dl.extra dd { margin: 0; }
table.exceptions { table-layout: fixed; }
table.exceptions td { overflow-wrap: anywhere; }
table.exceptions td.num { white-space: normal; overflow-wrap: normal; }
table.exceptions col.c-kind { width: 17%; } table.exceptions col.c-record { width: 15%; }
table.exceptions col.c-reason { width: 40%; } table.exceptions col.c-owner { width: 8%; }
table.exceptions col.c-age { width: 6%; } table.exceptions col.c-opened { width: 14%; }
table.sides { table-layout: auto; margin: 2px 0; font-size: 12px; }
table.sides td { padding: 1px 6px; border-bottom: none; overflow-wrap: normal; word-break: normal; }
"""


def money(value: Decimal | None) -> str:
    """An exact amount with thousands separators, as rounded (2800.00 -> 2,800.00)."""
    return "not kept" if value is None else f"{value:,}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NO_DATA
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def age(delta: timedelta | None) -> str:
    """How long something has been open, to the unit a person reads (3 d 4 h, 2 h 5 min, 40 s)."""
    if delta is None:
        return "unknown"
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


def _count(value: float) -> str:
    return f"{int(value):,}" if value == int(value) else f"{value:,.2f}"


def _at(moment: datetime | None) -> str:
    return "?" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _table(head: Iterable[tuple[str, bool]], rows: Iterable[Iterable[tuple[str, str]]]) -> str:
    """A table from (header, numeric) columns and rows of (html, css class) cells."""
    header = "".join(f'<th class="{"num" if numeric else ""}">{escape(h)}</th>' for h, numeric in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="{css}">{cell}</td>' for cell, css in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _tiles(report: Report) -> str:
    dead = sum(q.dead_lettered or 0 for q in report.flows.queues)
    failed = sum(
        n for w in report.flows.workflows for s, n in w.by_status.items() if s in ("FAILED", "TIMED_OUT")
    )
    tiles = (
        ("engagements", str(len({w.engagement for w in report.waterfalls})), False),
        ("open exceptions", str(len(report.exceptions)), bool(report.exceptions)),
        ("dead-lettered messages", str(dead), bool(dead)),
        ("failed workflow runs", str(failed), bool(failed)),
    )
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><div class="label">{escape(label)}</div>'
            f'<div class="value{" bad" if bad else ""}">{escape(value)}</div></div>'
            for label, value, bad in tiles
        )
        + "</div>"
    )


def _flows(flows: Flows) -> str:
    statuses = sorted({s for w in flows.workflows for s in w.by_status}) or ["SUCCEEDED"]
    workflow_rows = [
        [(escape(w.name), ""), *((str(w.by_status.get(s, 0)), "num") for s in statuses)]
        if w.deployed
        else [(escape(w.name), ""), ("not deployed here", "muted"), *(("", "") for _ in statuses[1:])]
        for w in flows.workflows
    ]
    workflows = _table([("state machine", False), *((s.lower(), True) for s in statuses)], workflow_rows)
    ran = {w.name: w.by_status for w in flows.workflows if w.by_status}
    chart = charts.workflow_chart(ran) if ran else ""
    count_rows = [
        [
            (escape(c.label), ""),
            (_count(c.total), "num"),
            (escape(", ".join(f"{k}: {_count(v)}" for k, v in sorted(c.per_flow.items())) or NONE), "muted"),
        ]
        for c in flows.counts
    ]
    counts = _table([("what the flows did", False), ("total", True), ("per flow", False)], count_rows)
    per_flow = {f"{c.label}: {k}": v for c in flows.counts for k, v in c.per_flow.items()}
    count_chart = charts.per_flow_chart(per_flow, name="flow counts") if per_flow else ""

    def depth(value: int | None, *, dead: bool) -> tuple[str, str]:
        if value is None:
            return "not deployed", "num muted"
        return str(value), "num bad" if dead and value else "num"

    queue_rows = [
        [(escape(q.name), ""), depth(q.waiting, dead=False), depth(q.dead_lettered, dead=True)]
        for q in flows.queues
    ]
    queues = _table([("queue", False), ("waiting", True), ("dead-lettered", True)], queue_rows)
    return (
        '<h2 id="flows">Flows and their counts</h2>'
        f'<div class="grid2"><div><h3>Workflow executions</h3>{workflows}{chart}</div>'
        f"<div><h3>Queues</h3>{queues}</div></div>"
        f'<div class="grid2"><div><h3>Notices and records per flow</h3>{counts}</div>'
        f"<div>{count_chart}</div></div>"
    )


def _waterfalls(rows: tuple[Waterfall, ...]) -> str:
    head = [
        ("engagement", False),
        ("status", False),
        ("currency", False),
        *((step, True) for step in WATERFALL_STEPS),
        ("open AR", True),
    ]
    body = [
        [
            (f"{escape(r.name)}<br><span class='muted'>{escape(r.engagement)}</span>", ""),
            (escape(r.status), ""),
            (escape(r.currency), ""),
            *((money(r.step(step)), "num") for step in WATERFALL_STEPS),
            (money(r.open_ar), "num"),
        ]
        for r in rows
    ]
    if not rows:
        return '<h2 id="money">Money per engagement</h2><p class="muted">No engagement set up yet.</p>'
    notes = [
        f"{escape(r.name)}: {money(r.credited)} {escape(r.currency)} credited (credit memos, not cash)"
        for r in rows
        if r.credited
    ]
    chart_html = "".join(charts.waterfall_chart(rows, c) for c in dict.fromkeys(r.currency for r in rows))
    return (
        '<h2 id="money">Money per engagement: booked → approved → posted → invoiced → paid</h2>'
        + _table(head, body)
        + "".join(f'<p class="muted">{n}</p>' for n in notes)
        + chart_html
    )


def _extra(extra: dict[str, str]) -> str:
    if not extra:
        return ""
    items = []
    for key, value in extra.items():
        shown = escape(value)
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(p, dict) for p in parsed):
            shown = _sides(parsed)
        items.append(f"<dt>{escape(key)}</dt><dd>{shown}</dd>")
    return f'<dl class="extra">{"".join(items)}</dl>'


def _sides(sides: list[dict[str, str]]) -> str:
    """Each system's side of a break: the system, its record, what it holds, a link to it."""
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(side.get('system', '')))}</td>"
        f"<td>{escape(str(side.get('record') or NONE))}</td>"
        f"<td>{escape(str(side.get('value') or ''))}</td>"
        + (f'<td><a href="{escape(str(side["link"]))}">open</a></td>' if side.get("link") else "<td></td>")
        + "</tr>"
        for side in sides
    )
    return f'<table class="sides">{rows}</table>'


def _exceptions(exceptions: tuple[OpenException, ...], now: datetime) -> str:
    if not exceptions:
        return '<h2 id="exceptions">Open exceptions and breaks</h2><p class="ok">None open.</p>'
    by_kind: dict[str, list[OpenException]] = defaultdict(list)
    for e in exceptions:
        by_kind[e.kind].append(e)
    parts = ['<h2 id="exceptions">Open exceptions and breaks</h2>']
    summary = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    parts.append(f"<p>{len(exceptions)} open ({escape(summary)}); ages as of {_at(now)}.</p>")
    for kind, found in sorted(by_kind.items()):
        found.sort(key=lambda e: e.opened_at or now)
        rows = [
            [
                (
                    f"<span class='kind'>{escape(kind)}</span><br><span class='muted'>{escape(e.id)}</span>",
                    "",
                ),
                # The subject without the version it was read at: the record, as a person finds it.
                (escape(e.subject.split("@", 1)[0]), ""),
                (escape(e.reason) + _extra(e.extra), ""),
                (
                    escape(e.owner or NONE)
                    + (f"<br><span class='muted'>{escape(e.step)}</span>" if e.step else ""),
                    "",
                ),
                (age(e.age), "num"),
                (_at(e.opened_at), "num muted"),
            ]
            for e in found
        ]
        title = "breaks (reconciliation)" if kind == "reconciliation" else kind
        head = [("kind", False), ("record", False), ("reason", False), ("owner / step", False)]
        parts.append(f"<h3>{escape(title)}: {len(found)}</h3>")
        table = _table([*head, ("age", True), ("opened", True)], rows)
        columns = "".join(
            f'<col class="c-{c}">' for c in ("kind", "record", "reason", "owner", "age", "opened")
        )
        parts.append(table.replace("<table>", f'<table class="exceptions"><colgroup>{columns}</colgroup>', 1))
    if len(exceptions) > 1:  # one bar says no more than its age in the table
        parts.append(charts.exception_age_chart(exceptions))
    return "".join(parts)


def _figure_value(figure: MetricFigure) -> str:
    # A count is emitted when its event happens (a failure, a rejection): none emitted is none.
    # A duration or a gauge that was never emitted has no value to show.
    if not figure.has_data and figure.kind not in ("derived", "count"):
        return NO_DATA
    if figure.kind == "duration":
        return f"{duration(figure.average)} average · {duration(figure.maximum)} at most"
    if figure.kind == "gauge":
        return _count(figure.maximum or 0)
    return _count(figure.total)


def _metrics(figures: tuple[MetricFigure, ...]) -> str:
    named = {f.name: f for f in figures}
    cards = []
    for figure in figures:
        if figure.name == "DuplicatesCreated":
            continue
        label, value = figure.label, _figure_value(figure)
        if figure.name == "DuplicatesPrevented" and "DuplicatesCreated" in named:
            created = named["DuplicatesCreated"]
            label = "duplicates created / prevented"
            value = f"{_count(created.total)} created · {value} prevented"
        empty = value == NO_DATA
        unit = "seconds" if figure.kind == "duration" else ""
        chart = (
            charts.per_flow_chart(figure.per_flow, name=figure.label, unit=unit, width=3.4)
            if len(figure.per_flow) > 1
            else ""
        )
        samples = f"{figure.samples} data points" if figure.has_data else "nothing emitted in the window"
        cards.append(
            f'<div class="card" data-metric="{escape(figure.name)}"><div class="label">{escape(label)}</div>'
            f'<div class="value{" none" if empty else ""}">{escape(value)}</div>'
            f'<div class="muted">{escape(figure.note or "")} · {figure.name} · {samples}</div>{chart}</div>'
        )
    return '<h2 id="metrics">Operational metrics</h2><div class="cards">' + "".join(cards) + "</div>"


def render(report: Report) -> str:
    """The whole page, as one string of HTML."""
    body = (
        "<h1>close2cash run report</h1>"
        f'<p class="meta">Generated {_at(report.generated_at)} from {escape(report.source)}; '
        f"metrics since {_at(report.since)} (CloudWatch, namespace close2cash).</p>"
        + _tiles(report)
        + _flows(report.flows)
        + _waterfalls(report.waterfalls)
        + _exceptions(report.exceptions, report.generated_at)
        + _metrics(report.metrics)
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>close2cash run report</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )
