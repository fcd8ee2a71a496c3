"""The app and the command line show the same thing for the same input: a
trace step's cells and a heatmap (`companion lab run` against the Lab screen),
and a predict card's verdict (`companion review --plain` against Review)."""

from __future__ import annotations

import io
import re
from functools import partial

import pytest
from rich.console import Console
from rich.text import Text
from textual.geometry import Region

from labs import events as ev
from labs.render import RichRenderer

from ..conftest import write_deck
from .conftest import FakeRun, demo_lab, make_app, ready, run, settle, text_of, wait_for

WIDE = [[round(0.37 * r - 0.011 * c, 4) for c in range(32)] for r in range(3)]  # 3 × 32
WORDS = ["the", "cat", "sat", "on", "the", "mat"]
PATTERN = [[round(1 / (i + 1), 4) if j <= i else 0.0 for j in range(6)] for i in range(6)]
STEP = ev.TraceStep(1, "feed-forward", "the hidden layer, before the ReLU", {"hidden": [3, 32]},
                    {"hidden": WIDE, "scale": 2.8284271})
ATTENTION = ev.Heatmap("attention pattern, head 1 (row attends to column)", PATTERN, WORDS, WORDS)
SURFACE = ev.Heatmap("loss over (w, b)", [[(i - 12) ** 2 + (j - 12) ** 2 for j in range(25)]
                                          for i in range(25)],
                     [f"b={i}" for i in range(25)], [f"w={j}" for j in range(25)])


@pytest.fixture
def demo(monkeypatch):
    from labs import catalog

    monkeypatch.setitem(catalog.LABS, "demo", demo_lab())


async def lab_tab(pilot, tab: str):
    """Run the demo lab on STEP, ATTENTION and SURFACE, and show `tab`."""
    app = pilot.app
    await ready(pilot)
    app.open_lab("demo")
    await settle(pilot)
    await pilot.press("ctrl+r")
    screen = app.screen
    await wait_for(pilot, lambda: not screen.running and screen.runs)
    screen.query_one("#lab-tabs").active = tab
    await settle(pilot)
    return screen


def drawn(widget) -> list[list[tuple[str, tuple[int, int, int] | None]]]:
    """What a widget draws, line by line, as (character, background) pairs."""
    lines = []
    for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height)):
        cells = []
        for segment in strip:
            bg = segment.style.bgcolor if segment.style else None
            triplet = tuple(bg.triplet) if bg is not None and bg.triplet else None
            cells.extend((ch, triplet) for ch in segment.text)
        lines.append(cells)
    return lines


def text_lines(cells) -> list[str]:
    lines = ["".join(ch for ch, _ in line).rstrip() for line in cells]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def printed(events, width: int, colour: bool = False):
    """What `companion lab run` prints for `events` on a console `width` wide, as
    (character, background) pairs per line."""
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=colour, color_system="truecolor"
                      if colour else None, legacy_windows=False)
    render = RichRenderer(console)
    for event in events:
        render(event)
    render.close()
    lines = []
    for line in Text.from_ansi(out.getvalue()).split("\n"):
        cells = []
        for segment in line.render(console):
            bg = segment.style.bgcolor if segment.style else None
            triplet = tuple(bg.triplet) if bg is not None and bg.triplet else None
            cells.extend((ch, triplet) for ch in segment.text)
        lines.append(cells)
    return lines


