"""The learner's own keys: `[keymap]` in settings.toml rebinds a key by its id.

    [keymap]
    "review.again" = "j"
    "review.good" = "k,3"
    "home.study" = "ctrl+s"

Every key companion binds has an id (F1 shows it beside the key); Textual's
keymap does the rebinding. An unknown id, a key Textual can't name, or a key
that another binding of the same screen already uses is left out and named in
a warning, so one slip never stops the app or silently takes a key away.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from companion.tui.bindings import SCOPES, by_id

if TYPE_CHECKING:
    from companion.tui.app import CompanionApp

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def key_display(app: CompanionApp, binding: Binding) -> str:
    """How `binding`'s first key reads now, the learner's keymap applied: the
    labels on buttons and hints say the key that actually works."""
    rebound = app.keymap.get(binding.id) if binding.id else None
    if rebound:
        return str(app.get_key_display(binding.with_key(_keys(rebound)[0], key_display=None)))
    first = binding.key.split(",")[0].strip()
    if first == binding.key:
        return str(app.get_key_display(binding))
    return str(app.get_key_display(binding.with_key(first, key_display=None)))


def keys_now(app: CompanionApp, binding: Binding) -> list[str]:
    """Every key `binding` answers to now, the learner's keymap applied."""
    rebound = app.keymap.get(binding.id) if binding.id else None
    return _keys(rebound or binding.key)


def _keys(text: str) -> list[str]:
    """Textual's reading of "?,ctrl+s": ['question_mark', 'ctrl+s'] (as the keymap
    and BINDINGS name them), through its public `Binding.make_bindings`."""
    return [binding.key for binding in Binding.make_bindings([Binding(text, "")])]


def clashes(keymap: dict[str, str]) -> list[tuple[str, str, str]]:
    """(rebound id, key, other id) for each rebound key that another binding
    of the same screen (or the app) already answers to, unless the two shared
    that key to begin with (Review's space reveals, then grades Good)."""
    app_bindings = SCOPES["app"]
    found = []
    for name, own in SCOPES.items():
        scope = own + (app_bindings if name != "app" else [])
        final = {b.id: _keys(keymap.get(b.id or "") or b.key) for b in scope}
        for binding in scope:
            if binding.id not in keymap:
                continue
            for key in final[binding.id]:
                for other in scope:
                    if other.id == binding.id or key not in final[other.id]:
                        continue
                    if other.action.removeprefix("app.") == binding.action.removeprefix("app."):
                        continue  # the same action under two ids (F1 here and in the app)
                    if key in _keys(binding.key) and key in _keys(other.key):
                        continue
                    found.append((str(binding.id), key, str(other.id)))
    return found


@cache
def _named_keys() -> frozenset[str]:
    """Textual's names of keys without modifiers: escape, f5, pageup, space, ..."""
    from textual.keys import Keys

    return frozenset(k.value.rpartition("+")[2] for k in Keys if not k.value.startswith("<"))


def key_problem(key: str) -> str | None:
    """Why Textual would never fire `key` ('ctrl+s', 'f5', 'j', '?'), or None."""
    from textual.keys import key_to_character

    if not key:
        return "an empty key"
    if len(key) == 1:
        return None  # any one character: 'j', '?', '['
    *modifiers, base = key.split("+")
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            return f"{key!r}: {modifier!r} is not a modifier ({', '.join(MODIFIERS)})"
    if len(base) == 1 or base in _named_keys() or key_to_character(base) is not None:
        return None
    return f"{key!r} is not a key Textual knows (like j, ?, f5, ctrl+s, space, enter)"


def check_keymap(keymap: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """(the entries that can be applied, one line per entry left out)."""
    known = by_id()  # the app's, every screen's and the stepper's: none of them imported
    good: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in keymap.items():
        if binding_id not in known:
            import difflib

            near = {k for k in known if k.split(".")[-1] == binding_id.split(".")[-1]}
            near.update(difflib.get_close_matches(binding_id, list(known), n=2, cutoff=0.8))
            hint = f" (did you mean {' or '.join(sorted(near))}?)" if near else \
                " (F1 shows each key's id)"
            problems.append(f"{binding_id!r} is not a key id{hint}")
            continue
        parts = [part.strip() for part in str(keys).split(",")]
        bad = [p for p in (key_problem(part) for part in parts) if p]
        if bad:
            problems.append(f"{binding_id}: {'; '.join(bad)}")
            continue
        good[binding_id] = ",".join(parts)
    # A rebound key another binding still uses: keep the defaults, say which.
    while taken := clashes(good):
        for binding_id, key, other in taken:
            if good.pop(binding_id, None) is not None:
                problems.append(f"{binding_id}: {key} is already {other}'s key on the same "
                                f"screen (rebind {other} too, or pick another key)")
    return good, problems
