"""Free recall (issue 15, "learning to remember"): the matching rule, the
deck's Keys: field, sections, the stored attempt that changes no card, the
custom study of the missed cards, and `companion recall` end to end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from companion.deck_sync import deck_dirs, sync_decks
from companion.decks import deck_files, load_decks, parse_deck
from companion.recall import (
    RecallError,
    find_section,
    mentions,
    save,
    score,
    sections,
    written_text,
)
from companion.session import ReviewSession, Selection
from companion.settings import Settings

from .conftest import TZ, write_deck
from .test_cli import run

RECALL_DECK = """
## sgd
Q: What is stochastic in SGD?
A: The gradient, estimated on a minibatch.
Tags: batching
Keys: minibatch | mini-batch

## noise-scale
Q: Which statistic predicts the critical batch size?
A: The gradient noise scale.
Tags: batching sgd
Keys: noise scale | B_simple; critical batch size

## pe
Cloze: The transformer adds {{c1::positional encodings}} to the {{c2::token embeddings}}.
Tags: encoders
Keys: positional encoding

## ffn
Q: What is applied to each position separately?
A: The feed-forward network.
Tags: encoders
Keys: feed-forward

## no-keys
Q: A card without Keys: is no idea to recall.
A: Yes.
Tags: encoders
"""


# -- matching: one function, case-, plural-, hyphen- and space-tolerant -------


@pytest.mark.parametrize("text, term", [
    ("The NOISE SCALE", "noise scale"),  # case
    ("noise scales grow", "noise scale"),  # plural of the text
    ("one positional encoding", "positional encodings"),  # plural of the term
    ("batches of 64", "batch"),  # -es
    ("the queries", "query"),  # -ies
    ("their biases", "bias"),
    ("a feed-forward net", "feed forward"),  # hyphen in the text
    ("a feed forward net", "feed-forward"),  # hyphen in the term
    ("a feedforward net", "feed-forward"),  # run together
    ("noise\n   scale", "noise scale"),  # line breaks and runs of spaces
    ("B_simple", "B simple"),
    ("Hinton's backprop", "Hinton"),  # a possessive
    ("mini-batches", "minibatch"),
    ("naïve", "naive"),  # accents
    ("divide by √d_k", "sqrt(d_k)"),  # the sign for the word
    ("N×1", "N x 1"),
])
def test_mentions_tolerates_case_plural_hyphens_and_spacing(text, term):
    assert mentions(text, term)


@pytest.mark.parametrize("text, term", [
    ("concatenate", "cat"),  # a word inside another word is not the word
    ("the heads", "head start"),  # every word of the term must be there
    ("scale the noise", "noise scale"),  # in order
    ("noise and then scale", "noise scale"),  # next to each other
    ("", "noise"),
    ("batch size", "!!!"),  # a term with nothing to look for matches nothing
])
def test_mentions_needs_the_whole_term_in_order(text, term):
    assert not mentions(text, term)


# -- the Keys: field ----------------------------------------------------------


def test_keys_are_ideas_separated_by_semicolons_with_variants_by_bars(tmp_path):
    deck, errors = parse_deck(write_deck(tmp_path, "d.md", RECALL_DECK))
    assert errors == []
    cards = {c.id: c for c in deck.cards}
    assert cards["test/noise-scale"].keys == (("noise scale", "B_simple"),
                                             ("critical batch size",))
    # a cloze note's every gap carries the note's keys
    assert cards["test/pe.c1"].keys == cards["test/pe.c2"].keys == (("positional encoding",),)
    assert cards["test/no-keys"].keys == ()


@pytest.mark.parametrize("value, message", [
    ("", "names no key idea (write `Keys: term | variant; other term`)"),
    ("noise scale;; batch", "key idea 2 is empty (two ; in a row, or one at the end?)"),
    ("noise scale | ", "key idea 1 has an empty variant (a | with nothing beside it)"),
    ("$\\sigma$ | ---", "key '---' has no letter or digit to look for"),
    ("fine | bel\x07l", "key 'bel\\x07l' has the control character U+0007; a key is plain text"),
    ("a\x1b[31mb", "key 'a\\x1b[31mb' has the control character U+001B; a key is plain text"),
])
def test_a_bad_keys_field_is_a_file_line_error(tmp_path, value, message):
    path = write_deck(tmp_path, "d.md", f"## a\nQ: q\nA: a\nTags: t\nKeys: {value}\n")
    deck, errors = parse_deck(path)
    assert deck.cards == []  # the bad card is left out, as any bad card
    assert [str(e) for e in errors] == [f"{path}:10: card 'a': Keys: {message}"]


# -- sections and scores -------------------------------------------------------


def _sections(tmp_path: Path):
    decks, errors = load_decks([write_deck(tmp_path / "decks", "d.md", RECALL_DECK)])
    assert errors == []
    return sections(decks)


def test_a_section_is_a_notes_first_tag_and_holds_the_notes_with_keys(tmp_path):
    found = {s.name: [i.note_id for i in s.ideas] for s in _sections(tmp_path)}
    # noise-scale's first tag is batching; no-keys is in no section
    assert found == {"batching": ["sgd", "noise-scale"], "encoders": ["pe", "ffn"]}


def test_score_names_each_idea_found_and_lists_the_missed_cards(tmp_path):
    transformer = find_section(_sections(tmp_path), "Encoders")  # any case
    result = score(transformer, "It adds Positional-Encodings to the embeddings.")
    assert [(r.idea.note_id, r.recalled) for r in result.results] == [("pe", True),
                                                                       ("ffn", False)]
    assert result.results[0].found == ("positional encoding",)  # the variant it named
    assert result.missed_cards == ("test/ffn",)
    assert (result.recalled, result.ideas, result.rate) == (1, 2, 0.5)
    # a cloze note missed: all its gaps are to study
    result = score(transformer, "a feedforward layer")
    assert result.missed_cards == ("test/pe.c1", "test/pe.c2")


def test_an_idea_with_two_keys_needs_both(tmp_path):
    batch = find_section(_sections(tmp_path), "batching")
    half = score(batch, "The noise scale matters.").results[1]
    assert not half.recalled and half.missing == ("critical batch size",)
    whole = score(batch, "B_simple predicts the critical batch sizes.").results[1]
    assert whole.recalled and whole.found == ("B_simple", "critical batch size")


def test_an_unknown_section_says_which_it_meant(tmp_path):
    with pytest.raises(RecallError) as caught:
        find_section(_sections(tmp_path), "encodrs")
    assert str(caught.value) == ("no section 'encodrs' (did you mean 'encoders'? "
                                 "sections: batching, encoders)")


def test_empty_text_is_refused_not_stored_as_zero():
    for text in ("", "   \n\t", "... !!"):
        with pytest.raises(RecallError, match="nothing written"):
            written_text(text)
    assert written_text("minibatch") == "minibatch"


# -- the stored attempt changes no card; studying the missed cards -------------


def _cards(store) -> list[tuple]:
    return store.conn.execute("SELECT * FROM cards ORDER BY id").fetchall()


def test_an_attempt_is_stored_and_no_cards_state_changes(store, tmp_path):
    folder = tmp_path / "decks"
    write_deck(folder, "d.md", RECALL_DECK)
    sync_decks(store, [folder])
    session = ReviewSession(store, Settings(timezone=TZ))
    session.answer("test/sgd", 3)  # one card with an FSRS state already
    before, reviews = _cards(store), store.review_count()
    transformer = find_section(_sections(tmp_path), "encoders")
    result = score(transformer, "positional encodings")
    row = save(store, result, 1_000)
    assert _cards(store) == before and store.review_count() == reviews
    [stored] = store.recall_attempts()
    assert stored == row
    assert (stored.section, stored.ideas, stored.recalled, stored.missed, stored.text) == (
        "encoders", 2, 1, ["test/ffn"], "positional encodings")
    assert store.recall_attempts("batching") == []


def test_studying_the_missed_cards_draws_those_cards_only_each_once(store, tmp_path):
    folder = tmp_path / "decks"
    write_deck(folder, "d.md", RECALL_DECK)
    sync_decks(store, [folder])
    settings = Settings(timezone=TZ, new_per_day=1)  # the daily limit doesn't hold it back
    clock = [10 * 86_400_000]
    missed = ("test/pe.c1", "test/pe.c2", "test/ffn")
    session = ReviewSession(store, settings, clock=lambda: clock[0],
                            selection=Selection(card_ids=missed, built_at=clock[0]))
    assert session.counts().new == 3
    drawn = []
    while (card := session.next_card()) is not None and len(drawn) < 10:
        drawn.append(card.id)
        session.answer(card.id, 4)  # Easy: out of learning at once
        clock[0] += 1000
    # deck order, each once, nothing else; pe.c2 is buried for the day once its
    # sibling is answered, as in any study
    assert drawn == ["test/pe.c1", "test/ffn"]
    assert {r[0] for r in store.conn.execute("SELECT card_id FROM reviews")} == set(drawn)
    assert session.counts().total == 0


# -- the shipped deck -------------------------------------------------------


def test_every_shipped_idea_is_named_by_its_own_cards_text():
    """A learner who writes out a card's question and answer (as the card
    shows them: math in Unicode) has named its idea: each shipped Keys:
    field is spelled as its card speaks."""
    from companion.cardtext import math_to_unicode

    decks, errors = load_decks(deck_files(deck_dirs()[:1]))
    assert errors == []
    shipped = sections(decks)
    assert len(shipped) >= 6 and sum(len(s.ideas) for s in shipped) >= 90
    cards = {c.id: c for d in decks for c in d.cards}
    for section in shipped:
        for idea in section.ideas:
            text = math_to_unicode("\n".join(f"{cards[i].front}\n{cards[i].back}\n"
                                              f"{cards[i].extra}" for i in idea.card_ids))
            one = type(section)(section.name, (idea,))
            assert score(one, text).recalled == 1, (idea.note_id, idea.keys)


def test_every_shipped_card_but_the_predict_cards_has_keys():
    decks, _ = load_decks(deck_files(deck_dirs()[:1]))
    without = [c.id for d in decks for c in d.cards if not c.keys and c.kind != "predict"]
    assert without == []


# -- `companion recall` end to end ----------------------------------------------


@pytest.fixture
def recall_home(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", RECALL_DECK, deck_id="mine", deck_name="Mine")
    return home


def _db(home: Path):
    return sqlite3.connect(home / "companion.db")


def test_recall_lists_the_sections(recall_home):
    result = run(["recall"], recall_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Sections to recall")
    rows = [line.split() for line in lines[1:]]
    assert ["batching", "2", "ideas", "not", "tried", "yet"] in rows
    assert ["encoders", "2", "ideas", "not", "tried", "yet"] in rows
    decks, _ = load_decks(deck_files(deck_dirs()[:1]))  # the shipped deck's, as it has them
    history = next(sec for sec in sections(decks) if sec.name == "history")
    assert ["history", str(len(history.ideas)), "ideas", "not", "tried", "yet"] in rows


def test_recall_from_a_pipe_shows_each_idea_stores_it_and_changes_no_card(recall_home):
    run(["due"], recall_home)  # the store, with the cards synced
    before = _db(recall_home).execute("SELECT * FROM cards ORDER BY id").fetchall()
    result = run(["recall", "encoders"], recall_home,
                 stdin="The encoder adds positional encodings to each token.\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "✓ pe: The transformer adds [...] to the " in out
    assert "(you named: positional encoding)" in out
    assert "✗ ffn: What is applied to each position separately?  (missing: feed-forward)" in out
    assert "Recalled 1 of 2 ideas of encoders (50%)" in out
    assert "Missed: ffn" in out
    db = _db(recall_home)
    assert db.execute("SELECT section, ideas, recalled, missed FROM recall_attempts"
                      ).fetchall() == [("encoders", 2, 1, '["mine/ffn"]')]
    assert db.execute("SELECT * FROM cards ORDER BY id").fetchall() == before
    assert db.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
    listed = run(["recall"], recall_home).stdout
    assert "last 50.0% of 1 attempt(s)" in listed
    stats = run(["stats"], recall_home)
    assert stats.returncode == 0, stats.stderr
    assert "Free recall" in stats.stdout and "encoders" in stats.stdout
    assert "50.0%" in stats.stdout


def test_a_section_named_with_an_escape_reaches_the_terminal_neutralised(tmp_path):
    # A tag may hold any character; the section it names is printed, and an
    # OSC sequence in it would retitle the learner's terminal.
    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", "## a\nQ: q\nA: a\nTags: s2\x1b]0;pwned\x07\n"
               "Keys: noise scale\n", deck_id="mine", deck_name="Mine")
    result = run(["recall", "s2\x1b]0;pwned\x07"], home, stdin="the noise scale\n")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "Recalled 1 of 1 idea of s2␛]0;pwned␇ (100%)" in result.stdout


def test_recall_bad_input_is_one_line_and_exit_2(recall_home, tmp_path):
    for args, stdin, message in (
            (["recall", "encodrs"], "x", "did you mean 'encoders'?"),
            (["recall", "encoders"], "  \n", "nothing written"),
            (["recall", "encoders", "--text", str(tmp_path / "nope.txt")], "",
             "nope.txt: No such file or directory")):
        result = run(args, recall_home, stdin=stdin)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert result.stderr.startswith("companion: error: recall: ")
    db = _db(recall_home)
    assert db.execute("SELECT count(*) FROM recall_attempts").fetchone() == (0,)


def test_recall_from_a_file_offers_to_study_the_missed_cards(recall_home, tmp_path):
    text = tmp_path / "what-i-remember.txt"
    text.write_text("Minibatches give a noisy gradient.\n", encoding="utf-8")
    # yes to the offer, then reveal the first missed card and grade it Good
    result = run(["recall", "batching", "--text", str(text)], recall_home, stdin="y\n\n3\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Study the cards of the 1 missed idea now?" in out
    assert "Custom study: 1 chosen card" in out
    assert "Q: Which statistic predicts the critical batch size?" in out
    db = _db(recall_home)
    assert db.execute("SELECT card_id, rating FROM reviews").fetchall() == [
        ("mine/noise-scale", 3)]
    # no: nothing studied, the attempt stored all the same
    result = run(["recall", "batching", "--text", str(text)], recall_home, stdin="n\n")
    assert result.returncode == 0, result.stderr
    assert db.execute("SELECT count(*) FROM reviews").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM recall_attempts").fetchone() == (2,)


def test_recall_in_a_terminal_opens_the_editor_and_leaves_its_comment_lines_out(
        recall_home, tmp_path):
    """In a terminal the text is written in $EDITOR; the template's # lines
    (which name the section) and the learner's own # lines are not the text."""
    import os
    import select
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "editor.py"
    script.write_text(textwrap.dedent("""
        import sys
        from pathlib import Path
        path = Path(sys.argv[-1])
        text = path.read_text(encoding="utf-8")
        assert "Free recall: encoders (2 ideas to remember)" in text
        path.write_text(text + "positional encodings\\n# feed-forward, struck out\\n",
                        encoding="utf-8")
    """))
    env = {**os.environ, "COMPANION_HOME": str(recall_home), "NO_COLOR": "1",
           "EDITOR": f"{sys.executable} {script}", "VISUAL": "", "TERM": "dumb"}
    main, child = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "companion.cli", "recall", "encoders"],
                               stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    os.write(main, b"n\n")  # no to the offer to study
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        out += chunk
    assert process.wait(timeout=60) == 0, out
    os.close(main)
    text = out.decode("utf-8", "replace")
    assert "Recalled 1 of 2 ideas of encoders (50%)" in text
    assert "Study the cards of the 1 missed idea now?" in text
    [(stored, recalled)] = _db(recall_home).execute(
        "SELECT text, recalled FROM recall_attempts").fetchall()
    assert recalled == 1 and stored.strip() == "positional encodings"
    assert _db(recall_home).execute("SELECT count(*) FROM reviews").fetchone() == (0,)


