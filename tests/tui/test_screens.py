"""Home, Browse, Stats, Settings, help and the command palette, driven by keys."""

from __future__ import annotations

import asyncio
import tomllib

from companion import progress
from companion.scheduler import LearnerDay
from companion.tui.screens.browse import BrowseScreen
from companion.tui.screens.help import HelpScreen
from companion.tui.screens.home import HomeScreen
from companion.tui.screens.settings import ConfirmScreen, SettingsScreen
from companion.tui.screens.stats import StatsScreen

from .conftest import T0, browse_search, make_app, ready, run, settle, text_of, wait_for


@run
async def test_home_shows_each_deck_with_its_counts_and_the_days_work(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        data = app.screen.data
        assert [d.id for d in data.decks] == ["greek", "test"]
        table = app.screen.query_one("#decks")
        assert table.row_count == 3  # All decks, then each deck
        # The streak, counted here by hand: UTC days that start at 04:00.
        hour, day_ms = 3_600_000, 86_400_000
        today_start = (T0 - 4 * hour) // day_ms * day_ms + 4 * hour

        def answered_on(k):  # answers given k days before today
            start = today_start - k * day_ms
            return app.store.conn.execute(
                "SELECT count(*) FROM reviews WHERE reviewed_at >= ? AND reviewed_at < ?",
                (start, start + day_ms)).fetchone()[0]

        k = 0 if answered_on(0) else 1
        streak = 0
        while answered_on(k + streak):
            streak += 1
        assert streak > 1 and data.streak == streak
        assert sum(data.calendar.values()) == data.reviews > 0
        summary = str(app.screen.query_one("#home-summary").render())
        assert f"streak {streak} days" in summary and "0 answers today" in summary


@run
async def test_home_keys_open_each_screen_and_escape_comes_back(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for key, screen_type in (("b", BrowseScreen), ("t", StatsScreen),
                                 ("comma", SettingsScreen)):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen_type), key
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen), key


