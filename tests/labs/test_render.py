"""The terminal rendering of lab events: charts put points where they belong, and
tensors, tables and heatmaps read whole on a console without colour."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from labs.events import (
    Failed,
    Heatmap,
    Metric,
    Progress,
    Result,
    Started,
    Table,
    Text,
    TraceStep,
    format_value,
)
from labs.render import RichRenderer, heatmap, line_chart, number_format


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
    assert plain[1].split() == ["a", "b", "c"]
    # small enough to read: each value's number on its colour, one format for all
    assert plain[2].split() == ["r0", "1.00", "-1.00", "0.00"]
    assert plain[3].split() == ["r1", "0.50", "0.25", "nan"]
    assert len(plain[1]) == len(plain[2]) == len(plain[3])  # right-aligned under the labels
    coloured = [s for s in text.spans if "on rgb" in str(s.style)]
    assert len(coloured) == 6
    assert "blue < 0 < red" in text.plain


def test_a_heatmap_too_big_for_numbers_is_a_picture_of_cells():
    event = Heatmap("saliency", [[i * j for j in range(30)] for i in range(30)])
    text = heatmap(event, 80)
    rows = text.plain.splitlines()[1:31]
    assert not any(ch.isdigit() for row in rows for ch in row)  # colours, no numbers
    assert len([s for s in text.spans if "on rgb" in str(s.style)]) == 900
    shaded = heatmap(event, 80, colour=False).plain
    assert "█" in shaded and "░" in shaded  # without colour, shades carry the values
    assert "0 … 841" in text.plain and "blank = 0" in shaded and "█ = 841" in shaded


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


# ---------------------------------------------------------------------------
# Tensors, tables and heatmaps as a learner reads them: a console without
# colour (piped output), 80 to 120 columns wide.
# ---------------------------------------------------------------------------


def _recorded(width: int = 100, **console_args) -> tuple[Console, RichRenderer]:
    console = Console(record=True, width=width, color_system=None, file=io.StringIO(),
                      **console_args)
    return console, RichRenderer(console)


def _trace_events() -> list[TraceStep]:
    """The transformer-trace lab's steps with its default parameters (no full lab run)."""
    from labs.experiments import transformer_trace as lab

    ids = lab.tokenize("the cat sat on the mat")
    weights = lab.make_weights(len(lab.VOCABULARY), 8, seed=0)
    steps = lab.trace(ids, weights, heads=2, norm="post", causal=True)
    return [lab.to_event(i, step) for i, step in enumerate(steps, start=1)]


def _numbers(line: str) -> list[str]:
    return [t for t in line.strip(" │").split() if t.lstrip("-").replace(".", "", 1).isdigit()]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_no_trace_tensor_is_cut_short_with_an_ellipsis(width):
    console, render = _recorded(width)
    for event in _trace_events():
        render(event)
    text = console.export_text()
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    # the 6 × 12 probabilities are there digit for digit (3 decimals), not as "0.0…"
    probs = _trace_events()[-1].values["probs"]
    for row in probs:
        assert all(f"{p:.3f}" in text for p in row)


def test_every_head_of_a_three_d_tensor_is_a_matrix_of_its_own():
    console, render = _recorded()
    for event in _trace_events():
        render(event)
    text = console.export_text()
    for name in ("q", "k", "v", "scores", "pattern", "weighted"):
        assert f"{name} · head 1 of 2" in text and f"{name} · head 2 of 2" in text
    # the attention pattern: six rows per head, side by side, each row summing to 1
    start = text.index("pattern · head 1 of 2")
    rows = [_numbers(line) for line in text[start:].splitlines()[1:7]]
    assert all(len(r) == 12 for r in rows)
    for row in rows:
        assert abs(sum(map(float, row[:6])) - 1) < 0.01 and abs(sum(map(float, row[6:])) - 1) < 0.01


