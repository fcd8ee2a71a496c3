"""The HTML progress report: one self-contained file to open in a browser.

True retention against the desired retention, the due forecast, a calendar
heatmap of the learner's days, per-deck and per-tag tables, the hardest cards
and the lab runs with their curves. The numbers come from `companion.stats.report`
(the read model every face shows); the charts are inline SVG
(companion.interop.svg_chart), so the file needs nothing else: no scripts, no
fonts, no network, and no numpy in the base install.

Every piece of text that comes from the learner's decks or runs (deck names,
card text, tags, lab parameters and results) is HTML-escaped: a `<script>` in a
card is shown as text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from companion import __version__
from companion.cardtext import math_to_unicode, without_diagrams
from companion.scheduler import to_datetime
from companion.settings import Settings
from companion.stats import RETENTION_WEEKS, GroupRow, ReportData, percent, report
from companion.store import Reads


def e(value: Any) -> str:
    """Escaped for HTML text and attribute values alike."""
    return html.escape("" if value is None else str(value), quote=True)


# -- the charts ------------------------------------------------------------


def draw_charts(data: ReportData) -> dict[str, str]:
    """name -> inline SVG: retention, forecast, heatmap, and lab-<run id> per run with curves."""
    from companion.interop import svg_chart as svg

    charts: dict[str, str] = {}
    weeks = [first for first, _ in data.weekly]
    rates = [r.rate * 100 if r.rate is not None else None for _, r in data.weekly]
    desired = data.overview.desired * 100
    lowest = min([y for y in rates if y is not None] + [desired])
    every = max(1, math.ceil(len(weeks) / 9))
    charts["retention"] = svg.line_chart(
        f"True retention per week, last {RETENTION_WEEKS} weeks",
        [svg.Series("true retention", list(enumerate(rates)), "#1565c0"),
         svg.Series(f"desired {data.overview.desired:.0%}",
                    [(0, desired), (max(1, len(weeks) - 1), desired)], "#c62828",
                    dashed=True, dots=False)],
        ylabel="% passed", y_range=(max(0.0, lowest - 10), 100.0),
        x_ticks=list(range(0, len(weeks), every)),
        x_label=lambda i: weeks[int(i)].strftime("%d %b") if 0 <= i < len(weeks) else "",
        tip=lambda _, i, y: f"week of {weeks[int(i)]:%d %b %Y}: {y:.1f}% passed")

    forecast = data.overview.forecast
    days = [data.overview.today + timedelta(days=i) for i in range(len(forecast))]
    charts["forecast"] = svg.bar_chart(
        f"Due in the next {len(forecast)} days (today includes overdue)",
        [(day.strftime("%d %b"), count) for day, count in zip(days, forecast)],
        ylabel="cards due", every=max(1, math.ceil(len(days) / 8)))

    calendar = data.calendar
    charts["heatmap"] = svg.calendar_chart(
        f"Answers per day, {calendar[0][0]:%d %b %Y} to {calendar[-1][0]:%d %b %Y}", calendar)

    for run_id, points in data.curves.items():
        charts[f"lab-{run_id}"] = "".join(_lab_charts(points))
    return charts


def _lab_charts(points: Sequence[tuple[str, str, float, float]]) -> list[str]:
    """One line chart per chart name of a run (the first four), a line per series."""
    from companion.interop import svg_chart as svg

    charts: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for chart, series, x, y in points:
        charts.setdefault(chart or "metric", {}).setdefault(series or "", []).append((x, y))
    return [svg.line_chart(
        title, [svg.Series(name, xy, svg.PALETTE[i % len(svg.PALETTE)], dots=len(xy) <= 40)
                for i, (name, xy) in enumerate(lines.items())],
        width=372, height=260, tip=lambda name, x, y: f"{name} at {x:g}: {y:.4g}")
        for title, lines in list(charts.items())[:4]]


# -- the page --------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; }
.meta { color: #666; } .num { text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { text-align: left; background: #f5f5f5; }
.chart { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.6rem 0; overflow-x: auto; }
.chart svg { max-width: 100%; height: auto; }
.tiles { display: flex; gap: 1rem; flex-wrap: wrap; }
.tile { border: 1px solid #e3e3e3; border-radius: 6px; padding: 0.6rem 1rem; min-width: 8rem; }
.tile strong { display: block; font-size: 1.4rem; }
.card-text { white-space: pre-wrap; max-width: 34rem; }
.failed { color: #c62828; } .empty { color: #666; font-style: italic; }
code { font-size: 0.9em; }
"""


def _chart(charts: dict[str, str], name: str) -> str:
    """A chart's SVG, built by ElementTree: its text is escaped there."""
    return f'<div class="chart">{charts[name]}</div>' if name in charts else ""


