"""The HTML progress report: one self-contained file to open in a browser.

True retention against the desired retention, the due forecast, a calendar
heatmap of the learner's days, per-deck and per-tag tables, the hardest cards
and the lab runs with their curves. The numbers come from `companion.progress`
(the same functions the stats screen uses); the charts are drawn by matplotlib
(imported only here, inside the function that draws) and embedded as base64
PNGs, so the file needs nothing else: no scripts, no fonts, no network.

Every piece of text that comes from the learner's decks or runs (deck names,
card text, tags, lab parameters and results) is HTML-escaped: a `<script>` in a
card is shown as text.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from companion import __version__, progress
from companion.cardtext import math_to_unicode
from companion.scheduler import LearnerDay, to_datetime
from companion.settings import Settings
from companion.store import Store, now_ms

RETENTION_PERIODS = (("Today", 1), ("Last 7 days", 7), ("Last 30 days", 30),
                     ("Last year", 365), ("All time", None))
HEATMAP_WEEKS = 53
RETENTION_WEEKS = 26
FORECAST_DAYS = 30
HARDEST = 15  # cards in the "hardest cards" table
LAB_RUNS = 30  # newest runs listed


def e(value: Any) -> str:
    """Escaped for HTML text and attribute values alike."""
    return html.escape("" if value is None else str(value), quote=True)


def percent(retention: progress.Retention) -> str:
    return "—" if retention.rate is None else f"{retention.rate:.1%}"


# -- the numbers -----------------------------------------------------------


@dataclass
class GroupRow:
    name: str
    cards: int
    studied: int
    answers: int
    lapses: int
    retention: progress.Retention


@dataclass
class LabRunRow:
    id: int
    lab: str
    params: dict[str, Any]
    device: str
    started_at: int
    ended_at: int | None
    status: str
    error: str
    summary: dict[str, Any] | None
    prediction: str
    card_id: str


@dataclass
class ReportData:
    generated: datetime
    today: date
    desired: float
    cards: int
    studied: int
    reviews: int
    streak: int
    retention: list[tuple[str, progress.Retention]]
    weekly: list[tuple[date, progress.Retention]]  # week's first day, its true retention
    forecast: list[int]
    calendar: list[tuple[date, int]]
    decks: list[GroupRow]
    tags: list[GroupRow]
    hardest: list[dict[str, Any]]
    runs: list[LabRunRow]
    curves: dict[int, list[tuple[str, str, float, float]]] = field(default_factory=dict)


def _weekly_retention(reviews: list[progress.ReviewRow], day: LearnerDay,
                      today: date) -> list[tuple[date, progress.Retention]]:
    """True retention per week (7 learner's days ending today), oldest first.
    Weeks start at a learner's day start, so a card's first answer of a day is
    the same within its week as in the whole log."""
    times = [r.reviewed_at for r in reviews]  # in time order
    out = []
    for back in range(RETENTION_WEEKS - 1, -1, -1):
        first = today - timedelta(days=7 * back + 6)
        start, end = day.start_of(first), day.start_of(first + timedelta(days=7))
        chunk = reviews[bisect_left(times, start):bisect_left(times, end)]
        out.append((first, progress.true_retention(chunk, day)))
    return out


def _groups(conn, reviews: list[progress.ReviewRow], day: LearnerDay
            ) -> tuple[list[GroupRow], list[GroupRow]]:
    cards: dict[str, tuple[str, list[str]]] = {}
    deck_stats: dict[str, list[int]] = {}  # cards, studied, lapses
    tag_stats: dict[str, list[int]] = {}
    for card_id, deck_id, tags, reps, lapses in conn.execute(
            "SELECT id, deck_id, tags, reps, lapses FROM cards WHERE retired = 0"):
        tag_list = (tags or "").split()
        cards[card_id] = (deck_id, tag_list)
        for key, table in [(deck_id, deck_stats)] + [(t, tag_stats) for t in tag_list]:
            row = table.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += (reps or 0) > 0
            row[2] += lapses or 0
    names = dict(conn.execute("SELECT id, name FROM decks").fetchall())

    deck_retention, deck_answers, tag_retention, tag_answers = progress.by_deck_and_tag(
        reviews, day, cards)
    decks = [GroupRow(names.get(d) or d, *stats[:2], deck_answers.get(d, 0), stats[2],
                      deck_retention.get(d, progress.Retention()))
             for d, stats in sorted(deck_stats.items(), key=lambda kv: names.get(kv[0]) or kv[0])]
    tags = [GroupRow(t, *stats[:2], tag_answers.get(t, 0), stats[2],
                     tag_retention.get(t, progress.Retention()))
            for t, stats in sorted(tag_stats.items(), key=lambda kv: (-kv[1][0], kv[0]))]
    return decks, tags


def _lab_runs(conn) -> tuple[list[LabRunRow], dict[int, list[tuple[str, str, float, float]]]]:
    runs = []
    for row in conn.execute(
            "SELECT id, lab, params, device, started_at, ended_at, status, error, summary, "
            "prediction, card_id FROM lab_runs ORDER BY started_at DESC, id DESC LIMIT ?",
            (LAB_RUNS,)):
        try:
            params = json.loads(row[2] or "{}")
        except ValueError:
            params = {"params": row[2]}
        try:
            summary = json.loads(row[8]) if row[8] else None
        except ValueError:
            summary = {"summary": row[8]}
        runs.append(LabRunRow(row[0], row[1] or "", params if isinstance(params, dict) else
                              {"params": params}, row[3] or "", row[4] or 0, row[5],
                              row[6] or "", row[7] or "",
                              summary if isinstance(summary, dict) or summary is None
                              else {"result": summary}, row[9] or "", row[10] or ""))
    # The curves of the newest successful run of each lab.
    curves: dict[int, list[tuple[str, str, float, float]]] = {}
    for run in runs:
        if run.status != "ok" or any(r.lab == run.lab for r in runs if r.id in curves):
            continue
        points = conn.execute("SELECT chart, series, x, y FROM lab_metrics WHERE run_id = ? "
                              "ORDER BY rowid", (run.id,)).fetchall()
        if points:
            curves[run.id] = points
    return runs, curves


def collect(store: Store, settings: Settings, now: int | None = None) -> ReportData:
    """Everything the report shows, as plain data."""
    now = now_ms() if now is None else now
    conn = store.conn
    day = LearnerDay(settings)
    today = day.day_of(now)
    reviews = progress.load_reviews(conn)
    retention = []
    for label, days in RETENTION_PERIODS:
        start = None if days is None else day.start_of(today - timedelta(days=days - 1))
        retention.append((label, progress.true_retention(reviews, day, start_ms=start)))
    first_day = today - timedelta(days=7 * HEATMAP_WEEKS - 1)
    recent = reviews[bisect_left([r.reviewed_at for r in reviews], day.start_of(first_day)):]
    counts = progress.reviews_per_day(recent, day)
    every_day = counts if len(recent) == len(reviews) else progress.reviews_per_day(reviews, day)
    decks, tags = _groups(conn, reviews, day)
    columns = ("id", "deck", "front", "tags", "reps", "lapses", "suspended")
    hardest = [dict(zip(columns, row)) for row in conn.execute(
        "SELECT c.id, coalesce(d.name, c.deck_id), c.front, c.tags, c.reps, c.lapses, "
        "c.suspended FROM cards c LEFT JOIN decks d ON d.id = c.deck_id "
        "WHERE c.retired = 0 AND c.lapses > 0 ORDER BY c.lapses DESC, c.reps DESC, c.id "
        "LIMIT ?", (HARDEST,))]
    runs, curves = _lab_runs(conn)
    cards, studied = conn.execute(
        "SELECT count(*), coalesce(sum(reps > 0), 0) FROM cards WHERE retired = 0").fetchone()
    local = to_datetime(now).astimezone(day.tz) if day.tz else to_datetime(now).astimezone()
    return ReportData(
        generated=local, today=today, desired=settings.desired_retention, cards=cards,
        studied=studied, reviews=len(reviews), streak=progress.streak(every_day, today),
        retention=retention, weekly=_weekly_retention(reviews, day, today),
        forecast=progress.forecast(progress.load_due_times(conn), day, now, FORECAST_DAYS),
        calendar=progress.calendar(counts, first_day, today), decks=decks, tags=tags,
        hardest=hardest, runs=runs, curves=curves)


# -- the charts ------------------------------------------------------------


def _png(fig: Any) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight",
                metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float) -> Any:
    # Figure, not pyplot: no global state, no GUI backend, safe in a worker thread.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def draw_charts(data: ReportData) -> dict[str, str]:
    """name -> base64 PNG: retention, forecast, heatmap, and lab-<run id> per run with curves."""
    charts: dict[str, str] = {}

    fig = _figure(8, 2.8)
    ax = fig.add_subplot()
    xs = [first for first, _ in data.weekly]
    ys = [r.rate * 100 if r.rate is not None else float("nan") for _, r in data.weekly]
    ax.plot(xs, ys, marker="o", color="#1565c0", label="true retention")
    ax.axhline(data.desired * 100, color="#c62828", linestyle="--",
               label=f"desired {data.desired:.0%}")
    ax.set_ylabel("% passed")
    lowest = min([y for y in ys if not math.isnan(y)] + [data.desired * 100])
    ax.set_ylim(max(0, lowest - 10), 100)
    ax.set_title(f"True retention per week, last {RETENTION_WEEKS} weeks", loc="left")
    ax.legend(loc="lower left", frameon=False)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    charts["retention"] = _png(fig)

    fig = _figure(8, 2.6)
    ax = fig.add_subplot()
    days = [data.today + timedelta(days=i) for i in range(len(data.forecast))]
    ax.bar(days, data.forecast, color="#2e7d32")
    ax.set_ylabel("cards due")
    ax.set_title(f"Due in the next {len(data.forecast)} days (today includes overdue)",
                 loc="left")
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    charts["forecast"] = _png(fig)

    charts["heatmap"] = _png(_heatmap(data.calendar))

    for run_id, points in data.curves.items():
        charts[f"lab-{run_id}"] = _png(_lab_figure(points))
    return charts


def _heatmap(calendar: list[tuple[date, int]]) -> Any:
    """Weeks left to right, Monday at the top, as GitHub draws a year."""
    import numpy as np

    first = calendar[0][0]
    offset = first.weekday()
    weeks = (offset + len(calendar) + 6) // 7
    grid = np.full((7, weeks), np.nan)
    for index, (_, count) in enumerate(calendar):
        cell = offset + index
        grid[cell % 7, cell // 7] = count
    fig = _figure(10, 2.0)
    ax = fig.add_subplot()
    cmap = matplotlib_cmap()
    peak = max([c for _, c in calendar] + [1])
    image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=peak, aspect="equal",
                      interpolation="nearest")
    ax.set_yticks([0, 2, 4], ["Mon", "Wed", "Fri"])
    ticks, labels = [], []
    for index, (on, _) in enumerate(calendar):
        if on.day == 1:
            ticks.append((offset + index) // 7)
            labels.append(on.strftime("%b"))
    ax.set_xticks(ticks, labels)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"Answers per day, {calendar[0][0]:%d %b %Y} to {calendar[-1][0]:%d %b %Y}",
                 loc="left")
    fig.colorbar(image, ax=ax, shrink=0.8, pad=0.01)
    return fig


def matplotlib_cmap() -> Any:
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("reviews", ["#ebedf0", "#9be9a8", "#40c463",
                                                         "#216e39"])
    return cmap.with_extremes(bad="white")  # days outside the range


def _lab_figure(points: list[tuple[str, str, float, float]]) -> Any:
    charts: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for chart, series, x, y in points:
        charts.setdefault(chart or "metric", {}).setdefault(series or "", []).append((x, y))
    count = min(len(charts), 4)
    fig = _figure(4 * count, 2.8)
    for ax, (chart, series) in zip(fig.subplots(1, count, squeeze=False)[0], charts.items()):
        for name, xy in series.items():
            ax.plot([p[0] for p in xy], [p[1] for p in xy], label=name or None)
        ax.set_title(chart, loc="left", fontsize=10)
        ax.grid(alpha=0.3)
        if any(series):
            ax.legend(frameon=False, fontsize=8)
    return fig


# -- the page --------------------------------------------------------------

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; }
.meta { color: #666; } .num { text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; margin: 0.6rem 0; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
th { text-align: left; background: #f5f5f5; }
img { max-width: 100%; height: auto; }
.tiles { display: flex; gap: 1rem; flex-wrap: wrap; }
.tile { border: 1px solid #e3e3e3; border-radius: 6px; padding: 0.6rem 1rem; min-width: 8rem; }
.tile strong { display: block; font-size: 1.4rem; }
.card-text { white-space: pre-wrap; max-width: 34rem; }
.failed { color: #c62828; } .empty { color: #666; font-style: italic; }
code { font-size: 0.9em; }
"""


def _img(charts: dict[str, str], name: str, alt: str) -> str:
    if name not in charts:
        return ""
    return f'<p><img alt="{e(alt)}" src="data:image/png;base64,{charts[name]}"></p>'


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
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    if isinstance(value, list) and len(value) > 8:
        return [(prefix, f"[{len(value)} values]")]
    return [(prefix, json.dumps(value) if isinstance(value, list) else str(value))]


def _group_rows(rows: list[GroupRow]) -> list[list[Any]]:
    return [[r.name, r.cards, r.studied, r.answers, r.lapses, percent(r.retention),
             r.retention.total] for r in rows]


GROUP_HEADERS = (("", False), ("Cards", True), ("Studied", True), ("Answers", True),
                 ("Lapses", True), ("True retention", True), ("Counted", True))


def render_html(data: ReportData, charts: dict[str, str]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>companion report, {e(data.today.isoformat())}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>companion: your progress</h1>",
        (f'<p class="meta">Generated {e(data.generated.strftime("%Y-%m-%d %H:%M %Z"))} by '
         f"companion {e(__version__)}. Days are your learner's days.</p>"),
        '<div class="tiles">',
    ]
    for label, value in (("cards", data.cards), ("studied", data.studied),
                         ("answers", data.reviews), ("day streak", data.streak),
                         ("due today", data.forecast[0] if data.forecast else 0)):
        parts.append(f'<div class="tile"><strong>{e(value)}</strong>{e(label)}</div>')
    parts.append("</div>")

    parts.append('<h2 id="retention">True retention</h2>')
    parts.append(f"<p>Among each card's first answer of the day while it was in review, the "
                 f"share that passed; your desired retention is {data.desired:.0%}.</p>")
    parts.append(_table((("Period", False), ("True retention", True), ("Passed", True),
                         ("Counted", True)),
                        [[label, percent(r), r.passed, r.total] for label, r in data.retention]))
    if data.reviews:
        parts.append(_img(charts, "retention", "True retention per week"))

    parts.append('<h2 id="forecast">Forecast</h2>')
    parts.append(f"<p>Today {data.forecast[0]} · tomorrow {data.forecast[1]} · next 7 days "
                 f"{sum(data.forecast[:7])} · next {len(data.forecast)} days "
                 f"{sum(data.forecast)}.</p>")
    parts.append(_img(charts, "forecast", "Cards due per day"))

    parts.append('<h2 id="calendar">Calendar</h2>')
    if data.reviews:
        busiest = max(data.calendar, key=lambda dc: dc[1])
        studied_days = sum(1 for _, c in data.calendar if c)
        parts.append(f"<p>{studied_days} of the last {len(data.calendar)} days studied; the "
                     f"busiest, {e(busiest[0].isoformat())}, had {busiest[1]} answers.</p>")
        parts.append(_img(charts, "heatmap", "Answers per day"))
    else:
        parts.append('<p class="empty">No reviews yet.</p>')

    parts.append('<h2 id="decks">Decks</h2>')
    parts.append(_table((("Deck", False),) + GROUP_HEADERS[1:], _group_rows(data.decks))
                 if data.decks else '<p class="empty">No decks.</p>')
    parts.append('<h2 id="tags">Tags</h2>')
    parts.append(_table((("Tag", False),) + GROUP_HEADERS[1:], _group_rows(data.tags))
                 if data.tags else '<p class="empty">No tags.</p>')

    parts.append('<h2 id="hardest">Hardest cards</h2>')
    if data.hardest:
        parts.append("<table><thead><tr><th>Card</th><th>Deck</th><th class=num>Lapses</th>"
                     "<th class=num>Answers</th><th>Tags</th></tr></thead><tbody>")
        for card in data.hardest:
            flag = " (suspended)" if card["suspended"] else ""
            parts.append(f'<tr><td class="card-text">{e(math_to_unicode(card["front"]))}<br><small>'
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
                parts.append(_img(charts, name, f"Curves of {run.lab} run {run.id}"))
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


def write_html(store: Store, settings: Settings, path: Path, now: int | None = None) -> None:
    """The report at `path`, written whole or not at all."""
    data = collect(store, settings, now)
    page = render_html(data, draw_charts(data))
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
