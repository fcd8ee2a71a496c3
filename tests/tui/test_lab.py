"""The lab screen: the form, a run's output, curves, heatmaps, the trace
stepper, cancel, failures and past runs; and a predict card in review."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from functools import partial

import pytest

from companion.tui.screens.lab import LabListScreen, LabScreen

from ..conftest import write_deck
from .conftest import FakeRun, db_reviews, make_app, ready, run, settle, text_of, wait_for


async def open_lab(pilot, name="batch-size"):
    await ready(pilot)
    pilot.app.open_lab(name)
    await settle(pilot)
    assert isinstance(pilot.app.screen, LabScreen)
    return pilot.app.screen


def lab_runs(home):
    conn = sqlite3.connect(home / "companion.db")
    try:
        return conn.execute(
            "SELECT lab, status, error, card_id FROM lab_runs ORDER BY id").fetchall()
    finally:
        conn.close()


@run
async def test_a_run_fills_output_charts_heatmaps_trace_and_past_runs(tui_home):
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.running and screen.runs)
        await settle(pilot)
        log = " ".join(text_of(w) for w in screen.query("#lab-log Static"))
        assert "Bigger batches" in log and "steps to 90%" in log and "final_accuracy" in log
        plot = screen.plots["test accuracy"]
        assert set(plot.series) == {"B=16", "B=256"} and len(plot.series["B=16"]) == 3
        assert [h.title for h in screen.query("Heatmap")] == ["attention, head 1"]
        stepper = screen.query_one("#stepper")
        assert len(stepper.steps) == 3 and stepper.index == 0
        assert screen.query_one("#lab-tabs").active == "output"  # where a run goes
        await pilot.press("right_square_bracket")  # ] moves one tab right
        assert screen.query_one("#lab-tabs").active == "charts"
        for _ in range(2):
            await pilot.press("right_square_bracket")
        assert screen.query_one("#lab-tabs").active == "trace" and screen.focused is stepper
        await pilot.press("right", "right", "right")
        assert stepper.index == 2  # stops at the last step
        await pilot.press("left")
        assert stepper.index == 1
        assert "attend" in text_of(stepper.query_one(".trace-body"), 100)
        assert lab_runs(tui_home) == [("batch-size", "ok", None, None)]
        assert screen.query_one("#runs-table").row_count == 1


@run
async def test_bad_parameters_are_shown_on_their_field_and_nothing_runs(tui_home):
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot)
        screen.query_one("#param-batch_sizes").value = "16,zero"
        screen.query_one("#param-lr").value = "99"
        await pilot.press("ctrl+r")
        assert not screen.running and lab_runs(tui_home) == []
        assert "whole numbers" in text_of(screen.query_one("#error-batch_sizes"))
        assert "at most 10" in text_of(screen.query_one("#error-lr"))


@run
async def test_the_processes_field_runs_batch_size_data_parallel(tui_home):
    FakeRun.instances.clear()
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot)
        screen.query_one("#nproc").value = "0"
        await pilot.press("ctrl+r")
        assert not screen.running and FakeRun.instances == []
        said = text_of(screen.query_one("#error-nproc"))
        assert "processes='0': expected a whole number, from 1 to 64" in said
        screen.query_one("#nproc").value = "2"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.running and screen.runs)
        assert FakeRun.instances[-1].nproc == 2
        assert not screen.query_one("#error-nproc").display
        table = screen.query_one("#runs-table")
        assert str(table.get_cell_at((0, 2))).endswith(" ×2")  # the Device column
        await pilot.press("escape")
        await settle(pilot)
        # A lab that runs in one process has no such field.
        screen = await open_lab(pilot, "transformer-trace")
        assert not screen.query("#nproc")


@run
async def test_a_run_without_curves_says_so_and_enter_on_it_keeps_the_output(tui_home):
    from labs import events as ev

    script = [ev.Started("transformer-trace", {}, "cpu", 0), ev.Text("Attention, traced."),
              ev.Result({"steps": 14})]
    app = make_app(tui_home, lab_runner=partial(FakeRun, script=script))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot, "transformer-trace")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.running and screen.runs)
        await settle(pilot)
        assert "drew no curves" in text_of(screen.query_one("#lab-charts .placeholder"))
        assert "drew no heatmaps" in text_of(screen.query_one("#lab-heatmaps .placeholder"))
        screen.query_one("#runs-table").focus()
        await pilot.press("enter")
        await settle(pilot)
        log = " ".join(text_of(w) for w in screen.query("#lab-log Static"))
        assert "Attention, traced." in log  # not wiped by an empty redraw
        assert any("drew no curves" in n.message for n in app.said)


@run
async def test_a_switch_says_its_state_in_words(tui_home):
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot, "transformer-trace")
        assert text_of(screen.query_one("#state-causal")) == "true"
        screen.query_one("#param-causal").toggle()
        await settle(pilot)
        assert text_of(screen.query_one("#state-causal")) == "false"


@run
async def test_cancel_stops_the_run_and_it_is_recorded_as_cancelled(tui_home):
    FakeRun.instances.clear()
    app = make_app(tui_home, lab_runner=partial(FakeRun, block=True))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.current_run is not None)
        assert screen.running
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not screen.running)
        assert FakeRun.instances[-1].cancelled.is_set()
        assert lab_runs(tui_home)[-1][:2] == ("batch-size", "cancelled")
        assert "Failed (cancelled)" in text_of(screen.query_one("#lab-state"))


SCRIPT = """
import json, os, sys, time
from labs.events import Started, Progress, Metric, to_json
print(to_json(Started("batch-size", {}, "cpu", 0)), flush=True)
print(to_json(Progress(1, 2, "half way")), flush=True)
print(to_json(Metric("loss", "train", 1, 0.5)), flush=True)
MODE
"""


def real_runner(monkeypatch, mode: str):
    """The real LabRun, with the lab's process replaced by a tiny script (no torch)."""
    from companion.labrunner import LabRun

    code = textwrap.dedent(SCRIPT).replace("MODE", mode)
    monkeypatch.setattr(LabRun, "command", lambda self: [sys.executable, "-c", code])
    return LabRun


