"""Review: a card's front, space to reveal, 1-4 to grade, as in Anki.

A typed card (`Type: yes`) shows a box for the answer; Enter compares it with
the expected one (companion.typeanswer, the comparison line mode shows too),
reveals the answer under the comparison, and Enter again takes the grade the
comparison proposes (Good when exact, Again otherwise); 1-4 pick another.

Each answer goes through `ReviewSession.answer`, which commits the review and
the card's new state in one transaction before it returns, and only then is
the next card drawn: a crash loses nothing already answered. Those calls take
about a millisecond, so they run on the UI thread, in order.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Rule, Static
from textual.widgets.button import ButtonVariant

from companion.cardtext import shown
from companion.scheduler import RATING_NAMES, STATE_NAMES
from companion.session import CardView, ReviewSession, Selection
from companion.store import StoreError
from companion.tui import bindings
from companion.tui.messages import ExerciseChecked, LabEnded, LabEvent
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.cardtext import CardText
from companion.tui.widgets.footer import Footer

MAX_ANSWER_MS = 60_000  # as Anki: a card left on screen longer counts as one minute
GRADE_VARIANTS: dict[int, ButtonVariant] = {1: "error", 2: "warning", 3: "success",
                                            4: "primary"}
# how each piece of a prediction's verdict (companion.predict.Verdict) is styled
VERDICT_STYLES = {"label": "bold", "guess": "", "answer": "bold", "detail": "dim",
                  "right": "green", "wrong": "yellow", "problem": "yellow"}


def short_id(card_id: str) -> str:
    """A card's id without its deck: what a learner can recognise in a toast."""
    return card_id.split("/", 1)[-1]


GRADE_IDS = {1: "review.again", 2: "review.hard", 3: "review.good", 4: "review.easy"}


class AnswerBox(Input):
    """The box a typed answer or a prediction is written in. Esc there leaves
    the box for the review's keys (the screen's `leave` does it), and the
    footer says so rather than showing the screen's "esc Home"."""

    BINDINGS = [*bindings.ANSWER_BOX]


