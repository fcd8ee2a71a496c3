"""`companion review --plain`: a line-mode session for any terminal or a pipe.

It reads commands from stdin, one per line: Enter reveals, 1-4 grade (Enter
on the answer side is Good, as in the app), `s` suspends, `b` buries until
tomorrow, `u` undoes the last of these, `q` quits. Each answer is committed
before the next card is shown, and the line `saved: <card id> <rating>` says so.

A typed card (`Type: yes`) asks for the answer instead; the line typed is
compared with the expected one (companion.typeanswer, as in the app), and
Enter on the answer side takes the grade the comparison proposes. A card's
images show as their alt text and file name (companion.cardimages).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from companion.cardtext import NeutralisingWriter, math_to_unicode, neutralise, without_bold
from companion.scheduler import RATING_NAMES, STATE_NAMES
from companion.session import CardView, ReviewSession, Selection
from companion.settings import Settings
from companion.store import Store

if TYPE_CHECKING:
    from companion.typeanswer import Comparison

MAX_ANSWER_MS = 60_000  # as Anki: a card left on screen longer counts as a minute


def _read(stream: TextIO, prompt: str, out: TextIO, lower: bool = True) -> str | None:
    out.write(prompt)
    out.flush()
    line = stream.readline()
    if not line:
        return None
    return line.strip().lower() if lower else line.strip()


def _show(out: TextIO, label: str, text: str, roots: Sequence[Path] | None = None) -> None:
    """In a terminal the text is rendered as Markdown (code, lists, emphasis);
    in a pipe it stays plain text, one field per line, easy to read back.
    Images read as `[image: alt — file.png]` in both (`roots`: where they may be).
    A diagram's drawing prints as it is drawn, its columns kept."""
    if "```diagram" in text:
        _show_diagram(out, label, text)
        return
    if "![" in text:
        from companion.cardimages import find_images, with_fallbacks

        images = find_images(text, roots)
        text = with_fallbacks(text, images, markdown=out.isatty(), reason="")
    if not out.isatty():
        out.write(f"{label}: {without_bold(math_to_unicode(text).strip())}\n")
        return
    body = neutralise(math_to_unicode(text, markdown=True).strip())
    from rich.console import Console
    from rich.markdown import Markdown

    out.write(f"{label}:\n")
    out.flush()
    # rich writes its own styles (escape sequences) to the stream underneath;
    # the card's text inside them is neutralised above.
    raw = out.stream if isinstance(out, NeutralisingWriter) else out
    Console(file=raw).print(Markdown(body))


def _show_diagram(out: TextIO, label: str, text: str) -> None:
    """A diagram card's side, as the app draws it (companion.cardtext's
    pieces): in a pipe its lines plain, the mask in place; in a terminal the
    mask and the uncovered label marked as the app marks them."""
    from companion.cardtext import DiagramBlock, diagram_group, markdown_unescaped, split_diagrams

    if not out.isatty():
        lines = []
        for part in split_diagrams(text):
            if isinstance(part, DiagramBlock):
                lines.append(part.text)
            elif part.strip():
                lines.append(markdown_unescaped(without_bold(math_to_unicode(part).strip())))
        # as a card's other fields read: "Q: the caption", then the drawing under it
        first = "" if lines and "\n" not in lines[0] and not text.startswith("```") else "\n"
        out.write(f"{label}:{' ' if not first else first}" + "\n".join(lines) + "\n")
        return
    from rich.console import Console

    out.write(f"{label}:\n")
    out.flush()
    raw = out.stream if isinstance(out, NeutralisingWriter) else out
    Console(file=raw).print(diagram_group(text))


