"""The Settings screen edits presets per deck (Anki's deck options presets):
a preset's fields, new (a copy), rename and delete, the preset each deck
uses, the switches of every deck; saved all at once with ctrl+s, or not at all."""

from __future__ import annotations

import tomllib

from textual.widgets import Input, Select, Switch

from companion.session import ReviewSession
from companion.settings import Settings, load
from companion.tui.screens.home import HomeScreen
from companion.tui.screens.settings import ConfirmScreen, PresetNameScreen, SettingsScreen

from .conftest import MIN, T0, Clock, make_app, ready, run, settle, text_of


def with_exam(**values) -> Settings:
    """A learner with one named preset, "exam", that the Greek deck uses."""
    return Settings(timezone="UTC", theme="textual-dark",
                    presets={"exam": {"new_per_day": 5, **values}},
                    deck_presets={"greek": "exam"})


async def open_settings(pilot) -> SettingsScreen:
    await ready(pilot)
    await pilot.press("comma")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


def value(screen, name: str) -> str:
    return str(screen.query_one(f"#{name}").value)


async def choose(pilot, select_id: str, choice: str) -> None:
    """Pick `choice` in a Select as a learner does: open it, move, enter."""
    screen = pilot.app.screen
    select = screen.query_one(f"#{select_id}", Select)
    values = [v for _, v in select._options]
    select.focus()
    await pilot.press("enter")
    await settle(pilot)
    steps = values.index(choice) - values.index(select.value)
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps))
    await pilot.press("enter")
    await settle(pilot)
    assert select.value == choice


def deck_select(screen: SettingsScreen, deck_id: str) -> Select:
    assert screen.decks is not None
    index = [d[0] for d in screen.decks].index(deck_id)
    return screen.query_one(f"#deck-{index}", Select)


def error_of(screen, name: str) -> str | None:
    error = screen.query_one(f"#error-{name}")
    return text_of(error) if error.display else None


def preset_labels(screen) -> list[str]:
    """What the preset selector offers; the first, what it shows now."""
    select = screen.query_one("#preset", Select)
    shown = text_of(select.query_one("SelectCurrent #label"))
    return [shown, *(str(label) for label, value in select._options
                     if value != select.value)]


@run
async def test_a_named_presets_edits_are_saved_as_only_what_it_changes(tui_home):
    app = make_app(tui_home, settings=with_exam())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        assert preset_labels(screen) == ["default (1 deck)", "exam (1 deck)"]
        await choose(pilot, "preset", "exam")
        # its own value, and the default's where it sets none
        assert value(screen, "new_per_day") == "5"
        assert value(screen, "desired_retention") == "0.9"
        assert value(screen, "learning_steps") == "1m 10m"
        screen.query_one("#desired_retention", Input).value = "0.95"
        screen.query_one("#learning_steps", Input).value = "5m 1h"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    saved = tomllib.loads((tui_home / "settings.toml").read_text())
    assert saved["presets"] == {"exam": {"new_per_day": 5, "desired_retention": 0.95,
                                         "learning_steps": ["5m", "1h"]}}
    assert saved["desired_retention"] == 0.9 and saved["learning_steps"] == ["1m", "10m"]
    assert saved["deck_presets"] == {"greek": "exam"}
    assert load(tui_home / "settings.toml") == app.settings
    assert app.settings.for_deck("greek").learning_steps == ["5m", "1h"]


