"""Home's first frame: with the counts and the keys when the store opens in
time, "Opening your collection…" when it doesn't, and either way the store's
result acted on once."""

from __future__ import annotations

import time

from companion.tui.screens import home as home_module
from companion.tui.screens.home import HomeScreen

from .conftest import make_app, ready, run


def footer_keys(screen) -> list[str]:
    return [key.description for key in screen.query("FooterKey")]


@run
async def test_the_first_frame_shows_the_counts_and_the_keys(tui_home, monkeypatch):
    # However slow the machine running the tests, the first frame waits for the store.
    monkeypatch.setattr(home_module, "FIRST_FRAME_WAIT", 30.0)
    (tui_home / "decks" / "broken.md").write_text("no front matter\n", encoding="utf-8")
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        home = app.screen
        # Nothing awaited yet: this is what the first frame draws.
        assert isinstance(home, HomeScreen) and home.data is not None
        assert str(home.query_one("#study").label) == "Study now · 7 cards"
        assert "7 cards in 2 decks" in str(home.query_one("#home-summary").render())
        assert home.query_one("#decks").row_count == 3
        assert footer_keys(home)[:3] == ["Study", "Browse", "Stats"]
        await ready(pilot)
        # The deck problem the store worker found is said once, not once per
        # path its result took.
        assert [n.message for n in app.said if "broken.md:1" in n.message] != []
        assert len([n for n in app.said if "broken.md:1" in n.message]) == 1
        assert footer_keys(app.screen)[:3] == ["Study", "Browse", "Stats"]


@run
async def test_a_slow_store_leaves_the_first_frame_saying_opening(tui_home, monkeypatch):
    import companion.stats

    monkeypatch.setattr(home_module, "FIRST_FRAME_WAIT", 0.0)
    home_data = companion.stats.home_data

    def slow_home_data(*args, **kwargs):
        time.sleep(0.3)  # a large collection's first read
        return home_data(*args, **kwargs)

    monkeypatch.setattr(companion.stats, "home_data", slow_home_data)
    (tui_home / "decks" / "broken.md").write_text("no front matter\n", encoding="utf-8")
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        home = app.screen
        assert home.data is None
        assert str(home.query_one("#home-summary").render()) == "Opening your collection…"
        assert str(home.query_one("#study").label) == "Opening…"
        assert footer_keys(home)[:3] == ["Study", "Browse", "Stats"]
        await ready(pilot)
        assert str(home.query_one("#study").label) == "Study now · 7 cards"
        assert len([n for n in app.said if "broken.md:1" in n.message]) == 1


@run
async def test_companion_review_opens_on_the_first_card_either_way(tui_home, monkeypatch):
    from companion.tui.screens.review import ReviewScreen

    for wait in (30.0, 0.0):
        monkeypatch.setattr(home_module, "FIRST_FRAME_WAIT", wait)
        app = make_app(tui_home, start_review=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            assert isinstance(app.screen, ReviewScreen), wait
            assert len(app.screen_stack) == 2
            # Opened before Home's first frame, it still has its own rules
            # (screens.tcss): its status line is inset by a column.
            status = app.screen.query_one("#review-status")
            assert status.styles.padding.left == 1, wait


@run
async def test_the_other_screens_rules_come_after_homes_first_frame(tui_home, monkeypatch):
    from companion.tui.app import SCREENS_CSS

    monkeypatch.setattr(home_module, "FIRST_FRAME_WAIT", 30.0)
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.stylesheet.has_source(str(SCREENS_CSS))  # Home drawn without them
        await ready(pilot)
        assert app.stylesheet.has_source(str(SCREENS_CSS))


@run
async def test_a_collector_paused_for_the_start_is_back_after_the_first_frame(tui_home,
                                                                             monkeypatch):
    # `companion` alone turns the cycle collector off as it starts; once Home's
    # first frame is drawn and the store worker done, what start-up made is
    # frozen and the collector turned back on.
    import gc

    from companion.tui.app import SCREENS_CSS

    calls = []
    on = [False]  # as `companion` leaves it (the test process's own is left alone)

    def switch(to: bool) -> None:
        calls.append("enable" if to else "disable")
        on[0] = to

    monkeypatch.setattr(gc, "isenabled", lambda: on[0])
    monkeypatch.setattr(gc, "enable", lambda: switch(True))
    monkeypatch.setattr(gc, "disable", lambda: switch(False))
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(home_module, "FIRST_FRAME_WAIT", 30.0)
    app = make_app(tui_home, collector_paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert not on[0] and "freeze" not in calls
        assert not app.stylesheet.has_source(str(SCREENS_CSS))  # before the first frame
        await ready(pilot)
        assert calls[-2:] == ["freeze", "enable"] and on[0] and not app.collector_paused
    calls.clear()
    plain = make_app(tui_home)  # a collector the app did not pause is left alone
    async with plain.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
    assert "freeze" not in calls


@run
async def test_homes_first_frame_has_the_styles_a_restyle_would_give(tui_home, monkeypatch):
    # Home's first resume skips Textual's restyle of all its widgets: they were
    # styled as they mounted, and working them out again changes nothing.
    monkeypatch.setattr(home_module, "FIRST_FRAME_WAIT", 30.0)
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)):
        home = app.screen
        assert isinstance(home, HomeScreen) and home.data is not None
        nodes = list(home.walk_children(with_self=True))
        assert len(nodes) > 10
        drawn = [(node, node.styles.css) for node in nodes]
        app.update_styles(home)
        assert [(node, node.styles.css) for node in nodes] == drawn


@run
async def test_a_catch_up_that_cannot_save_ends_the_app_with_one_line(tui_home, monkeypatch,
                                                                     capsys):
    """A replay due at the start (an upgrade, new parameters) with the
    database locked by another process past the busy timeout: the app ends
    with the store's one line, status 2, not a Home saying "Opening…" for good."""
    import sqlite3

    import companion.store

    from .conftest import wait_for

    db = tui_home / "companion.db"
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('replay_needed', '1')")
    real_connect = sqlite3.connect

    class Impatient(sqlite3.Connection):  # the 10 s busy timeout, cut short for the test
        def execute(self, sql, *args):
            return super().execute("PRAGMA busy_timeout = 100" if "busy_timeout" in sql
                                   else sql, *args)

    def impatient(*args, **kwargs):
        return real_connect(*args, **{**kwargs, "timeout": 0.1, "factory": Impatient})

    holder = real_connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another companion's long rebuild, say
    monkeypatch.setattr(companion.store.sqlite3, "connect", impatient)
    try:
        app = make_app(tui_home)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.return_code is not None, timeout=20)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert app.return_code == 2
    assert "could not save: database is locked" in " ".join(capsys.readouterr().err.split())
