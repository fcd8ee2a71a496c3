"""Custom study, as Anki's dialog of that name: review ahead, review forgotten
cards, or today's cards of one tag, and raise today's limits. The choices are
checked by the same rule `companion review --tag/--ahead/--forgotten` uses
(`companion.session.check_selection`); Start dismisses the dialog with the
`Selection`, which the app then studies."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from companion.session import Selection
from companion.tui import bindings
from companion.tui.screens.base import CompanionScreen

# (value, label) of what to study; "today" is today's queue (of a tag, if given)
KINDS = (("today", "Today's cards (of the tag, if given)"),
         ("ahead", "Review ahead: cards due in the next days"),
         ("forgotten", "Review cards forgotten in the last days"))
# the input each check_selection field is shown under
FIELD_INPUTS = {"tag": "tag", "ahead": "days", "forgotten": "days", "extra_new": "extra-new",
                "extra_reviews": "extra-reviews"}


class CustomStudyScreen(CompanionScreen[Selection | None], ModalScreen[Selection | None]):
    SCREEN_TITLE = "Custom study"
    KEYS_INTRO = ("As Anki's Custom Study: choose what to study, optionally only the cards "
                  "of one tag, and raise today's new or review limit for the rest of the "
                  "day. ctrl+s (or Start) checks the choices and starts; esc goes back "
                  "with nothing changed. Answers are scheduled as in any review.")

    BINDINGS = [*bindings.CUSTOM]

    def __init__(self, deck_id: str | None = None) -> None:
        super().__init__()
        self.deck_id = deck_id

    def compose(self) -> ComposeResult:
        blink = self.app.cursor_blink
        with Vertical(id="custom-box") as box:
            box.border_title = "Custom study" + (f" · {self.deck_id}" if self.deck_id else "")
            yield Select([(label, value) for value, label in KINDS], value="today",
                         allow_blank=False, id="kind", compact=True)
            for ident, label, value, kind in (
                    ("days", "Days", "1", "integer"),
                    ("tag", "Only the tag", "", "text"),
                    ("extra-new", "Raise today's new-card limit by", "0", "integer"),
                    ("extra-reviews", "Raise today's review limit by", "0", "integer")):
                with Horizontal(classes="custom-row"):
                    yield Label(label, classes="custom-label")
                    field = Input(value, id=ident, compact=True, type=kind)  # type: ignore[arg-type]  # a literal of Input's
                    field.cursor_blink = blink
                    yield field
            yield Static("", id="custom-error")
            with Horizontal(id="custom-buttons"):
                yield Button("Start  ctrl+s", id="start", variant="primary")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#custom-error", Static).display = False
        self.query_one("#kind", Select).focus()

    def chosen(self) -> Selection | None:
        """The selection the dialog describes, or None after showing what is wrong.
        A raise of today's limits is made here, before the study starts."""
        from companion.session import ReviewSession, SelectionError, check_selection

        app = self.app
        numbers: dict[str, int] = {}
        for ident in ("days", "extra-new", "extra-reviews"):
            text = self.query_one(f"#{ident}", Input).value.strip() or "0"
            try:
                numbers[ident] = int(text)
            except ValueError:
                self.show_error(ident, f"{text!r} is not a whole number")
                return None
        kind = str(self.query_one("#kind", Select).value)
        days = numbers["days"]
        if kind != "today" and days < 1:
            self.show_error("days", f"{days} days: give a number of days of 1 or more")
            return None
        tag = self.query_one("#tag", Input).value.strip() or None
        try:
            selection = check_selection(
                self.store, tag, days if kind == "ahead" else 0,
                days if kind == "forgotten" else 0, numbers["extra-new"],
                numbers["extra-reviews"], built_at=app.clock())
        except SelectionError as exc:
            self.show_error(FIELD_INPUTS[exc.field], str(exc))
            return None
        if numbers["extra-new"] or numbers["extra-reviews"]:
            new, review = ReviewSession(self.store, app.settings, deck_id=self.deck_id,
                                        clock=app.clock).extend_today(
                numbers["extra-new"], numbers["extra-reviews"])
            app.notify(f"Today's limits: {new} new, {review} reviews (until the day ends)",
                       timeout=4)
        return selection

    def show_error(self, ident: str, message: str) -> None:
        error = self.query_one("#custom-error", Static)
        error.update(message)
        error.display = True
        for field in self.query(Input):
            field.set_class(field.id == ident, "-invalid")
        self.query_one(f"#{ident}", Input).focus()

    def action_start(self) -> None:
        selection = self.chosen()
        if selection is not None:
            self.dismiss(selection)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_leave(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_start()
