"""The learner's own keys: `[keymap]` in settings.toml rebinds keys by id."""

from __future__ import annotations

import pytest

from companion.settings import Settings, SettingsError, from_mapping, load, save
from companion.tui.keymap import check_keymap, key_problem
from companion.tui.screens.browse import BrowseScreen
from companion.tui.screens.home import HomeScreen
from companion.tui.screens.review import ReviewScreen

from .conftest import db_reviews, make_app, ready, run, settle


def test_keys_are_checked_against_what_textual_can_fire():
    for key in ("j", "?", "[", "f5", "ctrl+s", "shift+tab", "space", "enter",
                "question_mark", "ctrl+shift+up"):
        assert key_problem(key) is None, key
    assert "not a modifier" in key_problem("cmd+s")
    assert "not a key" in key_problem("ctrl+notakey")
    assert "not a key" in key_problem("f5x")


def test_keys_are_read_the_way_textual_reads_bindings():
    from companion.tui.keymap import _keys

    assert _keys("?, ctrl+s,j,space") == ["question_mark", "ctrl+s", "j", "space"]


def test_unknown_ids_and_bad_keys_are_left_out_and_named():
    good, problems = check_keymap({"home.browse": " f5 , B ", "again": "j",
                                   "review.good": "ctrl+nope", "nothing.here": "x"})
    assert good == {"home.browse": "f5,B"}
    assert len(problems) == 3
    assert any("'again' is not a key id (did you mean review.again?)" in p for p in problems)
    assert any(p.startswith("review.good: 'ctrl+nope'") for p in problems)
    assert any("'nothing.here' is not a key id (F1 shows" in p for p in problems)


def test_the_keymap_round_trips_through_settings_toml_and_bad_shapes_are_refused(tmp_path):
    path = tmp_path / "settings.toml"
    save(Settings(keymap={"review.again": "j", "home.study": "ctrl+s,s"}), path)
    assert '[keymap]\n"review.again" = "j"' in path.read_text()
    assert load(path).keymap == {"review.again": "j", "home.study": "ctrl+s,s"}
    with pytest.raises(SettingsError, match="keymap: expected dict"):
        from_mapping({"keymap": "j"})
    with pytest.raises(SettingsError, match="keymap: review.again: expected keys as text"):
        from_mapping({"keymap": {"review.again": 1}})
    with pytest.raises(SettingsError, match="keymap: review.again: expected keys as text"):
        from_mapping({"keymap": {"review.again": "  "}})


@run
async def test_rebound_keys_work_show_in_help_and_the_old_key_is_free(tui_home):
    settings = Settings(timezone="UTC", theme="textual-dark",
                        keymap={"home.browse": "f5", "review.reveal": "v",
                                "review.again": "j"})
    app = make_app(tui_home, settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")  # no longer Browse
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("question_mark")
        await settle(pilot)
        keys = {desc: key for key, desc, _tip, _id in app.screen.rows}
        assert keys["Browse"] == "f5"
        await pilot.press("escape")
        await pilot.press("f5")
        await settle(pilot)
        assert isinstance(app.screen, BrowseScreen)
        await pilot.press("escape")
        await pilot.press("s")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        card = screen.card.id
        assert str(screen.query_one("#reveal").label) == "Show answer  v"
        await pilot.press("v")
        assert screen.revealed
        assert str(screen.query_one("#grade-1").label).startswith("j Again · ")
        assert str(screen.query_one("#grade-2").label).startswith("2 Hard · ")
        await pilot.press("j")
        await settle(pilot)
        assert db_reviews(tui_home) == [(card, 1)]


@run
async def test_a_bad_entry_is_named_and_the_rest_still_apply(tui_home):
    settings = Settings(timezone="UTC", theme="textual-dark",
                        keymap={"home.brwse": "f5", "home.stats": "f6"})
    app = make_app(tui_home, settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        said = [n.message for n in app.said]
        assert any("'home.brwse' is not a key id (did you mean home.browse?)" in m
                   for m in said), said
        await pilot.press("f6")
        await settle(pilot)
        assert type(app.screen).__name__ == "StatsScreen"


def test_a_key_another_binding_uses_is_left_out_unless_that_one_moves_too():
    good, problems = check_keymap({"review.again": "u"})
    assert good == {}
    assert problems == ["review.again: u is already review.undo's key on the same screen "
                        "(rebind review.undo too, or pick another key)"]
    # A swap is fine, and so is a key two bindings shared to begin with.
    swap = {"review.again": "u", "review.undo": "1"}
    assert check_keymap(swap) == (swap, [])
    assert check_keymap({"review.reveal": "space,enter,v"})[1] == []
    # The app's own keys count on every screen: ctrl+q quits from anywhere.
    assert "is already quit's key" in check_keymap({"browse.lab": "ctrl+q"})[1][0]


@run
async def test_a_taken_key_keeps_its_default_binding_and_says_so(tui_home):
    settings = Settings(timezone="UTC", theme="textual-dark", keymap={"review.again": "u"})
    app = make_app(tui_home, settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        said = [n.message for n in app.said]
        assert any("review.again: u is already review.undo's key" in m for m in said), said
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("space", "1")  # Again keeps its key; u still undoes
        await settle(pilot)
        assert [rating for _card, rating in db_reviews(tui_home)] == [1]
        await pilot.press("u")
        await settle(pilot)
        assert db_reviews(tui_home) == []
