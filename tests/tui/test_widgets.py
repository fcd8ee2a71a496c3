"""The drawing widgets' pure parts: calendar levels and bars. (Heatmaps and trace
values are laid out by labs.render: tests/labs/test_render.py and test_both_faces.py.)"""

from __future__ import annotations

from companion.tui.widgets.barchart import bar_rows
from companion.tui.widgets.calendar import GLYPHS, level


def test_calendar_levels_are_quarters_of_the_busiest_day():
    assert [level(c, 40) for c in (0, 1, 10, 11, 20, 21, 40)] == [0, 1, 1, 2, 2, 3, 4]
    assert level(5, 0) == 0 and len(GLYPHS) == 5


def test_bars_use_eighths_and_never_hide_a_small_value():
    rows = bar_rows([0, 1, 8, 16], height=2)
    assert rows == ["   █", " ▁██"]  # 8 of 16 fills exactly the lower row
