"""Diagram cards (`Diagram:` + `Labels:`): image occlusion in a terminal. Each
label is a card showing the drawing with that label masked, its columns
kept; its answer is the drawing uncovered. Checked by `decks check`, buried
as cloze siblings are, and drawn the same by the app and by line mode."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from companion.cardtext import (
    MARK_STYLE,
    DiagramBlock,
    diagram_group,
    diagram_renderable,
    mask,
    plain_diagrams,
    split_diagrams,
)
from companion.deck_sync import sync_decks
from companion.decks import MAX_DIAGRAM_COLUMNS, parse_deck
from companion.session import ReviewSession
from companion.settings import Settings

from .conftest import TZ, write_deck

DRAWING = [
    "         Output Probabilities",
    "                  ▲",
    "  ┌───────────────┴───────────────┐",
    "  │            Softmax            │",
    "  └───────────────▲───────────────┘",
    "  ┌───────────────┴───────────────┐",
    "  │          Add & Norm           │",
    "  └───────────────▲───────────────┘",
    "  ┌───────────────┴───────────────┐",
    "  │  Masked Multi-Head Attention  │ N×",
    "  └───────────────▲───────────────┘",
    "  Add & Norm      │   Multi-Head Attention",
]

DECK = """
## first
Q: A card before the diagram?
A: Yes.

## top
Diagram: The top of the decoder. What is covered?
```
{drawing}
```
Labels:
- softmax: Softmax
- add-norm: Add & Norm
- masked: Masked Multi-Head Attention
- attention: Multi-Head Attention
- repeats: N×
Extra: Drawn after Fig. 1.
Source: Vaswani et al. (2017), Fig. 1
Tags: transformer

