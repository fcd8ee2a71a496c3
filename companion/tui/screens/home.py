"""Home: the decks with what is left today, the day's work, the streak, a
calendar of the last months, and one obvious way to start studying."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.css.query import NoMatches
from textual.widgets import Button, DataTable, Static

from companion.cardtext import shown
from companion.tui import bindings
from companion.tui.app import FIRST_FRAME_WAIT
from companion.tui.format import plural
from companion.tui.messages import HomeLoaded
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.calendar import CalendarHeatmap
from companion.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from companion.session import Counts
    from companion.stats import HomeData

ALL_DECKS = ""  # the row key of "All decks"


class HomeScreen(CompanionScreen):
    SCREEN_TITLE = "Home"
    KEYS_INTRO = ("Pick a deck with ↑↓ and press Enter or space to study it, or s to study "
                  "every deck. Every key is also in the command palette (ctrl+p).")

    BINDINGS = [*bindings.HOME]

    data: HomeData | None = None  # what the screen shows; None until the first load

    def compose(self) -> ComposeResult:
        with Vertical(id="home"):
            yield Static("Opening your collection…", id="home-summary")
            table: DataTable[Any] = DataTable(id="decks", cursor_type="row", zebra_stripes=False)
            table.add_column("Deck", key="deck")
            table.add_column("New", key="new")
            table.add_column("Learning", key="learning")
            table.add_column("Due", key="due")
            yield table
            with Horizontal(id="study-row"):
                yield Button("Opening…", id="study", variant="primary", disabled=True)
                yield Static("", id="home-hint")
            yield CalendarHeatmap(id="calendar")
            yield Static("", id="calendar-caption")
        yield Footer(keys_at_once=True)  # Home's keys depend on nothing it loads

    left = False  # another screen was opened over Home since it was drawn
    drawn = False  # mounted, its widgets there to fill
    _first: HomeData | None = None  # the store worker's counts, until mounted

    def on_mount(self) -> None:
        try:
            self.query_one("#study", Button).can_focus = False
            self.query_one("#decks", DataTable).focus()
        except NoMatches:  # the app is closing before it got going (an unusable database)
            return
        self.drawn = True
        # The first frame: with the counts when the store worker has them in time.
        self.app.take_store_within(FIRST_FRAME_WAIT)
        if self._first is not None:
            self.show_first(self._first)
        elif self.app.ready and HomeLoaded not in self.latest_requests:
            self.reload()

    def on_screen_suspend(self) -> None:
        self.left = True

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self.left:
            # Home's first resume, as the app starts: its widgets took their
            # styles as they mounted, a moment ago, and nothing that styles them
            # has changed since (each focus or class change restyles its own
            # widget). Textual's handler, after this one, would work them all
            # out again before the first frame.
            event.refresh_styles = False
        elif self.app.ready and self.is_mounted:
            self.reload()

    def reload(self) -> None:
        self.load(self.new_request(HomeLoaded))

    def show_first(self, data: HomeData) -> None:
        """The counts the store worker read as it opened the store: drawn as
        the answer to a request of their own, so any later load supersedes them
        (kept for the mount when they come before it)."""
        if not self.drawn:
            self._first = data
            return
        self._first = None
        self.on_home_loaded(HomeLoaded(self.new_request(HomeLoaded), data))

    @work(thread=True, exclusive=True, group="home", exit_on_error=False)
    def load(self, request: int) -> None:
        from companion.stats import home_data

        with self.reader() as store:
            data = home_data(store, self.app.settings, self.app.clock())
        self.reply(HomeLoaded(request, data))

    def on_home_loaded(self, message: HomeLoaded) -> None:
        if not self.is_latest(message):
            return
        data = message.data
        self.data = data
        table = self.query_one("#decks", DataTable)
        selected = None
        if table.row_count and table.cursor_row is not None:
            try:
                cell = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
                selected = cell.row_key.value
            except Exception:
                selected = None
        table.clear()
        total = data.total
        if len(data.decks) > 1:
            table.add_row(Text("All decks", style="bold"), *self._counts(total),
                          key=ALL_DECKS)
        for deck in data.decks:
            table.add_row(Text.assemble("  " * deck.depth, shown(deck.name)),
                          *self._counts(deck.counts),
                          key=deck.id)
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        minutes = round(data.seconds_today / 60)
        answers = plural(data.answered_today, "answer")  # answers, not distinct cards
        took = f" in {minutes} min" if data.answered_today and minutes else ""
        parts = [f"{answers}{took} today"]
        parts.append(f"streak {plural(data.streak, 'day')}")
        parts.append(f"{plural(data.cards, 'card')} in {plural(len(data.decks), 'deck')}")
        self.query_one("#home-summary", Static).update(" · ".join(parts))
        self._show_study_button()
        hint = ("↑↓ deck · Enter study · a add card · ? keys"
                if len(data.decks) > 1 else "Enter study · a add card · ? keys")
        if not data.reviews:
            hint = "Welcome! " + hint
        self.query_one("#home-hint", Static).update(hint)
        self.query_one("#calendar", CalendarHeatmap).set_data(data.calendar, data.today)
        self.query_one("#calendar-caption", Static).update(
            f"{plural(data.year, 'review')} in the last year")

    def _show_study_button(self) -> None:
        """The button studies what Enter would: the highlighted deck (with its
        subdecks), or every deck on "All decks", and counts that."""
        if self.data is None:
            return
        selected = self._selected_deck()
        counts = next((deck.counts for deck in self.data.decks if deck.id == selected),
                      self.data.total)
        button = self.query_one("#study", Button)
        if counts.total:
            button.label = f"Study now · {plural(counts.total, 'card')}"
            button.disabled = False
        else:
            button.label = "All done for today"
            button.disabled = True

    @on(DataTable.RowHighlighted, "#decks")
    def _row_highlighted(self) -> None:
        self._show_study_button()

    @staticmethod
    def _counts(counts: Counts) -> list[Text]:
        return [Text(str(counts.new), style="bold blue" if counts.new else "dim",
                     justify="right"),
                Text(str(counts.learning), style="bold red" if counts.learning else "dim",
                     justify="right"),
                Text(str(counts.review), style="bold green" if counts.review else "dim",
                     justify="right")]

    def _selected_deck(self) -> str | None:
        table = self.query_one("#decks", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        return key or None

    def action_add_card(self) -> None:
        self.app.action_add_card(self._selected_deck())

    def decks_changed(self) -> None:
        """The deck files were loaded again: the counts may have moved."""
        if self.is_mounted and self.app.ready:
            self.reload()

    def action_study_selected(self) -> None:
        self.app.action_study(self._selected_deck())

    def action_custom_study(self) -> None:
        """Custom study of the highlighted deck (all decks on "All decks")."""
        self.app.action_custom_study(self._selected_deck())

    @on(DataTable.RowSelected, "#decks")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.action_study(event.row_key.value or None)

    @on(Button.Pressed, "#study")
    def _study_pressed(self) -> None:
        self.app.action_study(self._selected_deck())
