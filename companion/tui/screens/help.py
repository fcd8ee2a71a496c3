"""? / F1: the keys of the screen underneath, with what each does and the id
that rebinds it in settings.toml's `[keymap]`."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from companion.tui import bindings
from companion.tui.screens.base import CompanionScreen


def key_rows(screen: Screen, focused: bool = False) -> list[tuple[str, str, str, str]]:
    """(keys, description, tooltip, ids) of every binding active on `screen`,
    keys that do the same joined: 'space/enter', and the ids that rebind them.
    The screen's and the app's own keys; with `focused`, those of the focused
    widget instead. companion's keys come first, in the order the screen
    declares them (whatever a keymap did to them), Textual's general ones after."""
    app = screen.app
    rows: dict[tuple[str, str, str], list[str]] = {}
    ids: dict[tuple[str, str, str], list[str]] = {}
    rank: dict[tuple[str, str, str], tuple[int, int]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.system or not binding.description:
            continue
        if (active.node in (screen, app)) == focused:
            continue
        ident = (binding.action.removeprefix("app."), binding.description, binding.tooltip)
        display = app.get_key_display(binding)
        keys = rows.setdefault(ident, [])
        if display not in keys:
            keys.append(display)
        if binding.id:
            declared = [getattr(b, "id", None) for b in type(active.node).BINDINGS]
            place = (0 if active.node is not app else 1,
                     declared.index(binding.id) if binding.id in declared else len(declared))
            rank[ident] = min(rank.get(ident, place), place)
            if binding.id not in ids.setdefault(ident, []):
                ids[ident].append(binding.id)
    ours = sorted((ident for ident in rows if ident in ids), key=rank.__getitem__)
    rest = [ident for ident in rows if ident not in ids]
    return [("/".join(rows[ident]), ident[1], ident[2], "/".join(ids.get(ident, [])))
            for ident in ours + rest]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [*bindings.HELP]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.rows = key_rows(under)
        self.widget_rows = key_rows(under, focused=True)
        # The screen underneath may be Textual's own (the command palette).
        shown = under if isinstance(under, CompanionScreen) else CompanionScreen
        self.title_text = shown.SCREEN_TITLE
        self.intro = shown.KEYS_INTRO

    @staticmethod
    def table(rows: list[tuple[str, str, str, str]]) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False, expand=True)
        table.add_column("key", style="bold", no_wrap=True, min_width=10)
        table.add_column("does", ratio=1)
        table.add_column("id", style="dim", no_wrap=True)
        for keys, description, tooltip, binding_id in rows:
            detail = Text(description)
            if tooltip and tooltip != description:
                detail.append(f" — {tooltip}", style="dim")
            table.add_row(keys, detail, binding_id)
        return table

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = f"Keys: {self.title_text}"
            box.border_subtitle = Text(  # Text: "[keymap]" is not markup
                "esc closes · [keymap] in settings.toml rebinds a key by its id")
            if self.intro:
                yield Static(self.intro, id="help-intro")
            yield Static(self.table(self.rows), id="help-keys")
            if self.widget_rows:
                yield Static("In the focused list or field", classes="help-section")
                yield Static(self.table(self.widget_rows), id="help-widget-keys")

    def action_close(self) -> None:
        self.dismiss()
