"""The decks as an Anki package (.apkg), written with genanki.

One Anki deck per companion deck, the cards that are not retired. Basic and
predict cards become notes of a four-field model (Front, Back, Extra, Source);
a cloze note becomes one Anki cloze note holding the note's original Cloze:
text, so Anki makes one card per gap as companion does. Card text is Markdown:
it becomes HTML (raw HTML in a deck stays text), and `$...$` / `$$...$$` math
becomes MathJax's `\\(...\\)` / `\\[...\\]`, which Anki renders.

Ids are stable: a deck's and a note's Anki ids and guids are hashes of their
companion ids, so importing a newer export updates the notes instead of adding
copies. Scheduling stays in companion: Anki sees new cards (suspended ones stay
suspended).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from companion.cardtext import CODE_RE, MATH_RE
from companion.decks import cloze_sides, parse_deck
from companion.rows import ApkgCard
from companion.store import Store

CSS = """\
.card { font-family: sans-serif; font-size: 20px; text-align: left; color: black;
        background-color: white; max-width: 42em; margin: 1em auto; }
.extra { margin-top: 1em; color: #555; font-size: 0.9em; }
.source { margin-top: 1em; color: #777; font-size: 0.75em; }
.cloze { font-weight: bold; color: #1565c0; }
.nightMode .cloze { color: #90caf9; }
pre, code { font-size: 0.85em; }
"""

_BACK_EXTRAS = ('{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
                '{{#Source}}<div class="source">{{Source}}</div>{{/Source}}')


def stable_id(*parts: str) -> int:
    """A positive id in genanki's recommended range [2^30, 2^31), from a hash."""
    digest = hashlib.blake2b("\x1f".join(("companion", *parts)).encode(), digest_size=8).digest()
    return (1 << 30) + int.from_bytes(digest, "big") % (1 << 30)


@lru_cache(maxsize=1)
def _models() -> tuple[Any, Any]:
    import genanki

    basic = genanki.Model(
        stable_id("model", "basic", "1"), "companion basic",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Extra"}, {"name": "Source"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}",
                    "afmt": '{{FrontSide}}<hr id="answer">{{Back}}' + _BACK_EXTRAS}],
        css=CSS)
    cloze = genanki.Model(
        stable_id("model", "cloze", "1"), "companion cloze",
        fields=[{"name": "Text"}, {"name": "Extra"}, {"name": "Source"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}",
                    "afmt": "{{cloze:Text}}" + _BACK_EXTRAS}],
        css=CSS, model_type=genanki.Model.CLOZE)
    return basic, cloze


# -- text ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "html": False: HTML written in a deck is shown as text, never run.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _mathjax(latex: str, display: bool) -> str:
    # `}}` would close an Anki cloze early; in LaTeX `} }` means the same.
    body = html.escape(latex, quote=False)
    while "}}" in body:
        body = body.replace("}}", "} }")
    return f"\\[{body}\\]" if display else f"\\({body}\\)"


def to_anki_html(text: str) -> str:
    """Markdown card text -> the HTML of an Anki field, math as MathJax."""
    if not text:
        return ""
    maths: list[str] = []

    def stash(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        maths.append(_mathjax(match.group(1) if display else match.group(2), display))
        return f"CMPNMATH{len(maths) - 1}X"

    pieces, last = [], 0
    for code in CODE_RE.finditer(text):  # no math inside code spans
        pieces.append(MATH_RE.sub(stash, text[last:code.start()]))
        pieces.append(code.group(0))
        last = code.end()
    pieces.append(MATH_RE.sub(stash, text[last:]))
    rendered = _markdown().render("".join(pieces)).strip()
    # A single paragraph needs no <p>: Anki shows the field inline.
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return re.sub(r"CMPNMATH(\d+)X", lambda m: maths[int(m.group(1))], rendered)


# -- notes -----------------------------------------------------------------

def _cloze_texts(deck_path: str) -> dict[str, str]:
    """note id -> the note's original Cloze: text, from the deck file as it is now."""
    if not deck_path or not Path(deck_path).is_file():
        return {}
    deck, _ = parse_deck(Path(deck_path))
    if deck is None:
        return {}
    return {c.note_id: c.raw for c in deck.cards if c.kind == "cloze" and c.raw}


def _predict_sides(card: ApkgCard) -> tuple[str, str]:
    """A predict card as question and answer text for a plain Anki note."""
    front = card.front
    choices = json.loads(card.choices or "[]")
    if choices:
        front += "\n\nChoices: " + " | ".join(choices)
    params = " ".join(f"{k}={v}" for k, v in json.loads(card.lab_params or "{}").items())
    command = " ".join(p for p in ("companion lab run", card.lab, params) if p)
    back = card.back or ""
    check = f"Check it: `{command}`" + (f" (the result's `{card.reveal}`)."
                                         if card.reveal else ".")
    return front, (back + "\n\n" + check).strip()


def _basic_note(deck_id: str, card: ApkgCard, front: str, back: str) -> Any:
    import genanki

    basic, _ = _models()
    note = genanki.Note(
        model=basic,
        fields=[to_anki_html(front), to_anki_html(back), to_anki_html(card.extra or ""),
                to_anki_html(card.source or "")],
        tags=(card.tags or "").split(),
        guid=genanki.guid_for("companion", deck_id, card.id))
    note.cards[0].suspend = bool(card.suspended)
    return note


def _cloze_note(deck_id: str, note_id: str | None, raw: str, gaps: list[ApkgCard]) -> Any:
    import genanki

    _, cloze = _models()
    first = gaps[0]
    note = genanki.Note(
        model=cloze,
        fields=[to_anki_html(raw), to_anki_html(first.extra or ""),
                to_anki_html(first.source or "")],
        tags=(first.tags or "").split(),
        guid=genanki.guid_for("companion", deck_id, f"{deck_id}/{note_id}"))
    suspended = {g.ord for g in gaps if g.suspended}
    for anki_card in note.cards:  # genanki's ord is the gap number minus one
        anki_card.suspend = anki_card.ord + 1 in suspended
    return note


def deck_notes(store: Store, deck_id: str, deck_path: str) -> list[Any]:
    """The genanki notes of one deck's cards that are not retired."""
    cards = store.apkg_cards(deck_id)
    clozes: dict[str | None, list[ApkgCard]] = {}
    for card in cards:
        if card.kind == "cloze":
            clozes.setdefault(card.note_id, []).append(card)
    raw_texts = _cloze_texts(deck_path) if clozes else {}
    notes, done = [], set()
    for card in cards:
        if card.kind == "predict":
            notes.append(_basic_note(deck_id, card, *_predict_sides(card)))
        elif card.kind != "cloze":
            notes.append(_basic_note(deck_id, card, card.front, card.back))
        elif card.note_id is not None and card.note_id not in done:
            done.add(card.note_id)
            gaps = clozes[card.note_id]
            raw = raw_texts.get(card.note_id, "")
            # The file's text must still be the one the cards were made from;
            # if it is gone or changed, each gap goes as a card of its own.
            if raw and all(cloze_sides(raw, g.ord) == (g.front, g.back) for g in gaps):
                notes.append(_cloze_note(deck_id, card.note_id, raw, gaps))
            else:
                notes.extend(_basic_note(deck_id, g, g.front, g.back) for g in gaps)
    return notes


def write_apkg(store: Store, path: Path) -> None:
    """Every deck that is not retired, as one Anki package at `path`."""
    import genanki

    decks = []
    for row in store.apkg_decks():
        deck = genanki.Deck(stable_id("deck", row.id), row.name,
                            description=to_anki_html(row.description))
        for note in deck_notes(store, row.id, row.path):
            deck.add_note(note)
        decks.append(deck)
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    genanki.Package(decks).write_to_file(str(tmp))
    tmp.replace(path)