def run_plain_review(store: Store, settings: Settings, deck_id: str | None = None,
                     limit: int = 0, stdin: TextIO | None = None,
                     stdout: TextIO | None = None,
                     lab_runner: Callable[..., Any] | None = None,
                     selection: Selection | None = None,
                     clock: Callable[[], int] | None = None) -> int:
    """`lab_runner` runs a predict card's lab (companion.labrunner.LabRun unless
    given, as the app's is); `selection` is what to study (a tag, a custom
    study; companion.session.Selection), today's queue unless given."""
    inp = stdin or sys.stdin
    out: Any = NeutralisingWriter(stdout or sys.stdout)  # the terminal-safety wall
    if clock is None:
        session = ReviewSession(store, settings, deck_id=deck_id, selection=selection)
    else:
        session = ReviewSession(store, settings, deck_id=deck_id, clock=clock,
                                selection=selection)
    if session.selection.describe():
        out.write(f"Custom study: {session.selection.describe()}\n")
    answered = 0
    started = time.monotonic()
    again = 0
    forced: CardView | None = None
    while not limit or answered < limit:
        card = forced or session.next_card()
        forced = None
        if card is None:
            out.write("Nothing left in this custom study.\n" if session.selection.describe()
                      else "Nothing left to study today. Well done.\n")
            break
        counts = session.counts()
        out.write(f"\n[{card.deck_id} · {STATE_NAMES[card.memory.state]}] "
                  f"left today: {counts.new} new · {counts.learning} learning · "
                  f"{counts.review} due\n")
        roots = _image_roots(store, card)
        _show(out, "Predict" if card.kind == "predict" else "Q", card.front, roots)
        shown = time.monotonic()
        guess: str | None = None
        if card.type_answer:
            # the answer as typed (commands are read in any case, as for a prediction)
            guess = _read(inp, "Type the answer (Enter checks; u: undo, q: quit) > ", out,
                          lower=False)
            command = guess.lower() if guess is not None else None
            if command not in ("u", "q"):
                command = ""  # an answer, even one that reads s or b
        elif card.kind == "predict":
            if card.choices:
                out.write(f"Choices: {' | '.join(card.choices)}\n")
            # a guess as typed, as the app keeps it (commands are read in any case)
            guess = _read(inp, "Your prediction (then the lab runs; u: undo, q: quit) > ", out,
                          lower=False)
            command = guess.lower() if guess is not None else None
        else:
            command = _read(inp, "(Enter: show answer, s: suspend, b: bury, u: undo, q: quit) > ",
                            out)
        if command is None or command == "q":
            break
        if command == "u":
            forced, answered, again = _undo(session, out, answered, again)
            continue
        if command in ("s", "b") and card.kind != "predict":
            _set_aside(session, card, command, out)
            continue
        if card.kind == "predict":
            _run_prediction(store, card, guess or "", out, lab_runner)
        default = 3  # Enter on the answer side: Good, as in the app
        if card.type_answer:
            from companion.typeanswer import compare_answer

            comparison = compare_answer(card.type_answer, guess or "")
            _show_comparison(out, comparison)
            default = comparison.proposed_rating
        if card.back:
            _show(out, "A", card.back, roots)
        if card.extra:
            _show(out, "Extra", card.extra, roots)
        if card.source:
            out.write(f"Source: {card.source}\n")
        if card.lab:
            params = " ".join(f"{k}={v}" for k, v in card.lab_params.items())
            out.write(f"Lab: companion lab run {card.lab} {params}".rstrip() + "\n")
        previews = session.previews(card)
        buttons = "  ".join(f"{r} {RATING_NAMES[r]} ({previews[r]})" for r in (1, 2, 3, 4))
        rating = None
        aside = False
        while rating is None:
            command = _read(inp, f"{buttons} (Enter: {default})  s b u q > ", out)
            if command is None or command == "q":
                return _summary(out, answered, again, started)
            if command == "u":
                break
            if command in ("s", "b"):
                _set_aside(session, card, command, out)
                aside = True
                break
            if command in ("", "1", "2", "3", "4"):
                rating = int(command or default)
            else:
                out.write(f"'{command}'? Type 1, 2, 3 or 4 to grade (Enter: "
                          f"{RATING_NAMES[default]}), s to suspend, b to bury, u to undo, "
                          "q to quit.\n")
        if aside:
            continue
        if rating is None:  # undo from the answer side: the previous card comes back
            forced, answered, again = _undo(session, out, answered, again)
            forced = forced or card
            continue
        duration = min(MAX_ANSWER_MS, int((time.monotonic() - shown) * 1000))
        result = session.answer(card.id, rating, duration)
        answered += 1
        again += rating == 1
        out.write(f"saved: {card.id} {RATING_NAMES[rating]}\n")
        out.flush()  # "saved" is a promise: say it only once it is committed, and at once
        if result.leech:
            out.write(f"{card.id} has lapsed {result.memory.lapses} times: tagged leech"
                      f"{' and suspended' if result.leech_suspended else ''}.\n")
    return _summary(out, answered, again, started)


