"""A step-by-step trace: one step of a computation at a time, forward and back,
with the tensors' shapes and values on screen, laid out by labs.render."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from companion.tui import bindings

# `companion lab run` draws the same steps: one layout, laid out for the width
# the body has when it is drawn (all of a matrix's columns, in blocks if need be).
from labs.render import Fitted, trace_body


class TraceStepper(VerticalScroll, can_focus=True):
    """Shows one TraceStep; ←/→ (or p/n) move, Home/End jump."""

    BINDINGS = [*bindings.TRACE]

    index: reactive[int] = reactive(0)

    class Moved(Message):
        def __init__(self, index: int, total: int) -> None:
            super().__init__()
            self.index = index
            self.total = total

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("", classes="trace-body")

    def set_steps(self, steps: list[Any]) -> None:
        self.steps = list(steps)
        if self.index >= len(self.steps):
            self.index = max(0, len(self.steps) - 1)
        self.show()

    def add_step(self, step: Any) -> None:
        self.steps.append(step)
        self.show()

    def watch_index(self) -> None:
        self.show()

    def show(self) -> None:
        if not self.is_mounted:
            return
        body = self.query_one(".trace-body", Static)
        if not self.steps:
            body.update(Text("No trace yet: run a lab that traces its steps.", style="dim"))
            return
        step = self.steps[self.index]
        head = Text.assemble((f"Step {self.index + 1} of {len(self.steps)}: ", "bold"),
                             (step.name, "bold underline"),
                             ("   ← p  previous · next  n →", "dim"))
        body.update(Group(head, Text(""), Fitted(lambda width: trace_body(step, width))))
        self.post_message(self.Moved(self.index, len(self.steps)))

    def action_step(self, delta: int) -> None:
        if self.steps:
            self.index = max(0, min(len(self.steps) - 1, self.index + delta))
            self.scroll_home(animate=False)

    def action_jump(self, where: int) -> None:
        if self.steps:
            self.index = where % len(self.steps)
            self.scroll_home(animate=False)