def test_heads_sit_side_by_side_when_they_fit_and_one_under_the_other_when_not():
    step = TraceStep(1, "scores", "", {"s": [2, 2, 3]},
                     {"s": [[[1.5, float("-inf"), 0.25], [0.5, 2.0, -1.0]],
                            [[-0.125, 3.0, 0.0], [1.0, -2.5, 0.75]]]})
    console, render = _recorded(100)
    render(step)
    lines = console.export_text().splitlines()
    both = [line for line in lines if "s · head 1 of 2" in line]
    assert both and "s · head 2 of 2" in both[0]
    assert any(_numbers(line) == ["1.50", "0.25", "-0.12", "3.00", "0.00"]
               for line in lines)  # −∞ shows as -∞ and is not a number here
    assert any("-∞" in line for line in lines)

    console, render = _recorded(30)
    render(step)
    lines = console.export_text().splitlines()
    first = next(i for i, line in enumerate(lines) if "s · head 1 of 2" in line)
    second = next(i for i, line in enumerate(lines) if "s · head 2 of 2" in line)
    assert second > first + 2  # head 2 starts below head 1's rows
    assert "…" not in "\n".join(lines)


def test_numbers_in_a_column_share_their_decimals_and_line_up():
    step = TraceStep(1, "attention", "", {"a": [3, 2]},
                     {"a": [[0.0051, 0.8138], [0.002, 0.071], [1.0, 0.1]]})
    console, render = _recorded()
    render(step)
    render(Table("top", ["token", "probability"], [["dog", 0.4729], ["rug", 0.071]]))
    lines = console.export_text().splitlines()
    rows = [line for line in lines if len(_numbers(line)) == 2 and "×" not in line]
    assert [_numbers(r) for r in rows] == [["0.005", "0.814"], ["0.002", "0.071"],
                                           ["1.000", "0.100"]]
    for column in (0, 1):  # right-justified: the numbers of a column end in one place
        ends = {r.index(_numbers(r)[column], 4 if column else 0) + 5 for r in rows}
        assert len(ends) == 1
    # A table's column: each number with the digits it has (0.071 is not
    # 0.0710), the decimal points in one place.
    table_cells = [line.split("│")[2].strip() for line in lines if "dog" in line or "rug" in line]
    assert table_cells == ["0.4729", "0.071"]
    dots = {line.index(".") for line in lines if "dog" in line or "rug" in line}
    assert len(dots) == 1


def test_a_column_never_shows_zeros_that_were_not_measured():
    # |G|² rounded to 4 digits beside a small one: 12340 was 12340.000 once.
    console, render = _recorded()
    render(Table("noise", ["step", "|G|²"], [[1, 12340.0], [2, 1.234], [3, 0.0], [4, -2.5]]))
    lines = [line for line in console.export_text().splitlines() if line.count("│") >= 3]
    cells = [line.split("│")[2] for line in lines]
    assert [c.strip() for c in cells] == ["12340", "1.234", "0", "-2.5"]
    # right-aligned, the units digits share a column
    units = {c.index(c.strip().split(".")[0]) + len(c.strip().split(".")[0]) for c in cells}
    assert len(units) == 1


def test_a_wide_matrix_is_split_into_column_blocks_headed_by_column_numbers():
    hidden = [[round(0.37 * r + 0.011 * c, 4) for c in range(32)] for r in range(6)]
    console, render = _recorded(80)
    render(TraceStep(1, "feed-forward", "", {"hidden": [6, 32]}, {"hidden": hidden}))
    text = console.export_text()
    assert "…" not in text and all(len(line) <= 80 for line in text.splitlines())
    headers = [line for line in text.splitlines() if line.strip(" │").startswith("0 ")
               or " 31" in line]
    assert headers, "column numbers above the blocks"
    for row in hidden:
        assert all(f"{v:.2f}" in text for v in row)


def test_a_heatmap_without_colour_shades_its_cells():
    # more columns than a heatmap shows as numbers: a picture, one shade per value
    values = [[0.0, 0.5] * 9, [1.0, 0.25] * 9]
    event = Heatmap("w", values, ["r0", "r1"])
    console, render = _recorded()
    render(event)
    text = console.export_text()
    lines = text.splitlines()
    assert lines[1] == "r0 " + "  ▒▒" * 9 and lines[2] == "r1 " + "██░░" * 9
    assert "blank = 0" in text and "█ = 1" in text

    # NO_COLOR in a terminal: the same shading
    console = Console(record=True, width=100, force_terminal=True, no_color=True,
                      file=io.StringIO())
    RichRenderer(console)(event)
    assert "r1 ██░░" in console.export_text()

    # the positional-encoding heatmap of the lab (50 positions), piped: shades and
    # its column labels
    pe = Heatmap("pe", [[0.0, 1.0], [0.8415, 0.5403], [0.9093, -0.4161]] * 17,
                 [str(p) for p in range(51)], ["sin 0", "cos 0"])
    assert "█" in heatmap(pe, 80, colour=False).plain
    assert "sin 0 cos 0" in heatmap(pe, 80, colour=False).plain

    # a small one, piped, reads as its numbers, lined up under its labels
    small = heatmap(Heatmap("a", [[1.0, 0.0], [0.25, 0.75]], ["the", "cat"], ["the", "cat"]),
                    80, colour=False).plain.splitlines()
    assert small[1:4] == ["      the  cat", "the  1.00 0.00", "cat  0.25 0.75"]


