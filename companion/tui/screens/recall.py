"""Free recall, in the app: pick a deck section, write down what you remember
of it, and see idea by idea which ones the text names (companion.recall, the
rule `companion recall` uses too). The attempt is stored and shown in Stats;
the cards of the missed ideas can be studied at once, as a custom study of
those cards. Writing and checking change no card's schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Label, Select, Static, TextArea

from companion.cardtext import neutralise, shown
from companion.tui import bindings
from companion.tui.format import plural
from companion.tui.messages import RecallSectionsLoaded
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from companion.recall import RecallResult, Section


class RecallScreen(CompanionScreen):
    SCREEN_TITLE = "Free recall"
    KEYS_INTRO = ("Read a section's material once, then write down here everything you "
                  "remember of it, in your own words. ctrl+s checks which of the section's "
                  "ideas your text names (each card's Keys: field; case, plurals and "
                  "hyphens don't matter) and stores the attempt; ctrl+t then studies the "
                  "cards you missed. No card's schedule changes by writing or checking.")

    BINDINGS = [*bindings.RECALL]

    def __init__(self, section: str | None = None) -> None:
        super().__init__()
        self.wanted = section
        self.sections: dict[str, Section] = {}
        self.result: RecallResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="recall"):
            with Horizontal(id="recall-top"):
                yield Label("Section", id="recall-section-label")
                yield Select[str]([], prompt="Reading the decks…", id="recall-section",
                                  compact=True)
            yield Static("", id="recall-intro")
            area = TextArea("", id="recall-text", soft_wrap=True, show_line_numbers=False)
            area.cursor_blink = self.app.cursor_blink
            yield area
            yield Static("", id="recall-error")
            with VerticalScroll(id="recall-results"):
                yield Static("", id="recall-summary")
                yield Static("", id="recall-list")
            with Horizontal(id="recall-buttons"):
                yield Button("Check  ctrl+s", id="recall-check", variant="primary", compact=True)
                yield Button("Study missed  ctrl+t", id="recall-study", disabled=True, compact=True)
                yield Button("Try again  ctrl+n", id="recall-again", disabled=True, compact=True)
        yield Footer()

    def on_mount(self) -> None:
        for ident in ("#recall-error", "#recall-results"):
            self.query_one(ident).display = False
        for button in self.query(Button):
            button.can_focus = False
        self.load(self.new_request(RecallSectionsLoaded))

    @work(thread=True, exclusive=True, group="recall", exit_on_error=False)
    def load(self, request: int) -> None:
        from companion.recall import load_sections

        self.reply(RecallSectionsLoaded(request, load_sections(self.app.deck_folders)))

    def on_recall_sections_loaded(self, message: RecallSectionsLoaded) -> None:
        if not self.is_latest(message):
            return
        from companion.recall import RecallError, find_section

        self.sections = {s.name: s for s in message.sections}
        select = self.query_one("#recall-section", Select)
        select.set_options([(neutralise(f"{s.name} ({plural(len(s.ideas), 'idea')})"), s.name)
                            for s in message.sections])
        if not message.sections:
            self.show_error("No deck section has cards with a Keys: field to recall "
                            "(see the deck format's Keys:).")
            return
        chosen = message.sections[0]
        if self.wanted:
            try:
                chosen = find_section(message.sections, self.wanted)
            except RecallError as exc:
                self.app.notify(str(exc), severity="error", timeout=8)
        select.value = chosen.name
        self.query_one("#recall-text", TextArea).focus()

    @on(Select.Changed, "#recall-section")
    def _section_changed(self, event: Select.Changed) -> None:
        section = self.section
        if section is None:
            return
        self.query_one("#recall-intro", Static).update(shown(
            f"Write everything you remember of {section.name} "
            f"({plural(len(section.ideas), 'idea')} to find), then press ctrl+s."))
        if self.result is not None and self.result.section != section.name:
            self.action_again()

    @property
    def section(self) -> Section | None:
        value = self.query_one("#recall-section", Select).value
        return self.sections.get(value) if isinstance(value, str) else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Each key works when it can (None: shown, dimmed, until then)."""
        if action == "study_missed":
            return True if self.result is not None and self.result.missed_cards else None
        if action == "check":
            return True if self.result is None else None
        if action == "again":
            return True if self.result is not None else None
        return True

    def action_check(self) -> None:
        from companion.recall import RecallError, save, score, written_text

        section = self.section
        if section is None or self.result is not None:
            return
        try:
            text = written_text(self.query_one("#recall-text", TextArea).text)
        except RecallError as exc:
            self.show_error(str(exc))
            return
        result = score(section, text)
        save(self.store, result, self.app.clock())
        self.result = result
        self.show_result(result)

    def show_error(self, message: str) -> None:
        error = self.query_one("#recall-error", Static)
        error.update(shown(message))
        error.display = True

    def show_result(self, result: RecallResult) -> None:
        self.query_one("#recall-error").display = False
        area = self.query_one("#recall-text", TextArea)
        area.read_only = True
        area.styles.height = 5
        self.query_one("#recall-summary", Static).update(Text.assemble(
            (result.headline(), "bold"),
            " · stored; no card's schedule changed"))
        lines: list[Text] = []
        for item in result.results:
            if item.recalled:
                named = ", ".join(f for f in item.found if f is not None)
                lines.append(Text.assemble(("✓ ", "bold green"), shown(item.idea.summary),
                                           shown(f"  named: {named}", "dim")))
        if result.missed:
            lines.append(Text(f"\nMissed ({len(result.missed)}):", style="bold"))
        for item in result.missed:
            lines.append(Text.assemble(("✗ ", "bold red"), shown(item.idea.summary),
                                       shown(f"  missing: {', '.join(item.missing)}", "dim")))
        self.query_one("#recall-list", Static).update(Group(*lines))
        self.query_one("#recall-results").display = True
        self.query_one("#recall-check", Button).disabled = True
        self.query_one("#recall-study", Button).disabled = not result.missed_cards
        self.query_one("#recall-again", Button).disabled = False
        self.query_one("#recall-results").focus()
        self.refresh_bindings()

    def action_study_missed(self) -> None:
        from companion.session import Selection

        if self.result is None or not self.result.missed_cards:
            return
        self.app.action_study(None, Selection(card_ids=self.result.missed_cards,
                                              built_at=self.app.clock()))

    def action_again(self) -> None:
        self.result = None
        area = self.query_one("#recall-text", TextArea)
        area.read_only = False
        area.styles.height = "1fr"
        area.text = ""
        self.query_one("#recall-results").display = False
        self.query_one("#recall-error").display = False
        self.query_one("#recall-check", Button).disabled = False
        self.query_one("#recall-study", Button).disabled = True
        self.query_one("#recall-again", Button).disabled = True
        area.focus()
        self.refresh_bindings()

    @on(Button.Pressed, "#recall-check")
    def _check_pressed(self) -> None:
        self.action_check()

    @on(Button.Pressed, "#recall-study")
    def _study_pressed(self) -> None:
        self.action_study_missed()

    @on(Button.Pressed, "#recall-again")
    def _again_pressed(self) -> None:
        self.action_again()