@run
async def test_a_copy_of_a_preset_given_to_a_deck_schedules_its_cards(tui_home):
    clock = Clock()
    app = make_app(tui_home, clock,  # no fuzz: a learning step's due time exactly
                   settings=Settings(timezone="UTC", theme="textual-dark", fuzz=False))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        screen.query_one("#new_per_day", Input).value = "30"  # the default's, unsaved
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert isinstance(app.screen, PresetNameScreen)
        await pilot.press(*"cram", "enter")
        await settle(pilot)
        assert app.screen is screen and value(screen, "preset") == "cram"
        # a copy of the default as the form has it
        assert value(screen, "new_per_day") == "30"
        screen.query_one("#learning_steps", Input).value = "2m 20m"
        deck_select(screen, "greek").value = "cram"
        await settle(pilot)
        assert preset_labels(screen) == ["cram (1 deck)", "default (1 deck)"]
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        saved = tomllib.loads((tui_home / "settings.toml").read_text())
        assert saved["deck_presets"] == {"greek": "cram"}
        assert saved["presets"] == {"cram": {"learning_steps": ["2m", "20m"]}}
        settings = load(tui_home / "settings.toml")
        assert settings == app.settings
        assert settings.for_deck("greek").learning_steps == ["2m", "20m"]
        assert settings.for_deck("greek").new_per_day == 30  # the default's, inherited
        assert settings.for_deck("test").learning_steps == ["1m", "10m"]
        # Again on a new card: back after the first learning step of its deck's preset
        for deck, step in (("greek", 2), ("test", 1)):
            session = ReviewSession(app.store, app.settings, deck_id=deck, clock=clock)
            card = session.next_card()
            assert card is not None and card.deck_id == deck
            assert session.answer(card.id, 1).memory.due == T0 + step * MIN


@run
async def test_a_bad_value_in_a_named_preset_is_shown_under_its_field_and_saves_nothing(
        tui_home):
    app = make_app(tui_home, settings=with_exam())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await choose(pilot, "preset", "exam")
        screen.query_one("#desired_retention", Input).value = "0.5"
        screen.query_one("#learning_steps", Input).value = "1m 1x"
        await choose(pilot, "preset", "default")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert not (tui_home / "settings.toml").exists()  # nothing saved
        # the form shows the preset with the problems, each under its field
        assert value(screen, "preset") == "exam"
        assert error_of(screen, "desired_retention") == \
            "0.5 must be between 0.7 and 0.99 (preset exam)"
        assert "'1x' is not a step" in error_of(screen, "learning_steps")
        assert screen.query_one("#desired_retention").has_class("-invalid")
        assert error_of(screen, "new_per_day") is None
        # a problem in the default too: shown first, the other preset named
        await choose(pilot, "preset", "default")
        screen.query_one("#reviews_per_day", Input).value = ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert value(screen, "preset") == "default"
        assert error_of(screen, "reviews_per_day") == "required: a whole number"
        assert error_of(screen, "desired_retention") is None  # the default's is good
        assert "Not saved: fix the fields in red (in preset exam too)" in \
            [n.message for n in app.said]
        # fixed, it saves
        screen.query_one("#reviews_per_day", Input).value = "150"
        await choose(pilot, "preset", "exam")
        assert error_of(screen, "desired_retention") is not None  # until the next save
        screen.query_one("#desired_retention", Input).value = "0.85"
        screen.query_one("#learning_steps", Input).value = "1m 1h"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
    saved = tomllib.loads((tui_home / "settings.toml").read_text())
    assert saved["reviews_per_day"] == 150
    assert saved["presets"]["exam"]["desired_retention"] == 0.85


@run
async def test_a_preset_name_must_be_well_formed_and_new(tui_home):
    app = make_app(tui_home, settings=with_exam())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PresetNameScreen)
        field = dialog.query_one("#preset-name", Input)
        error = dialog.query_one("#preset-error")
        for name, why in (("default", '"default" is the default preset\'s name'),
                          ("Exam", "there is a preset 'Exam' already"),
                          ("my exam", "only letters, digits, - and _"),
                          ("-exam", "a name starts with a letter or a digit"),
                          ("", "give the preset a name")):
            field.value = name
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is dialog, name
            assert error.display and text_of(error) == why, name
            assert error.size.height == 1, name  # one line
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert screen.names == ["default", "exam"]


@run
async def test_switching_presets_keeps_the_edits_and_cancel_drops_them_all(tui_home):
    app = make_app(tui_home, settings=with_exam())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        screen.query_one("#desired_retention", Input).value = "0.8"
        screen.query_one("#leech_action", Select).value = "tag"
        await choose(pilot, "preset", "exam")
        # exam sets no retention of its own: it shows the default's, as edited
        assert value(screen, "desired_retention") == "0.8"
        assert value(screen, "leech_action") == "tag"
        screen.query_one("#new_per_day", Input).value = "7"
        await choose(pilot, "preset", "default")
        assert value(screen, "desired_retention") == "0.8"
        assert value(screen, "new_per_day") == "20"
        await choose(pilot, "preset", "exam")
        assert value(screen, "new_per_day") == "7"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert not (tui_home / "settings.toml").exists()
        assert app.settings == with_exam()
        screen = await open_settings(pilot)
        assert value(screen, "desired_retention") == "0.9"
        await choose(pilot, "preset", "exam")
        assert value(screen, "new_per_day") == "5"


