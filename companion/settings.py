"""The learner's settings: a TOML file in the data dir, every value checked."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any


class SettingsError(ValueError):
    """A settings file that can't be read, or a value out of range; names the setting."""


_STEP = re.compile(r"^\s*(\d{1,9}(?:\.\d{1,6})?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_STEP_DAYS = 36500  # no step longer than the longest interval
MAX_TIMEZONE_CHARS = 64
# The order new cards are introduced in. Anki's deck options split it into a
# gather order and a sort order (rslib/src/scheduler/queue/builder/gathering.rs,
# sorting.rs); companion's decks are files, so three orders cover it:
#   "deck"    deck by deck as the deck list shows them (a parent before its
#             subdecks, siblings by name), each in its file's order: Anki's
#             "Deck" gather order with ascending position;
#   "random"  Anki's "Random cards": sorted by a hash of the card id salted
#             with the day, so the order holds all day (quit and reopen: the
#             same next card) and changes the next day;
#   "section" round-robin over a deck's sections (a note's first tag): the
#             first note of each section, then the second of each, ...; a
#             note's cloze cards stay together, as Anki's sibling-keeping
#             orders; deck by deck as "deck" takes them.
NEW_CARD_ORDERS = ("deck", "random", "section")

# Presets: Anki's deck options presets (rslib/src/deckconfig/). The top-level
# values are the "default" preset; `[presets.NAME]` holds another preset's
# values (those it leaves out are the default's), and `[deck_presets]` says
# which preset each deck uses (a deck not named there uses the default). A
# preset holds what Anki's deck options hold; the rest (the day's start, the
# time zone, the theme, keys) is the learner's, whatever the deck.
PRESET_FIELDS = ("desired_retention", "learning_steps", "relearning_steps", "maximum_interval",
                 "new_per_day", "reviews_per_day", "leech_threshold", "leech_action",
                 "new_card_order", "parameters")
DEFAULT_PRESET = "default"
PRESET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_PRESETS = 100


def parse_step(text: object) -> timedelta:
    """'1m', '10m', '1h', '1d', '30s' -> timedelta (Anki's step notation)."""
    match = _STEP.match(str(text)[:40])
    if not isinstance(text, str) or not match:
        raise ValueError(f"{str(text)[:40]!r} is not a step like 1m, 10m, 1h or 1d")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_STEP_DAYS * 86400:
        raise ValueError(f"{text!r} is longer than {MAX_STEP_DAYS} days")
    return timedelta(seconds=seconds)


@dataclass
class Settings:
    desired_retention: float = 0.9
    learning_steps: list[str] = field(default_factory=lambda: ["1m", "10m"])
    relearning_steps: list[str] = field(default_factory=lambda: ["10m"])
    maximum_interval: int = 36500
    fuzz: bool = True
    day_starts_at: int = 4
    new_per_day: int = 20
    reviews_per_day: int = 200
    leech_threshold: int = 8
    leech_action: str = "suspend"
    new_card_order: str = "deck"  # one of NEW_CARD_ORDERS
    # Anki's "Reschedule cards on change": when desired retention, the FSRS
    # parameters or the maximum interval change, move review cards' due dates
    # to what the new settings give (off: only the memory states are updated).
    reschedule_on_change: bool = False
    # Anki's "New cards ignore review limit" (off, as in Anki: each new card
    # introduced today also spends one of the day's reviews).
    new_cards_ignore_review_limit: bool = False
    timezone: str = ""  # empty: the system's local time zone
    theme: str = "ansi-dark"  # the terminal's own colours; any Textual theme name works
    # FSRS-6 parameters fitted by `companion optimize`; empty means fsrs's defaults.
    parameters: list[float] = field(default_factory=list)
    # The learner's own keys, binding id -> keys ("review.again" = "j"); the
    # app checks ids and key names against its bindings (companion.tui.keymap).
    keymap: dict[str, str] = field(default_factory=dict)
    # name -> the values that preset sets (PRESET_FIELDS only)
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # deck id -> preset name
    deck_presets: dict[str, str] = field(default_factory=dict)
    # A folder your machines share (Syncthing, Dropbox, a git repository):
    # `companion sync` with no folder uses it, and the app syncs with it on
    # starting and on quitting, as `companion review` does around a session.
    sync_dir: str = ""

    # -- presets ------------------------------------------------------------

    def preset_names(self) -> list[str]:
        """"default" first, then the named presets as the file lists them."""
        return [DEFAULT_PRESET, *self.presets]

    def preset_of(self, deck_id: str | None) -> str:
        """The preset a deck uses; the default for a deck not assigned one
        (and for "all decks")."""
        name = self.deck_presets.get(deck_id or "", DEFAULT_PRESET)
        return name if name in self.presets else DEFAULT_PRESET

    def preset(self, name: str) -> "Settings":
        """These settings with the preset's values in place of the default's:
        what a deck using that preset is scheduled by."""
        values = self.presets.get(name)
        if not values:
            return self
        copied: dict[str, Any] = {key: (list(value) if isinstance(value, list) else value)
                                  for key, value in values.items()}
        return replace(self, **copied)

    def for_deck(self, deck_id: str | None) -> "Settings":
        return self.preset(self.preset_of(deck_id))

    def decks_using(self, name: str) -> list[str]:
        return sorted(deck for deck in self.deck_presets if self.preset_of(deck) == name)

    def with_preset_values(self, name: str, **values: Any) -> "Settings":
        """A copy with a preset's values changed (the top level for the
        default preset); a named preset keeps only what differs from the
        default, so a later change of the default reaches it."""
        if name == DEFAULT_PRESET:
            return replace(self, **values)
        merged = {**self.presets.get(name, {}), **values}
        kept = {key: value for key, value in merged.items() if getattr(self, key) != value}
        presets = {**self.presets, name: kept}
        return replace(self, presets=presets)

    def validate(self) -> None:
        def fail(name: str, why: str) -> None:
            raise SettingsError(f"{name}: {why}")

        self._validate_values(fail)
        if len(self.presets) > MAX_PRESETS:
            fail("presets", f"{len(self.presets)} presets: at most {MAX_PRESETS}")
        for name, values in self.presets.items():
            if not isinstance(name, str) or not PRESET_NAME.match(name) \
                    or name.lower() == DEFAULT_PRESET:
                fail("presets", f"{str(name)[:40]!r} is not a preset name (letters, digits, "
                                "- and _, up to 40; \"default\" is the top level's)")
            if not isinstance(values, dict):
                fail(f"presets.{name}", "must be a table of settings")
            for key in values:
                if key not in PRESET_FIELDS:
                    fail(f"presets.{name}", _unknown(key, PRESET_FIELDS, "a preset holds"))
            try:
                self.preset(name)._validate_values(fail)
            except SettingsError as exc:
                raise SettingsError(f"presets.{name}.{exc}") from None
        for deck_id, name in self.deck_presets.items():
            if not isinstance(name, str) or (name != DEFAULT_PRESET and name not in self.presets):
                known = self.preset_names()
                fail(f"deck_presets.{str(deck_id)[:60]}",
                     _unknown(name, known, "presets", what="preset"))

    def _validate_values(self, fail: Callable[[str, str], None]) -> None:
        if not 0.7 <= self.desired_retention <= 0.99:
            fail("desired_retention", f"{self.desired_retention} must be between 0.7 and 0.99")
        for name in ("learning_steps", "relearning_steps"):
            steps = getattr(self, name)
            if not isinstance(steps, list):
                fail(name, "must be a list like [\"1m\", \"10m\"]")
            for step in steps:
                try:
                    parse_step(step)
                except ValueError as exc:
                    fail(name, str(exc))
        if not 1 <= self.maximum_interval <= 36500:
            fail("maximum_interval", f"{self.maximum_interval} must be between 1 and 36500 days")
        if not 0 <= self.day_starts_at <= 23:
            fail("day_starts_at", f"{self.day_starts_at} must be an hour from 0 to 23")
        for name in ("new_per_day", "reviews_per_day"):
            if not 0 <= getattr(self, name) <= 100000:
                fail(name, f"{getattr(self, name)} must be between 0 and 100000")
        if not 1 <= self.leech_threshold <= 100:
            fail("leech_threshold", f"{self.leech_threshold} must be between 1 and 100")
        if self.leech_action not in ("suspend", "tag"):
            fail("leech_action", f"{self.leech_action!r} must be \"suspend\" or \"tag\"")
        if self.new_card_order not in NEW_CARD_ORDERS:
            from difflib import get_close_matches

            close = get_close_matches(str(self.new_card_order), NEW_CARD_ORDERS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            fail("new_card_order", f"{str(self.new_card_order)[:40]!r} is not an order "
                                   f"({hint}known: {', '.join(NEW_CARD_ORDERS)})")
        if self.timezone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            shown = repr(self.timezone[:MAX_TIMEZONE_CHARS]) + (
                "…" if len(self.timezone) > MAX_TIMEZONE_CHARS else "")
            try:
                if len(self.timezone) > MAX_TIMEZONE_CHARS:
                    raise ValueError(self.timezone)
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                fail("timezone", f"{shown} is not a known time zone (e.g. \"Europe/Berlin\")")
        if self.parameters:
            import math

            from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

            if len(self.parameters) != len(LOWER_BOUNDS_PARAMETERS):
                fail("parameters", f"expected {len(LOWER_BOUNDS_PARAMETERS)} FSRS-6 numbers, "
                                   f"got {len(self.parameters)}")
            for i, (value, low, high) in enumerate(zip(
                    self.parameters, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS)):
                if not isinstance(value, int | float) or isinstance(value, bool) \
                        or not math.isfinite(value):
                    fail("parameters", f"w{i} is {str(value)[:40]!r}, not a number")
                if not low <= value <= high:
                    fail("parameters", f"w{i} = {value} is outside FSRS-6's range "
                                       f"{low} to {high}")
        for binding_id, keys in self.keymap.items():
            if not isinstance(keys, str) or not keys.strip():
                fail("keymap", f"{binding_id}: expected keys as text like \"j\" or \"ctrl+s,f5\","
                               f" got {keys!r}")

    def to_toml(self, previous: str = "") -> str:
        """The settings as TOML. Given the file's text as it was, that text with
        the values changed in place: the learner's comments, order and layout
        kept, keys they never wrote left out while they hold the default."""
        import tomlkit

        data = asdict(self)
        if not previous.strip():
            for table in ("presets", "deck_presets", "keymap"):
                if not data[table]:
                    del data[table]  # no empty table headers in a new file
            return tomlkit.dumps(data)
        doc = tomlkit.parse(previous)
        defaults = asdict(Settings())
        for key, value in data.items():
            if isinstance(value, dict):
                _merge_table(doc, key, value)
            elif key in doc or value != defaults[key]:
                if key not in doc or doc[key] != value:
                    doc[key] = value
        return tomlkit.dumps(doc)


def _merge_table(doc: Any, key: str, value: dict[str, Any]) -> None:
    """`doc[key]` made to hold `value` (a table of values or of tables),
    changing only what differs, so comments inside it stay."""
    import tomlkit

    if not value:
        if key in doc:
            del doc[key]
        return
    if key not in doc:
        doc[key] = tomlkit.table(is_super_table=all(isinstance(v, dict) for v in value.values()))
    table = doc[key]
    for name in [n for n in table if n not in value]:
        del table[name]
    for name, item in value.items():
        if isinstance(item, dict):
            _merge_table(table, name, item)
        elif name not in table or table[name] != item:
            table[name] = item


def _unknown(value: object, known: "Sequence[str]", listed: str, what: str = "setting") -> str:
    """"unknown setting 'x' (did you mean 'y'? known: ...)", one line."""
    from difflib import get_close_matches

    close = get_close_matches(str(value), list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {what} {str(value)[:60]!r} ({hint}{listed}: {', '.join(known)})"


def _checked(key: str, value: Any, where: str) -> Any:
    """A value of the type the setting's default has (an int where a float is
    wanted is taken), or a SettingsError that names it."""
    expected = type(getattr(Settings(), key))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise SettingsError(f"{where}: {key}: expected {expected.__name__}, got {repr(value)[:60]}")
    return value


def from_mapping(data: dict[str, Any], where: str = "settings") -> Settings:
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise SettingsError(f"{where}: {_unknown(key, list(known), 'known')}")
        value = _checked(key, value, where)
        if key == "presets":
            value = {name: _preset_values(name, table, where) for name, table in value.items()}
        elif key == "deck_presets":
            for deck_id, name in value.items():
                if not isinstance(name, str):
                    raise SettingsError(f"{where}: deck_presets.{str(deck_id)[:60]}: expected "
                                        f"a preset name, got {repr(name)[:60]}")
        values[key] = value
    settings = Settings(**values)
    try:
        settings.validate()
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return settings


def _preset_values(name: str, table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise SettingsError(f"{where}: presets.{str(name)[:40]}: expected a table of "
                            f"settings, got {repr(table)[:60]}")
    for key in table:
        if key not in PRESET_FIELDS:
            raise SettingsError(f"{where}: presets.{str(name)[:40]}: "
                                f"{_unknown(key, PRESET_FIELDS, 'a preset holds')}")
    try:
        return {key: _checked(key, value, "") for key, value in table.items()}
    except SettingsError as exc:
        raise SettingsError(f"{where}: presets.{str(name)[:40]}.{str(exc)[2:]}") from None


# Settings, presets and a keymap come to a few kilobytes; far more is no settings file.
MAX_SETTINGS_BYTES = 1_000_000


def load(path: Path) -> Settings:
    """Defaults when the file is missing; a SettingsError naming file and setting when bad."""
    from companion.paths import read_regular

    try:
        # a pipe or /dev/zero in its place never hangs the start
        text = read_regular(path, MAX_SETTINGS_BYTES).decode("utf-8")
    except FileNotFoundError:
        return Settings()
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables by recursion
        raise SettingsError(f"{path}: arrays or tables nested too deeply") from None
    return from_mapping(data, where=str(path))


def save(settings: Settings, path: Path) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    settings.validate()
    tmp = path.with_suffix(".toml.tmp")
    from tomlkit.exceptions import TOMLKitError

    try:
        previous = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        previous = ""
    try:
        text = settings.to_toml(previous)
    except TOMLKitError:  # a file tomlkit can't take back (tomllib read it): write it anew
        text = settings.to_toml()
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
