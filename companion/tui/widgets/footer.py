"""The key footer every screen shows: Textual's, recomposed only when the keys
it shows change.

Textual's Footer recomposes (removes and mounts all its keys again) on every
bindings signal: a focus move, the screen stack changing, the app gaining
focus. As Home opens that is three recomposes in a row of the same keys,
after its first frame. This one keeps what it last showed and skips a
recompose that would show the same keys again; on Home it draws its keys in
the first frame.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    def __init__(self, *children: Widget, keys_at_once: bool = False, **kwargs: Any) -> None:
        """`keys_at_once`: the keys are drawn in the screen's first frame, not
        after its first bindings signal, for a screen whose keys need nothing
        of its state (no `check_action` that reads what its mount sets up)."""
        super().__init__(*children, **kwargs)
        self.keys_at_once = keys_at_once
        self._shown: tuple[Any, ...] | None = None  # the keys drawn, as `_keys` gives them

    def _keys(self) -> tuple[Any, ...]:
        """What the footer draws from the screen's bindings, as a value to compare."""
        app = self.app
        shown = tuple((key, app.get_key_display(binding), binding.description, binding.action,
                       binding.group, enabled, tooltip, binding.tooltip)
                      for key, (_node, binding, enabled, tooltip)
                      in self.screen.active_bindings.items()
                      if binding.show or key == app.COMMAND_PALETTE_BINDING)
        return shown, self.compact, self.show_command_palette, self.combine_groups

    def compose(self) -> ComposeResult:
        if self.keys_at_once and self._shown is None:
            self.bindings_changed(self.screen)  # what Textual waits for; its recompose is skipped
        drawn = 0
        for widget in super().compose():
            drawn += 1
            # A key's `compact` starts True and is bound to the footer's at
            # mount: set here, its styles are not worked out twice more per key.
            # (The command palette's key is not bound: it stays as it is.)
            compact = getattr(type(widget), "compact", None)
            if isinstance(compact, Reactive) and not widget.has_class("-command-palette"):
                widget.set_reactive(compact, self.compact)
            yield widget
        # Nothing drawn: Textual waits for the screen's first bindings signal.
        self._shown = self._keys() if drawn else None

    async def recompose(self) -> None:
        if self._shown is not None and self.is_attached and self._keys() == self._shown:
            return
        await super().recompose()
