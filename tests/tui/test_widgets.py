"""The drawing widgets: calendar levels, bars, and a chart drawn again. (Heatmaps and trace
values are laid out by labs.render: tests/labs/test_render.py and test_both_faces.py.)"""

from __future__ import annotations

from companion.tui.widgets.barchart import bar_rows
from companion.tui.widgets.calendar import GLYPHS, level

from .conftest import run


def test_calendar_levels_are_quarters_of_the_busiest_day():
    assert [level(c, 40) for c in (0, 1, 10, 11, 20, 21, 40)] == [0, 1, 1, 2, 2, 3, 4]
    assert level(5, 0) == 0 and len(GLYPHS) == 5


def test_bars_use_eighths_and_never_hide_a_small_value():
    rows = bar_rows([0, 1, 8, 16], height=2)
    assert rows == ["   █", " ▁██"]  # 8 of 16 fills exactly the lower row


@run
async def test_a_log_scale_chart_draws_the_same_curve_each_time_it_is_drawn():
    # A resize or a tab shown again draws a chart again; plotext's build took
    # the log of a log-scale figure's data in place, so the second drawing
    # found every point off the canvas and raised IndexError, ending the app.
    from textual.app import App, ComposeResult

    from companion.tui.widgets.plot import MetricPlot

    plot = MetricPlot("test accuracy", "batch size", "accuracy")
    for batch, accuracy in ((1, 0.9), (16, 0.95), (256, 0.97), (1024, 0.8)):
        plot.add_point("final", batch, accuracy)

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield plot

    async with Host().run_test(size=(80, 24)) as pilot:
        plot.replot()
        await pilot.pause()
        drawings = []
        for size in ((80, 24), (100, 30), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            drawings.append(str(plot.render()))
    assert all("batch size (log)" in d for d in drawings)
    assert all(any("\u2800" < ch <= "\u28ff" for ch in d) for d in drawings)  # braille points
    assert drawings[0] == drawings[2]


@run
async def test_a_chart_legend_sits_under_the_plot_in_the_curves_colours():
    # plotext draws its legend inside the plot's upper left, over any curve
    # that starts high: here both do.
    from rich.style import Style
    from textual.app import App, ComposeResult

    from companion.tui.widgets.plot import MetricChart, series_colour

    chart = MetricChart("test accuracy", "step", "accuracy")
    for step in range(50):
        chart.add_point("B=16", step, 1 - step / 100)
        chart.add_point("B=256", step, 0.98 - step / 80)

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield chart

    async with Host().run_test(size=(80, 24)) as pilot:
        chart.replot()
        await pilot.pause()
        drawn = chart.plot.render()
        shown = str(chart.legend.render())
        assert chart.legend.region.y == chart.plot.region.bottom  # the line under the plot
    assert "B=16" not in str(drawn) and "B=256" not in str(drawn)
    assert shown == "━━ B=16  ━━ B=256"
    def colours(text):
        styles = [Style.parse(s.style) if isinstance(s.style, str) else s.style
                  for s in text.spans]
        return [tuple(style.color.get_truecolor()) for style in styles if style.color]

    curve_colours = set(colours(drawn))
    legend_colours = colours(chart.plot.legend())
    assert legend_colours == [series_colour(0), series_colour(1)]
    assert set(legend_colours) <= curve_colours
