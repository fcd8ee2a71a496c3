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

# (id, label, placeholder), or with the value it starts with
Field = tuple[str, str, str] | tuple[str, str, str, str]
# tries what the values ask (or only checks them): None when done and good,
# else the one line that says what is wrong, shown under the fields
Attempt = Callable[[dict[str, str]], str | None]


class AskScreen(CompanionScreen[dict[str, str] | None], ModalScreen[dict[str, str] | None]):
    """Dismissed with the fields' values once `attempt` has nothing to say
    of them, or with None (esc)."""

    SCREEN_TITLE = "Question"
    KEYS_INTRO = "Tab moves between the fields; enter takes them; esc goes back, nothing done."

    BINDINGS = [*bindings.ASK]
    ID_PREFIX = "ask"  # the widgets' ids: ask-box, ask-FIELD, ask-error
    MAX_LENGTH = 1000

    def __init__(self, title: str, fields: list[Field], attempt: Attempt | None = None,
                 ok: str = "OK") -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.attempt = attempt
        self.ok = ok

    def compose(self) -> ComposeResult:
        prefix = self.ID_PREFIX
        with Vertical(classes="dialog", id=f"{prefix}-box") as box:
            box.border_title = self.title_text
            for ident, label, placeholder, *value in self.fields:
                with Horizontal(classes="dialog-row"):
                    yield Label(label, classes="dialog-label")
                    field = Input("".join(value), id=f"{prefix}-{ident}", compact=True,
                                  placeholder=placeholder, max_length=self.MAX_LENGTH)
                    field.cursor_blink = self.app.cursor_blink
                    yield field
            yield Static("", id=f"{prefix}-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.ok}  enter", id="ok", variant="primary")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one(f"#{self.ID_PREFIX}-error", Static).display = False
        self.query_one(Input).focus()

    def values(self) -> dict[str, str]:
        return {field[0]: self.query_one(f"#{self.ID_PREFIX}-{field[0]}", Input).value.strip()
                for field in self.fields}

    def action_ok(self) -> None:
        values = self.values()
        problem = self.attempt(values) if self.attempt else None
        if problem:
            from companion.cardtext import neutralise

            error = self.query_one(f"#{self.ID_PREFIX}-error", Static)
            error.update(neutralise(problem))
            error.display = True
            if len(self.fields) == 1:  # the one field it can be about
                self.query_one(Input).add_class("-invalid")
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
