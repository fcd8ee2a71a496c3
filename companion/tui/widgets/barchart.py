"""A vertical bar chart in eighth blocks, with its y scale and x labels."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

EIGHTHS = " ▁▂▃▄▅▆▇█"


def bar_rows(values: list[float], height: int) -> list[str]:
    """The chart's rows from top to bottom, one column per value."""
    top = max(values, default=0)
    levels = [0 if top <= 0 else round(v / top * height * 8) for v in values]
    # A value above zero always shows at least a sliver.
    levels = [max(1, lv) if v > 0 else 0 for lv, v in zip(levels, values)]
    rows = []
    for row in range(height, 0, -1):
        floor = (row - 1) * 8
        rows.append("".join(EIGHTHS[min(8, max(0, lv - floor))] for lv in levels))
    return rows


class BarChart(Widget):
    """`values` drawn left to right; `labels` maps a column to a label under it."""

    COMPONENT_CLASSES = {"barchart--bar", "barchart--axis"}

    DEFAULT_CSS = """
    BarChart { height: 8; width: 1fr; }
    BarChart > .barchart--bar { color: $primary; }
    BarChart > .barchart--axis { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.values: list[float] = []
        self.labels: dict[int, str] = {}

    def set_data(self, values: Sequence[float], labels: dict[int, str]) -> None:
        self.values = list(values)
        self.labels = labels
        self.refresh()

    def render(self) -> Text:
        if not self.values:
            return Text("")
        height = max(1, (self.size.height or 8) - 1)
        top = max(self.values)
        scale = f"{top:g}"
        axis_width = len(scale) + 1
        width = max(1, (self.size.width or 80) - axis_width)
        bar = max(1, min(3, width // len(self.values)))
        gap = 1 if bar > 1 else 0
        bar -= gap
        bar = max(1, bar)
        bar_style = self.get_component_rich_style("barchart--bar")
        axis_style = self.get_component_rich_style("barchart--axis")
        out = Text(no_wrap=True, overflow="crop")
        for index, row in enumerate(bar_rows(self.values, height)):
            label = scale if index == 0 else ""
            out.append(f"{label:>{axis_width - 1}}│", style=axis_style)
            out.append("".join(ch * bar + " " * gap for ch in row), style=bar_style)
            out.append("\n")
        ticks = [" "] * (axis_width + (bar + gap) * len(self.values) + 8)
        for column, label in sorted(self.labels.items()):
            start = axis_width + (bar + gap) * column
            if all(c == " " for c in ticks[max(0, start - 1):start + len(label)]):
                ticks[start:start + len(label)] = list(label)
        out.append("".join(ticks).rstrip(), style=axis_style)
        return out