@run
async def test_the_stepper_shows_a_trace_step_as_lab_run_prints_it(tui_home, demo):
    app = make_app(tui_home, lab_runner=partial(FakeRun, script=[
        ev.Started("demo", {}, "cpu", 0), STEP, ev.Result({"steps": 1})]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await lab_tab(pilot, "trace")
        body = screen.query_one("#stepper .trace-body")
        in_app = text_lines(drawn(body))
        width = body.content_size.width
    assert in_app[0].startswith("Step 1 of 1: feed-forward") and in_app[1] == ""
    # the panel `lab run` draws the step in leaves its contents the stepper's width
    panel = text_lines(printed([STEP], width + 4))
    assert panel[0].startswith("╭─ 1. feed-forward") and panel[-1].startswith("╰")
    inside = [line[2:-2].rstrip() for line in panel[1:-1]]
    assert in_app[2:] == inside
    shown = "\n".join(in_app)
    assert "…" not in shown and "+20" not in shown
    for row in WIDE:  # all 32 columns, each number with the matrix's three decimals
        assert all(f"{v:.3f}" in shown for v in row)
    assert re.search(r"\b31\b", shown) and "scale: 2.828" in shown


@pytest.mark.parametrize("event", [ATTENTION, SURFACE], ids=["numbers", "picture"])
def test_the_heatmap_widget_draws_what_lab_run_prints(tui_home, demo, event):
    @run
    async def body():
        app = make_app(tui_home, lab_runner=partial(FakeRun, script=[
            ev.Started("demo", {}, "cpu", 0), event, ev.Result({"steps": 1})]))
        async with app.run_test(size=(80, 40)) as pilot:
            screen = await lab_tab(pilot, "heatmaps")
            widget = screen.query_one("Heatmap")
            return drawn(widget), widget.content_size.width

    in_app, width = body()
    on_console = printed([event], width, colour=True)
    assert text_lines(in_app) == text_lines(on_console)
    coloured = 0
    for app_line, console_line in zip(in_app, on_console):
        for (ch, app_bg), (_, console_bg) in zip(app_line, console_line):
            if console_bg is not None:  # a cell of the map: the same colour in both
                coloured += 1
                assert app_bg == console_bg
    cells = sum(len(row) for row in event.values)
    assert coloured >= cells  # every value has its coloured cell, wide as it may be
    if event is ATTENTION:  # small enough to read its numbers, lined up
        assert "the  1.00 0.00" in "\n".join(text_lines(in_app))


# -- predict, then run: one verdict on both faces ------------------------------

SUMMARY = {"examples_to_target": {"16": 3200, "256": 9000},
           "fgsm_accuracy": {"0": 0.98, "10": 0.2345}}

CHOICES = ("16 | 256", "argmin examples_to_target")
FREE = ("", "fgsm_accuracy.10")

CASES = [
    (CHOICES, "16", "You predicted: 16 · measured: 16 (16 → 3200, 256 → 9000) — right"),
    (CHOICES, "256",
     "You predicted: 256 · measured: 16 (16 → 3200, 256 → 9000) — not this time"),
    (CHOICES, "", "You predicted: (no guess) · measured: 16 (16 → 3200, 256 → 9000)"),
    # no Choices: the card does not say how near is right, so no verdict, near or far
    (FREE, "0.23", "You predicted: 0.23 · measured: 0.2345"),
    (FREE, "0.9", "You predicted: 0.9 · measured: 0.2345"),
    (FREE, "0.2345", "You predicted: 0.2345 · measured: 0.2345"),
    (FREE, "About a Quarter", "You predicted: About a Quarter · measured: 0.2345"),
    (("", "fgsm_accuracy.20"), "0.1",
     "The lab ran, but this card's Reveal: does not fit its result: the lab's result has "
     "no 'fgsm_accuracy.20' (at '20' it has: 0, 10)"),
]


def predict_deck(home, choices: str, reveal: str) -> None:
    lines = ["## guess", "Predict: What will the lab measure?"]
    if choices:
        lines.append(f"Choices: {choices}")
    lines += ["Lab: transformer-trace", f"Reveal: {reveal}", "A: What it measured."]
    write_deck(home / "decks", "p.md", "\n".join(lines) + "\n", deck_id="aaa",
               deck_name="AAA")


def runner():
    return partial(FakeRun, script=[ev.Started("transformer-trace", {}, "cpu", 0),
                                    ev.Result(SUMMARY)])


def line_mode_verdict(home, guess: str) -> str:
    from companion.cli.line_review import run_plain_review
    from companion.deck_sync import sync_decks
    from companion.settings import Settings
    from companion.store import Store

    store = Store(home / "companion.db")
    try:
        sync_decks(store, [home / "decks"])
        out = io.StringIO()
        run_plain_review(store, Settings(timezone="UTC"), deck_id="aaa",
                         stdin=io.StringIO(f"{guess}\nq\n"), stdout=out, lab_runner=runner())
    finally:
        store.close()
    return next(line for line in out.getvalue().splitlines()
                if line.startswith(("You predicted:", "The lab ran")))


async def app_verdict(home, guess: str) -> str:
    app = make_app(home, lab_runner=runner())
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("down", "enter")  # All decks, then AAA
        await settle(pilot)
        screen = app.screen
        assert screen.card.id == "aaa/guess" and screen.focused.id == "guess"
        screen.query_one("#guess").value = guess
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.revealed)
        return text_of(screen.query_one("#verdict"))


@pytest.mark.parametrize("card, guess, expected", CASES, ids=[
    "choices-right", "choices-wrong", "choices-no-guess", "free-near", "free-far",
    "free-exact", "free-text", "reveal-misfits"])
def test_line_mode_and_the_app_give_a_prediction_the_same_verdict(tui_home, card, guess,
                                                                  expected):
    predict_deck(tui_home, *card)
    in_app = run(app_verdict)(tui_home, guess)
    assert in_app == expected
    # line mode, on a fresh copy of the card (the app's run graded nothing)
    assert line_mode_verdict(tui_home, guess) == expected
