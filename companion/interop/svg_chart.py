"""The HTML report's charts, drawn as inline SVG: lines, bars and a calendar.

Plain SVG elements built with ElementTree, so every piece of text (a deck's or
a lab series' name from a stranger's export) is escaped by the serializer and
no attribute is ever spliced from user text. No scripts, no fonts to fetch, no
numpy: the report is written by the base install (the charting libraries
either pull numpy, as matplotlib does, or embed a script in every SVG, as
pygal does). A hover over a point, bar or day shows its value through SVG's
own <title> tooltip.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

FONT = "system-ui, sans-serif"
INK, GRID, MUTED = "#1b1b1b", "#e3e3e3", "#666"
# Series colours after the first (Tableau 10, as matplotlib's default cycle).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
CALENDAR_COLOURS = ("#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39")  # none .. most

Label = Callable[[float], str]


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]  # None or a non-finite y: a gap
    colour: str
    dashed: bool = False
    dots: bool = True


def nice_ticks(low: float, high: float, count: int = 5, whole: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering
    [low, high] with about `count` intervals; `whole`: counts, so whole steps."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high < low:
        low, high = high, low
    # One value, or two closer than the axis could print apart: a band around it.
    if high - low < max(1e-300, 1e-9 * max(abs(low), abs(high))):
        pad = abs(high) * 0.1 if abs(high) > 1e-290 else 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in steps if m * power >= raw)
    if whole:
        step = max(1.0, step)
    first = math.floor(low / step + 1e-9)
    last = max(first + 1, math.ceil(high / step - 1e-9))
    digits = max(0, 1 - math.floor(math.log10(step)))  # 2.5e-3 has 4 decimals
    return [round(k * step, digits) for k in range(first, last + 1)]


def tick_text(value: float, ticks: Sequence[float]) -> str:
    """A tick's number with as many decimals as its neighbours need and no more."""
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:])), default=1.0) or 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if abs(value) >= 1e6 or (value and abs(value) < 1e-4):
        return f"{value:.3g}"
    return f"{value:,.{decimals}f}"


class Canvas:
    """One SVG figure: a title line, then whatever is drawn on it."""

    def __init__(self, width: int, height: int, title: str, label: str):
        self.width, self.height = width, height
        self.root = ET.Element("svg", {
            "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {width} {height}",
            "width": str(width), "height": str(height), "role": "img",
            "aria-label": label, "font-family": FONT, "font-size": "12"})
        ET.SubElement(self.root, "title").text = label
        self.text(8, 18, title, size=14, anchor="start", weight="600")

    def el(self, tag: str, attrs: dict[str, object], parent: ET.Element | None = None,
           tip: str | None = None) -> ET.Element:
        node = ET.SubElement(self.root if parent is None else parent, tag,
                             {k: _attr(v) for k, v in attrs.items()})
        if tip is not None:
            ET.SubElement(node, "title").text = tip
        return node

    def text(self, x: float, y: float, text: str, size: int = 12, anchor: str = "middle",
             colour: str = INK, weight: str = "normal", parent: ET.Element | None = None,
             rotate: bool = False) -> None:
        attrs: dict[str, object] = {"x": x, "y": y, "font-size": size, "text-anchor": anchor,
                                    "fill": colour}
        if weight != "normal":
            attrs["font-weight"] = weight
        if rotate:
            attrs["transform"] = f"rotate(-90 {_attr(x)} {_attr(y)})"
        self.el("text", attrs, parent).text = text

    def svg(self) -> str:
        return ET.tostring(self.root, encoding="unicode")


