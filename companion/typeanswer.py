"""Typed answers, compared as Anki compares them (`compare_answer` in Anki's
rslib/src/typeanswer.rs): a character-level diff of what the learner typed
against the expected answer, with every wrong character marked, every missing
one shown, and the expected answer below.

One function, `compare_answer`, is the comparison for every face (the app's
review and `companion review --plain`); `comparison_text` and
`comparison_lines` only draw its result, with styles or with brackets. The
grade stays the learner's: the comparison proposes one (`proposed_rating`:
Good when exact, Again otherwise), which Enter takes and 1-4 override.

As Anki: the expected side is stripped of markup (Markdown here where Anki
strips HTML: emphasis, code marks, links, images, tags; math reads as the
Unicode the card shows), its line breaks read as spaces, and both sides are
NFC-normalised; case and accents count. One difference: runs of spaces count
as one on both sides, since the card itself shows them as one.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

GOOD, BAD, MISSING = "good", "bad", "missing"
GOOD_RATING, AGAIN_RATING = 3, 1
# An answer this long is a paragraph, not something to type: the diff's cost
# grows with the product of the lengths, and a face shows the answer plainly.
MAX_COMPARED_CHARS = 2_000


@dataclass(frozen=True)
class Piece:
    text: str
    kind: str  # GOOD, BAD (typed but wrong) or MISSING (expected but not typed)


@dataclass(frozen=True)
class Comparison:
    expected: str  # the expected answer as compared: plain text, NFC, spaces collapsed
    typed: str  # what the learner typed, normalised the same way
    typed_pieces: tuple[Piece, ...]  # the typed line: good and bad runs, "-" per missing char
    expected_pieces: tuple[Piece, ...]  # the expected line: good runs and missed ones

    @property
    def exact(self) -> bool:
        return self.typed == self.expected

    @property
    def proposed_rating(self) -> int:
        """The grade the comparison proposes: Good when exact, else Again."""
        return GOOD_RATING if self.exact else AGAIN_RATING


# -- the expected side, as the card shows it ---------------------------------

_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1", re.DOTALL)
_EM_STAR = re.compile(r"(?<![\w*\\])\*(?=[^\s*])(.+?)(?<=[^\s\\])\*(?![\w*])", re.DOTALL)
_EM_UNDERSCORE = re.compile(r"(?<![\w\\])_(?=[^\s_])(.+?)(?<=[^\s\\])_(?!\w)", re.DOTALL)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_SPACES = re.compile(r"\s+")


def _strip_markdown(chunk: str) -> str:
    """Markdown's marks dropped from text outside code spans, as the card reads."""
    chunk = _IMAGE.sub("", chunk)
    chunk = _LINK.sub(r"\1", chunk)
    chunk = _TAG.sub("", chunk)
    for _ in range(3):  # nested emphasis, ***both***
        before = chunk
        chunk = _STRONG.sub(r"\2", chunk)
        chunk = _EM_STAR.sub(r"\1", chunk)
        chunk = _EM_UNDERSCORE.sub(r"\1", chunk)
        if chunk == before:
            break
    return _ESCAPE.sub(r"\1", html.unescape(chunk))


def expected_text(answer: str) -> str:
    """The answer a learner is asked to type, from a card's Markdown: its
    marks stripped, math as Unicode, line breaks as spaces (Anki's
    `strip_expected`), NFC-normalised."""
    from companion.cardtext import math_to_unicode

    out, last = [], 0
    for code in _CODE.finditer(answer):
        out.append(math_to_unicode(_strip_markdown(answer[last:code.start()])))
        out.append(code.group(2))
        last = code.end()
    out.append(math_to_unicode(_strip_markdown(answer[last:])))
    return normalise("".join(out))


