"""The decks as an Anki package: what genanki writes, and what Anki itself imports."""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pytest

from companion.deck_sync import sync_decks
from companion.interop.apkg import stable_id, to_anki_html, write_apkg

from .conftest import write_deck

DECK = r"""
## alpha
Q: What is alpha? <script>alert(1)</script>
A: The first letter.
Extra: Before *beta*.
Source: The alphabet
Tags: letters greek

## gamma
Cloze: {{c1::Gamma}} comes after {{c2::beta::a letter}}; $x^{\frac{1}{2}}$ is {{c3::$\sqrt{x}$}}.
Tags: letters

## delta
Q: What is delta?
A: The fourth letter, $\Delta$; a step is $$\Delta w = -\eta \nabla E$$

## guess
Predict: Which batch size needs fewer examples?
Choices: 16 | 256
Lab: batch-size batch_sizes=16,256
Reveal: argmin examples_to_target
A: The small one.
"""

OTHER = """
## one
Q: Another deck's card?
A: Yes.
"""


@pytest.fixture
def collection(store, tmp_path):
    folder = tmp_path / "decks"
    write_deck(folder, "greek.md", DECK, deck_id="greek", deck_name="Greek <letters>")
    write_deck(folder, "other.md", OTHER, deck_id="other", deck_name="Other")
    report = sync_decks(store, [folder])
    assert not report.errors, report.errors
    return store, folder


def read_apkg(path):
    """notes as {guid: (model name, fields, tags)}, cards (note guid, ord, queue, deck name)."""
    folder = path.parent / (path.name + ".x")
    with zipfile.ZipFile(path) as archive:
        archive.extractall(folder)
    db = sqlite3.connect(folder / "collection.anki2")
    models = json.loads(db.execute("SELECT models FROM col").fetchone()[0])
    decks = json.loads(db.execute("SELECT decks FROM col").fetchone()[0])
    notes = {guid: (models[str(mid)]["name"], flds.split("\x1f"), tags.split())
             for guid, mid, flds, tags in db.execute("SELECT guid, mid, flds, tags FROM notes")}
    cards = db.execute("SELECT n.guid, c.ord, c.queue, c.did FROM cards c "
                       "JOIN notes n ON n.id = c.nid ORDER BY n.guid, c.ord").fetchall()
    cards = [(guid, ord_, queue, decks[str(did)]["name"]) for guid, ord_, queue, did in cards]
    return notes, cards, models


def by_first_field(notes, start):
    [match] = [n for n in notes.values() if n[1][0].removeprefix("<p>").startswith(start)]
    return match


def test_every_deck_and_card_is_in_the_package(collection, tmp_path):
    store, _ = collection
    path = tmp_path / "out.apkg"
    write_apkg(store, path)
    notes, cards, _ = read_apkg(path)
    # alpha, delta, guess, one: basic notes; gamma: one cloze note with three cards.
    assert len(notes) == 5 and len(cards) == 7
    assert sorted({c[3] for c in cards}) == ["Greek <letters>", "Other"]
    model, fields, tags = by_first_field(notes, "{{c1::")
    assert model == "companion cloze"
    assert fields[0] == ("{{c1::Gamma}} comes after {{c2::beta::a letter}}; "
                         r"\(x^{\frac{1}{2} }\) is {{c3::\(\sqrt{x}\)}}.")
    assert tags == ["letters"]
    cloze_guid = next(g for g, n in notes.items() if n[0] == "companion cloze")
    assert [c[1] for c in cards if c[0] == cloze_guid] == [0, 1, 2]

    model, fields, tags = by_first_field(notes, "What is alpha?")
    assert model == "companion basic"
    assert fields == ["What is alpha? &lt;script&gt;alert(1)&lt;/script&gt;",
                      "The first letter.", "Before <em>beta</em>.", "The alphabet"]
    assert sorted(tags) == ["greek", "letters"]
    _, fields, _ = by_first_field(notes, "What is delta?")
    assert fields[1] == r"The fourth letter, \(\Delta\); a step is \[\Delta w = -\eta \nabla E\]"


def test_a_predict_card_is_a_basic_note_with_question_and_answer(collection, tmp_path):
    store, _ = collection
    path = tmp_path / "out.apkg"
    write_apkg(store, path)
    notes, _, _ = read_apkg(path)
    model, fields, _ = by_first_field(notes, "Which batch size")
    assert model == "companion basic"
    assert "Choices: 16 | 256" in fields[0]
    assert fields[1].startswith("<p>The small one.</p>")
    assert "companion lab run batch-size batch_sizes=16,256" in fields[1]