@run
async def test_a_preset_renamed_or_deleted_takes_its_decks_along(tui_home):
    app = make_app(tui_home, settings=with_exam())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await pilot.press("f8")  # the default can't be deleted
        await settle(pilot)
        assert app.screen is screen
        # the counts follow the decks moved, on the preset shown too
        deck_select(screen, "test").value = "exam"
        await settle(pilot)
        assert preset_labels(screen) == ["default (no decks)", "exam (2 decks)"]
        deck_select(screen, "test").value = "default"
        await settle(pilot)
        assert preset_labels(screen) == ["default (1 deck)", "exam (1 deck)"]
        await choose(pilot, "preset", "exam")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert isinstance(app.screen, PresetNameScreen)
        app.screen.query_one("#preset-name", Input).value = "finals"
        await pilot.press("enter")
        await settle(pilot)
        assert preset_labels(screen) == ["finals (1 deck)", "default (1 deck)"]
        assert deck_select(screen, "greek").value == "finals"
        await pilot.press("ctrl+s")
        await settle(pilot)
    saved = load(tui_home / "settings.toml")
    assert saved.presets == {"finals": {"new_per_day": 5}}
    assert saved.deck_presets == {"greek": "finals"}

    app = make_app(tui_home, settings=saved)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        await choose(pilot, "preset", "finals")
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert "1 deck using it goes back to default" in text_of(
            app.screen.query_one("#confirm-question"))
        await pilot.press("escape")  # kept
        await settle(pilot)
        assert screen.names == ["default", "finals"]
        await pilot.press("f8")
        await settle(pilot)
        await pilot.press("enter")  # on Delete
        await settle(pilot)
        assert app.screen is screen and screen.names == ["default"]
        assert value(screen, "preset") == "default" and value(screen, "new_per_day") == "20"
        assert deck_select(screen, "greek").value == "default"
        assert preset_labels(screen) == ["default (2 decks)"]
        await pilot.press("ctrl+s")
        await settle(pilot)
    saved = load(tui_home / "settings.toml")
    assert saved.presets == {} and saved.deck_presets == {}
    assert "presets" not in tomllib.loads((tui_home / "settings.toml").read_text())


@run
async def test_the_switches_of_every_deck_are_saved(tui_home):
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        for name in ("reschedule_on_change", "new_cards_ignore_review_limit"):
            switch = screen.query_one(f"#{name}", Switch)
            switch.focus()
            await pilot.press("space")
            await settle(pilot)
            assert text_of(screen.query_one(f"#state-{name}")) == "on"
        screen.query_one("#day_starts_at", Input).value = "6"
        await pilot.press("ctrl+s")
        await settle(pilot)
    saved = load(tui_home / "settings.toml")
    assert saved.reschedule_on_change and saved.new_cards_ignore_review_limit
    assert saved.day_starts_at == 6


@run
async def test_the_preset_keys_are_in_the_key_list_and_the_palette(tui_home):
    from companion.tui.screens.help import HelpScreen

    app = make_app(tui_home, settings=with_exam())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_settings(pilot)
        names = [c.title for c in app.get_system_commands(screen)]
        assert "New preset (^n)" in names and "Delete preset (F8)" not in names
        await choose(pilot, "preset", "exam")  # rename and delete are for a named preset
        names = [c.title for c in app.get_system_commands(screen)]
        assert "Rename preset (^r)" in names and "Delete preset (F8)" in names
        await pilot.press("f1")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = {ident: (keys, desc) for keys, desc, _tip, ident in app.screen.rows}
        assert rows["settings.new_preset"] == ("^n", "New preset")
        assert rows["settings.rename_preset"] == ("^r", "Rename preset")
        assert rows["settings.delete_preset"] == ("F8", "Delete preset")
