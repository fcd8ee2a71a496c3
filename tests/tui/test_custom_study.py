"""Custom study in the app: the dialog Home opens with c, what it checks, and
that the app and line mode study the same cards for the same choice."""

from __future__ import annotations

import io
import shutil
import tomllib

from textual.widgets import Input, Select

from companion.session import Selection
from companion.settings import Settings
from companion.tui.screens.custom_study import CustomStudyScreen
from companion.tui.screens.help import HelpScreen
from companion.tui.screens.home import HomeScreen
from companion.tui.screens.review import ReviewScreen
from companion.tui.screens.settings import SettingsScreen

from .conftest import T0, Clock, db_reviews, make_app, ready, run, settle, text_of


async def open_dialog(pilot) -> CustomStudyScreen:
    await ready(pilot)
    await pilot.press("c")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, CustomStudyScreen)
    return screen


@run
async def test_c_on_home_opens_custom_study_and_f1_lists_it(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        rows = {desc: (key, ident) for key, desc, _tip, ident in app.screen.rows}
        assert rows["Custom study"] == ("c", "home.custom_study")
        await pilot.press("escape")
        screen = await open_dialog(pilot)
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = {desc: ident for _key, desc, _tip, ident in app.screen.rows}
        assert rows["Start"] == "custom.start" and rows["Cancel"] == "custom.cancel"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("escape")  # back home, nothing changed
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert db_reviews(history_home) and app.store.meta("limit_extension") is None


@run
async def test_the_dialog_names_a_wrong_choice_and_stays(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dialog(pilot)
        screen.query_one("#tag", Input).value = "greak"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        error = text_of(screen.query_one("#custom-error"))
        assert "'greak': no card has this tag (did you mean 'greek'?" in error
        assert screen.query_one("#tag", Input).has_class("-invalid")
        screen.query_one("#tag", Input).value = ""
        screen.query_one("#kind", Select).value = "forgotten"
        screen.query_one("#days", Input).value = "0"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen and "1 or more" in text_of(
            screen.query_one("#custom-error"))


@run
async def test_review_ahead_of_a_tag_from_the_dialog(history_home):
    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dialog(pilot)
        screen.query_one("#kind", Select).value = "ahead"
        screen.query_one("#days", Input).value = "30"
        screen.query_one("#tag", Input).value = "greek"
        await pilot.press("ctrl+s")
        await settle(pilot)
        review = app.screen
        assert isinstance(review, ReviewScreen)
        assert review.session.selection.ahead_days == 30
        assert review.session.selection.tag == "greek"
        seen = []
        while review.card is not None and len(seen) < 10:
            seen.append(review.card.id)
            assert "review ahead 30 days · tag greek" in text_of(
                review.query_one("#card-where"))
            await pilot.press("space", "3")
            await settle(pilot)
        assert seen and set(seen) <= {"greek/epsilon", "greek/zeta"}
        assert len(seen) == len(set(seen))  # once each: answered, a card leaves the study


@run
async def test_raising_todays_new_limit_in_the_dialog_shows_on_home(tui_home):
    app = make_app(tui_home, settings=Settings(timezone="UTC", theme="textual-dark",
                                               new_per_day=2))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        # two a day in each deck: "test" has 5 new cards, "greek" 2
        assert app.screen.data.total.new == 4
        screen = await open_dialog(pilot)
        screen.query_one("#extra-new", Input).value = "3"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ReviewScreen)
        # raised in "all decks": each deck's limit is 5; "greek" has only 2
        assert app.screen.session.counts().new == 5 + 2
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.data.total.new == 5 + 2  # Home's counts: the same raised limits


@run
async def test_the_app_and_line_mode_study_the_same_cards_for_the_same_choice(
        history_home, tmp_path):
    """One rule: forgotten cards of the last week, answered Good, in the app and
    in `companion review --plain` on a copy of the same collection."""
    from companion.cli.line_review import run_plain_review
    from companion.store import Store

    copy = tmp_path / "copy.db"
    shutil.copy(history_home / "companion.db", copy)
    selection = Selection(forgotten_days=7, built_at=T0)
    store = Store(copy)
    out = io.StringIO()
    try:
        run_plain_review(store, Settings(timezone="UTC"), selection=selection,
                         stdin=io.StringIO("\n3\n" * 30 + "q\n"), stdout=out,
                         clock=Clock(T0))
    finally:
        store.close()
    lines = out.getvalue().splitlines()
    plain = [line.split("saved: ")[1].split()[0] for line in lines if "saved: " in line]
    plain_first_counts = next(line for line in lines if "left today:" in line)
    assert plain, out.getvalue()

    app = make_app(history_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        app.action_study(None, selection)
        await settle(pilot)
        review = app.screen
        counts = text_of(review.query_one("#left"))
        assert plain_first_counts.endswith(f"left today: {counts}")
        seen = []
        while review.card is not None and len(seen) < 30:
            seen.append(review.card.id)
            await pilot.press("space", "3")
            await settle(pilot)
    assert seen == plain


@run
async def test_settings_offer_the_new_card_order(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("comma")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        order = screen.query_one("#new_card_order", Select)
        assert order.value == "deck"
        order.value = "section"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        saved = tomllib.loads((tui_home / "settings.toml").read_text())
        assert saved["new_card_order"] == "section" and app.settings.new_card_order == "section"
