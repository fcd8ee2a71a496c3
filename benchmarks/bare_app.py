"""A bare Textual app: a one-row DataTable, a Button and a Footer.

The anchor for companion's start time in `bench_tui.py`: what any Textual app
of Home's shape costs to start and draw its first frame on this machine, with
none of companion's work (no store, no decks, no counts).

Run: python benchmarks/bare_app.py   (q quits)
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Button, DataTable, Footer


class BareApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")
        yield Button("Bare ready")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Deck", "New", "Learn", "Due")
        table.add_row("Bare deck", "20", "0", "100")


if __name__ == "__main__":
    BareApp().run()