def test_ids_are_stable_across_exports(collection, tmp_path):
    store, _ = collection
    first, second = tmp_path / "a.apkg", tmp_path / "b.apkg"
    write_apkg(store, first)
    write_apkg(store, second)
    notes_a, cards_a, models_a = read_apkg(first)
    notes_b, cards_b, models_b = read_apkg(second)
    assert set(notes_a) == set(notes_b) and len(set(notes_a)) == 5
    assert cards_a == cards_b and set(models_a) == set(models_b)
    assert stable_id("deck", "greek") == stable_id("deck", "greek") != stable_id("deck", "other")
    assert (1 << 30) <= stable_id("deck", "greek") < (1 << 31)


def test_retired_and_suspended_cards(collection, tmp_path):
    store, _ = collection
    with store.transaction() as conn:
        conn.execute("UPDATE cards SET retired = 1 WHERE id = 'greek/delta'")
        conn.execute("UPDATE cards SET suspended = 1 WHERE id IN ('greek/alpha', 'greek/gamma.c2')")
        conn.execute("UPDATE decks SET retired = 1 WHERE id = 'other'")
    path = tmp_path / "out.apkg"
    write_apkg(store, path)
    notes, cards, _ = read_apkg(path)
    assert not [n for n in notes.values() if n[1][0].startswith(("What is delta", "Another"))]
    queues = {(notes[guid][1][0].removeprefix("<p>")[:8], ord_): queue
              for guid, ord_, queue, _ in cards}
    assert queues == {("What is ", 0): -1, ("{{c1::Ga", 0): 0, ("{{c1::Ga", 1): -1,
                      ("{{c1::Ga", 2): 0, ("Which ba", 0): 0}


def test_a_cloze_whose_file_changed_goes_as_one_card_per_gap(collection, tmp_path):
    store, folder = collection
    path = folder / "greek.md"
    path.write_text(path.read_text().replace("comes after", "follows"))  # not synced yet
    out = tmp_path / "out.apkg"
    write_apkg(store, out)
    notes, _, _ = read_apkg(out)
    assert not [n for n in notes.values() if n[0] == "companion cloze"]
    gaps = [n for n in notes.values() if "comes after" in n[1][0]]
    assert len(gaps) == 3 and all(n[0] == "companion basic" for n in gaps)
    assert any("<strong>[a letter]</strong>" in n[1][0] for n in gaps)


@pytest.mark.parametrize("text, expected", [
    (r"$a_i * b_j$ and *c*", r"\(a_i * b_j\) and <em>c</em>"),
    ("`$not math$` and $$E$$", "<code>$not math$</code> and \\[E\\]"),
    (r"costs \$5", "costs $5"),
    ("<b>bold?</b>", "&lt;b&gt;bold?&lt;/b&gt;"),
    (r"{{c1::$\frac{a}{b}$}}", r"{{c1::\(\frac{a}{b}\)}}"),
    (r"$x^{y_{z}}$", r"\(x^{y_{z} }\)"),  # no `}}` to end a cloze early
    ("$a<b$", r"\(a&lt;b\)"),
    ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
])
def test_card_text_becomes_anki_html(text, expected):
    assert to_anki_html(text) == expected


def test_anki_imports_the_package(collection, tmp_path, monkeypatch):
    anki_collection = pytest.importorskip("anki.collection")
    store, folder = collection
    path = tmp_path / "out.apkg"
    write_apkg(store, path)
    (tmp_path / "anki").mkdir()
    col = anki_collection.Collection(str(tmp_path / "anki" / "collection.anki2"))
    try:
        def import_package():
            col.import_anki_package(anki_collection.ImportAnkiPackageRequest(
                package_path=str(path), options=anki_collection.ImportAnkiPackageOptions()))

        import_package()
        assert col.note_count() == 5 and col.card_count() == 7
        assert {d.name for d in col.decks.all_names_and_ids()} >= {"Greek <letters>", "Other"}
        [cloze_note] = [col.get_note(n) for n in col.find_notes('"note:companion cloze"')]
        questions = [card.question() for card in cloze_note.cards()]
        assert "[a letter]" in questions[1] and "Gamma" in questions[1]
        assert r"\(\sqrt{x}\)" in cloze_note.cards()[2].answer()

        # A later export of an edited card updates the note Anki has, adds none.
        deck = folder / "greek.md"
        deck.write_text(deck.read_text().replace("The first letter.", "The first Greek letter."))
        sync_decks(store, [folder])
        # Anki takes a note's copy only when it is newer: this export is made
        # "a minute later" (the notes are stamped with time.time()).
        import time
        import types

        later = time.time() + 60
        monkeypatch.setattr("companion.interop.apkg.time",
                            types.SimpleNamespace(time=lambda: later))
        write_apkg(store, path)
        import_package()
        assert col.note_count() == 5
        [alpha] = [col.get_note(n) for n in col.find_notes('"What is alpha*"')]
        assert alpha["Back"] == "The first Greek letter."
    finally:
        col.close()


