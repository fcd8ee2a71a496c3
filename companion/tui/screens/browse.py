"""Browse: search the cards by text, deck, tag and state; a card's detail
shows its review history, stability, difficulty and recall probability now."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, Select, Static

from companion.cardtext import math_to_unicode, shown, without_bold, without_diagrams
from companion.scheduler import NEW, RATING_NAMES, REVIEW, STATE_NAMES
from companion.tui import bindings
from companion.tui.format import local_time
from companion.tui.messages import DecksLoaded, DetailLoaded, SearchDone
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.cardtext import CardText
from companion.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from companion.search import SearchResult
    from companion.settings import Settings
    from companion.stats import CardDetail

STATE_FILTERS = [("new", "new"), ("learning", "learning"), ("review", "review"),
                 ("relearning", "relearning"), ("due today", "due"),
                 ("suspended", "suspended"), ("buried", "buried")]


def when(ms: int | None, settings: Settings) -> str:
    return local_time(ms, settings)


def one_line(text: str, width: int = 60) -> str:
    flat = " ".join(math_to_unicode(without_diagrams(text)).split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


def _cut(text: str, width: int) -> str:
    """One line of a card's text for the Question column: a cloze gap's bold
    markers dropped, cut at a word with … when too long."""
    text = " ".join(without_bold(without_diagrams(text)).split())
    if len(text) <= width:
        return text
    cut = text[:width - 1]
    if " " in cut[width // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


class BrowseScreen(CompanionScreen):
    SCREEN_TITLE = "Browse"
    KEYS_INTRO = ("Type to search the cards' text (* matches any run of characters and _ "
                  "any one, as in Anki; \\* and \\_ themselves). In the search box: "
                  "deck:ID, tag:NAME, "
                  "is:new|learning|review|relearning|due|suspended|buried, lab:NAME, has:lab, "
                  "exercise:NAME, has:exercise, nc:TEXT (accents ignored, as Anki's), and a "
                  "leading - to negate a term. Enter or ↓ goes from the search box to "
                  "the cards, where the card keys work (s suspend, l lab, x exercise, "
                  "e edit, a add, f forget, r reschedule; F1 there lists them) and ↑↓ "
                  "move through the cards; the detail below (or beside, on a wide "
                  "terminal) follows.")

    BINDINGS = [*bindings.BROWSE]
    # The detail beside the list on a wide terminal. Browse's own: on the app,
    # every screen (Home at start among them) had all its styles worked out again.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial_query = query
        self.selected_id: str | None = None
        self.detail: CardDetail | None = None
        self.result_ids: list[str] = []

    def compose(self) -> ComposeResult:
        blink = self.app.cursor_blink
        with Horizontal(id="browse-filters"):
            search = Input(self.initial_query, placeholder="search: words  tag:x  is:due  deck:id",
                           id="search")
            search.cursor_blink = blink
            yield search
            yield Select([], prompt="any deck", id="deck-filter")
            yield Select(STATE_FILTERS, prompt="any state", id="state-filter")
        yield Static("", id="browse-count")
        with Horizontal(id="browse-main"):
            table: DataTable[Any] = DataTable(id="cards", cursor_type="row")
            table.add_column("Card", key="card", width=24)
            table.add_column("State", key="state", width=10)
            table.add_column("Due", key="due", width=10)
            table.add_column("Question", key="front")
            yield table
            with VerticalScroll(id="detail"):
                yield Static("", id="detail-head")
                yield CardText(id="detail-front")
                yield CardText(id="detail-back")
                yield Static("", id="detail-history")
        yield Footer()

    def on_mount(self) -> None:
        self.load_decks(self.new_request(DecksLoaded))
        self.query_one("#cards" if self.initial_query else "#search").focus()
        self.search()

    # -- workers -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="browse-decks", exit_on_error=False)
    def load_decks(self, request: int) -> None:
        with self.reader() as store:
            choices = store.deck_choices()
        self.reply(DecksLoaded(request, choices))

    @work(thread=True, exclusive=True, group="browse-search", exit_on_error=False)
    def run_search(self, request: int, text: str, deck: str | None, state: str | None) -> None:
        from companion.scheduler import LearnerDay
        from companion.search import search_cards

        _, day_end = LearnerDay(self.app.settings).bounds(self.app.clock())
        with self.reader() as store:
            result = search_cards(store, text, deck, state, day_end)
        for row in result.rows:  # math to Unicode here, off the UI thread
            row.front = one_line(row.front, 200)
        self.reply(SearchDone(request, result))

    @work(thread=True, exclusive=True, group="browse-detail", exit_on_error=False)
    def load_detail(self, request: int, card_id: str) -> None:
        from companion.stats import card_detail

        with self.reader() as store:
            detail = card_detail(store, self.app.settings, card_id, self.app.clock())
        self.reply(DetailLoaded(request, detail))

    def search(self) -> None:
        deck = self.query_one("#deck-filter", Select).value
        state = self.query_one("#state-filter", Select).value
        self.run_search(self.new_request(SearchDone), self.query_one("#search", Input).value,
                        None if deck is Select.NULL else str(deck),
                        None if state is Select.NULL else str(state))

    # -- results -----------------------------------------------------------

    def on_decks_loaded(self, message: DecksLoaded) -> None:
        if self.is_latest(message):
            self.query_one("#deck-filter", Select).set_options(message.choices)

    def on_search_done(self, message: SearchDone) -> None:
        if self.is_latest(message):
            self.show_results(message.result)

    def on_detail_loaded(self, message: DetailLoaded) -> None:
        if self.is_latest(message) and message.detail.card.id == self.selected_id:
            self.show_detail(message.detail)

    def show_results(self, result: SearchResult) -> None:
        app = self.app
        table = self.query_one("#cards", DataTable)
        table.clear()
        self.result_ids = []
        width = max(20, (table.size.width or 80) - 24 - 10 - 10 - 10)
        for row in result.rows:
            state = STATE_NAMES.get(row.state, "?")
            style = "dim" if row.suspended or row.buried else ""
            if row.suspended:
                state = "suspended"
            elif row.buried:
                state = "buried"
            due = when(row.due, app.settings)[:10] if row.state else ""
            name = row.id.split("/", 1)[-1]
            name = name if len(name) <= 24 else name[:16] + "…" + name[-7:]  # keeps .c1
            table.add_row(shown(name, style), Text(state, style=style),
                          Text(due, style=style), shown(_cut(row.front, width), style),
                          key=row.id)
            self.result_ids.append(row.id)
        listed = len(result.rows)
        count = f"{result.total} card{'s' if result.total != 1 else ''}"
        if listed < result.total:
            count += f" (showing the first {listed})"
        if not result.total:
            from companion.search import FILTERS, unknown_filters

            unknown = unknown_filters(self.query_one("#search", Input).value)
            if unknown:
                count += (f" · {', '.join(unknown)} is not a filter "
                          f"({' '.join(f'{f}:' for f in FILTERS)})")
        self.query_one("#browse-count", Static).update(count)
        if self.selected_id in self.result_ids:
            table.move_cursor(row=self.result_ids.index(self.selected_id))
        elif self.result_ids:
            self.select(self.result_ids[0])
        else:
            self.select(None)

    def select(self, card_id: str | None) -> None:
        self.selected_id = card_id
        request = self.new_request(DetailLoaded)  # a detail on its way is another card's
        if card_id is None:
            self.detail = None
            self.query_one("#detail-head", Static).update("No card matches.")
            self.query_one("#detail-front", CardText).show("")
            self.query_one("#detail-back", CardText).show("")
            self.query_one("#detail-history", Static).update("")
            self.refresh_bindings()
            return
        self.load_detail(request, card_id)

    def show_detail(self, detail: CardDetail) -> None:
        app = self.app
        self.detail = detail
        card = detail.card
        m = card.memory
        head = Text()
        head.append(shown(card.id, "bold"))
        head.append(shown(f"  {detail.deck_name}\n", "dim"))
        state = STATE_NAMES.get(m.state, "?") + (" · suspended" if card.suspended else "")
        if detail.buried:
            state += " · buried until tomorrow"
        head.append(f"{state}")
        if m.state:
            head.append(f" · due {when(m.due, app.settings)}")
        head.append("\n")
        if m.stability is not None:
            head.append(f"stability {m.stability:.1f} d · difficulty {m.difficulty:.1f}/10 · ")
        if detail.recall is not None:
            head.append(f"recall now {detail.recall:.0%} · ")
        head.append(f"{m.reps} review{'s' if m.reps != 1 else ''} · "
                    f"{m.lapses} lapse{'s' if m.lapses != 1 else ''}")
        if card.tags:
            head.append(shown(f"\ntags: {' '.join(card.tags)}", "dim"))
        if card.lab:
            head.append(f"\nlab: {card.lab}  (l opens it)", style="dim")
        if card.exercise:
            head.append(f"\nexercise: {card.exercise}  (x opens it)", style="dim")
        self.query_one("#detail-head", Static).update(head)
        self.query_one("#detail-front", CardText).show("**Q** " + card.front)
        self.query_one("#detail-back", CardText).show("**A** " + card.back)
        history = Table(title="Review history", title_justify="left", box=None,
                        pad_edge=False, expand=False, show_edge=False)
        for name in ("When", "Grade", "State before", "Time"):
            history.add_column(name)
        for review, duration in zip(detail.history, detail.durations):
            history.add_row(when(review.reviewed_at, app.settings),
                            RATING_NAMES.get(review.rating, "?"),
                            STATE_NAMES.get(review.state_before, "?")
                            if review.state_before is not None else "",
                            f"{duration / 1000:.0f}s")
        self.query_one("#detail-history", Static).update(
            history if detail.history else Text("Never reviewed.", style="dim"))
        self.refresh_bindings()

    # -- events and actions ------------------------------------------------

    @on(Input.Changed, "#search")
    @on(Select.Changed)
    def _filters_changed(self) -> None:
        self.search()

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        self.query_one("#cards").focus()

    @on(DataTable.RowHighlighted, "#cards")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key and key != self.selected_id:
            self.select(key)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_suspend":
            return True if self.detail is not None else None
        if action == "lab":
            return True if self.detail is not None and self.detail.card.lab else None
        if action == "forget":
            return True if self.detail is not None and self.detail.card.memory.reps else None
        if action == "reschedule":
            return True if self.detail is not None \
                and self.detail.card.memory.state == REVIEW else None
        return True

    def action_focus_table(self) -> None:
        self.query_one("#cards").focus()

    def action_focus_search(self) -> None:
        search = self.query_one("#search", Input)
        if search.has_focus and search.value:
            search.insert_text_at_cursor("/")  # a / inside a search is just a /
        else:
            search.focus()  # "/" means "search", even when the box has focus already

    def action_toggle_suspend(self) -> None:
        if self.detail is None:
            return
        from companion.session import ReviewSession

        app = self.app
        card = self.detail.card
        ReviewSession(self.store, app.settings).set_suspended(card.id, not card.suspended)
        self.notify(f"{'Unsuspended' if card.suspended else 'Suspended'} {card.id}", timeout=2)
        self.search()
        self.load_detail(self.new_request(DetailLoaded), card.id)

    def action_forget(self) -> None:
        """Asks first, as Anki's Forget does: no key takes it back, and f is one
        letter away from a search typed after Enter left the search box."""
        if self.detail is None:
            return
        from companion.tui.screens.settings import ConfirmScreen

        card = self.detail.card
        if card.memory.state == NEW:  # nothing to ask about: forget would do nothing
            self.notify(f"{card.id} is new already", timeout=3)
            return
        reps = len(self.detail.history)  # the log's, not the card's count (Anki's, reset)

        def answered(yes: bool | None) -> None:
            if yes:
                self.forget(card.id)

        self.app.push_screen(ConfirmScreen(
            "Forget card", f"Put {card.id} back to new? Its schedule starts again; its "
            f"{reps} review{'s' if reps != 1 else ''} stay in the log. Nothing takes this "
            "back.", "Forget  enter"), answered)

    def forget(self, card_id: str) -> None:
        from companion.replay import forget

        done = forget(self.store, self.app.settings, [card_id], self.app.clock())
        self.notify(f"Forgot {card_id}: new again, history kept" if done
                    else f"{card_id} is new already", timeout=3)
        self.search()
        self.load_detail(self.new_request(DetailLoaded), card_id)

    def action_reschedule(self) -> None:
        if self.detail is None:
            return
        from companion.replay import reschedule

        card = self.detail.card
        moved = reschedule(self.store, self.app.settings, self.app.clock(), card_ids=[card.id])
        self.notify(f"Rescheduled {card.id}" if moved
                    else f"{card.id} is already where the current settings put it", timeout=3)
        self.search()
        self.load_detail(self.new_request(DetailLoaded), card.id)

    def action_edit(self) -> None:
        if self.detail is None:
            return
        card_id = self.detail.card.id
        if self.app.edit_card(card_id):
            self.search()
            self.load_detail(self.new_request(DetailLoaded), card_id)

    def action_add_card(self) -> None:
        self.app.action_add_card(self.detail.card.deck_id if self.detail else None)

    def decks_changed(self) -> None:
        if self.is_mounted:
            self.search()

    def action_lab(self) -> None:
        if self.detail is None or not self.detail.card.lab:
            return
        card = self.detail.card
        self.app.open_lab(card.lab, dict(card.lab_params), card_id=card.id)

    def action_exercise(self) -> None:
        if self.detail is None or not self.detail.card.exercise:
            return
        self.app.open_exercise(self.detail.card.exercise)

    def action_leave(self) -> None:
        if self.focused is self.query_one("#search") and self.query_one("#search", Input).value:
            self.query_one("#search", Input).value = ""
            return
        self.dismiss()
