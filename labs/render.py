"""Show a lab's events in the terminal with rich: what `python -m labs run` prints without --json.

Tables, text and trace steps print as they arrive, under a live progress bar.
Metric points are collected and drawn as small braille line charts when the
run ends, followed by the summary. No torch here.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from rich.text import Text as RichText

from labs import events as ev

SERIES_COLOURS = ("cyan", "magenta", "green", "yellow", "red", "blue", "bright_white",
                  "bright_cyan", "bright_magenta", "bright_green")


class RichRenderer:
    """Call it with each event; call `close()` when the stream ends."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._progress: Progress | None = None
        self._task: Any = None
        # chart -> series -> [(x, y)], and chart -> (x_label, y_label)
        self._charts: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._labels: dict[str, tuple[str, str]] = {}

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "_on_" + event.type, None)
        if handler is not None:
            handler(event)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # -- one method per event type ------------------------------------------

    def _on_started(self, event: ev.Started) -> None:
        from labs import catalog

        title = catalog.LABS[event.lab].title if event.lab in catalog.LABS else event.lab
        params = ", ".join(f"{k}={_format_value(v)}" for k, v in event.params.items())
        self.console.print(Panel(
            f"[dim]device[/] {event.device}   [dim]seed[/] {event.seed}\n[dim]{params}[/]",
            title=f"[bold]{title}[/]", title_align="left",
        ))

    def _on_progress(self, event: ev.Progress) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                TimeElapsedColumn(), console=self.console, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(event.label, total=event.total)
        self._progress.update(self._task, completed=event.done, total=event.total,
                              description=event.label)

    def _on_metric(self, event: ev.Metric) -> None:
        self._charts[event.chart][event.series].append((event.x, event.y))
        self._labels.setdefault(event.chart, (event.x_label, event.y_label))

    def _on_table(self, event: ev.Table) -> None:
        table = RichTable(title=event.title, title_justify="left", title_style="bold")
        for column in event.columns:
            table.add_column(str(column), justify="right")
        for row in event.rows:
            table.add_row(*(_format_value(v) for v in row))
        self.console.print(table)

    def _on_text(self, event: ev.Text) -> None:
        self.console.print(Markdown(event.markdown))
        self.console.print()

    def _on_heatmap(self, event: ev.Heatmap) -> None:
        self.console.print(heatmap(event, self.console.width))

    def _on_trace(self, event: ev.TraceStep) -> None:
        parts: list[Any] = [RichText(event.description)]
        if event.shapes:
            shapes = "   ".join(f"{k}: {tuple(v)}" for k, v in event.shapes.items())
            parts.append(RichText(shapes, style="dim"))
        for name, value in event.values.items():
            parts.append(_value_block(name, value))
        self.console.print(Panel(Group(*parts), title=f"[bold]{event.index}. {event.name}[/]",
                                 title_align="left"))

    def _on_result(self, event: ev.Result) -> None:
        self.close()
        self._draw_charts()
        table = RichTable(title="Summary", title_justify="left", title_style="bold green",
                          show_header=False)
        table.add_column(style="dim")
        table.add_column()
        for key, value in event.summary.items():
            table.add_row(str(key), _format_value(value))
        self.console.print(table)

    def _on_failed(self, event: ev.Failed) -> None:
        self.close()
        self._draw_charts()
        self.console.print(Panel(event.message, title=f"[bold red]failed: {event.kind}[/]",
                                 title_align="left", border_style="red"))

    def _draw_charts(self) -> None:
        width = max(30, min(self.console.width - 14, 72))
        for chart, series in self._charts.items():
            x_label, y_label = self._labels[chart]
            self.console.print(line_chart(chart, series, x_label, y_label, width=width))
            self.console.print()
        self._charts.clear()


# ---------------------------------------------------------------------------
# Braille line charts: each character cell is a 2×4 grid of dots.
# ---------------------------------------------------------------------------

_BRAILLE_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))  # [row][col]


