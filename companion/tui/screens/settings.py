"""Settings: desired retention, daily limits, the day's start, the new-card order
and the theme.

Saved to the settings file with `companion.settings.save`; a bad value is
shown under its field and nothing is saved until every field is good.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static

from companion.tui import bindings
from companion.tui.screens.base import CompanionScreen

if TYPE_CHECKING:
    from companion.settings import Settings

# (setting, label, kind, help)
FIELDS = (
    ("desired_retention", "Desired retention", float,
     "0.70–0.99: the chance of recalling a card when it comes due. Higher means more "
     "reviews."),
    ("new_per_day", "New cards per day", int, "0–100000, shared by all decks"),
    ("reviews_per_day", "Reviews per day", int, "0–100000, shared by all decks"),
    ("day_starts_at", "Day starts at (hour)", int,
     "0–23, local time: reviews after midnight still count for the evening before"),
)

# Settings.new_card_order's values, as the Select offers them
NEW_CARD_ORDER_LABELS = (("deck", "deck file order"), ("random", "random, the same all day"),
                         ("section", "one section after another, in turns"))
SELECTS = ("theme", "new_card_order")

THEME_NOTES = {"ansi-dark": "your terminal's colours", "ansi-light": "your terminal's colours"}


def _home_relative(path: Any) -> str:
    from pathlib import Path

    try:
        return "~/" + str(Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)


class SettingsScreen(CompanionScreen):
    SCREEN_TITLE = "Settings"
    KEYS_INTRO = ("Tab moves between fields; ctrl+s saves. A value out of range is shown in "
                  "red under its field, and nothing is saved until all are good.")

    BINDINGS = [*bindings.SETTINGS]

    def compose(self) -> ComposeResult:
        app = self.app
        settings = app.settings
        blink = app.cursor_blink
        with VerticalScroll(id="settings-form"):
            for name, label, kind, help_text in FIELDS:
                with Vertical(classes="field", id=f"field-{name}"):
                    with Horizontal(classes="field-row"):
                        yield Label(label, classes="field-label")
                        field = Input(str(getattr(settings, name)), id=name, compact=True,
                                      type="number" if kind is float else "integer")
                        field.cursor_blink = blink
                        yield field
                        yield Static(help_text, classes="field-help")
                    yield Static("", classes="field-error", id=f"error-{name}")
            with Vertical(classes="field", id="field-new_card_order"):
                with Horizontal(classes="field-row"):
                    yield Label("New card order", classes="field-label")
                    yield Select([(f"{value} ({label})", value)
                                  for value, label in NEW_CARD_ORDER_LABELS],
                                 value=settings.new_card_order, allow_blank=False,
                                 id="new_card_order", compact=True)
                yield Static("the order new cards are introduced in, as Anki's new card "
                             "order; random changes each day", classes="field-help wide")
                yield Static("", classes="field-error", id="error-new_card_order")
            with Vertical(classes="field", id="field-theme"):
                with Horizontal(classes="field-row"):
                    yield Label("Theme", classes="field-label")
                    themes = sorted(app.available_themes)
                    options = [(f"{t} ({THEME_NOTES[t]})" if t in THEME_NOTES else t, t)
                               for t in themes]
                    yield Select(options, value=app.theme, allow_blank=False, id="theme",
                                 compact=True)
                yield Static("ansi-dark and ansi-light use your terminal's own colours; "
                             "NO_COLOR is respected whatever the theme",
                             classes="field-help wide")
                yield Static("", classes="field-error", id="error-theme")
            with Horizontal(id="settings-buttons"):
                yield Button("Save  ctrl+s", id="save", variant="primary")
                yield Button("Cancel  esc", id="cancel")
            yield Static(f"ctrl+s saves to {_home_relative(app.settings_path)}", id="settings-path",
                         classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#desired_retention", Input).focus()

    def clear_errors(self) -> None:
        for error in self.query(".field-error").results(Static):
            error.update("")
            error.display = False
        for field in self.query(Input):
            field.remove_class("-invalid")

    def show_error(self, name: str, message: str) -> None:
        target = name if name in {f[0] for f in FIELDS} or name in SELECTS else None
        if target is None:
            self.notify(message, severity="error")
            return
        error = self.query_one(f"#error-{target}", Static)
        error.update(message)
        error.display = True
        if target not in SELECTS:
            field = self.query_one(f"#{target}", Input)
            field.add_class("-invalid")

    def collect(self) -> Settings | None:
        """The settings the form describes, or None after showing each problem."""
        from companion.settings import SettingsError

        app = self.app
        values: dict[str, Any] = {}
        problems = False
        for name, label, kind, _help in FIELDS:
            text = self.query_one(f"#{name}", Input).value.strip()
            try:
                values[name] = kind(text)
            except ValueError:
                what = "a number like 0.9" if kind is float else "a whole number"
                self.show_error(name, f"required: {what}" if not text else
                                f"{text!r} is not {what}")
                problems = True
        theme = self.query_one("#theme", Select).value
        values["theme"] = str(theme)
        values["new_card_order"] = str(self.query_one("#new_card_order", Select).value)
        # validate() stops at the first problem; check each field that parsed
        # alone, so every bad field shows its error at once, unreadable or not.
        for name in values:
            alone = dataclasses.replace(app.settings, **{name: values[name]})
            try:
                alone.validate()
            except SettingsError as exc:
                field, _, why = str(exc).partition(": ")
                self.show_error(field, why or str(exc))
                problems = True
        if problems:
            return None
        candidate = dataclasses.replace(app.settings, **values)
        try:
            candidate.validate()
        except SettingsError as exc:
            field, _, why = str(exc).partition(": ")
            self.show_error(field, why or str(exc))
            return None
        return candidate

    def action_save(self) -> None:
        from companion.settings import save

        app = self.app
        self.clear_errors()
        candidate = self.collect()
        if candidate is None:
            self.notify("Not saved: fix the fields in red", severity="error", timeout=3)
            return
        try:
            save(candidate, app.settings_path)
        except OSError as exc:
            self.notify(f"{app.settings_path}: cannot save: {exc}", severity="error")
            return
        app.settings = candidate
        app.apply_theme(candidate.theme)
        self.notify("Settings saved", timeout=2)
        self.dismiss()

    @on(Select.Changed, "#theme")
    def _preview_theme(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.app.theme = str(event.value)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_leave()

    def dismiss(self, result: Any = None) -> Any:
        # Leaving without saving puts back the theme a preview changed.
        self.app.apply_theme(self.app.settings.theme)
        return super().dismiss(result)