def test_pairs_in_a_summary_read_as_pairs():
    console, render = _recorded()
    render(Result({"tokens": ["the", "cat"],
                   "top_next": [["dog", 0.4729], ["ran", 0.1386], ["rug", 0.071]]}))
    text = console.export_text()
    assert "dog 0.4729, ran 0.1386, rug 0.071" in text
    assert "the, cat" in text
    assert format_value([["dog", 0.4729], ["ran", 0.1386]]) == "dog 0.4729, ran 0.1386"
    assert format_value([1, 2.5]) == "1, 2.5"


def test_number_format_keeps_integers_and_goes_scientific_for_tiny_numbers():
    assert [number_format([0, 1, 4])(v) for v in (0, 1, 4)] == ["0", "1", "4"]
    fmt = number_format([1.2e-07, 3.4e-09], sig=4, each=True)
    assert fmt(1.2e-07) == "1.2e-07" and fmt(3.4e-09) == "3.4e-09"
    fmt = number_format([-0.001, 2.5, float("nan"), float("-inf")])
    assert [fmt(v) for v in (-0.001, 2.5, float("nan"), float("-inf"), None)] == [
        "-0.001", "2.500", "nan", "-∞", "—"]
    assert number_format([-0.004, 2.5, 0.01])(-0.004) == "-0.004"
    assert number_format([-0.0001, 2.5])(-0.0001) == "-0.0001"


def test_one_value_reads_the_same_wherever_it_is_shown():
    values = (float("inf"), float("-inf"), float("nan"), 20000.0, -0.0, 0.12345, 3, True, None)
    assert [format_value(v) for v in values] == ["∞", "-∞", "nan", "20000", "0", "0.1235", "3",
                                                 "yes", "—"]
    assert format_value(0.12345, sig=3) == "0.123"
    # a matrix's numbers share decimals; what is not a finite number reads as one value
    fmt = number_format([0.5, float("inf"), None])
    assert [fmt(v) for v in (0.5, float("inf"), None)] == ["0.5", "∞", "—"]


def test_a_heatmap_too_narrow_for_its_column_labels_numbers_them_and_says_which_is_which():
    from labs.events import Heatmap

    people = ["Christopher", "Penelope", "Andrew", "Christine", "Margaret", "Arthur",
              "Victoria", "James", "Jennifer", "Charles", "Colin", "Charlotte"] * 2
    event = Heatmap(title="person units", values=[[(i * j) % 7 - 3.0 for j in range(24)]
                                                   for i in range(6)],
                    row_labels=[f"unit {i}" for i in range(6)], col_labels=people)
    text = heatmap(event, 80, colour=False).plain
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = lines[1].split()
    assert header == [str(j) for j in range(1, 25)]  # each number above its column
    key = " ".join(lines[lines.index(next(ln for ln in lines if ln.startswith("columns:"))):])
    assert "1:Christopher" in key and "24:Charlotte" in key
    # wide enough, the names themselves stand above the columns and no key is needed
    wide = heatmap(event, 400, colour=False).plain
    assert "columns:" not in wide and "Christopher" in wide.splitlines()[1]


def test_a_trace_steps_shapes_read_as_shapes_not_as_values():
    # "token_ids: 6" over "token_ids: [0, 1, 2, 3, 0, 4]" read as a value of 6
    from labs.render import trace_body

    step = TraceStep(1, "token ids", "", {"token_ids": [6], "x": [6, 8]},
                     {"token_ids": [0, 1, 2, 3, 0, 4]})
    lines = [str(part) for part in trace_body(step, 80)]
    assert "shape: token_ids 6   x 6 × 8" in lines
    assert "token_ids: [0, 1, 2, 3, 0, 4]" in lines