class ReviewScreen(CompanionScreen):
    SCREEN_TITLE = "Review"
    KEYS_INTRO = ("Read the question, recall the answer, then press space (or Enter) to see "
                  "it. Grade how well you remembered: 1 Again (forgot), 2 Hard, 3 Good, "
                  "4 Easy; each button shows when the card comes back. Space or Enter on the "
                  "answer side means Good. A card that asks you to type the answer checks it "
                  "on Enter, and then Enter takes the grade the check proposes. A diagram "
                  "card covers one label of a drawing with [▒▒▒]: name what is covered, then "
                  "reveal the drawing whole. A predict card asks for your guess first; Enter "
                  "runs its lab and shows what happened beside your guess. Your answer is "
                  "saved before the next card shows.")

    BINDINGS = [*bindings.REVIEW]

    def __init__(self, deck_id: str | None = None, selection: Selection | None = None) -> None:
        super().__init__()
        self.deck_id = deck_id
        self.selection = selection
        self.card: CardView | None = None
        self.revealed = False
        self.finished = False
        self.answered = 0
        self.again = 0
        self.shown_at = 0
        self.started_at = 0
        self.previews: dict[int, str] = {}
        self.predict_token = 0
        self.predict_run: Any = None
        self.verdict: str | Text = ""
        self.exercise_token = 0  # the latest check of the card's exercise
        self.comparison: Any = None  # a typed card's companion.typeanswer.Comparison
        # the grade a typed answer's comparison or an exercise's check proposes
        self.proposed: int | None = None
        self.default_rating = 3  # what space or Enter grades on the answer side
        self.image_roots: Any = None  # where the card's images may come from

    # -- layout ------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="review-status"):
            yield Static("", id="card-where")
            yield Static("", id="left")
        with VerticalScroll(id="card"):
            yield CardText(id="front")
            with Vertical(id="predict"):
                yield Static("", id="choices")
                guess = AnswerBox(placeholder="your prediction, then Enter runs the lab",
                                  id="guess")
                guess.cursor_blink = self.app.cursor_blink
                yield guess
                yield Static("", id="predict-status")
            with Vertical(id="type-box"):
                typed = AnswerBox(placeholder="type the answer, then Enter checks it",
                                  id="typed")
                typed.cursor_blink = self.app.cursor_blink
                yield typed
                yield Static("", id="type-status")
            with Vertical(id="answer"):
                yield Rule(line_style="heavy")
                yield Static("", id="verdict")
                yield CardText(id="back")
                yield CardText(id="extra")
                yield CardText(id="source")
                yield Static("", id="lab-hint")
        with Vertical(id="summary"):
            yield Static("", id="summary-text")
        with Horizontal(id="actions"):
            yield Button(f"Show answer  {self.key('review.reveal')}", id="reveal",
                         variant="primary")
            for rating in (1, 2, 3, 4):
                yield Button(RATING_NAMES[rating], id=f"grade-{rating}",
                             variant=GRADE_VARIANTS[rating], classes="grade")
            yield Button(f"Home  {self.key('review.finish')}", id="done", variant="primary")
        # Compact (one space between keys): the question side's keys, esc Home
        # last, fit in 80 columns; spaced as elsewhere they ran off the edge.
        yield Footer(compact=True)

    def key(self, binding_id: str) -> str:
        """The key that does `binding_id` now (the learner may have rebound it)."""
        from companion.tui.keymap import key_display

        return key_display(self.app, next(b for b in bindings.REVIEW if b.id == binding_id))

    def _check_label(self) -> str:
        """A typed card's button. In the answer box space types a space and Enter
        checks; out of it the reveal key checks, which is Enter too unless the
        learner rebound it."""
        from companion.tui.keymap import keys_now

        reveal = next(b for b in bindings.REVIEW if b.id == "review.reveal")
        if "enter" in keys_now(self.app, reveal):
            return "Check answer  enter"
        return f"Check answer  enter · {self.key('review.reveal')} out of the box"

    def on_mount(self) -> None:
        app = self.app
        for button in self.query(Button):
            button.can_focus = False  # keys go to the screen; a click still works
        self.session = ReviewSession(self.store, app.settings, deck_id=self.deck_id,
                                     clock=app.clock, selection=self.selection)
        self.started_at = app.clock()
        self.query_one("#card").focus()
        self.show_card(self.session.next_card())

    # -- state -------------------------------------------------------------

    def _image_roots(self, card: CardView) -> Any:
        """Where the card's images may come from (looked up for a card with one)."""
        if "![" not in card.front + card.back + card.extra:
            return None
        from companion.cardimages import image_roots

        return image_roots(self.store.deck_path(card.deck_id))

    def show_card(self, card: CardView | None, keep_typed: bool = False) -> None:
        if self.predict_run is not None:  # a prediction's lab run belongs to the card leaving
            self.predict_run.cancel()
        self.predict_token += 1
        self.card = card
        self.revealed = False
        if card is None:
            self.show_summary()
            return
        self.finished = False
        self.shown_at = self.app.clock()
        self.image_roots = self._image_roots(card)
        front = self.query_one("#front", CardText)
        front.show(card.front, self.image_roots)
        front.display = True
        self.query_one("#card", VerticalScroll).scroll_home(animate=False)
        predict = card.kind == "predict"
        typed = bool(card.type_answer)
        self.layout_for(revealed=False, finished=False, predict=predict, typed=typed)
        self.query_one("#reveal", Button).label = (
            self._check_label() if typed else f"Show answer  {self.key('review.reveal')}")
        self.verdict = ""
        self.comparison = None
        self.proposed = None
        self.default_rating = 3
        self.query_one("#verdict", Static).update("")
        if predict:
            choices = self.query_one("#choices", Static)
            choices.update(Text.assemble(("Choices: ", "bold"), shown(" | ".join(card.choices)))
                           if card.choices else "")
            choices.display = bool(card.choices)
            self.query_one("#predict-status", Static).update(Text(
                f"Type your prediction and press Enter: the {card.lab} lab then runs and "
                "shows what it measures. Enter alone runs it without a guess; esc leaves "
                "the box for the other keys.", style="dim"))
            guess = self.query_one("#guess", Input)
            guess.value = ""
            guess.disabled = False
            guess.focus()
        elif typed:
            box = self.query_one("#typed", Input)
            if not keep_typed:
                box.value = ""
            box.disabled = False
            self.query_one("#type-status", Static).update(Text(
                "Type the answer and press Enter to check it; esc leaves the box for the "
                "other keys.", style="dim"))
            box.focus()
        else:
            self.query_one("#card").focus()
        state = "suspended" if card.suspended else STATE_NAMES[card.memory.state]
        if card.kind == "predict":
            state += " · predict, then run"
        elif typed:
            state += " · type the answer"
        elif card.kind == "diagram":
            state += " · name what is covered"
        custom = self.session.selection.describe()
        self.query_one("#card-where", Static).update(
            Text.assemble(shown(card.deck_id, "bold"), " · ", (state, "italic"),
                          (f" · {shown(custom)}" if custom else "", "dim")))
        self.update_counts()
        self.refresh_bindings()
        if card.kind == "diagram":  # once laid out: the front's height is the new card's
            self.call_after_refresh(self.call_after_refresh, self._show_mask, card)

    def _show_mask(self, card: CardView) -> None:
        """Scroll a diagram's front so its mask shows: on a short screen a label
        low in a tall drawing fell below the fold, the question asking about a
        cover the learner couldn't see."""
        from textual.geometry import Region

        from companion.cardtext import DiagramBlock, split_diagrams

        if self.card is not card or self.revealed:
            return
        block = next((p for p in split_diagrams(card.front) if isinstance(p, DiagramBlock)),
                     None)
        if block is None or not block.marks:
            return
        front = self.query_one("#front", CardText)
        # the drawing is the last part of the front, its lines at its bottom
        top = front.virtual_region.y + front.size.height - len(block.lines)
        rows = [m.row for m in block.marks]
        region = Region(0, top + min(rows), 1, max(rows) - min(rows) + 1)
        self.query_one("#card", VerticalScroll).scroll_to_region(region, animate=False)

    def layout_for(self, revealed: bool, finished: bool, predict: bool,
                   typed: bool = False) -> None:
        """Show the parts of the screen this moment needs. `display` is set on
        the few widgets concerned (no stylesheet pass over the whole screen),
        which keeps a grade key to the next card quick."""
        wanted = (revealed, finished, predict, typed)
        if getattr(self, "_layout", None) == wanted:
            return
        self._layout = wanted
        self.query_one("#card").display = not finished
        self.query_one("#summary").display = finished
        self.query_one("#answer").display = revealed and not finished
        self.query_one("#predict").display = predict and not finished
        self.query_one("#type-box").display = typed and not revealed and not finished
        self.query_one("#reveal").display = not revealed and not finished and not predict
        self.query_one("#done").display = finished
        for rating in (1, 2, 3, 4):
            self.query_one(f"#grade-{rating}").display = revealed and not finished

    def update_counts(self) -> None:
        counts = self.session.counts()
        left = Text.assemble(
            (str(counts.new), "bold blue"), " new · ",
            (str(counts.learning), "bold red"), " learning · ",
            (str(counts.review), "bold green"), " due")
        self.query_one("#left", Static).update(left)

    def reveal(self) -> None:
        card = self.card
        if card is None:
            return
        self.revealed = True
        self.query_one("#card").focus()
        verdict = self.query_one("#verdict", Static)
        verdict.update(self.verdict)
        verdict.display = bool(self.verdict)
        self.query_one("#back", CardText).show(card.back, self.image_roots)
        # A diagram's answer is its drawing uncovered, in the covered one's place
        # (as Anki's image occlusion shows the picture once), not a second copy under it.
        if card.kind == "diagram":
            self.query_one("#front", CardText).display = False
            self.query_one("#card", VerticalScroll).scroll_home(animate=False)
        extra = self.query_one("#extra", CardText)
        extra.show(card.extra, self.image_roots)
        extra.display = bool(card.extra)
        source = self.query_one("#source", CardText)
        source.show(f"**Source:** {card.source}" if card.source else "")
        source.display = bool(card.source)
        hint = self.query_one("#lab-hint", Static)
        lines = Text()
        if card.lab:
            params = " ".join(f"{k}={v}" for k, v in card.lab_params.items())
            lines.append_text(Text.assemble(
                ("Lab: ", "bold"), f"{card.lab} {params}".strip(),
                (f"  press {self.key('review.lab')} to run it", "dim")))
        if card.exercise:
            if card.lab:
                lines.append("\n")
            lines.append_text(Text.assemble(
                ("Exercise: ", "bold"), card.exercise,
                (f"  {self.key('review.exercise')} writes it, {self.key('review.check')} "
                 "checks it", "dim")))
        hint.update(lines)
        hint.display = bool(card.lab or card.exercise)
        self.previews = self.session.previews(card)
        proposed = self.proposed
        for rating in (1, 2, 3, 4):
            # a typed answer's check proposes a grade: its button is marked
            self.query_one(f"#grade-{rating}", Button).label = (
                f"{'▸ ' if rating == proposed else ''}{self.key(GRADE_IDS[rating])} "
                f"{RATING_NAMES[rating]} · {self.previews[rating]}")
        self.layout_for(revealed=True, finished=False, predict=card.kind == "predict",
                        typed=bool(card.type_answer))
        self.refresh_bindings()

    def show_summary(self) -> None:
        from companion.stats import today_retention

        app = self.app
        self.finished = True
        self.layout_for(revealed=False, finished=True, predict=False)
        now = app.clock()
        elapsed = max(0, now - self.started_at) // 1000
        minutes, seconds = divmod(elapsed, 60)
        today = today_retention(self.store, app.settings, now)
        lines = Text()
        lines.append("Session complete\n\n" if self.answered else "Nothing to study\n\n",
                     style="bold")
        lines.append(f"{self.answered} card{'s' if self.answered != 1 else ''} answered in "
                     f"{minutes}:{seconds:02d}")
        if self.answered:
            lines.append(f", {self.answered - self.again} remembered")
        lines.append("\n")
        if today.total:
            lines.append(f"Retention today: {today.rate:.0%} ({today.passed} of {today.total} "
                         f"review cards), aiming for "
                         f"{app.settings.for_deck(self.deck_id).desired_retention:.0%}\n")
        else:
            lines.append("Retention today: no review cards yet (learning steps don't count)\n")
        later = self._learning_later(now)
        if later:
            lines.append(f"\n{later} learning card{'s' if later != 1 else ''} come back later "
                         "today.\n")
        else:
            lines.append("\nNothing else is due today. See you tomorrow.\n")
        lines.append("\nEnter: back home · u: undo the last step", style="dim")
        self.query_one("#summary-text", Static).update(lines)
        self.query_one("#left", Static).update("")
        self.query_one("#card-where", Static).update("")
        self.refresh_bindings()

    def _learning_later(self, now: int) -> int:
        _, end = self.session.day.bounds(now)
        return self.session.store.learning_due_count(end, self.deck_id)

    # -- actions -----------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            from labs import installed

            return (self.card is not None and not self.revealed
                    and (self.card.kind != "predict" or installed.missing() is not None))
        if action in ("grade", "grade_default"):
            return self.card is not None and self.revealed
        if action == "finish":
            return self.finished
        if action in ("suspend", "bury"):
            return self.card is not None
        if action == "lab":  # on a card without one, l says so rather than nothing
            return self.card is not None
        if action == "undo":
            return True if self.session.can_undo else None
        return True

    def action_reveal(self) -> None:
        if self.card is not None and not self.revealed:
            if self.card.type_answer:  # what is in the box so far is checked
                self.check_typed(self.query_one("#typed", Input).value)
            else:
                self.reveal()

    def action_grade_default(self) -> None:
        """Space or Enter on the answer side: Good, or what a typed answer's check proposes."""
        self.action_grade(self.default_rating)

    def action_grade(self, rating: int) -> None:
        card = self.card
        if card is None or not self.revealed:
            return
        app = self.app
        duration = min(MAX_ANSWER_MS, max(0, app.clock() - self.shown_at))
        try:
            result = self.session.answer(card.id, rating, duration)  # committed on return
        except StoreError as exc:
            # A full disk or a read-only file: this answer is not saved, every
            # earlier one is. Say so and end the session rather than go on.
            self.app.notify(f"Could not save this answer: {exc}", severity="error", timeout=30)
            self.app.pop_screen()
            return
        self.answered += 1
        self.again += rating == 1
        if result.leech:
            what = "suspended" if result.leech_suspended else "tagged"
            self.notify(f"{card.id} has lapsed {result.memory.lapses} times: leech, {what}",
                        severity="warning")
        self.show_card(self.session.next_card())

    def action_undo(self) -> None:
        undone = self.session.undo()
        if undone is None:
            self.notify("Nothing to undo", timeout=2)
            return
        if undone.kind == "answer":
            self.answered -= 1
            self.again -= undone.rating == 1
        self.notify(f"Undid {undone.kind}: {short_id(undone.card_id)} is back", timeout=2)
        self.show_card(self.session.card(undone.card_id))

    def action_suspend(self) -> None:
        card = self.card
        if card is None:
            return
        self.session.suspend(card.id)
        self.notify(f"Suspended {short_id(card.id)} (u undoes)", timeout=3)
        self.show_card(self.session.next_card())

    def action_bury(self) -> None:
        card = self.card
        if card is None:
            return
        self.session.bury(card.id)
        self.notify(f"Buried {short_id(card.id)} until tomorrow (u undoes)", timeout=3)
        self.show_card(self.session.next_card())

    def action_lab(self) -> None:
        card = self.card
        if card is None:
            return
        if not card.lab:
            self.notify("This card has no lab", timeout=2)
            return
        self.app.open_lab(card.lab, dict(card.lab_params), card_id=card.id)

    def action_exercise(self) -> None:
        """The card's exercise in the learner's editor: the attempt so far, or
        the starter file the first time."""
        card = self.card
        if card is None:
            return
        if not card.exercise:
            self.notify("This card has no exercise", timeout=2)
            return
        self.app.open_exercise(card.exercise,
                               after=f"{self.key('review.check')} checks your attempt")

    def action_check_exercise(self) -> None:
        card = self.card
        if card is None:
            return
        if not card.exercise:
            self.notify("This card has no exercise", timeout=2)
            return
        if not self.app.labs_ready():
            return
        self.exercise_token += 1
        self.notify(f"Checking {card.exercise}…", timeout=3)
        self.run_exercise_check(self.exercise_token, card.id, card.exercise)

    @work(thread=True, exclusive=True, group="exercise", exit_on_error=False)
    def run_exercise_check(self, token: int, card_id: str, name: str) -> None:
        from companion import exercises
        from companion.store import Store

        day_start, _ = self.session.day.bounds(self.app.clock())
        store = Store(self.store.path)  # its own connection: this is a worker thread
        try:
            checked = exercises.check(store, name, exercises.attempt_path(name),
                                      card_id=card_id, day_start=day_start)
            self.post_message(ExerciseChecked(token, card_id, checked))
        except exercises.ExerciseError as exc:
            self.post_message(ExerciseChecked(token, card_id, error=str(exc)))
        except Exception as exc:  # the checker broke: say so, the review goes on
            self.post_message(ExerciseChecked(token, card_id, error=f"the check failed: {exc}"))
        finally:
            store.close()

    def on_exercise_checked(self, message: ExerciseChecked) -> None:
        """The check's result over the answer, its proposed grade on Enter."""
        from companion.cardtext import neutralise

        card = self.card
        if message.token != self.exercise_token or card is None or card.id != message.card_id:
            return  # a newer check, or another card since: this result is stale
        if message.error or message.checked.failure:
            self.notify(neutralise(message.error or message.checked.failure),
                        severity="error", timeout=8)
            return
        checked = message.checked
        summary = checked.summary
        verdict = Text()
        verdict.append(f"Exercise {card.exercise}: {summary['passed']} of {summary['total']} "
                       "checks passed\n", style="bold green" if checked.passed else "bold red")
        for item in summary.get("checks", []):
            if not item["passed"]:
                verdict.append(f"✗ {neutralise(item['name'])}: ", style="red")
                verdict.append(neutralise(item["detail"])[:300] + "\n")
                if item.get("hint"):
                    verdict.append(f"  hint: {neutralise(item['hint'])}\n", style="yellow")
        if checked.proposed is not None:
            self.default_rating = self.proposed = checked.proposed
            verdict.append(f"{RATING_NAMES[checked.proposed]} proposed: "
                           f"{self.key('review.good_default')} takes it, 1-4 choose another",
                           style="bold")
        self.verdict = verdict
        self.reveal()

    def action_edit(self) -> None:
        """The card in the learner's editor, then shown as edited (a card
        whose edit doesn't read is shown as it was; the app says where)."""
        card = self.card
        if card is None or not self.app.edit_card(card.id):
            return
        updated = self.session.card(card.id)
        self.show_card(updated)

    def decks_changed(self) -> None:
        """The deck files changed under the review: the card shown is read
        again (its text may have changed; its place in the queue has not)."""
        if self.card is not None and not self.revealed:
            try:
                self.show_card(self.session.card(self.card.id), keep_typed=True)
            except KeyError:
                pass

    def action_leave(self) -> None:
        if self.predict_run is not None:
            self.predict_run.cancel()
            return
        guess = self.query_one("#guess", Input)
        typed = self.query_one("#typed", Input)
        if typed.has_focus:
            # Out of the answer box, so the keys work again; Tab goes back to it.
            self.query_one("#card").focus()
            self.query_one("#type-status", Static).update(Text(
                f"Keys work now: {self.key('review.reveal')} checks what is typed, "
                f"{self.key('review.undo')} undo, {self.key('review.suspend')} suspend, "
                f"{self.key('review.bury')} bury, esc home; Tab goes back to the box.",
                style="dim"))
            self.refresh_bindings()
            return
        if guess.has_focus:
            # Out of the prediction box, so the keys (u, s, b, ?) work again;
            # Tab goes back to it, and Esc again goes home.
            self.query_one("#card").focus()
            self.query_one("#predict-status", Static).update(Text(
                f"Keys work now: {self.key('review.undo')} undo, {self.key('review.suspend')} "
                f"suspend, {self.key('review.bury')} bury, esc home; Tab goes back to "
                "your prediction.", style="dim"))
            self.refresh_bindings()
            return
        self.dismiss()

    def action_finish(self) -> None:
        self.dismiss()

    # -- typed answers -----------------------------------------------------

    @on(Input.Submitted, "#typed")
    def _typed_submitted(self, event: Input.Submitted) -> None:
        if self.card is not None and self.card.type_answer and not self.revealed:
            self.check_typed(event.value)

    def check_typed(self, typed: str) -> None:
        """Compare what was typed with the card's answer, show the comparison
        over the answer, and make Enter the grade it proposes."""
        from companion.typeanswer import compare_answer, comparison_text, proposal

        card = self.card
        if card is None:
            return
        self.comparison = compare_answer(card.type_answer, typed)
        self.default_rating = self.proposed = self.comparison.proposed_rating
        verdict = comparison_text(self.comparison)
        verdict.append("\n")
        verdict.append(f"{proposal(self.comparison)}: "
                       f"{self.key('review.good_default')} takes it, 1-4 choose another",
                       style="bold")
        self.verdict = verdict
        self.query_one("#typed", Input).disabled = True
        self.reveal()

    # -- predict, then run -------------------------------------------------

    @on(Input.Submitted, "#guess")
    def _guess_submitted(self, event: Input.Submitted) -> None:
        card = self.card
        if card is None or card.kind != "predict" or self.predict_run is not None:
            return
        if not self.app.labs_ready():  # nothing to measure with: the card's answer
            event.input.disabled = True
            self.reveal()
            return
        event.input.disabled = True
        self.predict_token += 1
        self.query_one("#predict-status", Static).update(
            f"Running the {card.lab} lab… esc cancels it")
        self.run_prediction(self.predict_token, card, event.value.strip())

    @work(thread=True, exclusive=True, group="predict", exit_on_error=False)
    def run_prediction(self, token: int, card: CardView, guess: str) -> None:
        from labs.events import Failed

        app = self.app
        try:
            run = app.lab_runner(self.store, lab=card.lab, params=dict(card.lab_params),
                                 card_id=card.id, prediction=guess or None)
            self.predict_run = run
            for event in run.events():
                self.post_message(LabEvent(token, (guess, event)))
        except Exception as exc:  # the runner broke: say so, the review goes on
            self.post_message(LabEvent(token, (guess, Failed("exception", str(exc)))))
        finally:
            self.predict_run = None
            self.post_message(LabEnded(token))

    def on_lab_event(self, message: LabEvent) -> None:
        card = self.card
        if message.run_token != self.predict_token or card is None:
            return
        guess, event = message.event
        status = self.query_one("#predict-status", Static)
        if event.type == "progress" and event.total:
            status.update(f"Running the {card.lab} lab… {event.done / event.total:.0%} "
                          f"{event.label} · esc cancels it")
        elif event.type == "result":
            from companion.predict import verdict

            self.verdict = Text.assemble(*(
                (text, VERDICT_STYLES[role])
                for text, role in verdict(card.reveal, card.choices, guess,
                                          event.summary).pieces()))
        elif event.type == "failed":
            from companion.predict import unfinished

            self.verdict = Text(unfinished(event.kind, event.message),
                                style="red")

    def on_lab_ended(self, message: LabEnded) -> None:
        if message.run_token == self.predict_token and self.card is not None \
                and self.card.kind == "predict" and not self.revealed:
            self.query_one("#predict-status", Static).update(Text(
                "The run is kept with the lab's past runs (l opens the lab).", style="dim"))
            self.reveal()

    # -- mouse -------------------------------------------------------------

    @on(Button.Pressed, "#reveal")
    def _reveal_pressed(self) -> None:
        self.action_reveal()

    @on(Button.Pressed, ".grade")
    def _grade_pressed(self, event: Button.Pressed) -> None:
        self.action_grade(int(str(event.button.id).removeprefix("grade-")))

    @on(Button.Pressed, "#done")
    def _done_pressed(self) -> None:
        self.dismiss()
