"""Settings: the presets of scheduling options (Anki's deck options presets),
which preset each deck uses, and what is the learner's whatever the deck (the
day's start, the theme, two scheduling switches).

The form is one pending state until ctrl+s: switching the preset shown keeps
the edits of the one left, new, renamed and deleted presets and the decks
moved between them are all kept there, and esc (Cancel) drops every one.
Saved to the settings file with `companion.settings.save`; a bad value is
shown under its field, naming its preset, and nothing is saved until every
field is good.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, Switch

from companion.settings import DEFAULT_PRESET, MAX_PRESETS, PRESET_NAME
from companion.tui import bindings
from companion.tui.format import plural
from companion.tui.messages import SettingsDecksLoaded
from companion.tui.screens.ask import AskScreen
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from companion.settings import Settings

LIMIT_RULE = ("what a deck studied today counts its subdecks' answers too, and a parent's "
              "limit caps its subdecks")

# A preset's fields: (setting, label, kind, help); kind is float, int or "steps"
PRESET_INPUTS: tuple[tuple[str, str, Any, str], ...] = (
    ("desired_retention", "Desired retention", float,
     "0.70–0.99: the chance of recalling a card when it comes due. Higher means more "
     "reviews."),
    ("new_per_day", "New cards per day", int,
     "0–100000 per deck; a parent's limit caps its subdecks"),
    ("reviews_per_day", "Reviews per day", int,
     "0–100000 per deck, as new cards; each new card counts here too, unless new cards "
     "ignore the review limit"),
    ("learning_steps", "Learning steps", "steps",
     "a new card comes back after each step, e.g. 1m 10m (s, m, h, d); empty: none"),
    ("relearning_steps", "Relearning steps", "steps",
     "after Again on a review card, e.g. 10m; empty: none"),
    ("maximum_interval", "Maximum interval", int,
     "1–36500 days: no review is scheduled further away"),
    ("leech_threshold", "Leech threshold", int,
     "1–100 lapses (Again on a review card) make a card a leech"),
)
# Settings.leech_action's and .new_card_order's values, as the Selects offer them
LEECH_ACTION_LABELS = (("suspend", "tag it leech and suspend it"),
                       ("tag", "only tag it leech"))
NEW_CARD_ORDER_LABELS = (("deck", "deck file order"), ("random", "random, the same all day"),
                         ("section", "one section after another, in turns"))
PRESET_SELECTS: tuple[tuple[str, str, tuple[tuple[str, str], ...], str], ...] = (
    ("leech_action", "Leech action", LEECH_ACTION_LABELS,
     "what happens to a card when it becomes a leech"),
    ("new_card_order", "New card order", NEW_CARD_ORDER_LABELS,
     "the order new cards are introduced in, as Anki's new card order; random changes "
     "each day"),
)
PRESET_FIELDS_SHOWN = (*(f[0] for f in PRESET_INPUTS), *(f[0] for f in PRESET_SELECTS))

# The learner's, whatever the deck
GLOBAL_INPUTS: tuple[tuple[str, str, Any, str], ...] = (
    ("day_starts_at", "Day starts at (hour)", int,
     "0–23, local time: reviews after midnight still count for the evening before"),
)
GLOBAL_SWITCHES = (
    ("reschedule_on_change", "Reschedule cards on change",
     "when retention, maximum interval or FSRS parameters change, move review cards' "
     "due dates to fit (at companion's next start)"),
    ("new_cards_ignore_review_limit", "New cards ignore review limit",
     "off: each new card shown today also counts against the reviews per day"),
)
SELECTS = ("theme", *(f[0] for f in PRESET_SELECTS))
INPUT_FIELDS = {f[0]: f for f in (*PRESET_INPUTS, *GLOBAL_INPUTS)}

# Select's value reactive, to redraw a Select whose value set_options left as it was
SELECT_VALUE: Any = vars(Select)["value"]

THEME_NOTES = {"ansi-dark": "your terminal's colours", "ansi-light": "your terminal's colours"}


def _home_relative(path: Any) -> str:
    from pathlib import Path

    try:
        return "~/" + str(Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)


def as_text(name: str, value: Any) -> str:
    """A setting's value as its field shows it: steps as `1m 10m`."""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def parse_field(name: str, text: str) -> Any:
    """A field's text as the setting's value; ValueError says what is wrong."""
    from companion.settings import parse_step

    kind = INPUT_FIELDS[name][2] if name in INPUT_FIELDS else str
    if kind == "steps":
        steps = text.replace(",", " ").split()
        for step in steps:
            parse_step(step)  # its ValueError names the step
        return steps
    text = text.strip()
    if kind is str:
        return text
    what = "a number like 0.9" if kind is float else "a whole number"
    if not text:
        raise ValueError(f"required: {what}")
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not {what}") from None