@run
async def test_a_lab_that_crashes_shows_its_error_and_the_app_goes_on(tui_home, monkeypatch):
    runner = real_runner(monkeypatch, "sys.stderr.write('boom: out of memory\\n'); os._exit(3)")
    app = make_app(tui_home, lab_runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.running and screen.runs, timeout=30)
        assert lab_runs(tui_home)[-1][:2] == ("batch-size", "crash")
        assert "exited with status 3" in lab_runs(tui_home)[-1][2]
        assert "Failed (crash)" in text_of(screen.query_one("#lab-state"))
        assert screen.plots["loss"].series == {"train": [(1, 0.5)]}
        await pilot.press("escape")  # and the app is still there
        await settle(pilot)
        assert not isinstance(app.screen, LabScreen)


@run
async def test_a_real_run_is_cancelled_from_the_screen(tui_home, monkeypatch):
    runner = real_runner(monkeypatch, "time.sleep(30)")
    app = make_app(tui_home, lab_runner=runner)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_lab(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "loss" in screen.plots, timeout=30)
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: not screen.running, timeout=30)
        assert lab_runs(tui_home)[-1][:2] == ("batch-size", "cancelled")


@run
async def test_the_lab_list_opens_a_lab(tui_home):
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LabListScreen)
        await pilot.press("down", "enter")  # the labs in name order: the second
        await settle(pilot)
        from labs.catalog import LABS

        second = sorted(LABS)[1]  # the list is in name order; a new lab may come first
        assert isinstance(app.screen, LabScreen) and app.screen.spec.name == second
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert app.screen is app.screen_stack[0]


