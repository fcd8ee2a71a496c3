"""A step-by-step trace: one step of a computation at a time, forward and back,
with the tensors' shapes and values on screen."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from companion.tui import bindings

MAX_ROWS = 16
MAX_COLS = 12


def fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isinf(v):
            return "-∞" if v < 0 else "∞"
        if math.isnan(v):
            return "nan"
        return f"{v:.4g}"
    return str(v)


def depth(value: Any) -> int:
    d = 0
    while isinstance(value, list) and value:
        value = value[0]
        d += 1
    return d


def matrix(name: str, value: list[list[Any]]) -> Group:
    cols = max((len(r) for r in value), default=0)
    # The name on its own line: a table title would wrap to the table's width.
    table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
    for _ in range(min(cols, MAX_COLS) + (1 if cols > MAX_COLS else 0)):
        table.add_column(justify="right", no_wrap=True)
    for row in value[:MAX_ROWS]:
        cells = [fmt(v) for v in row[:MAX_COLS]]
        if cols > MAX_COLS:
            cells.append(f"… +{cols - MAX_COLS}")
        table.add_row(*cells)
    if len(value) > MAX_ROWS:
        table.add_row(f"… {len(value) - MAX_ROWS} more rows")
    return Group(Text(name, style="bold"), table)


def value_block(name: str, value: Any) -> Any:
    """A number, a vector, a matrix, or a stack of matrices (one per head)."""
    d = depth(value)
    if d >= 3:
        parts = [value_block(f"{name}[{i}]", item) for i, item in enumerate(value[:4])]
        if len(value) > 4:
            parts.append(Text(f"… {len(value) - 4} more", style="dim"))
        return Group(*parts)
    if d == 2:
        return matrix(name, value)
    if d == 1:
        shown = ", ".join(fmt(v) for v in value[:32])
        more = f", … ({len(value)} in all)" if len(value) > 32 else ""
        return Text.assemble((name + " ", "bold"), f"[{shown}{more}]")
    return Text.assemble((name + " ", "bold"), fmt(value))


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

    def compose(self):  # type: ignore[no-untyped-def]
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
        parts: list[Any] = [head, Text(""), Text(step.description), Text("")]
        if step.shapes:
            shapes = Text()
            for key, shape in step.shapes.items():
                shapes.append(f"{key} ", style="bold")
                shapes.append(" × ".join(str(n) for n in shape) if shape else "scalar")
                shapes.append("   ")
            parts += [Text("shapes", style="dim"), shapes, Text("")]
        for key, value in step.values.items():
            parts += [value_block(key, value), Text("")]
        body.update(Group(*parts))
        self.post_message(self.Moved(self.index, len(self.steps)))

    def action_step(self, delta: int) -> None:
        if self.steps:
            self.index = max(0, min(len(self.steps) - 1, self.index + delta))
            self.scroll_home(animate=False)

    def action_jump(self, where: int) -> None:
        if self.steps:
            self.index = where % len(self.steps)
            self.scroll_home(animate=False)