def name_problem(name: str, taken: list[str]) -> str | None:
    """Why `name` can't name a new preset, in one line; None if it can."""
    if not name:
        return "give the preset a name"
    if name.lower() == DEFAULT_PRESET:
        return '"default" is the default preset\'s name'
    if not PRESET_NAME.match(name):
        if len(name) > 40:
            return "at most 40 characters"
        if not name[0].isascii() or not name[0].isalnum():
            return "a name starts with a letter or a digit"
        return "only letters, digits, - and _"
    if name.lower() in {t.lower() for t in taken}:
        return f"there is a preset {name!r} already"
    return None


class SettingsScreen(CompanionScreen):
    SCREEN_TITLE = "Settings"
    KEYS_INTRO = ("A preset is a set of scheduling options, as Anki's deck options presets: "
                  "each deck uses one (Decks, below), default unless you choose another. "
                  "Choose the preset to edit at the top; ctrl+n makes a copy of it. Tab "
                  "moves between fields; ctrl+s saves it all, esc forgets every change. A "
                  "value out of range is shown in red under its field, and nothing is saved "
                  "until all are good.")

    BINDINGS = [*bindings.SETTINGS]

    def __init__(self) -> None:
        super().__init__()
        settings = self.app.settings
        self.shown = DEFAULT_PRESET  # the preset the form shows
        self.names = settings.preset_names()
        # named preset -> the values it set when the form opened (or, for a
        # copy, those of the preset it copies): what a field left alone keeps
        self.base: dict[str, dict[str, Any]] = {
            name: dict(values) for name, values in settings.presets.items()}
        # preset -> field -> the text the learner typed or chose, where it
        # differs from what the field showed
        self.edits: dict[str, dict[str, str]] = {name: {} for name in self.names}
        # deck id -> preset, the decks not on the default only
        self.assigned: dict[str, str] = {deck: settings.preset_of(deck)
                                         for deck in settings.deck_presets
                                         if settings.preset_of(deck) != DEFAULT_PRESET}
        self.decks: list[tuple[str, str, int]] | None = None  # (id, name, depth), when read
        # (preset, field) -> the problem; preset "" for a field of no preset
        self.errors: dict[tuple[str, str], str] = {}

    # -- the form ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        app = self.app
        settings = app.settings
        with VerticalScroll(id="settings-form"):
            with Vertical(id="settings-body"):
                yield Static("Presets", classes="settings-section")
                yield Static("Each deck is scheduled by its preset (Anki's deck options "
                             "presets); a deck uses default until you choose another "
                             "under Decks.", classes="settings-section-help")
                with Vertical(classes="field", id="field-preset"):
                    with Horizontal(classes="field-row"):
                        yield Label("Preset", classes="field-label")
                        yield Select(self.preset_options(), value=DEFAULT_PRESET,
                                     allow_blank=False, id="preset", compact=True)
                    with Horizontal(id="preset-buttons"):
                        yield Button("New  ctrl+n", id="new-preset", compact=True)
                        yield Button("Rename  ctrl+r", id="rename-preset", compact=True)
                        yield Button("Delete  F8", id="delete-preset", compact=True)
                for name, label, kind, help_text in PRESET_INPUTS:
                    yield from self.input_field(name, label, kind, help_text,
                                                as_text(name, getattr(settings, name)))
                for name, label, choices, help_text in PRESET_SELECTS:
                    yield from self.select_field(
                        name, label, [(f"{value} ({what})", value) for value, what in choices],
                        getattr(settings, name), help_text)
                yield Static("Decks", classes="settings-section")
                yield Static("The preset each deck uses; a subdeck has its own, whatever "
                             f"its parent's. Daily limits are per deck: {LIMIT_RULE}.",
                             classes="settings-section-help")
                with Vertical(id="deck-list"):
                    yield Static("Reading your decks…" if app.store is not None else
                                 "Your collection is still opening: come back to Settings "
                                 "to choose a deck's preset.", classes="muted", id="decks-note")
                yield Static("Every deck", classes="settings-section")
                yield Static("Not a preset's: these hold whatever the deck.",
                             classes="settings-section-help")
                for name, label, kind, help_text in GLOBAL_INPUTS:
                    yield from self.input_field(name, label, kind, help_text,
                                                as_text(name, getattr(settings, name)))
                themes = sorted(app.available_themes)
                yield from self.select_field(
                    "theme", "Theme",
                    [(f"{t} ({THEME_NOTES[t]})" if t in THEME_NOTES else t, t) for t in themes],
                    app.theme, "ansi-dark and ansi-light use your terminal's own colours; "
                    "NO_COLOR is respected whatever the theme")
                for name, label, help_text in GLOBAL_SWITCHES:
                    with Vertical(classes="field", id=f"field-{name}"):
                        with Horizontal(classes="field-row"):
                            yield Label(label, classes="field-label")
                            on_ = bool(getattr(settings, name))
                            yield Switch(on_, id=name)
                            yield Static("on" if on_ else "off", classes="switch-state",
                                         id=f"state-{name}")
                            yield Static(help_text, classes="field-help")
                with Horizontal(id="settings-buttons"):
                    yield Button("Save  ctrl+s", id="save", variant="primary")
                    yield Button("Cancel  esc", id="cancel")
                yield Static(f"ctrl+s saves to {_home_relative(app.settings_path)}",
                             id="settings-path", classes="muted")
        yield Footer()

    def input_field(self, name: str, label: str, kind: Any, help_text: str,
                    value: str) -> ComposeResult:
        with Vertical(classes="field", id=f"field-{name}"):
            with Horizontal(classes="field-row"):
                yield Label(label, classes="field-label")
                field = Input(value, id=name, compact=True,
                              type="number" if kind is float else
                              "integer" if kind is int else "text",
                              classes="steps" if kind == "steps" else "")
                field.cursor_blink = self.app.cursor_blink
                yield field
                yield Static(help_text, classes="field-help")
            yield Static("", classes="field-error", id=f"error-{name}")

    def select_field(self, name: str, label: str, options: list[tuple[str, str]], value: str,
                     help_text: str) -> ComposeResult:
        with Vertical(classes="field", id=f"field-{name}"):
            with Horizontal(classes="field-row"):
                yield Label(label, classes="field-label")
                yield Select(options, value=value, allow_blank=False, id=name, compact=True)
            yield Static(help_text, classes="field-help wide")
            yield Static("", classes="field-error", id=f"error-{name}")

    def on_mount(self) -> None:
        self.query_one("#preset", Select).focus()
        self.show_preset_state()
        if self.app.store is not None:
            self.load_decks(self.new_request(SettingsDecksLoaded))

    # -- the decks -------------------------------------------------------------

    @work(thread=True, exclusive=True, group="settings-decks", exit_on_error=False)
    def load_decks(self, request: int) -> None:
        from companion.limits import DeckTree

        with self.reader() as store:
            names = {choice.id: choice.name for choice in store.deck_choices()}
            tree = DeckTree(store.deck_parents())
        decks = [(deck_id, names[deck_id], depth)
                 for deck_id, depth in tree.in_order(names) if deck_id in names]
        self.reply(SettingsDecksLoaded(request, decks))

    def on_settings_decks_loaded(self, message: SettingsDecksLoaded) -> None:
        from companion.cardtext import shown

        if not self.is_latest(message):
            return
        self.decks = message.decks
        box = self.query_one("#deck-list", Vertical)
        note = self.query_one("#decks-note", Static)
        if not self.decks:
            note.update("No decks yet: a deck file in your decks folder shows here.")
            return
        note.display = False
        rows = []
        for index, (deck_id, name, depth) in enumerate(self.decks):
            row = Horizontal(
                Label(shown("  " * depth + name), classes="field-label deck-name"),
                Select(self.deck_options(), value=self.assigned.get(deck_id, DEFAULT_PRESET),
                       allow_blank=False, id=f"deck-{index}", compact=True,
                       classes="deck-preset"),
                classes="field-row deck-row")
            rows.append(row)
        box.mount_all(rows)
        self.refresh_preset_labels()

    def deck_of(self, select: Select[Any]) -> str:
        assert self.decks is not None and select.id is not None
        return self.decks[int(select.id.removeprefix("deck-"))][0]

    def deck_options(self) -> list[tuple[str, str]]:
        return [(name, name) for name in self.names]

    def used_by(self, name: str) -> int | None:
        """How many live decks use preset `name`; None before the decks are read."""
        if self.decks is None:
            return None
        return sum(1 for deck_id, _, _ in self.decks
                   if self.assigned.get(deck_id, DEFAULT_PRESET) == name)

    def preset_options(self) -> list[tuple[str, str]]:
        options = []
        for name in self.names:
            used = self.used_by(name)
            options.append((name if used is None else
                            f"{name} ({plural(used, 'deck') if used else 'no decks'})", name))
        return options

    @on(Select.Changed, ".deck-preset")
    def _deck_moved(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        deck_id, name = self.deck_of(event.select), str(event.value)
        if name == DEFAULT_PRESET:
            self.assigned.pop(deck_id, None)
        else:
            self.assigned[deck_id] = name
        self.refresh_preset_labels()

    def refresh_preset_labels(self) -> None:
        """The preset selector's options (names and decks using each) as they are now."""
        select = self.query_one("#preset", Select)
        with select.prevent(Select.Changed):
            select.set_options(self.preset_options())
            select.value = self.shown
            # set_options puts the first option's text up; a value it didn't
            # change (the default's) wouldn't put its own back
            select.mutate_reactive(SELECT_VALUE)

    def refresh_deck_selects(self) -> None:
        """Each deck's selector offers the presets there are now."""
        for select in self.query(".deck-preset").results(Select):
            deck_id = self.deck_of(select)
            with select.prevent(Select.Changed):
                select.set_options(self.deck_options())
                select.value = self.assigned.get(deck_id, DEFAULT_PRESET)
                select.mutate_reactive(SELECT_VALUE)

    # -- the pending state -----------------------------------------------------

    def natural_text(self, preset: str, name: str) -> str:
        """What a preset's field shows when it wasn't edited: the value the
        preset sets, or else the default's (as the default's field shows it now)."""
        if preset == DEFAULT_PRESET:
            return as_text(name, getattr(self.app.settings, name))
        if name in self.base.get(preset, {}):
            return as_text(name, self.base[preset][name])
        return self.text_of(DEFAULT_PRESET, name)

    def text_of(self, preset: str, name: str) -> str:
        return self.edits[preset].get(name, self.natural_text(preset, name))

    def field_text(self, name: str) -> str:
        """What the form's field for `name` holds now."""
        widget = self.query_one(f"#{name}")
        if isinstance(widget, Select):
            return str(widget.value)
        assert isinstance(widget, Input)
        return widget.value

    def keep_edits(self) -> None:
        """The fields of the preset shown, into its pending edits."""
        edits = self.edits[self.shown]
        for name in PRESET_FIELDS_SHOWN:
            text = self.field_text(name)
            if text != self.natural_text(self.shown, name):
                edits[name] = text
            else:
                edits.pop(name, None)

    def show_preset(self, name: str, keep: bool = True) -> None:
        """Put preset `name`'s values (with its pending edits) in the form,
        after keeping the edits of the one shown (unless it is gone)."""
        if keep:
            self.keep_edits()
        self.shown = name
        for field_name in PRESET_FIELDS_SHOWN:
            widget = self.query_one(f"#{field_name}")
            text = self.text_of(name, field_name)
            if isinstance(widget, Select):
                widget.value = text
            else:
                assert isinstance(widget, Input)
                widget.value = text
                widget.cursor_position = len(text)
        self.show_preset_state()

    def show_preset_state(self) -> None:
        named = self.shown != DEFAULT_PRESET
        self.query_one("#rename-preset", Button).disabled = not named
        self.query_one("#delete-preset", Button).disabled = not named
        self.refresh_bindings()
        self.show_errors()

    @on(Select.Changed, "#preset")
    def _preset_chosen(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and str(event.value) != self.shown:
            self.show_preset(str(event.value))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("rename_preset", "delete_preset") and self.shown == DEFAULT_PRESET:
            return None  # shown, dimmed: the default can't be renamed or deleted
        return True

    # -- new, rename, delete -----------------------------------------------------

    def action_new_preset(self) -> None:
        if len(self.names) - 1 >= MAX_PRESETS:
            self.notify(f"At most {MAX_PRESETS} presets", severity="warning")
            return
        source = self.shown

        def made(name: str | None) -> None:
            if name is None:
                return
            self.keep_edits()
            # A copy of default inherits from it; a copy of a named preset
            # sets what that one sets, its unsaved edits included.
            named = source != DEFAULT_PRESET
            self.base[name] = dict(self.base.get(source, {})) if named else {}
            self.edits[name] = dict(self.edits[source]) if named else {}
            self.names.append(name)
            self.show_preset(name)
            self.refresh_preset_labels()
            self.refresh_deck_selects()
            self.notify(f"Preset {name!r}, a copy of {source!r}: choose the decks that use "
                        "it under Decks; ctrl+s saves", timeout=5)

        self.app.push_screen(PresetNameScreen(f"New preset, a copy of {source!r}", "",
                                              self.names),
                             lambda values: made(values["name"] if values else None))

    def action_rename_preset(self) -> None:
        old = self.shown
        if old == DEFAULT_PRESET:
            return

        def renamed(new: str | None) -> None:
            if new is None or new == old:
                return
            self.keep_edits()
            self.names[self.names.index(old)] = new
            self.base[new] = self.base.pop(old, {})
            self.edits[new] = self.edits.pop(old)
            self.assigned = {deck: (new if name == old else name)
                             for deck, name in self.assigned.items()}
            self.errors = {((new if p == old else p), f): why
                           for (p, f), why in self.errors.items()}
            self.shown = new
            self.refresh_preset_labels()
            self.refresh_deck_selects()
            self.notify(f"Preset {old!r} is now {new!r}; ctrl+s saves", timeout=4)

        others = [name for name in self.names if name != old]
        self.app.push_screen(PresetNameScreen(f"Rename preset {old!r}", old, others),
                             lambda values: renamed(values["name"] if values else None))

    def action_delete_preset(self) -> None:
        name = self.shown
        if name == DEFAULT_PRESET:
            return
        decks = self.used_by(name)
        if decks is None:
            decks = sum(1 for preset in self.assigned.values() if preset == name)
        using = (f"{plural(decks, 'deck')} using it go{'es' if decks == 1 else ''} back to "
                 "default" if decks else "no deck uses it")
        moved = (f"{plural(decks, 'deck')} back on default" if decks else "no deck used it")

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            self.keep_edits()
            self.names.remove(name)
            self.base.pop(name, None)
            self.edits.pop(name)
            self.assigned = {deck: preset for deck, preset in self.assigned.items()
                             if preset != name}
            self.errors = {key: why for key, why in self.errors.items() if key[0] != name}
            self.show_preset(DEFAULT_PRESET, keep=False)
            self.refresh_preset_labels()
            self.refresh_deck_selects()
            self.notify(f"Preset {name!r} deleted ({moved}); ctrl+s saves, esc forgets "
                        "every change, this one too", timeout=5)

        self.app.push_screen(ConfirmScreen(
            "Delete preset", f"Delete preset {name!r}? {using[0].upper() + using[1:]}. "
            "Nothing is saved until ctrl+s.", "Delete  enter"), answered)

    @on(Button.Pressed, "#new-preset")
    def _new_pressed(self) -> None:
        self.action_new_preset()

    @on(Button.Pressed, "#rename-preset")
    def _rename_pressed(self) -> None:
        self.action_rename_preset()

    @on(Button.Pressed, "#delete-preset")
    def _delete_pressed(self) -> None:
        self.action_delete_preset()

    # -- errors --------------------------------------------------------------------

    def show_errors(self) -> None:
        """The problems of the preset shown and of the fields of no preset."""
        for error in self.query(".field-error").results(Static):
            error.update("")
            error.display = False
        for field in self.query(Input):
            field.remove_class("-invalid")
        for (preset, name), why in self.errors.items():
            if preset not in ("", self.shown):
                continue
            if preset not in ("", DEFAULT_PRESET):
                why = f"{why} (preset {preset})"
            error = self.query_one(f"#error-{name}", Static)
            error.update(why)
            error.display = True
            if name not in SELECTS:
                self.query_one(f"#{name}", Input).add_class("-invalid")

    def problem(self, preset: str, name: str, why: str) -> None:
        self.errors[(preset, name)] = why

    def checked(self, preset: str, name: str, text: str) -> Any:
        """The field's value, or None after noting its problem (unreadable, or
        out of the setting's range)."""
        from companion.settings import SettingsError

        try:
            value = parse_field(name, text)
        except ValueError as exc:
            self.problem(preset, name, str(exc))
            return None
        alone = dataclasses.replace(self.app.settings, presets={}, deck_presets={},
                                    **{name: value})
        try:
            alone.validate()
        except SettingsError as exc:
            _, _, why = str(exc).partition(": ")
            self.problem(preset, name, why or str(exc))
            return None
        return value

    # -- saving ----------------------------------------------------------------------

    def collect(self) -> Settings | None:
        """The settings the form describes, or None after noting each problem."""
        from companion.settings import SettingsError

        app = self.app
        self.keep_edits()
        self.errors = {}
        top: dict[str, Any] = {}
        for name, *_ in GLOBAL_INPUTS:
            top[name] = self.checked("", name, self.field_text(name))
        top["theme"] = str(self.query_one("#theme", Select).value)
        for name, *_ in GLOBAL_SWITCHES:
            top[name] = self.query_one(f"#{name}", Switch).value
        for name, text in self.edits[DEFAULT_PRESET].items():
            top[name] = self.checked(DEFAULT_PRESET, name, text)
        named: dict[str, dict[str, Any]] = {}
        for preset in self.names[1:]:
            values = dict(self.base.get(preset, {}))
            for name, text in self.edits[preset].items():
                values[name] = self.checked(preset, name, text)
            named[preset] = values
        if self.errors:
            return None
        candidate = dataclasses.replace(app.settings, presets={}, deck_presets={}, **top)
        for preset, values in named.items():
            # a named preset keeps only what differs from the default
            candidate = candidate.with_preset_values(preset, **values)
        candidate.deck_presets = {deck: name for deck, name in self.assigned.items()
                                  if name != DEFAULT_PRESET and name in self.names}
        try:
            candidate.validate()
        except SettingsError as exc:
            where, _, why = str(exc).partition(": ")
            preset, name = DEFAULT_PRESET, where
            if where.startswith("presets."):
                _, preset, name = (where.split(".", 2) + ["", ""])[:3]
            if name in PRESET_FIELDS_SHOWN or name in INPUT_FIELDS or name in SELECTS:
                self.problem(preset if name in PRESET_FIELDS_SHOWN else "", name, why)
            else:
                self.notify(str(exc), severity="error")
            return None
        return candidate

    def action_save(self) -> None:
        from companion.settings import save

        app = self.app
        candidate = self.collect()
        if candidate is None:
            self.report_problems()
            return
        self.show_errors()
        try:
            save(candidate, app.settings_path)
        except OSError as exc:
            self.notify(f"{app.settings_path}: cannot save: {exc}", severity="error")
            return
        app.settings = candidate
        app.apply_theme(candidate.theme)
        self.notify("Settings saved", timeout=2)
        self.dismiss()

    def report_problems(self) -> None:
        """Show the preset with problems (the one shown, if it has any) and say
        which others have some."""
        with_problems = [preset for preset in self.names
                         if any(p == preset for p, _ in self.errors)]
        if with_problems and self.shown not in with_problems:
            self.show_preset(with_problems[0])
            select = self.query_one("#preset", Select)
            with select.prevent(Select.Changed):
                select.value = self.shown
        self.show_errors()
        others = [p for p in with_problems if p != self.shown]
        also = f" (in preset {', '.join(others)} too)" if others else ""
        if self.errors:
            self.notify(f"Not saved: fix the fields in red{also}", severity="error", timeout=4)

    @on(Select.Changed, "#theme")
    def _preview_theme(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL:
            self.app.theme = str(event.value)

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        for state in self.query(f"#state-{event.switch.id}").results(Static):
            state.update("on" if event.value else "off")

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


class PresetNameScreen(AskScreen):
    """Asks a preset's name: dismissed with {"name": it}, checked, or None."""

    SCREEN_TITLE = "Preset name"
    KEYS_INTRO = ("A preset's name is letters, digits, - and _ (up to 40); \"default\" is "
                  "the default preset's. enter takes it; esc goes back with no change.")

    BINDINGS = [*bindings.PRESET_NAME]
    ID_PREFIX = "preset"
    MAX_LENGTH = 40

    def __init__(self, title: str, value: str, taken: list[str]) -> None:
        super().__init__(title, [("name", "Name", "e.g. exam", value)],
                         lambda values: name_problem(values["name"], taken))


class ConfirmScreen(CompanionScreen[bool], ModalScreen[bool]):
    """Asks a yes or no: dismissed with True for the action's button."""

    SCREEN_TITLE = "Confirm"
    KEYS_INTRO = "enter on the focused button answers; esc goes back with nothing changed."

    BINDINGS = [*bindings.CONFIRM]

    def __init__(self, title: str, question: str, yes: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog") as box:
            box.border_title = self.title_text
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, id="yes", variant="error")
                yield Button("Keep  esc", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_leave(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#yes")
    def _yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no_pressed(self) -> None:
        self.dismiss(False)