@run
async def test_the_lab_list_lists_the_exercises_and_enter_opens_the_attempt(tui_home,
                                                                            monkeypatch,
                                                                            tmp_path):
    import sys

    from labs.catalog import EXERCISES, LABS

    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[-1], 'a').write('# seen\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 30)) as pilot:
        await ready(pilot)
        await pilot.press("l")
        await settle(pilot)
        options = app.screen.query_one("#lab-list")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == [*sorted(LABS), "exercises-heading",
                       *(f"exercise:{n}" for n in sorted(EXERCISES))]
        # down past the labs (the heading can't be highlighted) to the first exercise
        await pilot.press(*["down"] * len(LABS), "enter")
        await settle(pilot)
        first = sorted(EXERCISES)[0]
        attempt = tui_home / "exercises" / f"{first.replace('-', '_')}.py"
        assert attempt.read_text().endswith("# seen\n") and "NotImplementedError" in \
            attempt.read_text()


PREDICT_DECK = """
## steps
Predict: How many steps does the trace show?
Choices: 2 | 3 | 4
Lab: transformer-trace
Reveal: steps
A: Three, here.
"""


@pytest.fixture
def predict_home(tui_home):
    """tui_home with one more deck, AAA, whose one card is PREDICT_DECK's."""
    write_deck(tui_home / "decks", "p.md", PREDICT_DECK, deck_id="aaa", deck_name="AAA")
    return tui_home


async def study_the_predict_card(pilot):
    """Review the AAA deck, whose one card is PREDICT_DECK's: its guess box has focus."""
    await ready(pilot)
    await pilot.press("down", "enter")  # All decks, then AAA
    await settle(pilot)
    screen = pilot.app.screen
    assert screen.card.id == "aaa/steps" and screen.focused.id == "guess"
    return screen


@run
async def test_a_predict_card_runs_its_lab_and_shows_the_guess_beside_the_measure(predict_home):
    app = make_app(predict_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await study_the_predict_card(pilot)
        await pilot.press("space")  # typed into the guess, not a reveal
        assert not screen.revealed
        await pilot.press("backspace", "2", "enter")
        await wait_for(pilot, lambda: screen.revealed)
        verdict = text_of(screen.query_one("#verdict"))
        assert "You predicted: 2" in verdict and "measured: 3" in verdict
        assert "not this time" in verdict
        assert lab_runs(predict_home)[-1][0] == "transformer-trace"
        await pilot.press("3")
        assert db_reviews(predict_home) == [("aaa/steps", 3)]


@run
async def test_esc_leaves_the_prediction_box_so_the_review_keys_work(predict_home):
    app = make_app(predict_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await study_the_predict_card(pilot)
        await pilot.press("b")  # in the box, b is a letter of the guess
        assert screen.query_one("#guess").value == "b" and screen.card.id == "aaa/steps"
        await pilot.press("escape")  # out of the box, still on the card
        assert screen is app.screen and screen.focused.id != "guess"
        assert "Keys work now" in text_of(screen.query_one("#predict-status"))
        await pilot.press("b")  # now b buries the card
        await settle(pilot)
        assert screen.card is None or screen.card.id != "aaa/steps"
        await pilot.press("u")  # and u brings it back, into its box again
        await settle(pilot)
        assert screen.card.id == "aaa/steps" and screen.focused.id == "guess"


@run
async def test_without_the_labs_extra_the_lab_screen_says_how_to_add_it(tui_home, monkeypatch):
    from labs import installed

    monkeypatch.setattr(installed, "missing", lambda: "torch")
    app = make_app(tui_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, LabListScreen)  # the list reads without torch
        assert [n.message for n in app.said] == [installed.HINT]
        await pilot.press("enter")  # a lab
        await settle(pilot)
        assert isinstance(app.screen, LabListScreen)
        assert [n.message for n in app.said] == [installed.HINT] * 2
        await pilot.press("escape")
        await settle(pilot)
        app.open_exercise("attention")  # a card's x, the list's exercises, Browse's x
        await settle(pilot)
        assert [n.message for n in app.said] == [installed.HINT] * 3
        assert not (tui_home / "exercises").exists()


@run
async def test_without_the_labs_extra_a_predict_card_says_how_to_add_them(predict_home,
                                                                          monkeypatch):
    from labs import installed

    monkeypatch.setattr(installed, "missing", lambda: "torch")
    app = make_app(predict_home, lab_runner=FakeRun)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await study_the_predict_card(pilot)
        await pilot.press("2", "enter")
        await settle(pilot)
        assert [n.message for n in app.said] == [installed.HINT]
        # nothing to measure with: the card's answer, graded as a card
        assert lab_runs(predict_home) == [] and screen.revealed
        await pilot.press("3")
        assert db_reviews(predict_home) == [("aaa/steps", 3)]