def _attr(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


@dataclass(frozen=True)
class Frame:
    """The plot area of a chart and its two linear scales."""

    left: float
    top: float
    right: float
    bottom: float
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        span = self.x1 - self.x0 or 1.0
        return self.left + (value - self.x0) / span * (self.right - self.left)

    def y(self, value: float) -> float:
        span = self.y1 - self.y0 or 1.0
        return self.bottom - (value - self.y0) / span * (self.bottom - self.top)


def _legend(canvas: Canvas, series: Sequence[Series], y: float) -> None:
    """One row of swatches and names under the title, above the plot: never over a curve."""
    x = 8.0
    for s in series:
        if not s.name:
            continue
        canvas.el("line", {"x1": x, "y1": y - 4, "x2": x + 18, "y2": y - 4, "stroke": s.colour,
                           "stroke-width": 2, **({"stroke-dasharray": "5 3"} if s.dashed else {})})
        canvas.text(x + 22, y, s.name, size=11, anchor="start")
        x += 22 + 6.5 * len(s.name) + 16
        if x > canvas.width - 60:
            break


def _axes(canvas: Canvas, frame: Frame, yticks: Sequence[float], ylabel: str,
          xticks: Sequence[tuple[float, str]]) -> None:
    grid = canvas.el("g", {"stroke": GRID, "stroke-width": 1})
    for value in yticks:
        y = frame.y(value)
        canvas.el("line", {"x1": frame.left, "y1": y, "x2": frame.right, "y2": y}, grid)
        canvas.text(frame.left - 6, y + 4, tick_text(value, yticks), size=11, anchor="end",
                    colour=MUTED)
    canvas.el("line", {"x1": frame.left, "y1": frame.bottom, "x2": frame.right,
                       "y2": frame.bottom, "stroke": MUTED, "stroke-width": 1})
    for value, label in xticks:
        x = frame.x(value)
        canvas.el("line", {"x1": x, "y1": frame.bottom, "x2": x, "y2": frame.bottom + 4,
                           "stroke": MUTED})
        canvas.text(x, frame.bottom + 16, label, size=11, colour=MUTED)
    if ylabel:
        canvas.text(12, (frame.top + frame.bottom) / 2, ylabel, size=11, colour=MUTED,
                    rotate=True)


def _drawn(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    """A series' points as runs of finite ones: a None, infinite or NaN value
    (a stranger's export may hold one) breaks the line there."""
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is not None and math.isfinite(x) and math.isfinite(y):
            runs[-1].append((x, y))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


def line_chart(title: str, series: Sequence[Series], *, width: int = 760, height: int = 280,
               ylabel: str = "", y_range: tuple[float | None, float | None] = (None, None),
               x_label: Label = lambda v: tick_text(v, [0, 1]),
               x_ticks: Sequence[float] | None = None,
               tip: Callable[[str, float, float], str] | None = None) -> str:
    """Lines over a numeric x; a None or non-finite y breaks the line there."""
    canvas = Canvas(width, height, title, title)
    named = [s for s in series if s.name]
    top = 34.0 + (18 if named else 0)
    if named:
        _legend(canvas, named, 42)
    drawn = [_drawn(s.points) for s in series]
    xs = [x for runs in drawn for run in runs for x, _ in run]
    ys = [y for runs in drawn for run in runs for _, y in run]
    if not xs:
        canvas.text(width / 2, height / 2, "no values to draw", colour=MUTED)
        return canvas.svg()
    floor, ceiling = y_range
    low = min(ys) if floor is None else floor
    high = max(ys) if ceiling is None else ceiling
    yticks = [t for t in nice_ticks(low, high)
              if (floor is None or t >= floor) and (ceiling is None or t <= ceiling)]
    yticks = yticks or [low, high]
    y0, y1 = min(yticks[0], low), max(yticks[-1], high)
    left = 22 + 7 * max(len(tick_text(t, yticks)) for t in yticks) + (14 if ylabel else 0)
    frame = Frame(left, top, width - 16, height - 30, min(xs), max(xs), y0, y1)
    if x_ticks is None:
        x_ticks = [t for t in nice_ticks(frame.x0, frame.x1, 6) if frame.x0 <= t <= frame.x1]
    _axes(canvas, frame, yticks, ylabel, [(t, x_label(t)) for t in x_ticks])
    for s, runs in zip(series, drawn):
        group = canvas.el("g", {"stroke": s.colour, "fill": "none", "stroke-width": 2})
        if s.dashed:
            group.set("stroke-dasharray", "6 4")
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{_attr(frame.x(x))},{_attr(frame.y(y))}" for x, y in run)
                canvas.el("polyline", {"points": path}, group)
        if s.dots:
            dots = canvas.el("g", {"fill": s.colour})
            for run in runs:
                for x, y in run:
                    canvas.el("circle", {"cx": frame.x(x), "cy": frame.y(y), "r": 3}, dots,
                              tip=tip(s.name, x, y) if tip else None)
    return canvas.svg()


def bar_chart(title: str, bars: Sequence[tuple[str, float]], *, width: int = 760,
              height: int = 260, ylabel: str = "", colour: str = "#2e7d32",
              every: int = 1) -> str:
    """One bar per label, from zero; every `every`-th label written under the axis."""
    canvas = Canvas(width, height, title, title)
    peak = max([v for _, v in bars] + [1])
    yticks = nice_ticks(0, peak, whole=True)
    left = 22 + 7 * max(len(tick_text(t, yticks)) for t in yticks) + (14 if ylabel else 0)
    frame = Frame(left, 34, width - 16, height - 30, 0, max(1, len(bars)), 0, max(yticks[-1], peak))
    slot = (frame.right - frame.left) / max(1, len(bars))
    _axes(canvas, frame, yticks, ylabel,
          [(i + 0.5, label) for i, (label, _) in enumerate(bars) if i % every == 0])
    group = canvas.el("g", {"fill": colour})
    for i, (label, value) in enumerate(bars):
        top = frame.y(value)
        canvas.el("rect", {"x": frame.left + i * slot + slot * 0.12, "y": top,
                           "width": slot * 0.76, "height": frame.bottom - top}, group,
                  tip=f"{label}: {value:g}")
    return canvas.svg()


def calendar_chart(title: str, days: Sequence[tuple[date, int]], *, cell: int = 13) -> str:
    """Weeks left to right, Monday at the top, as GitHub draws a year; a day's
    colour is its answers against the busiest day's, in four steps."""
    offset = days[0][0].weekday() if days else 0
    weeks = (offset + len(days) + 6) // 7
    left, top = 36, 44
    width = max(320, left + weeks * cell + 20)
    canvas = Canvas(width, top + 7 * cell + 40, title, title)
    peak = max([count for _, count in days] + [1])
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        canvas.text(left - 6, top + row * cell + cell - 3, name, size=10, anchor="end",
                    colour=MUTED)
    group = canvas.el("g", {})
    for index, (on, count) in enumerate(days):
        at = offset + index
        x, y = left + (at // 7) * cell, top + (at % 7) * cell
        if on.day == 1:
            canvas.text(x, top - 6, on.strftime("%b"), size=10, anchor="start", colour=MUTED)
        step = 0 if count <= 0 else min(4, 1 + int(3 * count / peak))
        word = "answer" if count == 1 else "answers"
        canvas.el("rect", {"x": x, "y": y, "width": cell - 2, "height": cell - 2, "rx": 2,
                           "fill": CALENDAR_COLOURS[step]}, group,
                  tip=f"{on.isoformat()}: {count} {word}")
    key_y = top + 7 * cell + 16
    canvas.text(left, key_y + 9, "less", size=10, anchor="start", colour=MUTED)
    for step, colour in enumerate(CALENDAR_COLOURS):
        canvas.el("rect", {"x": left + 30 + step * cell, "y": key_y, "width": cell - 2,
                           "height": cell - 2, "rx": 2, "fill": colour})
    canvas.text(left + 34 + 5 * cell, key_y + 9, f"more (busiest day: {peak})", size=10,
                anchor="start", colour=MUTED)
    return canvas.svg()
