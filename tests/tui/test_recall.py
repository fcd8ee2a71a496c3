"""Free recall in the app: r on Home (and the palette) opens it, the learner
writes into a TextArea, ctrl+s shows idea by idea what was named, stores the
attempt without touching any card, and ctrl+t studies the missed cards."""

from __future__ import annotations

import sqlite3

from textual.widgets import Select, TextArea

from companion.tui.screens.help import HelpScreen
from companion.tui.screens.home import HomeScreen
from companion.tui.screens.recall import RecallScreen
from companion.tui.screens.review import ReviewScreen

from ..conftest import write_deck
from .conftest import make_app, ready, run, settle, text_of

KEYED_DECK = """
## minibatch
Q: What is stochastic in SGD?
A: The gradient, estimated on a minibatch.
Tags: batching
Keys: minibatch | mini-batch

## noise-scale
Q: Which statistic predicts the critical batch size?
A: The gradient noise scale.
Tags: batching
Keys: noise scale | B_simple; critical batch size

## lr-scaling
Cloze: Multiply the batch by $k$, multiply the {{c1::learning rate}} by {{c2::$k$}}.
Tags: batching
Keys: linear scaling | learning rate
"""


def keyed(home):
    write_deck(home / "decks", "keyed.md", KEYED_DECK, deck_id="keyed", deck_name="Keyed")
    return home


def cards(home) -> list[tuple]:
    conn = sqlite3.connect(home / "companion.db")
    try:
        return conn.execute("SELECT * FROM cards ORDER BY id").fetchall()
    finally:
        conn.close()


async def open_recall(pilot) -> RecallScreen:
    await ready(pilot)
    await pilot.press("r")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RecallScreen)
    return screen


@run
async def test_r_on_home_opens_free_recall_and_f1_and_the_palette_name_it(tui_home):
    app = make_app(keyed(tui_home))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert "Free recall" in {c.title for c in app.get_system_commands(app.screen)}
        await pilot.press("question_mark")
        await settle(pilot)
        rows = {desc: (key, ident) for key, desc, _tip, ident in app.screen.rows}
        assert rows["Free recall"] == ("r", "home.recall")
        await pilot.press("escape")
        screen = await open_recall(pilot)
        select = screen.query_one("#recall-section", Select)
        assert select.value == "batching"
        assert "3 ideas to find" in text_of(screen.query_one("#recall-intro"))
        assert screen.focused is screen.query_one("#recall-text", TextArea)
        await pilot.press("f1")  # ? would be typed into the text
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = {desc: ident for _key, desc, _tip, ident in app.screen.rows}
        assert rows["Check"] == "recall.check" and rows["Study missed"] == "recall.study_missed"
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


@run
async def test_writing_checking_and_studying_the_missed_cards(tui_home):
    app = make_app(keyed(tui_home))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_recall(pilot)
        before = cards(tui_home)
        await pilot.press(*"SGD uses mini-batches; the NOISE scale")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.result is not None
        summary = text_of(screen.query_one("#recall-summary"))
        assert summary.startswith("Recalled 1 of 3 ideas (33%)")
        listed = text_of(screen.query_one("#recall-list"))
        assert "✓ What is stochastic in SGD?  named: minibatch" in listed  # its first variant
        assert "✗ Which statistic predicts the critical batch size?  missing: critical " \
               "batch size" in listed
        assert "Missed (2):" in listed
        # stored, and no card changed
        conn = sqlite3.connect(tui_home / "companion.db")
        assert conn.execute("SELECT section, ideas, recalled, missed, text FROM "
                            "recall_attempts").fetchall() == [
            ("batching", 3, 1, '["keyed/noise-scale", "keyed/lr-scaling.c1", '
             '"keyed/lr-scaling.c2"]', "SGD uses mini-batches; the NOISE scale")]
        assert cards(tui_home) == before
        assert conn.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
        # ctrl+s again stores nothing more
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert conn.execute("SELECT count(*) FROM recall_attempts").fetchone() == (1,)
        await pilot.press("ctrl+t")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert review.session.selection.card_ids == ("keyed/noise-scale", "keyed/lr-scaling.c1",
                                                     "keyed/lr-scaling.c2")
        assert review.card.id == "keyed/noise-scale"
        assert "3 chosen cards" in text_of(review.query_one("#card-where"))
        await pilot.press("space", "3")
        await settle(pilot)
        assert conn.execute("SELECT card_id, rating FROM reviews").fetchall() == [
            ("keyed/noise-scale", 3)]
        conn.close()


@run
async def test_empty_text_is_refused_and_an_unknown_section_says_what_it_meant(tui_home):
    from companion.tui.app import CompanionApp

    app: CompanionApp = make_app(keyed(tui_home))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_recall(pilot)
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert screen.result is None
        error = text_of(screen.query_one("#recall-error"))
        assert error.startswith("nothing written, so no attempt is stored")
        conn = sqlite3.connect(tui_home / "companion.db")
        assert conn.execute("SELECT count(*) FROM recall_attempts").fetchone() == (0,)
        conn.close()
        await pilot.press("escape")
        await settle(pilot)
        app.action_recall("baching")
        await settle(pilot)
        assert isinstance(app.screen, RecallScreen)
        assert any("did you mean 'batching'?" in n.message for n in app.said)


@run
async def test_stats_shows_the_same_recall_rates_as_companion_stats(tui_home, capsys):
    """Stats and `companion stats` draw stats.overview's free-recall trend:
    the first and the latest rate of each section, attempt by attempt."""
    from rich.console import Console

    from companion.cli.tables import print_stats
    from companion.recall import find_section, load_sections, save, score
    from companion.stats import overview
    from companion.tui.screens.stats import StatsScreen

    app = make_app(keyed(tui_home))
    async with app.run_test(size=(100, 60)) as pilot:
        await ready(pilot)
        batching = find_section(load_sections([tui_home / "decks"]), "batching")
        day = 86_400_000
        for offset, text in ((-2 * day, "minibatch"), (0, "minibatch and B_simple predicts "
                                                           "the critical batch size")):
            save(app.store, score(batching, text), app.clock() + offset)
        data = overview(app.store, app.settings, app.clock())
        [trend] = data.free_recall
        assert trend.section == "batching" and len(trend.attempts) == 2
        assert (trend.first, trend.latest) == (1 / 3, 2 / 3)
        assert [p.day for p in trend.attempts] == [data.today.fromordinal(
            data.today.toordinal() - 2), data.today]
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        shown = text_of(app.screen.query_one("#stats-free-recall"))
        console = Console(width=100, no_color=True)
        with console.capture() as captured:
            print_stats(data, console)
        printed = captured.get()
        for text in (shown, printed):
            row = next(line for line in text.splitlines() if "batching" in line)
            assert row.replace("│", " ").split()[:5] == ["batching", "2", "33.3%", "66.7%",
                                                         "▃▅"], text
