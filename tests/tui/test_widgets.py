"""The drawing widgets' pure parts: calendar levels, bars, heatmaps, trace values."""

from __future__ import annotations

import io

from rich.console import Console

from companion.tui.widgets.barchart import bar_rows
from companion.tui.widgets.calendar import GLYPHS, level
from companion.tui.widgets.heatmap import render_heatmap
from companion.tui.widgets.stepper import value_block


def plain(renderable) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(renderable)
    return capture.get()


def test_calendar_levels_are_quarters_of_the_busiest_day():
    assert [level(c, 40) for c in (0, 1, 10, 11, 20, 21, 40)] == [0, 1, 1, 2, 2, 3, 4]
    assert level(5, 0) == 0 and len(GLYPHS) == 5


def test_bars_use_eighths_and_never_hide_a_small_value():
    rows = bar_rows([0, 1, 8, 16], height=2)
    assert rows == ["   █", " ▁██"]  # 8 of 16 fills exactly the lower row


def test_a_heatmap_without_colour_still_shows_its_values():
    text = render_heatmap("attention", [[1.0, 0.0], [0.25, 0.75]], ["the", "cat"], ["the", "cat"],
                          width=80, plain=True).plain
    assert "attention" in text and "0.25" in text and "0.75" in text
    big = render_heatmap("saliency", [[i * j for j in range(30)] for i in range(30)], [], [],
                         width=80, plain=True).plain
    assert "█" in big and "░" in big  # too big for numbers: shades carry the values
    signed = render_heatmap("grad", [[-1.0, 2.0]], [], [], width=80).plain
    assert "blue < 0 < red" in signed


def test_trace_values_show_matrices_per_head_and_infinities():
    shown = plain(value_block("scores", [[[0.5, float("-inf")], [1.0, 2.0]],
                                         [[3.0, 4.0], [5.0, 6.0]]]))
    assert "scores[0]" in shown and "scores[1]" in shown and "-∞" in shown
    assert "x [1, 2, 3]" in plain(value_block("x", [1, 2, 3]))
