"""The terminal rendering of lab events: charts put points where they belong."""

from __future__ import annotations

import io

from rich.console import Console

from labs.events import Failed, Heatmap, Metric, Progress, Result, Started, Table, Text, TraceStep
from labs.render import RichRenderer, heatmap, line_chart


def _rows(chart_text: str) -> list[str]:
    """The plot rows of a chart: the lines with an axis tick, without the y labels."""
    return [line.split("┤", 1)[1] for line in chart_text.splitlines() if "┤" in line]


def test_a_rising_line_goes_from_bottom_left_to_top_right():
    text = line_chart("rise", {"a": [(0, 0.0), (10, 1.0)]}, width=20, height=5).plain
    rows = _rows(text)
    assert len(rows) == 5 and all(len(r) == 20 for r in rows)
    assert rows[-1][0] != " " and rows[0][-1] != " "
    assert rows[0][0] == " " and rows[-1][-1] == " "
    assert "1┤" in text and "0┤" in text  # y range labelled
    assert "━━ a" in text


def test_a_wide_x_range_is_drawn_on_a_log_scale():
    points = {"B=1": [(1, 0.1), (10, 0.5), (100, 0.9), (1000, 1.0)]}
    text = line_chart("acc", points, "steps", "accuracy", width=30, height=6).plain
    assert "(log scale)" in text
    rows = _rows(text)
    # On a log axis x = 10 sits a third of the way across, not at 1%.
    column_of_second_point = round(1 / 3 * (30 - 1))
    assert any(r[column_of_second_point] != " " for r in rows)


def test_heatmap_has_one_coloured_cell_per_value():
    event = Heatmap("w", [[1.0, -1.0, 0.0], [0.5, 0.25, float("nan")]], ["r0", "r1"],
                    ["a", "b", "c"])
    text = heatmap(event, 80)
    plain = text.plain.splitlines()
    assert plain[1].strip() == "a b c"
    assert plain[2].startswith("r0 ") and plain[3].startswith("r1 ")
    coloured = [s for s in text.spans if "on rgb" in str(s.style)]
    assert len(coloured) == 6
    assert "blue < 0 < red" in text.plain


def test_renderer_prints_every_kind_of_event_in_order():
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    render = RichRenderer(console)
    for event in [
        Started("batch-size", {"lr": 0.1}, "cpu", 0),
        Progress(1, 2, "training"),
        Text("**Partial** batches"),
        Table("Costs", ["B", "steps"], [[4, 315], [64, None]]),
        TraceStep(1, "embed", "look up each token", {"x": [2, 8]}, {"scale": 2.83}),
        Metric("loss vs steps", "B=4", 1, 2.0), Metric("loss vs steps", "B=4", 2, 1.0),
        Result({"b_simple": 115.3, "final_test_accuracy": {"4": 0.97}}),
    ]:
        render(event)
    text = out.getvalue()
    order = ["Batch size, SGD noise", "Partial batches", "Costs", "1. embed", "look up each token",
             "loss vs steps", "Summary", "b_simple", "115.3", "4: 0.97"]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    assert "—" in text  # None in a table cell


def test_failed_run_is_shown_with_its_kind():
    out = io.StringIO()
    render = RichRenderer(Console(file=out, width=80))
    render(Failed("oom", "batch-size ran out of memory on cuda"))
    assert "failed: oom" in out.getvalue() and "ran out of memory" in out.getvalue()