def line_chart(
    title: str,
    series: dict[str, list[tuple[float, float]]],
    x_label: str = "",
    y_label: str = "",
    width: int = 60,
    height: int = 12,
) -> RichText:
    """A multi-series line chart as rich Text; x goes logarithmic when it spans 100× or more."""
    points = [(x, y) for pts in series.values() for x, y in pts if _finite(x) and _finite(y)]
    out = RichText()
    out.append(title + "\n", style="bold")
    if not points:
        out.append("(no finite points)\n", style="dim")
        return out
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    log_x = min(xs) > 0 and max(xs) / min(xs) >= 100
    fx = (lambda v: math.log10(v)) if log_x else (lambda v: v)
    x_lo, x_hi = fx(min(xs)), fx(max(xs))
    y_lo, y_hi = min(ys), max(ys)
    if x_hi == x_lo:
        x_hi = x_lo + 1
    if y_hi == y_lo:
        y_hi = y_lo + 1
    px_w, px_h = width * 2, height * 4

    # cell -> series index -> dot bits
    cells: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for index, pts in enumerate(series.values()):
        pixels = []
        for x, y in sorted(p for p in pts if _finite(p[0]) and _finite(p[1])):
            if log_x and x <= 0:
                continue
            col = round((fx(x) - x_lo) / (x_hi - x_lo) * (px_w - 1))
            row = round((y_hi - y) / (y_hi - y_lo) * (px_h - 1))
            pixels.append((col, row))
        for (c0, r0), (c1, r1) in zip(pixels, pixels[1:] or pixels):
            for c, r in _segment(c0, r0, c1, r1):
                cells[(r // 4, c // 2)][index] |= _BRAILLE_BITS[r % 4][c % 2]

    names = list(series)
    y_top, y_bottom = _short(y_hi), _short(y_lo)
    margin = max(len(y_top), len(y_bottom)) + 1
    for row in range(height):
        label = y_top if row == 0 else y_bottom if row == height - 1 else ""
        out.append(label.rjust(margin - 1) + "┤", style="dim")
        for col in range(width):
            owners = cells.get((row, col))
            if not owners:
                out.append(" ")
                continue
            bits = 0
            for b in owners.values():
                bits |= b
            # The cell takes the colour of the series with most dots in it.
            top = max(owners, key=lambda i: owners[i].bit_count())
            out.append(chr(0x2800 + bits), style=SERIES_COLOURS[top % len(SERIES_COLOURS)])
        out.append("\n")
    x_left = _short(min(xs))
    x_right = _short(max(xs))
    axis = " " * margin + x_left + " " * max(1, width - len(x_left) - len(x_right)) + x_right
    out.append(axis + "\n", style="dim")
    caption = f"x: {x_label}{' (log scale)' if log_x else ''}   y: {y_label}"
    out.append(" " * margin + caption + "\n", style="dim")
    out.append(" " * margin)
    for index, name in enumerate(names):
        out.append("━━ ", style=SERIES_COLOURS[index % len(SERIES_COLOURS)])
        out.append(name + "  ")
    out.append("\n")
    return out


def _segment(c0: int, r0: int, c1: int, r1: int) -> list[tuple[int, int]]:
    """The dots of a straight line between two dots (Bresenham)."""
    dots = []
    dc, dr = abs(c1 - c0), -abs(r1 - r0)
    sc, sr = (1 if c0 < c1 else -1), (1 if r0 < r1 else -1)
    err = dc + dr
    while True:
        dots.append((c0, r0))
        if c0 == c1 and r0 == r1:
            return dots
        e2 = 2 * err
        if e2 >= dr:
            err += dr
            c0 += sc
        if e2 <= dc:
            err += dc
            r0 += sr


# ---------------------------------------------------------------------------
# Heatmaps: one coloured cell per value.
# ---------------------------------------------------------------------------


def heatmap(event: ev.Heatmap, console_width: int = 80) -> RichText:
    values = event.values
    flat = [v for row in values for v in row if _finite(v)]
    out = RichText()
    out.append(event.title + "\n", style="bold")
    if not flat:
        out.append("(no finite values)\n", style="dim")
        return out
    lo, hi = min(flat), max(flat)
    signed = lo < 0 < hi
    label_w = max((len(str(r)) for r in event.row_labels), default=0)
    n_cols = max((len(r) for r in values), default=0)
    cell_w = 2 if label_w + 2 * n_cols + 1 <= console_width else 1
    if event.col_labels and all(len(str(c)) <= cell_w for c in event.col_labels):
        out.append(" " * (label_w + 1))
        for c in event.col_labels:
            out.append(str(c).rjust(cell_w), style="dim")
        out.append("\n")
    for i, row in enumerate(values):
        label = str(event.row_labels[i]) if i < len(event.row_labels) else ""
        out.append(label.rjust(label_w) + " ", style="dim")
        for v in row:
            out.append(" " * cell_w, style=f"on {_colour(v, lo, hi, signed)}")
        out.append("\n")
    scale = f"{_short(lo)} … {_short(hi)}" + ("  (blue < 0 < red)" if signed else "")
    out.append(" " * (label_w + 1) + scale + "\n", style="dim")
    return out


def _colour(value: float, lo: float, hi: float, signed: bool) -> str:
    if not _finite(value):
        return "rgb(80,80,80)"
    if signed:
        bound = max(abs(lo), abs(hi)) or 1.0
        t = value / bound  # -1 .. 1: blue, white, red
        if t < 0:
            k = round(255 * (1 + t))
            return f"rgb({k},{k},255)"
        k = round(255 * (1 - t))
        return f"rgb(255,{k},{k})"
    t = 0.0 if hi == lo else (value - lo) / (hi - lo)
    # viridis, through five of its colours
    position = t * (len(_VIRIDIS) - 1)
    i = min(int(position), len(_VIRIDIS) - 2)
    f = position - i
    r, g, b = (round(a + f * (z - a)) for a, z in zip(_VIRIDIS[i], _VIRIDIS[i + 1]))
    return f"rgb({r},{g},{b})"


_VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


# ---------------------------------------------------------------------------
# Numbers as text
# ---------------------------------------------------------------------------


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _short(v: float) -> str:
    if isinstance(v, int) or (float(v).is_integer() and abs(v) < 1e7):
        return str(int(v))
    return f"{v:.3g}"


def _format_value(value: Any) -> str:
    return ev.format_value(value, list_sep=",")


def _value_block(name: str, value: Any) -> Any:
    """A trace value: a number, a vector or a matrix of numbers, or anything else as text."""
    if isinstance(value, list) and value and all(isinstance(r, list) for r in value):
        table = RichTable(title=name, title_justify="left", show_header=False, box=None,
                          padding=(0, 1))
        width = max(len(r) for r in value)
        for _ in range(width):
            table.add_column(justify="right")
        for row in value[:24]:
            table.add_row(*(_format_value(v) for v in row))
        if len(value) > 24:
            table.add_row(f"… {len(value) - 24} more rows")
        return table
    if isinstance(value, list):
        shown = ", ".join(_format_value(v) for v in value[:32])
        more = f", … ({len(value)} in all)" if len(value) > 32 else ""
        return RichText.assemble((name + ": ", "bold"), f"[{shown}{more}]")
    return RichText.assemble((name + ": ", "bold"), _format_value(value))