def _image_roots(store: Store, card: CardView) -> tuple[Path, ...] | None:
    """Where the card's images may come from (looked up only for a card with one)."""
    if "![" not in card.front + card.back + card.extra:
        return None
    from companion.cardimages import image_roots

    return image_roots(store.deck_path(card.deck_id))


def _show_comparison(out: TextIO, comparison: Comparison) -> None:
    """What was typed against the answer, as the app shows it: in a terminal
    with the app's marks (struck, underlined; NO_COLOR keeps them), in a pipe
    with [brackets]; then the grade it proposes."""
    from companion.typeanswer import comparison_lines, comparison_text, proposal

    if out.isatty():
        from rich.console import Console

        raw = out.stream if isinstance(out, NeutralisingWriter) else out
        out.flush()
        # the comparison's text is neutralised where it is made (comparison_text)
        Console(file=raw, highlight=False).print(comparison_text(comparison))
    else:
        for line in comparison_lines(comparison):
            out.write(line + "\n")
    out.write(f"{proposal(comparison)}; Enter takes it, 1-4 choose another.\n")


def _run_prediction(store: Store, card: CardView, guess: str, out: TextIO,
                    lab_runner: Callable[..., Any] | None = None) -> None:
    """Run the card's lab, then show what it measured next to the learner's guess,
    with the verdict the app shows too (companion.predict.verdict)."""
    from companion.predict import unfinished, verdict
    from labs.events import Failed, Progress, Result

    runner = lab_runner
    if runner is None:
        from companion.labrunner import LabRun

        runner = LabRun
    out.write(f"Running the {card.lab} lab to check (Ctrl-C stops it) ...\n")
    out.flush()
    run = runner(store, lab=card.lab, params=card.lab_params, card_id=card.id,
                 prediction=guess or None)
    shown = -1
    for event in run.events():
        if isinstance(event, Progress) and event.total:
            tenth = int(10 * event.done / event.total)
            if tenth > shown:
                shown = tenth
                out.write(f"  {10 * tenth}% {event.label}\n")
                out.flush()
        elif isinstance(event, Failed):
            out.write(unfinished(event.kind, event.message) + "\n")
        elif isinstance(event, Result):
            out.write(f"{verdict(card.reveal, card.choices, guess, event.summary)}\n")


def _set_aside(session: ReviewSession, card: CardView, command: str, out: TextIO) -> None:
    if command == "s":
        session.suspend(card.id)
        out.write(f"suspended: {card.id} (u undoes)\n")
    else:
        session.bury(card.id)
        out.write(f"buried until tomorrow: {card.id} (u undoes)\n")
    out.flush()


def _undo(session: ReviewSession, out: TextIO, answered: int,
          again: int) -> tuple[CardView | None, int, int]:
    """The card to show again, and the session's answer and Again counts after."""
    undone = session.undo()
    if undone is None:
        out.write("Nothing to undo.\n")
        return None, answered, again
    out.write(f"undone {undone.kind}: {undone.card_id}\n")
    took_back = undone.kind == "answer"
    return (session.card(undone.card_id), answered - took_back,
            again - (took_back and undone.rating == 1))


def _summary(out: TextIO, answered: int, again: int, started: float) -> int:
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    passed = f", {answered - again} of {answered} remembered" if answered else ""
    out.write(f"\nSession: {answered} card(s) in {minutes}:{seconds:02d}{passed}.\n")
    out.flush()
    return answered