@run
async def test_question_mark_lists_the_keys_of_the_screen(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = {desc: key for key, desc, _tip, _id in app.screen.rows}
        assert keys["Study"] == "space" and keys["Browse"] == "b" and keys["Keys"] == "?/F1"
        ids = {desc: ident for _key, desc, _tip, ident in app.screen.rows}
        assert ids["Study"] == "home.study" and ids["Browse"] == "home.browse"
        await pilot.press("escape")
        await pilot.press("s")
        await settle(pilot)
        await pilot.press("f1")  # F1 works everywhere
        await settle(pilot)
        keys = {desc: key for key, desc, _tip, _id in app.screen.rows}
        assert keys["Show answer"].startswith("space/") and keys["Undo"] == "u"
        assert keys["Suspend"] == "s" and keys["Bury"] == "b"


def test_every_binding_has_a_description_and_a_unique_id():
    from companion.tui.bindings import SCOPES

    seen = set()
    for scope, declared in SCOPES.items():
        for binding in declared:
            assert binding.description and binding.tooltip and binding.id, (scope, binding)
            assert binding.id not in seen, binding.id
            seen.add(binding.id)
            # An id says whose key it is: "stats.reload"; the app's own are bare.
            assert binding.id.startswith(f"{scope}.") or scope == "app", binding.id


def test_every_screen_and_widget_declares_its_keys_in_the_table_the_keymap_reads():
    import importlib
    import inspect
    import pkgutil

    from textual.dom import DOMNode

    from companion.tui import app, bindings, screens, widgets

    tables = list(bindings.SCOPES.values())
    declaring = [app.CompanionApp]
    for package in (screens, widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            declaring += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                          if issubclass(cls, DOMNode) and cls.__module__ == module.__name__
                          and "BINDINGS" in vars(cls)]
    assert len(declaring) == len(tables)  # one scope each, none left out
    for cls in declaring:
        assert cls.BINDINGS in tables, cls  # exactly one table, nothing added


def test_every_screen_is_a_companion_screen_with_a_title():
    from companion.tui.screens import browse, home, lab, review, settings, stats
    from companion.tui.screens.base import CompanionScreen

    for cls in (home.HomeScreen, review.ReviewScreen, browse.BrowseScreen, stats.StatsScreen,
                settings.SettingsScreen, lab.LabListScreen, lab.LabScreen):
        assert issubclass(cls, CompanionScreen), cls
        assert cls.SCREEN_TITLE != CompanionScreen.SCREEN_TITLE and cls.KEYS_INTRO, cls


@run
async def test_the_command_palette_offers_the_screens_and_the_screens_keys(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await settle(pilot)
        names = [c.title for c in app.get_system_commands(app.screen)]
        for wanted in ("Study", "Browse cards", "Statistics", "Labs", "Settings",
                       "Show answer (space)", "Suspend (s)", "Keys (?)"):
            assert wanted in names, wanted
        command = next(c for c in app.get_system_commands(app.screen)
                       if c.title == "Show answer (space)")
        await command.callback()
        assert app.screen.revealed


@run
async def test_browse_searches_by_text_tag_state_and_deck(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen

        def search(text):
            return browse_search(pilot, text)

        assert len(await search("")) == 7
        assert await search("fifth") == ["greek/epsilon"]
        assert await search("tag:greek") == ["greek/epsilon", "greek/zeta"]
        assert await search("tag:letters -deck:greek") == [
            "test/alpha", "test/gamma.c1", "test/gamma.c2"]
        assert await search("has:lab") == ["test/beta"]
        assert await search("is:new") == []  # forty days of study: all seen
        screen.query_one("#deck-filter").value = "greek"
        assert await search("") == ["greek/epsilon", "greek/zeta"]
        assert await search("foo:bar") == []
        assert "foo: is not a filter" in text_of(screen.query_one("#browse-count"))


@run
async def test_a_slower_older_search_never_overwrites_a_newer_one(history_home, monkeypatch):
    # "alpha" is still being searched when "delta" is typed and found: the
    # rows must stay delta's when alpha's answer finally comes back.
    import threading

    from companion import search

    real = search.search_cards
    started, release, returned = threading.Event(), threading.Event(), threading.Event()

    def slow_for_alpha(store, text, *args, **kwargs):
        result = real(store, text, *args, **kwargs)
        if text == "alpha":
            started.set()
            release.wait(10)
            returned.set()
        return result

    monkeypatch.setattr(search, "search_cards", slow_for_alpha)
    app = make_app(history_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#cards")
        screen.query_one("#search").value = "alpha"
        await wait_for(pilot, started.is_set)
        screen.query_one("#search").value = "delta"
        await wait_for(pilot, lambda: screen.result_ids == ["test/delta"])
        release.set()
        await wait_for(pilot, returned.is_set)
        for _ in range(10):  # time for alpha's thread to post, and for the app to handle it
            await asyncio.sleep(0.02)
            await pilot.pause()
        await settle(pilot)
        assert screen.result_ids == ["test/delta"]
        assert [key.value for key in table.rows] == ["test/delta"]
        assert screen.detail is not None and screen.detail.card.id == "test/delta"


@run
async def test_a_result_that_a_newer_request_superseded_is_not_drawn(history_home):
    from companion.search import SearchResult
    from companion.tui.messages import HomeLoaded, SearchDone

    app = make_app(history_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        home = app.screen
        shown = home.data
        home.post_message(HomeLoaded(home.latest_requests[HomeLoaded] - 1, None))
        await settle(pilot)
        assert home.data is shown
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert len(screen.result_ids) == 7
        latest = screen.latest_requests[SearchDone]
        screen.post_message(SearchDone(latest - 1, SearchResult([], 0)))
        await settle(pilot)
        assert len(screen.result_ids) == 7
        screen.post_message(SearchDone(latest, SearchResult([], 0)))  # the latest is drawn
        await settle(pilot)
        assert screen.result_ids == []


@run
async def test_slash_goes_to_the_search_and_is_not_typed_into_it(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        search = app.screen.query_one("#search")
        assert search.has_focus
        await pilot.press("slash", "f", "i", "f", "t", "h")
        assert search.value == "fifth"
        await pilot.press("slash", "x")  # inside a search, / is a character
        assert search.value == "fifth/x"
        await pilot.press("down")
        assert not search.has_focus
        await pilot.press("slash")
        assert search.has_focus


def test_the_question_column_drops_cloze_markup_and_cuts_at_a_word():
    from companion.tui.screens.browse import _cut

    assert _cut("**[...]** comes after beta.", 40) == "[...] comes after beta."
    assert _cut("Why wrap every transformer sub-layer in a residual connection?", 30) == \
        "Why wrap every transformer…"


@run
async def test_browse_detail_shows_history_and_memory_and_suspends(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#search").value = "alpha"
        await settle(pilot)
        await wait_for(pilot, lambda: screen.detail is not None)
        card = screen.detail.card
        assert card.id == "test/alpha" and screen.detail.history
        head = str(screen.query_one("#detail-head").render())
        assert "stability" in head and "difficulty" in head and "recall now" in head
        assert len(screen.detail.history) == card.memory.reps
        await pilot.press("down")  # to the results, then s suspends
        await pilot.press("s")
        await settle(pilot)
        assert app.store.conn.execute(
            "SELECT suspended FROM cards WHERE id = 'test/alpha'").fetchone()[0] == 1
        await wait_for(pilot, lambda: screen.detail.card.suspended)
        await pilot.press("s")
        await settle(pilot)
        assert app.store.conn.execute(
            "SELECT suspended FROM cards WHERE id = 'test/alpha'").fetchone()[0] == 0


@run
async def test_stats_show_the_logs_retention_and_forecast(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t")
        await settle(pilot)
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#forecast").values != [])
        reviews = app.store.reviews()
        day = LearnerDay(app.settings)
        expected = progress.true_retention(reviews, day)
        assert expected.total > 0
        text = text_of(screen.query_one("#stats-retention"))
        assert f"{expected.passed} / {expected.total}" in text
        forecast = progress.forecast(app.store.due_times(), day, T0)
        assert screen.query_one("#forecast").values == forecast


@run
async def test_settings_are_validated_on_the_field_and_saved(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("comma")
        await settle(pilot)
        screen = app.screen
        screen.query_one("#desired_retention").value = "1.5"
        screen.query_one("#reviews_per_day").value = ""  # unreadable, beside out of range
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, SettingsScreen)
        error = screen.query_one("#error-desired_retention")
        assert error.display and "between 0.7 and 0.99" in str(error.render())
        error = screen.query_one("#error-reviews_per_day")
        assert error.display and "required: a whole number" in str(error.render())
        assert not (tui_home / "settings.toml").exists()  # nothing saved
        screen.query_one("#reviews_per_day").value = "200"
        screen.query_one("#new_per_day").value = "35"
        screen.query_one("#desired_retention").value = "0.85"
        screen.query_one("#theme").value = "ansi-dark"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        saved = tomllib.loads((tui_home / "settings.toml").read_text())
        assert saved["desired_retention"] == 0.85 and saved["new_per_day"] == 35
        assert saved["theme"] == "ansi-dark" and app.theme == "ansi-dark"
        assert app.settings.new_per_day == 35


@run
async def test_the_app_starts_in_the_settings_theme_and_names_an_unknown_one(tui_home):
    from companion.settings import Settings

    app = make_app(tui_home, settings=Settings(timezone="UTC", theme="ansi-dark"))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        # The terminal's own colours: Home's text is drawn in ANSI colours, as
        # after choosing ansi-dark in Settings.
        assert app.theme == "ansi-dark" and app.has_class("-theme-ansi-dark")
        assert app.current_theme.ansi and app.native_ansi_color
        assert not any("theme" in n.message for n in app.said)
    app = make_app(tui_home, settings=Settings(timezone="UTC", theme="no-such-theme"))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.theme == "textual-dark"
        assert any("theme 'no-such-theme' is unknown; using textual-dark" in n.message
                   for n in app.said)


@run
async def test_a_deck_problem_is_a_notification_not_a_crash(tui_home):
    (tui_home / "decks" / "broken.md").write_text("no front matter\n", encoding="utf-8")
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        messages = [n.message for n in app.said]
        assert any("broken.md:1" in m for m in messages)
        assert [d.id for d in app.screen.data.decks] == ["greek", "test"]


@run
async def test_an_unusable_database_ends_the_app_with_one_line(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "companion.db").write_bytes(b"not a database at all, " * 100)
    monkeypatch.setenv("COMPANION_HOME", str(home))
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2
    assert (home / "companion.db").read_bytes().startswith(b"not a database")  # untouched


@run
async def test_export_from_the_app_writes_the_same_files_as_the_cli(history_home, tmp_path):
    import json

    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for fmt in ("json", "csv"):
            worker = app.export(fmt, folder=tmp_path)
            await worker.wait()
            assert worker.result is not None and worker.result.exists()
        await settle(pilot)
        assert any("Wrote" in str(n.message) for n in app.said)
    [exported] = tmp_path.glob("companion-*.json")
    doc = json.loads(exported.read_text())
    assert doc["format"] == "companion-export" and len(doc["reviews"]) > 0
    [log] = tmp_path.glob("companion-*.csv")
    assert log.read_text().splitlines()[0] == (
        "card_id,review_time,review_rating,review_state,review_duration")
    assert not list(tmp_path.glob("*.part"))


@run
async def test_the_app_takes_the_daily_backup_like_every_command(history_home):
    for _ in range(2):  # the second start, the same day, takes none
        app = make_app(history_home)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
    backups = list((history_home / "backups").glob("companion-*.db"))
    assert len(backups) == 1


@run
async def test_a_backup_that_fails_is_a_warning_and_the_app_goes_on(history_home, monkeypatch):
    from companion.store import Store

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Store, "daily_backup", full_disk)
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        said = [(n.title, n.message) for n in app.said]
        assert ("Backup", "daily backup failed: [Errno 28] No space left on device") in said
        assert app.screen.data.reviews > 0


@run
async def test_browse_forgets_and_reschedules_the_card_as_the_cli_does(history_home):
    from dataclasses import replace

    app = make_app(history_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        db = app.store.conn
        reviewed = [r[0] for r in db.execute(
            "SELECT id FROM cards WHERE state = 2 AND suspended = 0 ORDER BY id")]
        assert len(reviewed) >= 2
        first, second = reviewed[:2]
        screen.query_one("#search").value = first.split("/")[1]
        await settle(pilot)
        await wait_for(pilot, lambda: screen.detail is not None and screen.detail.card.id == first)
        reps = screen.detail.card.memory.reps
        await pilot.press("down", "f")  # asks first; esc keeps the card as it is
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert db.execute("SELECT state FROM cards WHERE id = ?", (first,)).fetchone() == (2,)
        await pilot.press("f")
        await settle(pilot)
        logged = len(screen.detail.history)
        assert f"its {logged} review" in str(app.screen.query_one(
            "#confirm-question").render())
        await pilot.press("enter")
        await settle(pilot)
        await wait_for(pilot, lambda: screen.detail.card.memory.state == 0)
        assert db.execute("SELECT state, reps FROM cards WHERE id = ?", (first,)).fetchone() \
            == (0, reps)
        assert len(screen.detail.history) == logged == reps  # the history stays
        app.said.clear()
        await pilot.press("f")  # new already: nothing to ask
        await settle(pilot)
        assert app.screen is screen
        assert any(f"{first} is new already" in n.message for n in app.said)
        # Reschedule under a changed retention moves the due date as `reschedule` would
        app.settings = replace(app.settings, desired_retention=0.75)
        due = db.execute("SELECT due FROM cards WHERE id = ?", (second,)).fetchone()[0]
        screen.query_one("#search").value = second.split("/")[1]
        await settle(pilot)
        await wait_for(pilot, lambda: screen.detail.card.id == second)
        await pilot.press("down", "r")
        await settle(pilot)
        moved = db.execute("SELECT due FROM cards WHERE id = ?", (second,)).fetchone()[0]
        assert moved > due  # a lower retention: a longer interval
        assert db.execute("SELECT count(*) FROM card_events WHERE card_id = ?",
                          (second,)).fetchone()[0] == 1


@run
async def test_browse_shows_a_buried_card_as_buried(tui_home):
    """A card buried in a review says so in Browse, as a suspended one does:
    not just "new", which it would be again tomorrow."""
    app = make_app(tui_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("s")
        await settle(pilot)
        buried = app.screen.card.id
        await pilot.press("b")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, BrowseScreen)
        screen.query_one("#search").value = "is:buried"
        await settle(pilot)
        await wait_for(pilot, lambda: screen.result_ids == [buried]
                       and screen.detail is not None and screen.detail.card.id == buried)
        table = screen.query_one("#cards")
        assert str(table.get_cell(buried, "state")) == "buried"
        head = str(screen.query_one("#detail-head").render())
        assert "new · buried until tomorrow" in head
        # the other cards are not
        screen.query_one("#search").value = ""
        await settle(pilot)
        await wait_for(pilot, lambda: len(screen.result_ids) > 1)
        states = {key: str(table.get_cell(key, "state")) for key in screen.result_ids}
        assert [key for key, state in states.items() if state == "buried"] == [buried]


@run
async def test_home_study_button_counts_and_studies_the_highlighted_deck(tui_home):
    """The big button next to "Enter study" does what Enter does: "Study now ·
    7 cards" on All decks, the highlighted deck's count on a deck, and a click
    studies that deck (it said every deck's count and studied every deck)."""
    from textual.widgets import Button

    from companion.tui.screens.review import ReviewScreen

    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        home = app.screen
        button = home.query_one("#study", Button)
        counts = {deck.id: deck.counts.total for deck in home.data.decks}
        assert str(button.label) == f"Study now · {home.data.total.total} cards"
        table = home.query_one("#decks")
        table.move_cursor(row=table.get_row_index("greek"))
        await settle(pilot)
        assert 0 < counts["greek"] < home.data.total.total
        assert str(button.label) == f"Study now · {counts['greek']} cards"
        await pilot.click("#study")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen) and review.deck_id == "greek"


@run
async def test_browse_keys_from_the_search_box_say_where_the_card_keys_are(tui_home):
    """F1 from the search box (where Browse opens) lists only the box's keys, as
    letters type there: the intro says the card keys work in the list."""
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#search")
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        assert "Forget" not in {desc for _key, desc, _tip, _id in app.screen.rows}
        intro = text_of(app.screen.query_one("#help-intro"))
        assert "Enter or ↓ goes from the search box to the cards" in intro
        assert "f forget" in intro and "e edit" in intro
