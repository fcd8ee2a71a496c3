"""The learner's settings: a TOML file in the data dir, every value checked."""

from __future__ import annotations

import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
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
#   "deck"    the deck file's order, decks by id: Anki's "Deck" gather order
#             with ascending position;
#   "random"  Anki's "Random cards": sorted by a hash of the card id salted
#             with the day, so the order holds all day (quit and reopen: the
#             same next card) and changes the next day;
#   "section" round-robin over the deck's sections (a note's first tag): the
#             first note of each section, then the second of each, ...; a
#             note's cloze cards stay together, as Anki's sibling-keeping orders.
NEW_CARD_ORDERS = ("deck", "random", "section")


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
    timezone: str = ""  # empty: the system's local time zone
    theme: str = "ansi-dark"  # the terminal's own colours; any Textual theme name works
    # FSRS-6 parameters fitted by `companion optimize`; empty means fsrs's defaults.
    parameters: list[float] = field(default_factory=list)
    # The learner's own keys, binding id -> keys ("review.again" = "j"); the
    # app checks ids and key names against its bindings (companion.tui.keymap).
    keymap: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        def fail(name: str, why: str) -> None:
            raise SettingsError(f"{name}: {why}")

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

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(asdict(self))


def from_mapping(data: dict[str, Any], where: str = "settings") -> Settings:
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            from difflib import get_close_matches

            close = get_close_matches(str(key), list(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise SettingsError(f"{where}: unknown setting {str(key)[:60]!r} "
                                f"({hint}known: {', '.join(known)})")
        default = getattr(Settings(), key)
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SettingsError(
                f"{where}: {key}: expected {expected.__name__}, got {repr(value)[:60]}"
            )
        values[key] = value
    settings = Settings(**values)
    try:
        settings.validate()
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    return settings


def load(path: Path) -> Settings:
    """Defaults when the file is missing; a SettingsError naming file and setting when bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    return from_mapping(data, where=str(path))


def save(settings: Settings, path: Path) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    settings.validate()
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(settings.to_toml(), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