def _table(headers: Iterable[tuple[str, bool]], rows: Iterable[Iterable[Any]]) -> str:
    """headers: (title, numeric); every cell escaped."""
    headers = list(headers)
    out = ["<table><thead><tr>"]
    out += [f'<th{" class=num" if numeric else ""}>{e(title)}</th>' for title, numeric in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for (_, numeric), cell in zip(headers, row):
            out.append(f'<td{" class=num" if numeric else ""}>{e(cell)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out.extend(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and len(value) > 8:
        return [(prefix, f"[{len(value)} values]")]
    from labs.events import format_value  # the one formatter of a lab's values

    return [(prefix, format_value(value))]


def _group_rows(rows: tuple[GroupRow, ...]) -> list[list[Any]]:
    return [[r.name, r.cards, r.studied, r.answers, r.lapses, percent(r.retention),
             r.retention.total] for r in rows]


GROUP_HEADERS = (("", False), ("Cards", True), ("Studied", True), ("Answers", True),
                 ("Lapses", True), ("True retention", True), ("Counted", True))


def render_html(data: ReportData, charts: dict[str, str]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>companion report, {e(data.overview.today.isoformat())}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>companion: your progress</h1>",
        (f'<p class="meta">Generated {e(data.generated.strftime("%Y-%m-%d %H:%M %Z"))} by '
         f"companion {e(__version__)}. Days are your learner's days.</p>"),
        '<div class="tiles">',
    ]
    for label, value in (("cards", data.overview.cards), ("studied", data.overview.studied),
                         ("answers", data.overview.reviews), ("day streak", data.overview.streak),
                         ("due today", data.overview.forecast[0] if data.overview.forecast else 0)):
        parts.append(f'<div class="tile"><strong>{e(value)}</strong>{e(label)}</div>')
    parts.append("</div>")

    parts.append('<h2 id="retention">True retention</h2>')
    parts.append(f"<p>Among each card's first answer of the day while it was in review, the "
                 f"share that passed; your desired retention is {data.overview.desired:.0%}.</p>")
    parts.append(_table((("Period", False), ("True retention", True), ("Passed", True),
                         ("Counted", True)),
                        [[p.label, percent(p.all), p.all.passed, p.all.total]
                         for p in data.overview.retention]))
    if data.overview.reviews:
        parts.append(_chart(charts, "retention"))

    parts.append('<h2 id="forecast">Forecast</h2>')
    forecast = data.overview.forecast
    parts.append(f"<p>Today {forecast[0]} · tomorrow {forecast[1]} · next 7 days "
                 f"{sum(forecast[:7])} · next {len(forecast)} days {sum(forecast)}.</p>")
    parts.append(_chart(charts, "forecast"))

    parts.append('<h2 id="calendar">Calendar</h2>')
    if data.overview.reviews:
        busiest = max(data.calendar, key=lambda dc: dc[1])
        studied_days = sum(1 for _, c in data.calendar if c)
        parts.append(f"<p>{studied_days} of the last {len(data.calendar)} days studied; the "
                     f"busiest, {e(busiest[0].isoformat())}, had {busiest[1]} answers.</p>")
        parts.append(_chart(charts, "heatmap"))
    else:
        parts.append('<p class="empty">No reviews yet.</p>')

    parts.append('<h2 id="decks">Decks</h2>')
    parts.append(_table((("Deck", False),) + GROUP_HEADERS[1:], _group_rows(data.overview.decks))
                 if data.overview.decks else '<p class="empty">No decks.</p>')
    parts.append('<h2 id="tags">Tags</h2>')
    parts.append(_table((("Tag", False),) + GROUP_HEADERS[1:], _group_rows(data.overview.tags))
                 if data.overview.tags else '<p class="empty">No tags.</p>')

    parts.append('<h2 id="hardest">Hardest cards</h2>')
    if data.hardest:
        parts.append("<table><thead><tr><th>Card</th><th>Deck</th><th class=num>Lapses</th>"
                     "<th class=num>Answers</th><th>Tags</th></tr></thead><tbody>")
        for card in data.hardest:
            flag = " (suspended)" if card["suspended"] else ""
            front = math_to_unicode(without_diagrams(card["front"]))
            parts.append(f'<tr><td class="card-text">{e(front)}<br><small>'
                         f'{e(card["id"])}{e(flag)}</small></td><td>{e(card["deck"])}</td>'
                         f'<td class=num>{e(card["lapses"])}</td><td class=num>{e(card["reps"])}'
                         f'</td><td>{e(card["tags"])}</td></tr>')
        parts.append("</tbody></table>")
    else:
        parts.append('<p class="empty">No card forgotten after learning it yet.</p>')

    parts.append('<h2 id="labs">Labs</h2>')
    if data.runs:
        parts.append(_lab_table(data))
        for run in data.runs:
            name = f"lab-{run.id}"
            if name in charts:
                parts.append(f"<h3>{e(run.lab)}, run {e(run.id)}</h3>")
                parts.append(_chart(charts, name))
    else:
        parts.append('<p class="empty">No lab runs yet.</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def _lab_table(data: ReportData) -> str:
    out = [("<table><thead><tr><th>Run</th><th>When</th><th>Lab</th><th>Parameters</th>"
            "<th>Device</th><th>Status</th><th class=num>Time</th><th>Result</th></tr></thead>"
            "<tbody>")]
    for run in data.runs:
        when = to_datetime(run.started_at).astimezone(data.generated.tzinfo)
        took = f"{(run.ended_at - run.started_at) / 1000:.1f} s" if run.ended_at else "—"
        params = " ".join(f"{k}={v}" for k, v in run.params.items())
        lines = [f"{k}: {v}" for k, v in _flatten(run.summary or {})][:12]
        if run.prediction:
            lines.insert(0, f"your prediction: {run.prediction}")
        if run.error:
            lines.append(run.error)
        result = "<br>".join(e(line) for line in lines)
        status = f'<span class="failed">{e(run.status)}</span>' if run.status not in (
            "ok", "running") else e(run.status)
        out.append(f"<tr><td class=num>{e(run.id)}</td><td>{e(when.strftime('%Y-%m-%d %H:%M'))}"
                   f"</td><td>{e(run.lab)}</td><td><code>{e(params)}</code></td>"
                   f"<td>{e(run.device)}</td><td>{status}</td><td class=num>{e(took)}</td>"
                   f"<td>{result}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def write_html(store: Reads, settings: Settings, path: Path, now: int | None = None) -> None:
    """The report at `path`, written whole or not at all."""
    data = report(store, settings, now)
    page = render_html(data, draw_charts(data))
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
