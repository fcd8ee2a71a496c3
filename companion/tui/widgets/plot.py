"""A lab's metric curves as a terminal plot (textual-plotext, braille markers).

One MetricChart per chart: every series of the chart on the same axes, each
in its own colour, and the legend on a line under the plot (plotext draws its
own inside the plot area, over the curves' upper left). x goes logarithmic
when it spans 100× or more (batch sizes).

The figure is drawn afresh from `series` on every render: plotext's build
takes the log of a log-scale figure's data in place, so a second build of
the same figure (a resize, a tab shown again) found every point off the
canvas and raised IndexError from its legend, which ended the app.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

# A series' colour, by its place in the chart: the curve and its legend entry.
SERIES_COLOURS = ((86, 156, 255), (255, 159, 67), (46, 204, 113), (255, 99, 132),
                  (179, 140, 255), (0, 206, 209), (241, 196, 15), (200, 200, 200))


def series_colour(index: int) -> tuple[int, int, int]:
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


class MetricPlot(PlotextPlot):
    DEFAULT_CSS = """
    MetricPlot { height: 16; width: 1fr; }
    """

    def __init__(self, chart: str, x_label: str = "", y_label: str = "",
                 *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.chart = chart
        self.x_label = x_label
        self.y_label = y_label
        self.series: dict[str, list[tuple[float, float]]] = {}

    def add_point(self, series: str, x: float, y: float) -> None:
        self.series.setdefault(series, []).append((x, y))

    def replot(self) -> None:
        self.refresh()

    def render(self) -> Any:
        self._draw()
        return super().render()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.chart)
        xs_all = [x for points in self.series.values() for x, y in points
                  if math.isfinite(x) and math.isfinite(y)]
        log_x = bool(xs_all) and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 100
        if log_x:
            plt.xscale("log")
        for index, points in enumerate(self.series.values()):
            # In the order the lab sent them: a path (w, b over steps) is not a function of x.
            finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
            if not finite:
                continue
            plt.plot([p[0] for p in finite], [p[1] for p in finite], marker="braille",
                     color=series_colour(index))
        plt.xlabel(self.x_label + (" (log)" if log_x else ""))
        plt.ylabel(self.y_label)

    def legend(self) -> Text:
        """Each named series in its curve's colour, in the order they came."""
        out = Text()
        for index, name in enumerate(self.series):
            if name:
                red, green, blue = series_colour(index)
                out.append("  " if out else "")
                out.append("━━ ", style=f"rgb({red},{green},{blue})")
                out.append(name)
        return out


class MetricChart(Vertical):
    """A chart's plot with its legend under it."""

    DEFAULT_CSS = """
    MetricChart { height: auto; margin-bottom: 1; }
    MetricChart > .legend { height: auto; padding: 0 2; background: $surface; }
    """

    def __init__(self, chart: str, x_label: str = "", y_label: str = "") -> None:
        super().__init__()
        self.plot = MetricPlot(chart, x_label, y_label)
        self.legend = Static("", classes="legend")
        self.legend.display = False

    def compose(self) -> ComposeResult:
        yield self.plot
        yield self.legend

    @property
    def series(self) -> dict[str, list[tuple[float, float]]]:
        return self.plot.series

    def add_point(self, series: str, x: float, y: float) -> None:
        self.plot.add_point(series, x, y)

    def replot(self) -> None:
        self.plot.replot()
        legend = self.plot.legend()
        self.legend.update(legend)
        self.legend.display = bool(legend)