PNG = bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def test_typed_cards_and_every_image_go_to_anki_as_anki_would_show_them(store, tmp_path,
                                                                        monkeypatch):
    """A `Type: yes` card is a "type in the answer" note in Anki (its front asks
    for the typed answer); an image beside a deck file and one in the media
    folder both travel, two different files of one name under two names."""
    anki_collection = pytest.importorskip("anki.collection")
    folder, media = tmp_path / "decks", tmp_path / "media"
    media.mkdir()
    write_deck(folder, "mine.md", "## cap\nQ: Capital of France? ![](dot.png)\nA: Paris\n"
               "Type: yes\n\n## gap\nCloze: {{c1::Rome}} is in Italy.\nType: yes\n\n"
               "## pic\nQ: Which dot? ![a dot](../media/dot.png)\nA: That one.\n",
               deck_id="mine", deck_name="Mine")
    (folder / "dot.png").write_bytes(PNG)
    (media / "dot.png").write_bytes(PNG + b"other")  # another file of the same name
    assert not sync_decks(store, [folder]).errors
    path = tmp_path / "out.apkg"
    write_apkg(store, path, media_dir=media)
    with zipfile.ZipFile(path) as archive:
        names = json.loads(archive.read("media"))
        carried = {name: archive.read(number) for number, name in names.items()}
    assert carried["dot.png"] == PNG and len(carried) == 2
    [renamed] = [n for n in carried if n != "dot.png"]
    assert renamed.startswith("dot-") and carried[renamed] == PNG + b"other"
    (tmp_path / "anki").mkdir()
    col = anki_collection.Collection(str(tmp_path / "anki" / "collection.anki2"))
    try:
        col.import_anki_package(anki_collection.ImportAnkiPackageRequest(
            package_path=str(path), options=anki_collection.ImportAnkiPackageOptions()))
        cards = {col.get_card(c).note().fields[0][:12]: col.get_card(c)
                 for c in col.find_cards("")}
        cap, gap, pic = cards["Capital of F"], cards["{{c1::Rome}}"], cards["Which dot? <"]
        assert "[[type:Back]]" in cap.question() and '<img src="dot.png"' in cap.question()
        assert "[[type:cloze:Text]]" in gap.question()
        assert "[[type:" not in pic.question()
        assert f'<img src="{renamed}" alt="a dot"' in pic.question()
        assert sorted(p.name for p in (tmp_path / "anki" / "collection.media").iterdir()) == \
            sorted(carried)
    finally:
        col.close()


def test_a_time_stored_as_a_float_never_hangs_the_export(collection, tmp_path):
    """Two rows of one card's log at 1e300 (a review another program wrote
    as a float, and a forget just after it): the revlog's unique-id loop
    added 1 to 1e300 for ever. Now the export ends, written or refused."""
    import threading

    store, _ = collection
    card_id = store.conn.execute("SELECT id FROM cards ORDER BY id LIMIT 1").fetchone()[0]
    with store.transaction():
        store.conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
                           "VALUES ('far', ?, 1e300, 3, 1000)", (card_id,))
        store.conn.execute("INSERT INTO card_events(id, card_id, at, kind, interval, due) "
                           "VALUES ('gone', ?, 1e300, 'forget', 0, 0)", (card_id,))
    ended = []

    def export():
        try:
            write_apkg(store, tmp_path / "out.apkg")
        except Exception as exc:  # refused: as good as written, for this test
            ended.append(exc)
        else:
            ended.append(None)

    worker = threading.Thread(target=export, daemon=True)
    worker.start()
    worker.join(30)
    assert ended, "the export never ended"
