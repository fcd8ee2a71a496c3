"""A small dialog that asks for a few lines of text (a new deck's id and
name, a file to import), checks them, and hands them back."""

from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from companion.tui import bindings
from companion.tui.screens.base import CompanionScreen

# (id, label, placeholder)
Field = tuple[str, str, str]
# tries what the values ask (or only checks them): None when done and good,
# else the one line that says what is wrong, shown under the fields
Attempt = Callable[[dict[str, str]], str | None]


class AskScreen(CompanionScreen[dict[str, str] | None], ModalScreen[dict[str, str] | None]):
    """Dismissed with the fields' values once `attempt` has nothing to say
    of them, or with None (esc)."""

    SCREEN_TITLE = "Question"
    KEYS_INTRO = "Tab moves between the fields; enter takes them; esc goes back, nothing done."

    BINDINGS = [*bindings.ASK]

    def __init__(self, title: str, fields: list[Field], attempt: Attempt | None = None,
                 ok: str = "OK") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.attempt = attempt
        self.ok = ok

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="ask-box") as box:
            box.border_title = self.title_text
            for ident, label, placeholder in self.fields:
                with Horizontal(classes="dialog-row"):
                    yield Label(label, classes="dialog-label")
                    field = Input(id=f"ask-{ident}", compact=True, placeholder=placeholder,
                                  max_length=1000)
                    field.cursor_blink = self.app.cursor_blink
                    yield field
            yield Static("", id="ask-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.ok}  enter", id="ok", variant="primary")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#ask-error", Static).display = False
        self.query_one(Input).focus()

    def values(self) -> dict[str, str]:
        return {ident: self.query_one(f"#ask-{ident}", Input).value.strip()
                for ident, _label, _placeholder in self.fields}

    def action_ok(self) -> None:
        values = self.values()
        problem = self.attempt(values) if self.attempt else None
        if problem:
            from companion.cardtext import neutralise

            error = self.query_one("#ask-error", Static)
            error.update(neutralise(problem))
            error.display = True
            return
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_leave(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            inputs[inputs.index(event.input) + 1].focus()  # enter: the next field, then OK
            return
        self.action_ok()

    @on(Button.Pressed, "#ok")
    def _ok_pressed(self) -> None:
        self.action_ok()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
