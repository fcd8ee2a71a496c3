"""Predict, then run: a card asks what a lab will show, the learner commits a
guess, the lab runs, and its measured answer appears next to the guess.

A deck says where the answer is in the lab's result summary with `Reveal:`:
a dotted path (`final_accuracy.256`), or `argmin PATH` / `argmax PATH` for a
path that holds numbers per choice (`argmin examples_to_target` -> "16").
Nothing in a deck is executed: this is a lookup, not an expression.

`verdict` is the one rule for what every face (line mode, the app) shows once
the lab has run: the guess, the measured answer, and a judgement only where the
card offers `Choices:`. A card without them asks for a free guess (a share, a
count, a word), and nothing in the deck says how near counts as right, so the
guess and the measurement stand side by side and the learner's grade judges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labs.events import format_value

REVEAL_RE = re.compile(r"^(?:(argmin|argmax)\s+)?([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)$")


@dataclass(frozen=True)
class Reveal:
    op: str | None  # None, "argmin" or "argmax"
    path: str

    def __str__(self) -> str:
        return f"{self.op} {self.path}" if self.op else self.path


def parse_reveal(text: str) -> Reveal:
    match = REVEAL_RE.match(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r}: expected a result path like final_accuracy.256, "
                         "or argmin PATH / argmax PATH")
    return Reveal(match.group(1), match.group(2))


def _lookup(summary: Any, path: str) -> Any:
    value = summary
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            have = ", ".join(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise ValueError(f"the lab's result has no {path!r} (at {part!r} it has: {have})")
    return value


def evaluate(reveal: Reveal, summary: dict[str, Any]) -> tuple[str, str]:
    """(the measured answer, the numbers behind it) from a lab's result summary."""
    value = _lookup(summary, reveal.path)
    if reveal.op is None:
        return format_value(value), ""
    if not isinstance(value, dict):
        raise ValueError(f"{reveal}: {reveal.path!r} is not a set of numbers per choice")
    numbers = {str(k): v for k, v in value.items()
               if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)}
    detail = ", ".join(f"{k} → {format_value(v)}" for k, v in value.items())
    if not numbers:
        return "none reached it", detail
    pick = min if reveal.op == "argmin" else max
    return pick(numbers, key=numbers.__getitem__), detail


def matches(guess: str, answer: str) -> bool:
    g, a = guess.strip().lower(), answer.strip().lower()
    if g == a:
        return True
    try:
        return math.isclose(float(g), float(a), rel_tol=1e-9)
    except ValueError:
        return False


RIGHT = "right"
WRONG = "not this time"


@dataclass(frozen=True)
class Verdict:
    """What a face shows after a prediction's lab run, as pieces it may style:
    each piece is (text, role), role one of label, guess, answer, detail,
    right, wrong or problem. `str()` is the line as plain text."""

    guess: str
    answer: str = ""
    detail: str = ""
    judgement: str = ""  # RIGHT, WRONG, or "" where the card offers no choices
    problem: str = ""  # the card's Reveal: does not fit the lab's result

    def pieces(self) -> list[tuple[str, str]]:
        if self.problem:
            return [(f"The lab ran, but this card's Reveal: does not fit its result: "
                     f"{self.problem}", "problem")]
        out = [("You predicted: ", "label"), (self.guess or "(no guess)", "guess"),
               (" · measured: ", "label"), (self.answer, "answer")]
        if self.detail:
            out.append((f" ({self.detail})", "detail"))
        if self.judgement:
            out.append((f" — {self.judgement}", "right" if self.judgement == RIGHT else "wrong"))
        return out

    def __str__(self) -> str:
        return "".join(text for text, _ in self.pieces())


def verdict(reveal: str, choices: Sequence[str], guess: str, summary: dict[str, Any]) -> Verdict:
    """The verdict on `guess` for a card with this `Reveal:` and `Choices:` (empty
    for none), from the lab's result summary. Right or not only where there are
    choices and a guess; otherwise the guess and the measurement side by side."""
    guess = guess.strip()
    try:
        answer, detail = evaluate(parse_reveal(reveal), summary)
    except ValueError as exc:
        return Verdict(guess, problem=str(exc))
    judgement = ""
    if guess and choices:
        judgement = RIGHT if matches(guess, answer) else WRONG
    return Verdict(guess, answer, detail, judgement)


def unfinished(kind: str, message: str) -> str:
    """What both faces say when a predict card's lab ends without a result."""
    return f"The lab did not finish ({kind}): {message}"