def test_a_summary_reads_the_whole_prompt_and_one_idea_is_one_idea(tmp_path):
    # A cloze whose first line is a lead-in: its summary goes on past it.
    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", "## stack\nCloze: The encoder layer:\n"
               "{{c1::self-attention}} then a\n{{c2::feed-forward}} network.\n"
               "Tags: layers\nKeys: self-attention; feed-forward\n",
               deck_id="mine", deck_name="Mine")
    result = run(["recall", "layers"], home, stdin="self-attention, then feed-forward\n")
    assert result.returncode == 0, result.stderr
    assert ("✓ stack: The encoder layer: [...] then a (…) network.  "
            "(you named: self-attention, feed-forward)") in result.stdout
    assert "Recalled 1 of 1 idea of layers (100%)" in result.stdout


def test_an_offer_whose_input_ends_unanswered_leaves_the_attempt_stored(recall_home, tmp_path):
    text = tmp_path / "what-i-remember.txt"
    text.write_text("Minibatches give a noisy gradient.\n", encoding="utf-8")
    result = run(["recall", "batching", "--text", str(text)], recall_home, stdin="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith(
        "Study the cards of the 1 missed idea now? [Y/n]: \n"
        "Not studied: run companion recall again, or press r on the app's Home.")
    assert _db(recall_home).execute("SELECT count(*) FROM recall_attempts").fetchone() == (1,)
