"""A matrix as coloured cells: attention patterns, saliency maps, loss surfaces.

Small matrices show their numbers on the colour; large ones are drawn as
blocks, two columns per value. The shade glyph under the colour (░▒▓█) keeps
the picture readable with NO_COLOR.
"""

from __future__ import annotations

import math
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from labs.render import SHADES, colour_rgb, finite  # the terminal's heatmaps use the same

NUMBER_WIDTH = 6


def short(v: Any) -> str:
    if not finite(v):
        return {math.inf: "∞", -math.inf: "-∞"}.get(v, "·") if isinstance(v, float) else str(v)
    if float(v).is_integer() and abs(v) < 1e5:
        return str(int(v))
    return f"{v:.2g}" if abs(v) < 0.01 or abs(v) >= 1000 else f"{v:.2f}"


def scale(values: list[list[Any]]) -> tuple[float, float, bool]:
    flat = [v for row in values for v in row if finite(v)]
    if not flat:
        return 0.0, 1.0, False
    lo, hi = min(flat), max(flat)
    return lo, hi, lo < 0 < hi


def render_heatmap(title: str, values: list[list[Any]], row_labels: list[str],
                   col_labels: list[str], width: int, plain: bool = False) -> Text:
    """`plain`: no colours (NO_COLOR), the shade glyphs carry the values."""
    out = Text(no_wrap=True, overflow="crop")
    out.append(title + "\n", style="bold")
    lo, hi, signed = scale(values)
    if not any(finite(v) for row in values for v in row):
        out.append("(no finite values)\n", style="dim")
        return out
    bound = max(abs(lo), abs(hi)) or 1.0
    label_w = min(14, max((len(str(r)) for r in row_labels), default=0))
    n_cols = max((len(r) for r in values), default=0)
    numbers = label_w + 1 + NUMBER_WIDTH * n_cols <= width and n_cols <= 16 and len(values) <= 24
    cell_w = NUMBER_WIDTH if numbers else (2 if label_w + 1 + 2 * n_cols <= width else 1)
    if col_labels:
        header = Text(" " * (label_w + 1))
        labels = [str(c) for c in col_labels]
        if all(len(c) < cell_w for c in labels):
            for c in labels:
                header.append(c.rjust(cell_w), style="dim")
            out.append_text(header)
            out.append("\n")
    for i, row in enumerate(values):
        label = str(row_labels[i]) if i < len(row_labels) else ""
        out.append(label[:label_w].rjust(label_w) + " ", style="dim")
        for v in row:
            if not finite(v):
                out.append(("·" if not numbers else short(v)).rjust(cell_w), style="dim")
                continue
            t = v / bound if signed else (0.0 if hi == lo else (v - lo) / (hi - lo))
            r, g, b = colour_rgb(t, signed)
            bg = f"rgb({r},{g},{b})"
            if plain:
                shade = SHADES[min(4, int(abs(t) * 4.999))]
                out.append(short(v).rjust(cell_w - 1) + " " if numbers else shade * cell_w)
            elif numbers:
                light = (0.299 * r + 0.587 * g + 0.114 * b) > 140
                out.append(short(v).rjust(cell_w - 1) + " ",
                           style=Style.parse(f"{'black' if light else 'white'} on {bg}"))
            else:
                shade = SHADES[min(4, int(abs(t) * 4.999))]
                out.append(shade * cell_w, style=Style.parse(f"{bg} on {bg}"))
        out.append("\n")
    legend = f"{short(lo)} … {short(hi)}" + ("   blue < 0 < red" if signed else "")
    out.append(" " * (label_w + 1) + legend, style="dim")
    return out


class Heatmap(Widget):
    DEFAULT_CSS = """
    Heatmap { height: auto; width: 1fr; margin-bottom: 1; }
    """

    def __init__(self, title: str, values: list[list[Any]], row_labels: list[str] | None = None,
                 col_labels: list[str] | None = None, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.title = title
        self.values = values
        self.row_labels = list(row_labels or [])
        self.col_labels = list(col_labels or [])

    def render(self) -> Text:
        return render_heatmap(self.title, self.values, self.row_labels, self.col_labels,
                              self.size.width or 80, plain=self.app.no_color)

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        return len(self.values) + 3