## last
Q: A card after it?
A: Yes.
""".replace("{drawing}", "\n".join(DRAWING))


def deck_file(tmp_path: Path, body: str = DECK) -> Path:
    return write_deck(tmp_path / "decks", "test.md", body)


def cards_of(tmp_path: Path, body: str = DECK):
    deck, errors = parse_deck(deck_file(tmp_path, body))
    assert not errors, errors
    return {c.id: c for c in deck.cards}


def block_of(text: str) -> DiagramBlock:
    [block] = [p for p in split_diagrams(text) if isinstance(p, DiagramBlock)]
    return block


def columns(line: str, text: str) -> list[int]:
    out, start = [], line.find(text)
    while start >= 0:
        out.append(start)
        start = line.find(text, start + len(text))
    return out


# -- parsing and the two sides -------------------------------------------------

def test_each_label_is_a_card_with_a_stable_id_in_the_notes_place(tmp_path):
    cards = cards_of(tmp_path)
    assert list(cards) == ["test/first", "test/top.softmax", "test/top.add-norm",
                           "test/top.masked", "test/top.attention", "test/top.repeats",
                           "test/last"]
    top = [c for c in cards.values() if c.note_id == "top"]
    assert {c.kind for c in top} == {"diagram"}
    assert [c.ord for c in top] == [1, 2, 3, 4, 5]
    assert [c.position for c in cards.values()] == [0, 1, 2, 3, 4, 5, 6]
    assert all(c.extra == "Drawn after Fig. 1." and c.tags == ["transformer"] for c in top)
    # rewording the caption keeps every card's id (the learner's history)
    reworded = DECK.replace("The top of the decoder.", "The decoder's top.")
    assert list(cards_of(tmp_path / "again", reworded)) == list(cards)


def test_the_front_masks_the_label_alone_at_its_own_width_and_the_back_uncovers_it(tmp_path):
    card = cards_of(tmp_path)["test/top.softmax"]
    front, back = block_of(card.front), block_of(card.back)
    assert card.front.startswith("The top of the decoder. What is covered?")
    col = DRAWING[3].index("Softmax")
    expected = DRAWING[3][:col] + "[▒▒▒▒▒]" + DRAWING[3][col + 7:]
    assert front.lines[3] == expected
    # every other line is the drawing's, untouched; the answer side is the drawing
    assert [ln for i, ln in enumerate(front.lines) if i != 3] == DRAWING[:3] + DRAWING[4:]
    assert list(back.lines) == DRAWING
    assert card.back.startswith("**Softmax**")
    assert [(m.row, m.col, m.width) for m in front.marks] == [(3, col, 7)]
    assert front.marks == back.marks


def test_every_rendered_line_is_as_wide_as_the_drawings(tmp_path):
    for card in cards_of(tmp_path).values():
        if card.kind != "diagram":
            continue
        for side in (card.front, card.back):
            lines = block_of(side).lines
            assert [cell_len(ln) for ln in lines] == [cell_len(ln) for ln in DRAWING], card.id
            # and so is each line as the faces draw it
            console = Console(width=100, record=True, color_system=None)
            console.print(diagram_renderable(block_of(side)))
            drawn = console.export_text().rstrip("\n").split("\n")
            assert [cell_len(ln.rstrip()) for ln in drawn] == [len(ln) for ln in DRAWING]


def test_a_label_seen_twice_is_covered_twice_and_never_inside_a_longer_label(tmp_path):
    cards = cards_of(tmp_path)
    add_norm = block_of(cards["test/top.add-norm"].front)
    # "Add & Norm" is drawn twice: both are masked, or the other would give it away
    assert [(m.row, m.col) for m in add_norm.marks] == [
        (6, DRAWING[6].index("Add & Norm")), (11, DRAWING[11].index("Add & Norm"))]
    assert add_norm.lines[6].count("[▒▒▒▒▒▒▒▒]") == 1 and "Add & Norm" not in add_norm.text
    # "Multi-Head Attention" is inside "Masked Multi-Head Attention" too: only
    # the one that stands alone is this label
    attention = block_of(cards["test/top.attention"].front)
    assert [(m.row, m.col) for m in attention.marks] == [
        (11, columns(DRAWING[11], "Multi-Head Attention")[0])]
    assert "Masked Multi-Head Attention" in attention.text
    masked = block_of(cards["test/top.masked"].front)
    assert "Masked" not in masked.text and masked.lines[11] == DRAWING[11]


def test_a_label_can_pick_one_occurrence(tmp_path):
    body = DECK.replace("- add-norm: Add & Norm", "- add-norm: Add & Norm #2")
    block = block_of(cards_of(tmp_path, body)["test/top.add-norm"].front)
    assert [(m.row, m.col) for m in block.marks] == [(11, 2)]
    assert block.lines[6] == DRAWING[6]


def test_two_labels_can_share_a_text_one_occurrence_each(tmp_path):
    body = DECK.replace("- add-norm: Add & Norm", "- add-norm: Add & Norm #2\n"
                        "- first-add-norm: Add & Norm #1")
    cards = cards_of(tmp_path, body)
    assert [(m.row, m.col) for m in block_of(cards["test/top.add-norm"].front).marks] == [
        (11, 2)]
    first = block_of(cards["test/top.first-add-norm"].front)
    assert [(m.row, m.col) for m in first.marks] == [(6, DRAWING[6].index("Add & Norm"))]


def test_masks_are_as_wide_as_what_they_cover():
    assert [mask(n) for n in (1, 2, 3, 5)] == ["▒", "▒▒", "[▒]", "[▒▒▒]"]
    assert all(len(mask(n)) == n for n in range(1, 81))


def test_a_short_label_is_masked_with_fill_only(tmp_path):
    block = block_of(cards_of(tmp_path)["test/top.repeats"].front)
    assert block.lines[9].endswith("│ ▒▒")


# -- decks check -------------------------------------------------------------------

def check(tmp_path: Path, body: str) -> list[str]:
    _, errors = parse_deck(deck_file(tmp_path, body))
    return [str(e) for e in errors]


def one_error(tmp_path: Path, body: str, line: int, *words: str) -> None:
    errors = check(tmp_path, body)
    assert len(errors) == 1, errors
    where = f"{tmp_path / 'decks' / 'test.md'}:{line}: "
    assert errors[0].startswith(where), errors
    assert "\n" not in errors[0] and len(errors[0]) < 300 + len(where)
    for word in words:
        assert word in errors[0], (word, errors[0])


def line_of(body: str, text: str) -> int:
    """The line number of `text` in the deck file write_deck makes of `body` (4 lines of
    front matter and a blank line before it)."""
    lines = body.lstrip("\n").split("\n")
    return 5 + next(i for i, ln in enumerate(lines) if text in ln) + 1


@pytest.mark.parametrize("change, at, words", [
    (("- repeats: N×", "- Repeats: N×"), "- Repeats", ["label name 'Repeats'", "lowercase"]),
    (("- repeats: N×", "- softmax: N×"), "- softmax: N×", ["second label 'softmax'"]),
    (("- repeats: N×", "- repeats: Encoder"), "- repeats", ["'Encoder' is not in the drawing"]),
    (("- repeats: N×", "- repeats: Encoder #3"), "- repeats",
     ["'Encoder' is not in the drawing"]),
    (("- repeats: N×", "- repeats: Output #2"), "- repeats",
     ["'Output' is in the drawing 1 time(s), so it has no #2"]),
    (("- repeats: N×", "- repeats: Add & Norm #1"), "- repeats",
     ["label 'repeats' covers the same 'Add & Norm' as label 'add-norm'"]),
    (("- repeats: N×", "- repeats: Head Attention"), "- repeats",
     ["only inside label"]),
    (("- repeats: N×", "- repeats"), "- repeats", ["`name: text as drawn`"]),
    (("Labels:\n", "Labels:\n- extra-line\n"), "- extra-line", ["`name: text as drawn`"]),
    (("Extra: Drawn", "A: Softmax.\nExtra: Drawn"), "A: Softmax", ["A: does not go"]),
    (("Extra: Drawn", "Type: yes\nExtra: Drawn"), "Type: yes", ["Type: does not go"]),
    (("Extra: Drawn", "Lab: no-such-lab\nExtra: Drawn"), "Lab: no-such", ["Lab:"]),
])
def test_bad_labels_are_one_line_with_file_and_line(tmp_path, change, at, words):
    body = DECK.replace(*change)
    assert body != DECK
    one_error(tmp_path, body, line_of(body, at), *words)


def test_a_drawing_wider_than_80_columns_names_its_line(tmp_path):
    wide = DRAWING[3] + " " * (MAX_DIAGRAM_COLUMNS - len(DRAWING[3])) + "!"
    body = DECK.replace(DRAWING[3], wide)
    one_error(tmp_path, body, line_of(body, "Softmax  "), "81 columns wide here; the most is 80")
    # 80 is allowed
    assert check(tmp_path, DECK.replace(DRAWING[3], wide[:-2] + "│")) == []


@pytest.mark.parametrize("bad, words", [
    ("\x1b]52;c;aGk=\x07", ["control character U+001B"]),  # OSC 52: writes the clipboard
    ("\x1b[2J", ["control character U+001B"]),
    ("\x9b31m", ["control character U+009B"]),  # a one-byte CSI
    ("\t", ["tab"]),
    ("注意", ["U+6CE8", "not one column wide"]),  # wide: two columns each
    ("e\u0301", ["U+0301", "not one column wide"]),  # a combining accent: zero
    ("\u200b", ["U+200B", "not one column wide"]),  # zero width space
    ("\u202e", ["U+202E", "not one column wide"]),  # right-to-left override
])
def test_a_character_that_would_break_the_columns_or_act_is_refused(tmp_path, bad, words):
    body = DECK.replace("Output Probabilities", f"Output {bad} Probabilities")
    one_error(tmp_path, body, line_of(body, "Output"), "the drawing has", *words)
    # in a label too
    body = DECK.replace("- repeats: N×", f"- repeats: N{bad}×")
    one_error(tmp_path, body, line_of(body, "- repeats"), "label 'repeats' has", *words)


def test_an_enormous_drawing_is_one_line(tmp_path):
    body = DECK.replace(DRAWING[1], "\n".join([DRAWING[1]] * 100_000))
    one_error(tmp_path, body, line_of(body, "```"), "100,011 lines long; the most is 60")


def test_too_many_labels_is_one_line(tmp_path):
    labels = "\n".join(f"- l{i}: Softmax" for i in range(60))
    body = DECK.replace("- softmax: Softmax", labels)
    errors = check(tmp_path, body)
    assert len(errors) == 1 and "64 labels; the most is 50" in errors[0], errors


@pytest.mark.parametrize("change, at, words", [
    ((["Labels:", "- softmax: Softmax", "- add-norm: Add & Norm",
       "- masked: Masked Multi-Head Attention", "- attention: Multi-Head Attention",
       "- repeats: N×"], []), "Diagram:", ["Diagram: needs a Labels: field"]),
    ((["```"], []), "Diagram:", ["needs its drawing in a ``` fence"]),
    ((["Diagram: The top of the decoder. What is covered?"], ["Q: What?"]), "Labels:",
     ["Labels: needs a Diagram: field"]),
])
def test_a_diagram_missing_a_part_is_one_line(tmp_path, change, at, words):
    drop, add = change
    lines = [ln for ln in DECK.split("\n") if ln not in drop]
    if add:
        lines.insert(lines.index("## top") + 1, add[0])
    body = "\n".join(lines)
    errors = check(tmp_path, body)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path / 'decks' / 'test.md'}:{line_of(body, at)}: ")
    for word in words:
        assert word in errors[0], errors


def test_text_after_the_drawing_and_an_empty_drawing(tmp_path):
    body = DECK.replace("```\nLabels:", "```\nmore words\nLabels:")
    one_error(tmp_path, body, line_of(body, "more words"), "text after the drawing")
    empty = "\n".join(ln for ln in DECK.split("\n") if ln not in DRAWING)
    one_error(tmp_path, empty, line_of(empty, "```"), "the drawing is empty")


def test_decks_check_passes_the_shipped_deck_and_fails_a_bad_diagram(tmp_path):
    import subprocess
    import sys

    shipped = Path(__file__).parent.parent / "decks" / "dl-week-one.md"
    bad = deck_file(tmp_path, DECK.replace("- repeats: N×", "- repeats: N× \x1b[2J"))
    run = [sys.executable, "-m", "companion.cli", "decks", "check"]
    ok = subprocess.run([*run, str(shipped)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    failed = subprocess.run([*run, str(bad)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 2
    out = failed.stdout + failed.stderr
    assert f"{bad}:{line_of(DECK, '- repeats')}: card 'top': label 'repeats' has the control " \
           "character U+001B" in out
    assert "\x1b" not in out and "Traceback" not in out


# -- rendering ---------------------------------------------------------------------

def test_the_renderer_marks_the_mask_and_the_uncovered_label(tmp_path):
    card = cards_of(tmp_path)["test/top.softmax"]
    col = DRAWING[3].index("Softmax")
    for side, marked in ((card.front, "[▒▒▒▒▒]"), (card.back, "Softmax")):
        text = diagram_renderable(block_of(side))
        assert text.plain.split("\n") == list(block_of(side).lines)
        assert text.no_wrap and text.overflow == "crop"  # a narrow screen never breaks columns
        [span] = [s for s in text.spans if s.style == MARK_STYLE]
        start = sum(len(ln) + 1 for ln in block_of(side).lines[:3]) + col
        assert text.plain[span.start:span.end] == marked and span.start == start


def test_text_from_elsewhere_is_neutralised_and_bad_marks_dropped():
    text = "```diagram 0:0:3 0:2:99 7:0:1\nab\x1bc\n```"
    [block] = split_diagrams(text)
    assert isinstance(block, DiagramBlock) and [m.width for m in block.marks] == [3]
    rendered = diagram_renderable(block)
    assert "\x1b" not in rendered.plain and rendered.plain == "ab␛c"
    # not a diagram block at all: left as text
    assert split_diagrams("```diagram x\nab\n```") == ["```diagram x\nab\n```"]
    assert plain_diagrams("Q\n\n```diagram 0:0:1\nab\n```") == "Q\n\nab"


def test_the_app_and_line_mode_draw_the_same_lines(tmp_path):
    card = cards_of(tmp_path)["test/top.masked"]
    console = Console(width=80, record=True, color_system=None)
    console.print(diagram_group(card.front))
    drawn = [ln.rstrip() for ln in console.export_text().split("\n")]
    assert "The top of the decoder. What is covered?" in drawn[0]
    block = block_of(card.front)
    start = drawn.index(block.lines[0])
    assert drawn[start:start + len(block.lines)] == list(block.lines)


# -- in the store, the session and line mode ----------------------------------------

@pytest.fixture
def synced(store, tmp_path):
    deck_file(tmp_path)
    report = sync_decks(store, [tmp_path / "decks"])
    assert not report.errors
    return store


class Clock:
    def __init__(self, now: int = 1_780_000_000_000):
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_answering_one_label_buries_its_siblings_for_the_day(synced):
    clock = Clock()
    s = ReviewSession(synced, Settings(timezone=TZ), clock=clock)
    assert s.next_card().id == "test/first"
    s.answer("test/first", 3)
    assert s.next_card().id == "test/top.softmax"
    result = s.answer("test/top.softmax", 3)
    assert sorted(result.buried_siblings) == ["test/top.add-norm", "test/top.attention",
                                              "test/top.masked", "test/top.repeats"]
    assert s.next_card().id == "test/last" and s.counts().new == 1
    # the next day they are back: "last" and the four labels not yet seen
    clock.now += 86_400_000
    assert ReviewSession(synced, Settings(timezone=TZ), clock=clock).counts().new == 5


def test_line_mode_shows_the_masked_drawing_then_the_uncovered_one(synced):
    from companion.cli.line_review import run_plain_review

    out = io.StringIO()
    run_plain_review(synced, Settings(timezone=TZ), stdin=io.StringIO("\n3\n\n3\nq\n"),
                     stdout=out, clock=Clock())
    text = out.getvalue()
    col = DRAWING[3].index("Softmax")
    covered = DRAWING[3][:col] + "[▒▒▒▒▒]" + DRAWING[3][col + 7:]
    question = text.index("Q: The top of the decoder. What is covered?\n")
    answer = text.index("A: Softmax\n")
    assert question < answer
    shown_q = text[question:answer].split("\n")[1:1 + len(DRAWING)]
    assert shown_q == [covered if i == 3 else ln for i, ln in enumerate(DRAWING)]
    shown_a = text[answer:].split("\n")[1:1 + len(DRAWING)]
    assert shown_a == DRAWING
    assert "```" not in text and "saved: test/top.softmax Good" in text
    # the siblings are buried: the next card is the deck's last
    assert "Q: A card after it?" in text[answer:]


# -- export --------------------------------------------------------------------------

def test_an_apkg_export_is_a_basic_note_with_the_masked_drawing_in_a_pre(synced, tmp_path):
    import html

    from companion.interop.apkg import write_apkg

    path = tmp_path / "out.apkg"
    write_apkg(synced, path)
    folder = tmp_path / "x"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    db = sqlite3.connect(folder / "collection.anki2")
    models = json.loads(db.execute("SELECT models FROM col").fetchone()[0])
    notes = [(models[str(mid)]["name"], flds.split("\x1f"))
             for mid, flds in db.execute("SELECT mid, flds FROM notes")]
    diagrams = [n for n in notes if "What is covered?" in n[1][0]]
    assert len(diagrams) == 5 and {n[0] for n in diagrams} == {"companion basic"}
    [(_, (front, back, *_))] = [n for n in diagrams if "[▒▒▒▒▒]" in n[1][0]]
    assert "<pre>" in front and "```" not in front
    pre = html.unescape(front[front.index("<pre>"):front.index("</pre>")])
    col = DRAWING[3].index("Softmax")
    assert DRAWING[3][:col] + "[▒▒▒▒▒]" + DRAWING[3][col + 7:] in pre
    assert "<strong>Softmax</strong>" in back and DRAWING[3] in html.unescape(back)


def test_a_json_export_of_diagram_cards_reads_back(synced, tmp_path):
    from companion.interop import export
    from companion.interop.json_export import import_json
    from companion.store import Store

    path = tmp_path / "export.json"
    export(synced, Settings(timezone=TZ), "json", path)
    other = Store(tmp_path / "b" / "companion.db")
    result = import_json(other, Settings(), path)
    assert result.added["cards"] == 7
    rows = other.conn.execute("SELECT id, kind, front FROM cards WHERE kind = 'diagram' "
                              "ORDER BY position").fetchall()
    assert [r[0] for r in rows][:1] == ["test/top.softmax"] and len(rows) == 5
    assert rows[0][2] == synced.card_row("test/top.softmax").front


# -- the shipped deck -------------------------------------------------------------

def shipped_cards():
    deck, errors = parse_deck(Path(__file__).parent.parent / "decks" / "dl-week-one.md")
    assert not errors, errors
    return deck.cards


@pytest.mark.parametrize("note, labels", [
    ("transformer-figure", {
        "Softmax", "Linear", "Add & Norm", "Feed Forward", "Masked", "Multi-Head Attention",
        "Positional Encoding", "Embedding", "(shifted right)", "N×"}),
    # the two people (and their 24 units) uncovered: one would give the other away
    ("family-tree-network", {"Relationship", "12 input units", "6 units", "12 units"}),
])
def test_the_shipped_diagrams_cover_what_the_figures_show(note, labels):
    cards = [c for c in shipped_cards() if c.note_id == note]
    assert {c.kind for c in cards} == {"diagram"}
    assert {c.back.split("\n")[0].strip("*") for c in cards} == labels
    for card in cards:
        front, back = block_of(card.front), block_of(card.back)
        assert max(len(ln) for ln in back.lines) <= MAX_DIAGRAM_COLUMNS
        assert [len(ln) for ln in front.lines] == [len(ln) for ln in back.lines]
        answer = card.back.split("\n")[0].strip("*")
        # nowhere on the front, the caption included, does the answer show
        assert answer.lower() not in card.front.lower(), card.id
        for m in front.marks:  # each mask stands where its label is drawn
            assert back.lines[m.row][m.col:m.col + m.width] == answer
            assert front.lines[m.row][m.col:m.col + m.width] == mask(len(answer))


def test_the_shipped_diagrams_draw_the_papers_numbers():
    """The transformer's parts as Fig. 1 draws them; the family-tree network is
    24 people and 12 relationships in, 6 + 6, 12 central, 6, 24 people out."""
    cards = {c.id: c for c in shipped_cards()}
    figure = {name: block_of(cards[f"dl-week-one/transformer-figure.{name}"].front)
              for name in ("repeats", "add-norm", "attention", "embedding", "masked")}
    # every place a label is drawn is covered, so none gives its card away: N× beside
    # both stacks, the five Add & Norm, the three multi-head attentions (the masked one's
    # too), the input's and the output's embedding
    assert {name: len(b.marks) for name, b in figure.items()} == {
        "repeats": 2, "add-norm": 5, "attention": 3, "embedding": 2, "masked": 1}
    assert "Multi-Head Attention" not in figure["attention"].text
    assert "[▒▒▒▒] Multi-Head Attention" in figure["masked"].text
    tree = block_of(cards["dl-week-one/family-tree-network.encodings"].front)
    assert len(tree.marks) == 3  # person 1's code, the relationship's, the penultimate layer
    drawing = "\n".join(block_of(cards["dl-week-one/family-tree-network.central"].back).lines)
    assert [drawing.count(f"{n} input units") for n in (24, 12)] == [1, 1]
    assert drawing.count("24 output units") == 1 and drawing.count("12 units") == 1


def test_the_deck_formats_example_makes_the_cards_it_says(tmp_path):
    text = (Path(__file__).parent.parent / "decks" / "README.md").read_text(encoding="utf-8")
    start = text.index("## decoder-top")
    example = text[start:text.index("````\n", start)]
    cards = cards_of(tmp_path, example)
    assert list(cards) == ["test/decoder-top.softmax", "test/decoder-top.linear"]
    assert "│           [▒▒▒▒]            │" in cards["test/decoder-top.linear"].front


def test_a_table_cell_names_the_drawing_instead_of_flattening_it(tmp_path):
    from companion.tui.screens.browse import one_line

    card = cards_of(tmp_path)["test/top.softmax"]
    assert one_line(card.front, 200) == "The top of the decoder. What is covered? [diagram]"


def test_companions_apkg_read_back_by_the_anki_importer_keeps_the_drawing(synced, tmp_path,
                                                                          monkeypatch):
    from companion.interop import import_file
    from companion.interop.apkg import write_apkg
    from companion.store import open_store

    path = tmp_path / "out.apkg"
    write_apkg(synced, path)
    monkeypatch.setenv("COMPANION_HOME", str(tmp_path / "other"))
    other = open_store()
    try:
        import_file(other, Settings(timezone=TZ), path)
        [(front,)] = other.conn.execute("SELECT front FROM cards WHERE front LIKE '%[▒▒▒▒▒]%'")
    finally:
        other.close()
    col = DRAWING[3].index("Softmax")
    covered = [DRAWING[3][:col] + "[▒▒▒▒▒]" + DRAWING[3][col + 7:] if i == 3 else line
               for i, line in enumerate(DRAWING)]
    # a Basic card now: the covered drawing as a code block, every line as it was
    assert "```\n" + "\n".join(covered) + "\n```" in front


def test_a_label_with_markdown_characters_reads_as_drawn_on_both_faces(tmp_path):
    from companion.cli.line_review import _show_diagram

    body = ("## f\nDiagram: What is covered?\n```\n┌─────────┐\n│ x_1 * y │\n│ $k$ #1  │\n"
            "└─────────┘\n```\nLabels:\n- product: x_1 * y\n- key: $k$\n")
    cards = cards_of(tmp_path, body)
    for card_id, label in (("test/f.product", "x_1 * y"), ("test/f.key", "$k$")):
        back = cards[card_id].back
        console = Console(width=80, record=True, color_system=None)
        console.print(diagram_group(back))
        assert console.export_text().split("\n")[0].rstrip() == label
        out = io.StringIO()
        _show_diagram(out, "A", back)
        assert out.getvalue().split("\n")[0] == f"A: {label}"


def test_line_mode_in_a_terminal_marks_the_mask_as_the_app_does(tmp_path, monkeypatch):
    import re

    from companion.cardtext import NeutralisingWriter
    from companion.cli.line_review import _show_diagram

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    card = cards_of(tmp_path)["test/top.softmax"]
    screen = Terminal()
    _show_diagram(NeutralisingWriter(screen), "Q", card.front)
    raw = screen.getvalue()
    plain = [ln.rstrip() for ln in re.sub(r"\x1b\[[0-9;]*m", "", raw).split("\n")]
    covered = block_of(card.front).lines
    start = plain.index(covered[0])
    assert plain[start:start + len(covered)] == list(covered)
    assert "\x1b[1;7m[▒▒▒▒▒]\x1b[0m" in raw  # bold reverse, as the app's MARK_STYLE