def normalise(text: str) -> str:
    """NFC (Anki's `normalize_to_nfc`), every run of whitespace one space, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


# -- the comparison ------------------------------------------------------------


def compare_answer(expected: str, typed: str) -> Comparison:
    """Compare what the learner typed with a card's expected answer (its
    Markdown, as the deck holds it). The diff is Anki's: difflib's
    SequenceMatcher over the characters, typed first, and its opcodes read as
    Anki's tokens (typeanswer.rs `to_tokens`)."""
    want = expected_text(expected)[:MAX_COMPARED_CHARS]
    got = normalise(typed)[:MAX_COMPARED_CHARS]
    if not got:
        return Comparison(want, got, (), (Piece(want, MISSING),) if want else ())
    if got == want:
        return Comparison(want, got, (Piece(got, GOOD),), (Piece(want, GOOD),))
    typed_pieces: list[Piece] = []
    expected_pieces: list[Piece] = []
    for tag, t0, t1, e0, e1 in SequenceMatcher(None, got, want).get_opcodes():
        typed_slice, expected_slice = got[t0:t1], want[e0:e1]
        if tag == "equal":
            typed_pieces.append(Piece(typed_slice, GOOD))
            expected_pieces.append(Piece(expected_slice, GOOD))
        elif tag == "delete":
            typed_pieces.append(Piece(typed_slice, BAD))
        elif tag == "insert":
            typed_pieces.append(Piece("-" * len(expected_slice), MISSING))
            expected_pieces.append(Piece(expected_slice, MISSING))
        else:  # replace
            typed_pieces.append(Piece(typed_slice, BAD))
            expected_pieces.append(Piece(expected_slice, MISSING))
    return Comparison(want, got, tuple(typed_pieces), tuple(expected_pieces))


def _isolated(text: str) -> str:
    """A piece that starts with a combining mark gets a no-break space before
    it, so the mark doesn't join the piece before (Anki's isolate_leading_mark)."""
    return "\u00a0" + text if text and unicodedata.category(text[0]).startswith("M") else text


# -- drawing it ----------------------------------------------------------------

TYPED_LABEL = "You typed: "
ANSWER_LABEL = "Answer:    "
LEGEND = "struck: typed wrong · underlined: missed"
PLAIN_LEGEND = "[ ] marks what differs; [-] a character missing"


def comparison_lines(comparison: Comparison) -> list[str]:
    """The comparison as plain text, for a pipe: wrong and missed characters in
    [brackets], so it reads without colour or styles."""
    c = comparison
    if not c.typed:
        return [f"Nothing typed. {ANSWER_LABEL.strip()} {c.expected}"]
    if c.exact:
        return [f"{TYPED_LABEL}{c.typed}  (exact)"]
    typed = "".join(p.text if p.kind == GOOD else f"[{p.text}]" for p in c.typed_pieces)
    want = "".join(p.text if p.kind == GOOD else f"[{p.text}]" for p in c.expected_pieces)
    return [f"{TYPED_LABEL}{typed}", f"{ANSWER_LABEL}{want}", PLAIN_LEGEND]


STYLES = {GOOD: "green", BAD: "bold red strike", MISSING: "bold yellow underline"}


def comparison_text(comparison: Comparison) -> Any:
    """The comparison as a rich Text for a terminal: wrong characters struck
    through, missed ones underlined (and coloured, where colour is on), so it
    reads with NO_COLOR too. Rich is imported here, when a face calls it."""
    from rich.text import Text

    from companion.cardtext import neutralise

    c = Comparison(neutralise(comparison.expected), neutralise(comparison.typed),
                   tuple(Piece(neutralise(p.text), p.kind) for p in comparison.typed_pieces),
                   tuple(Piece(neutralise(p.text), p.kind) for p in comparison.expected_pieces))
    text = Text()
    if not c.typed:
        text.append("Nothing typed. ", style="bold")
        text.append(ANSWER_LABEL.strip() + " ", style="bold")
        text.append(c.expected)
        return text
    text.append(TYPED_LABEL, style="bold")
    if c.exact:
        text.append(c.typed, style=STYLES[GOOD])
        text.append("  ✓ exact", style="bold green")
        return text
    for piece in c.typed_pieces:
        # the "-" of a missing run marks it already; it is dim, not underlined
        text.append(_isolated(piece.text), style="dim" if piece.kind == MISSING
                    else STYLES[piece.kind])
    text.append("\n")
    text.append(ANSWER_LABEL, style="bold")
    for piece in c.expected_pieces:
        text.append(_isolated(piece.text), style=STYLES[piece.kind])
    text.append("\n")
    text.append(LEGEND, style="dim")
    return text


def proposal(comparison: Comparison) -> str:
    """Why the proposed grade, in words both faces use."""
    if comparison.exact:
        return "Exact, so Good is proposed"
    if not comparison.typed:
        return "Nothing typed, so Again is proposed"
    return "Not exact, so Again is proposed"
