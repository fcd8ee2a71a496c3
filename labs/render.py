"""Show a lab's events in the terminal with rich: what `python -m labs run` prints without --json.

Tables, text and trace steps print as they arrive, under a live progress bar.
Metric points are collected and drawn as small braille line charts when the
run ends, followed by the summary. No torch here.

This module is also where the app lays out what it shows of a lab: a trace
step's values (`trace_body`) and a heatmap (`heatmap`) are rich renderables
laid out for a width, drawn by `companion lab run` and by the app's widgets
alike, so both show the same cells with the same numbers.
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import IO, Any, cast

from rich.align import Align
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.padding import Padding
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable
from rich.text import Text as RichText

from labs import events as ev

SERIES_COLOURS = ("cyan", "magenta", "green", "yellow", "red", "blue", "bright_white",
                  "bright_cyan", "bright_magenta", "bright_green")


class TrimmedLines:
    """A text stream that writes each line without its trailing spaces."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self.stream.write(line.rstrip(" ") + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.stream.fileno()

    def finish(self) -> None:
        """Write what is left of an unfinished last line."""
        if self._pending:
            self.stream.write(self._pending.rstrip(" "))
            self._pending = ""
        self.flush()


class RichRenderer:
    """Call it with each event; call `close()` when the stream ends."""

    def __init__(self, console: Console | None = None) -> None:
        if console is None:
            # In a pipe or a file, no line ends in the spaces Rich pads it with.
            console = (Console() if sys.stdout.isatty()
                       else Console(file=cast(IO[str], TrimmedLines(sys.stdout))))
        self.console = console
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
        if isinstance(self.console.file, TrimmedLines):
            self.console.file.finish()

    # -- one method per event type ------------------------------------------

    def _on_started(self, event: ev.Started) -> None:
        from labs import catalog

        title = catalog.LABS[event.lab].title if event.lab in catalog.LABS else event.lab
        params = ", ".join(f"{k}={ev.format_value(v, list_sep=',')}"
                           for k, v in event.params.items())
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
        self.console.print(table_renderable(event.title, event.columns, event.rows))

    def _on_text(self, event: ev.Text) -> None:
        self.console.print(Markdown(event.markdown))
        self.console.print()

    def _on_heatmap(self, event: ev.Heatmap) -> None:
        colour = self.console.color_system is not None and not self.console.no_color
        self.console.print(heatmap(event, self.console.width, colour=colour))

    def _on_trace(self, event: ev.TraceStep) -> None:
        # Laid out inside the panel, for the width the panel leaves it.
        self.console.print(Panel(Fitted(lambda width: trace_body(event, width)),
                                 title=f"[bold]{event.index}. {event.name}[/]",
                                 title_align="left"))

    def _on_result(self, event: ev.Result) -> None:
        self.close()
        self._draw_charts()
        self.console.print(summary_renderable("Summary", event.summary))

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
    points = [(x, y) for pts in series.values() for x, y in pts if finite(x) and finite(y)]
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
        for x, y in sorted(p for p in pts if finite(p[0]) and finite(p[1])):
            if log_x and x <= 0:
                continue
            col = round((fx(x) - x_lo) / (x_hi - x_lo) * (px_w - 1))
            row = round((y_hi - y) / (y_hi - y_lo) * (px_h - 1))
            pixels.append((col, row))
        for (c0, r0), (c1, r1) in zip(pixels, pixels[1:] or pixels):
            for c, r in _segment(c0, r0, c1, r1):
                cells[(r // 4, c // 2)][index] |= _BRAILLE_BITS[r % 4][c % 2]

    names = list(series)
    y_top, y_bottom = ev.format_value(y_hi, sig=3), ev.format_value(y_lo, sig=3)
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
    x_left = ev.format_value(min(xs), sig=3)
    x_right = ev.format_value(max(xs), sig=3)
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
# Heatmaps, for `companion lab run` and the app alike. A small matrix shows its
# numbers (one format for all, lined up) on their colours; a larger one is a
# picture, one cell per value: a colour, or a shade character where there is no
# colour (piped, NO_COLOR).
# ---------------------------------------------------------------------------

SHADES = " ░▒▓█"  # low to high
MAX_NUMBER_COLUMNS = 16  # more than this, or more rows than MAX_NUMBER_ROWS,
MAX_NUMBER_ROWS = 24     # and a heatmap is read as a picture, not as numbers
MAX_ROW_LABEL = 14


def heatmap(event: ev.Heatmap, console_width: int = 80, colour: bool = True) -> RichText:
    """A heatmap laid out for `console_width` columns."""
    values = event.values
    flat = [v for row in values for v in row if finite(v)]
    out = RichText()
    out.append(event.title + "\n", style="bold")
    if not flat:
        out.append("(no finite values)\n", style="dim")
        return out
    lo, hi = min(flat), max(flat)
    signed = lo < 0 < hi
    row_labels = [str(r)[:MAX_ROW_LABEL] for r in event.row_labels]
    col_labels = [str(c) for c in event.col_labels]
    label_w = max((len(r) for r in row_labels), default=0)
    n_cols = max((len(r) for r in values), default=0)
    room = console_width - label_w - 1
    col_label_w = max((len(c) for c in col_labels), default=0)
    fmt = number_format(v for row in values for v in row)
    texts = [[fmt(v) for v in row] for row in values]
    number_w = max(max((len(t) for row in texts for t in row), default=0), col_label_w) + 1
    numbers = (n_cols <= MAX_NUMBER_COLUMNS and len(values) <= MAX_NUMBER_ROWS
               and n_cols * number_w <= room)
    if numbers:
        cell_w = number_w
    elif col_label_w >= 2 and n_cols * (col_label_w + 1) <= room:
        cell_w = col_label_w + 1  # wide enough to put every column's label above it
    else:
        cell_w = 2 if 2 * n_cols <= room else 1
    def fits(labels: list[str]) -> bool:
        return all(len(c) < cell_w or cell_w == 2 and len(c) <= 2 for c in labels)

    # Labels too long to stand above their columns: the columns numbered, and a
    # key below says which is which.
    numbered_w = len(str(n_cols)) + 1  # a column's number and a space
    if col_labels and not fits(col_labels) and not numbers and n_cols * numbered_w <= room:
        cell_w = max(cell_w, numbered_w)
    keyed = bool(col_labels) and not fits(col_labels) and fits([str(n_cols)])
    header = [str(j + 1) for j in range(len(col_labels))] if keyed else col_labels
    if header and fits(header):
        out.append(" " * (label_w + 1))
        for c in header:
            out.append(c.rjust(cell_w), style="dim")
        out.append("\n")
    for i, row in enumerate(values):
        label = row_labels[i] if i < len(row_labels) else ""
        out.append(label.rjust(label_w) + " ", style="dim")
        for j, v in enumerate(row):
            if numbers:
                text = texts[i][j].rjust(cell_w)
                if colour:
                    r, g, b = _rgb(v, lo, hi, signed)
                    ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"
                    out.append(text, style=f"{ink} on rgb({r},{g},{b})")
                else:
                    out.append(text)
            elif colour:
                out.append(" " * cell_w, style=f"on {_colour(v, lo, hi, signed)}")
            else:
                out.append(_shade(v, lo, hi) * cell_w)
        out.append("\n")
    scale = f"{ev.format_value(lo, sig=3)} … {ev.format_value(hi, sig=3)}"
    if colour:
        scale += "  (blue < 0 < red)" if signed else ""
    elif not numbers:
        scale = (f"shading: blank = {ev.format_value(lo, sig=3)}, {' '.join(SHADES[1:-1])} "
                 f"in between, {SHADES[-1]} = {ev.format_value(hi, sig=3)}")
        if len(flat) < sum(len(r) for r in values):
            scale += ", ? = not a number"
    out.append(" " * (label_w + 1) + scale + "\n", style="dim")
    if keyed:
        import textwrap

        key = "columns: " + "  ".join(f"{j + 1}:{c}" for j, c in enumerate(col_labels))
        out.append("\n".join(textwrap.wrap(key, console_width, break_on_hyphens=False))
                   + "\n", style="dim")
    return out


def _shade(value: float, lo: float, hi: float) -> str:
    if not finite(value):
        return "?"
    t = 0.0 if hi == lo else (value - lo) / (hi - lo)
    return SHADES[min(len(SHADES) - 1, int(t * len(SHADES)))]


# viridis, through five of its colours
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def colour_rgb(t: float, signed: bool) -> tuple[int, int, int]:
    """t in [0, 1] -> viridis; or, `signed`, t in [-1, 1] -> blue, white at 0, red.
    One colour scale for heatmaps in the terminal and in the app."""
    if signed:
        if t < 0:
            k = round(255 * (1 + t))
            return (k, k, 255)
        k = round(255 * (1 - t))
        return (255, k, k)
    position = t * (len(VIRIDIS) - 1)
    i = min(int(position), len(VIRIDIS) - 2)
    f = position - i
    r, g, b = (round(a + f * (z - a)) for a, z in zip(VIRIDIS[i], VIRIDIS[i + 1]))
    return (r, g, b)


NOT_A_NUMBER_RGB = (80, 80, 80)


def _rgb(value: float, lo: float, hi: float, signed: bool) -> tuple[int, int, int]:
    if not finite(value):
        return NOT_A_NUMBER_RGB
    if signed:
        t = value / (max(abs(lo), abs(hi)) or 1.0)
    else:
        t = 0.0 if hi == lo else (value - lo) / (hi - lo)
    return colour_rgb(t, signed)


def _colour(value: float, lo: float, hi: float, signed: bool) -> str:
    r, g, b = _rgb(value, lo, hi, signed)
    return f"rgb({r},{g},{b})"


# ---------------------------------------------------------------------------
# Numbers as text. Numbers read together (a table column, a matrix) share one
# format, so that their decimal points line up.
# ---------------------------------------------------------------------------


def finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _given_decimals(v: float) -> int:
    """The decimals a number was written with: 0.071 → 3, 2.0 → 0, 1.2e-07 → 8."""
    exponent = Decimal(repr(float(v))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _magnitude(v: float) -> int:
    return math.floor(math.log10(abs(v)))


MAX_DECIMALS = 6  # beyond this, numbers go to scientific notation


def _each_decimals(v: float, sig: int) -> int:
    """The decimals that give `v` `sig` significant digits, never more than it
    was given with."""
    return min(_given_decimals(v), max(0, sig - 1 - _magnitude(v)))


def number_format(values: Iterable[Any], sig: int = 3, each: bool = False) -> Callable[[Any], str]:
    """One format for numbers read together.

    By default (a matrix) all share the decimals that give the largest `sig` significant
    digits, and more if a smaller nonzero number would otherwise read as 0.
    With `each` (a table column) every number keeps `sig` significant digits.
    Never more decimals than the numbers were given with; numbers that would
    need more than MAX_DECIMALS (or are huge) go to scientific notation.
    Anything not a finite number is shown as `format_value` shows one value.
    """
    numbers = [v for v in values if finite(v)]
    nonzero = [abs(v) for v in numbers if v != 0]
    all_ints = all(isinstance(v, int) for v in numbers)
    given = max((_given_decimals(v) for v in numbers), default=0)
    scientific = False
    decimals = 0
    if not all_ints and nonzero:
        top = max(nonzero)
        if each:
            decimals = max(_each_decimals(v, sig) for v in nonzero)
        else:
            decimals = max(0, sig - 1 - _magnitude(top))
            smallest = min(nonzero)
            while decimals < given and round(smallest, decimals) == 0:
                decimals += 1
            decimals = min(decimals, given)
        scientific = decimals > MAX_DECIMALS or top >= 1e15
    mantissa = sig - 1
    if scientific and each:
        mantissa = min(sig - 1, max(len(Decimal(repr(float(v))).normalize().as_tuple().digits) - 1
                                    for v in nonzero))

    def fmt(v: Any) -> str:
        if not finite(v):
            return ev.format_value(v, list_sep=",")
        if all_ints:
            return str(v)
        if scientific:
            return f"{v:.{mantissa}e}"
        # Each number of a column keeps its own significant digits: 12340 beside
        # 1.234 is not 12340.000, zeros that were never measured.
        places = decimals if not each else _each_decimals(v, sig) if v != 0 else 0
        text = f"{v:.{places}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"

    return fmt


def column_texts(rows: list[list[Any]]) -> list[list[str]]:
    """A table's cells as text: each number with its own significant digits,
    padded on the right so that a right-aligned column's decimal points line up."""
    n_cols = max((len(r) for r in rows), default=0)
    formats = [number_format((r[j] for r in rows if j < len(r)), sig=4, each=True)
               for j in range(n_cols)]
    texts = [[formats[j](v) for j, v in enumerate(row)] for row in rows]
    for j in range(n_cols):
        column = [(row, row[j]) for row in texts if j < len(row)]
        widths = [_after_point(t) for _, t in column if _aligned(t)]
        places = max(widths, default=0)
        for row, t in column:
            if _aligned(t):
                row[j] = t + " " * (places - _after_point(t))
    return texts


def table_renderable(title: str, columns: list[Any], rows: list[list[Any]]) -> RichTable:
    """A lab's Table event as the app and `lab run` both draw it: numbers
    right-aligned with their decimal points in one place. (Rich strips the
    trailing spaces of a right-justified cell, so a cell padded on the right is
    laid out as padding.)"""
    table = RichTable(title=title, title_justify="left", title_style="bold")
    for column in columns:
        table.add_column(str(column), justify="right")
    for row in column_texts(rows):
        table.add_row(*(_padded_cell(cell) for cell in row))
    return table


def _padded_cell(cell: str) -> Any:
    text = cell.rstrip(" ")
    if text == cell:
        return cell
    return Align.right(Padding(text, (0, len(cell) - len(text), 0, 0), expand=False))


def summary_renderable(title: str, summary: dict[str, Any]) -> RichTable:
    """A lab's Result summary, a name and its value to a row."""
    table = RichTable(title=title, title_justify="left", title_style="bold green",
                      show_header=False)
    table.add_column(style="dim")
    table.add_column()
    for key, value in summary.items():
        table.add_row(str(key), ev.format_value(value))
    return table


def _aligned(text: str) -> bool:
    """A plain decimal number (not scientific, not a word): its point aligns."""
    return text.lstrip("-").replace(".", "", 1).isdigit()


def _after_point(text: str) -> int:
    """How far a number's text reaches past its units digit: ".25" is 3."""
    return len(text) - text.index(".") if "." in text else 0


# ---------------------------------------------------------------------------
# Trace values: numbers, vectors, matrices, and stacks of matrices (one per
# attention head), laid out to fit the console rather than cut short.
# ---------------------------------------------------------------------------

MAX_ROWS = 24
MAX_MATRICES = 16
INDENT = "  "
COL_GAP = "  "
BLOCK_GAP = "    "
MIN_WIDTH = 20


class Fitted:
    """A renderable laid out when it is drawn, for the width it is drawn at: the
    console's, what a panel leaves inside it, or a Textual widget's content."""

    def __init__(self, layout: Callable[[int], list[Any]]) -> None:
        self.layout = layout

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.layout(options.max_width)


def trace_body(event: ev.TraceStep, width: int) -> list[Any]:
    """A trace step's description, shapes and values, each value laid out to fit
    `width` columns: the inside of a step's panel in `companion lab run`, and the
    app's trace stepper under its own heading."""
    width = max(MIN_WIDTH, width)
    parts: list[Any] = [RichText(event.description)]
    if event.shapes:  # "shape: x 6" (a vector of 6), not "x: 6", which reads as a value
        parts.append(RichText("shape: " + "   ".join(f"{k} {shape_text(v)}"
                                                     for k, v in event.shapes.items()),
                              style="dim"))
    for name, value in event.values.items():
        parts.extend(value_block(name, value, width))
    return parts


def shape_text(shape: list[int]) -> str:
    """(6, 32) reads "6 × 32"; a scalar's empty shape reads "scalar"."""
    return " × ".join(str(n) for n in shape) if shape else "scalar"


def _depth(value: Any) -> int:
    """0 for a scalar, 1 for a list, 2 for a list of lists, and so on."""
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return 1 + min(_depth(v) for v in value)
    return 1 if isinstance(value, list) else 0


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [x for v in value for x in _flatten(v)]
    return [value]


def value_block(name: str, value: Any, width: int = 76) -> list[Any]:
    """A trace value as lines of text no wider than `width` (where it can be)."""
    depth = _depth(value)
    if depth >= 3:
        return _stack(name, value, width)
    if depth == 2:
        fmt = number_format(_flatten(value))
        return [RichText(name, style="bold"), *_grid(_cells(value, fmt), width - len(INDENT))]
    if depth == 1:
        fmt = number_format(value, sig=4, each=True)
        shown = ", ".join(fmt(v) for v in value[:32])
        more = f", … ({len(value)} in all)" if len(value) > 32 else ""
        return [RichText.assemble((name + ": ", "bold"), f"[{shown}{more}]")]
    return [RichText.assemble((name + ": ", "bold"), ev.format_value(value, list_sep=","))]


def _cells(matrix: list[list[Any]], fmt: Callable[[Any], str]) -> list[list[str]]:
    return [[fmt(v) if not isinstance(v, list) else ev.format_value(v, list_sep=",") for v in row]
            for row in matrix]


def _grid(cells: list[list[str]], width: int) -> list[RichText]:
    """Right-aligned columns, indented. Rows past MAX_ROWS are counted, not shown;
    a matrix wider than `width` is split into blocks of columns, each headed by
    its column numbers (0-based)."""
    shown = cells[:MAX_ROWS]
    n_cols = max((len(r) for r in shown), default=0)
    # one width for every column, so that the matrix reads as a grid
    widths = [max((len(c) for r in shown for c in r), default=0)] * n_cols

    def line(row: list[str], columns: range, style: str = "", gap: str = COL_GAP) -> RichText:
        text = gap.join((row[j] if j < len(row) else "").rjust(widths[j]) for j in columns)
        return RichText(INDENT + text, style=style)

    lines: list[RichText] = []
    for gap in (COL_GAP, " "):  # a narrower gap before splitting
        if sum(widths) + len(gap) * (n_cols - 1) <= width:
            lines = [line(r, range(n_cols), gap=gap) for r in shown]
            break
    else:
        widths = [max(w, len(str(j))) for j, w in enumerate(widths)]
        header = [str(j) for j in range(n_cols)]
        for columns in _column_blocks(widths, width, len(COL_GAP)):
            lines.append(line(header, columns, style="dim"))
            lines.extend(line(r, columns) for r in shown)
    if len(cells) > MAX_ROWS:
        lines.append(RichText(f"{INDENT}… {len(cells) - MAX_ROWS} more rows", style="dim"))
    return lines


def _column_blocks(widths: list[int], width: int, gap: int) -> list[range]:
    """Consecutive columns in blocks no wider than `width`, as even in size as
    the greedy count of blocks allows (32 columns in three blocks: 11, 11, 10)."""

    def blocks(most: int) -> list[range]:
        out, start = [], 0
        while start < len(widths):
            end, used = start + 1, widths[start]
            while (end < len(widths) and end - start < most
                   and used + gap + widths[end] <= width):
                used += gap + widths[end]
                end += 1
            out.append(range(start, end))
            start = end
        return out

    greedy = blocks(len(widths))
    even = blocks(math.ceil(len(widths) / len(greedy)))
    return even if len(even) == len(greedy) else greedy


def _stack(name: str, value: list[Any], width: int) -> list[Any]:
    """A stack of matrices, one per head (the first dimension), side by side
    when they fit, else one under the other; one number format for all."""
    if _depth(value) > 3:  # a stack of stacks: one after the other
        parts: list[Any] = []
        for i, item in enumerate(value[:MAX_MATRICES]):
            parts.extend(_stack(f"{name}[{i}]", item, width))
        if len(value) > MAX_MATRICES:
            parts.append(RichText(f"… {len(value) - MAX_MATRICES} more", style="dim"))
        return parts
    fmt = number_format(_flatten(value))
    n = len(value)
    blocks = []
    for h, matrix in enumerate(value[:MAX_MATRICES]):
        title = RichText(f"{name} · head {h + 1} of {n}", style="bold")
        cells = _cells(matrix, fmt)
        blocks.append((title, cells))
    # side by side: each block as wide as its widest line
    unsplit = [[title, *_grid(cells, 10**6)] for title, cells in blocks]
    block_widths = [max(t.cell_len for t in b) for b in unsplit]
    parts = []
    if sum(block_widths) + len(BLOCK_GAP) * (len(blocks) - 1) <= width:
        for i in range(max(len(b) for b in unsplit)):
            row = RichText()
            for k, (b, w) in enumerate(zip(unsplit, block_widths)):
                piece = b[i] if i < len(b) else RichText()
                if k:
                    row.append(BLOCK_GAP)
                row.append_text(piece)
                if k < len(unsplit) - 1:
                    row.append(" " * (w - piece.cell_len))
            parts.append(row)
    else:
        for title, cells in blocks:
            parts.append(title)
            parts.extend(_grid(cells, width - len(INDENT)))
    if n > MAX_MATRICES:
        parts.append(RichText(f"… {n - MAX_MATRICES} more heads", style="dim"))
    return parts
