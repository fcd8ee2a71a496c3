"""A lab's metric curves as a terminal plot (textual-plotext, braille markers).

One widget per chart; every series of the chart on the same axes, with a
legend. x goes logarithmic when it spans 100× or more (batch sizes).

The figure is drawn afresh from `series` on every render: plotext's build
takes the log of a log-scale figure's data in place, so a second build of
the same figure (a resize, a tab shown again) found every point off the
canvas and raised IndexError from its legend, which ended the app.
"""

from __future__ import annotations

import math
from typing import Any

from textual_plotext import PlotextPlot


class MetricPlot(PlotextPlot):
    DEFAULT_CSS = """
    MetricPlot { height: 16; width: 1fr; margin-bottom: 1; }
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
        for name, points in self.series.items():
            # In the order the lab sent them: a path (w, b over steps) is not a function of x.
            finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
            if not finite:
                continue
            plt.plot([p[0] for p in finite], [p[1] for p in finite], label=name,
                     marker="braille")
        plt.xlabel(self.x_label + (" (log)" if log_x else ""))
        plt.ylabel(self.y_label)
