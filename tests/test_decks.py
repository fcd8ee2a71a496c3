"""The deck parser: good cards load, every problem is `file:line: message`."""

from __future__ import annotations

from companion.deck_sync import deck_dirs
from companion.decks import cloze_gaps, cloze_sides, deck_files, load_decks, parse_deck
from companion.store import SCHEMA_VERSION

from .conftest import SMALL_DECK, write_deck


def test_small_deck_loads_every_card(deck_dir):
    deck, errors = parse_deck(deck_dir / "test.md")
    assert errors == []
    assert deck.id == "test" and deck.name == "Test deck"
    ids = [c.id for c in deck.cards]
    assert ids == ["test/alpha", "test/beta", "test/gamma.c1", "test/gamma.c2", "test/delta"]
    beta = deck.cards[1]
    assert beta.lab == "batch-size" and beta.lab_params == {"batch_sizes": "16,256"}
    assert deck.cards[0].tags == ["letters"] and deck.cards[0].source == "The alphabet"


def test_cloze_siblings_never_give_each_other_away():
    text = "{{c1::Gamma}} comes after {{c2::beta::a letter}}."
    # the front hides the sibling too (its hint as well), marked apart from the
    # asked gap; the back shows the whole note
    assert cloze_sides(text, 1) == ("**[...]** comes after (…).", "**Gamma** comes after beta.")
    assert cloze_sides(text, 2) == ("(…) comes after **[a letter]**.",
                                    "Gamma comes after **beta**.")


def test_no_shipped_cloze_front_shows_a_sibling_answer():
    decks, _ = load_decks(deck_files(deck_dirs()[:1]))
    clozes = [c for d in decks for c in d.cards if c.kind == "cloze"]
    assert clozes
    for card in clozes:
        gaps = cloze_gaps(card.raw)
        siblings = [g for g in gaps if g.number != card.ord]
        # the text around the gaps, where a sibling's answer may occur by itself
        # ("10" of CIFAR-10): the front may show it there, and nowhere else
        starts, ends = [0, *(g.end for g in gaps)], [*(g.start for g in gaps), len(card.raw)]
        around = " ".join(card.raw[a:b] for a, b in zip(starts, ends))
        for g in siblings:
            assert card.front.count(g.answer) <= around.count(g.answer), (card.id, g.answer)
        assert card.front.count("(…)") == len(siblings), card.id


def test_multiline_fields_and_code_fences(tmp_path):
    path = write_deck(tmp_path, "d.md", """
        ## multi
        Q: First line
        second line
        A: Answer with code:
        ```
        ## not a card
        Q: not a field
        ```
        """)
    deck, errors = parse_deck(path)
    assert errors == []
    assert deck.cards[0].front == "First line\nsecond line"
    assert "## not a card" in deck.cards[0].back


def check(tmp_path, body: str, header: str | None = None) -> list[str]:
    path = tmp_path / "bad.md"
    path.write_text(header if header is not None else "---\nid: bad\nname: Bad\n---\n" + body,
                    encoding="utf-8")
    _, errors = parse_deck(path)
    return [str(e) for e in errors]


def test_every_error_names_file_and_line(tmp_path):
    cases = {
        "## a\nQ: one\nA: two\n\n## a\nQ: three\nA: four\n":
            ("bad.md:9:", "duplicate card id 'a' (first on line 5)"),
        "## a\nQ: \nA: two\n": ("bad.md:6:", "empty Q: field"),
        "## a\nQ: one\n": ("bad.md:5:", "has Q: but no A: field"),
        "## a\nQ: one\nA: two\nLab: no-such-lab\n": ("bad.md:8:", "unknown lab 'no-such-lab'"),
        "## a\nQ: one\nA: two\nLab: batch-size lr=fast\n": ("bad.md:8:", "lr='fast'"),
        "## a\nQ: one\nA: two\nLab: batch-size nope=1\n": ("bad.md:8:", "no parameter 'nope'"),
        "## a\nCloze: {{c1::open gap\n": ("bad.md:6:", "unclosed or malformed cloze"),
        "## a\nCloze: no gaps here\n": ("bad.md:6:", "has no {{c1::...}} gap"),
        "## a\nCloze: {{c1::x}}\nQ: y\nA: z\n": ("bad.md:5:", "has both Cloze: and Q:"),
        "## Bad Id\nQ: x\nA: y\n": ("bad.md:5:", "card id 'Bad Id' must be"),
        "## a\nstray text\nQ: x\nA: y\n": ("bad.md:6:", "text before the first field"),
        "## a\nQ: x\nA: y\nQ: again\n": ("bad.md:8:", "second Q: field"),
        "## a\nQ: x\nA: y\n```\nnever closed\n": ("bad.md:", "code fence is never closed"),
        "## a\nTags: x\n": ("bad.md:5:", "has no Q:/A:, Cloze:, Predict: or Diagram: field"),
        "## a\nPredict: which?\nReveal: argmin x\n": ("bad.md:6:", "Predict: needs a Lab:"),
        "## a\nPredict: which?\nLab: batch-size\n": ("bad.md:6:", "Predict: needs a Reveal:"),
        "## a\nPredict: which?\nLab: batch-size\nReveal: 1 + 1\n":
            ("bad.md:8:", "Reveal: '1 + 1': expected a result path"),
        "## a\nPredict: which?\nChoices: 16\nLab: batch-size\nReveal: x\n":
            ("bad.md:7:", "Choices: needs two or more"),
        "## a\nQ: x\nA: y\nReveal: x\n": ("bad.md:8:", "Reveal: belongs to a Predict: card"),
        "## a\nQ: x\nA: y\nLab: transformer-trace heads=3\n":
            ("bad.md:8:", "card 'a': Lab: heads=3 must divide d_model=8"),
        "## a\nQ: x\nA: y\nLab: transformer-trace d_model=6 heads=4\n":
            ("bad.md:8:", "heads=4 must divide d_model=6"),
        "## a\nQ: x\nA: y\nLab: transformer-trace sentence=elephant\n":
            ("bad.md:8:", "sentence: unknown word 'elephant'"),
        "## a\nQ: x\nA: y\nLab: batch-size noise_batches=64,32\n":
            ("bad.md:8:", "noise_batches=64,32: expected two sizes B_small,B_big"),
    }
    for body, (where, message) in cases.items():
        errors = check(tmp_path, body)
        assert len(errors) == 1, (body, errors)
        assert errors[0].startswith(str(tmp_path / where)) and message in errors[0], (body, errors)


def test_front_matter_errors(tmp_path):
    assert "missing front matter" in check(tmp_path, "", header="## a\nQ: x\nA: y\n")[0]
    assert "not closed" in check(tmp_path, "", header="---\nid: x\n## a\n")[0]
    bad_yaml = check(tmp_path, "", header="---\nid: x\nname: [unclosed\n---\n")
    assert ":3: bad front matter" in bad_yaml[0] or ":4: bad front matter" in bad_yaml[0]
    assert "front matter has no name key" in check(tmp_path, "", header="---\nid: x\n---\n")[0]
    assert "deck id 'X Y'" in check(tmp_path, "", header="---\nid: X Y\nname: n\n---\n")[0]


def test_one_bad_card_keeps_the_good_ones(tmp_path):
    path = write_deck(tmp_path, "d.md", "## good\nQ: a\nA: b\n\n## bad\nQ: \nA: b\n")
    deck, errors = parse_deck(path)
    assert [c.id for c in deck.cards] == ["test/good"] and len(errors) == 1


def test_one_bad_file_never_stops_the_good_ones(tmp_path):
    good = write_deck(tmp_path, "good.md", SMALL_DECK)
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"\xff\xfe not utf-8")
    decks, errors = load_decks([bad, good])
    assert [d.id for d in decks] == ["test"]
    assert len(errors) == 1 and str(errors[0]).startswith(f"{bad}:1: not UTF-8")


def test_two_files_with_one_deck_id(tmp_path):
    a = write_deck(tmp_path, "a.md", "## x\nQ: a\nA: b\n")
    b = write_deck(tmp_path, "b.md", "## y\nQ: a\nA: b\n")
    decks, errors = load_decks([a, b])
    assert len(decks) == 1 and "already used by" in str(errors[0])


def test_shipped_deck_passes_check_and_covers_the_diary():
    files = deck_files(deck_dirs()[:1])
    decks, errors = load_decks(files)
    assert errors == []
    cards = [c for d in decks for c in d.cards]
    assert len(cards) >= 80
    assert all(c.source for c in cards), [c.id for c in cards if not c.source]
    labs = {c.lab for c in cards}
    assert {"batch-size", "input-gradient", "transformer-trace"} <= labs
    text = " ".join(c.front + " " + c.back + " " + c.extra for c in cards).lower()
    for concept in ("1986", "feature visualization", "n400", "surprisal", "stochastic",
                    "50,000", "critical batch", "noise scale", "positional", "layer norm",
                    "multi-head", "feed-forward", "trophy", "bias", "recall"):
        assert concept in text, concept


def test_a_predict_card(tmp_path):
    path = write_deck(tmp_path, "d.md", """
        ## which-batch
        Predict: Which batch size reaches the target after fewer examples?
        Choices: 16 | 256
        Lab: batch-size batch_sizes=16,256
        Reveal: argmin examples_to_target
        A: The smaller one: below the critical batch size, examples are used better.
        """)
    deck, errors = parse_deck(path)
    assert errors == []
    [card] = deck.cards
    assert (card.kind, card.choices, card.reveal) == ("predict", ["16", "256"],
                                                      "argmin examples_to_target")
    assert card.lab == "batch-size" and card.back.startswith("The smaller one")


def test_front_matter_and_card_errors_in_one_run(tmp_path):
    path = tmp_path / "broken.md"
    path.write_text(
        "---\n"            # 1
        "id: Bad Deck\n"   # 2
        "colour: red\n"    # 3
        "---\n"            # 4
        "\n"               # 5
        "## one\n"         # 6
        "Q: no answer\n"   # 7
        "\n"               # 8
        "## two\n"         # 9
        "Cloze: {{c1::never closed\n"  # 10
        "\n"               # 11
        "## one\n"         # 12
        "Q: again\nA: again\n"  # 13, 14
        "\n"               # 15
        "## lab\n"         # 16
        "Q: x\nA: y\n"    # 17, 18
        "Lab: transformer-trace heads=3\n",  # 19
        encoding="utf-8")
    deck, errors = parse_deck(path)
    assert deck is None  # its front matter is unusable: the deck is refused as a whole
    found = [(e.line, e.message) for e in errors]
    assert [line for line, _ in found] == [2, 2, 3, 6, 10, 12, 19], found
    text = "\n".join(str(e) for e in errors)
    for where, message in [
        (2, "front matter has no name key"),
        (2, "deck id 'Bad Deck' must be"),
        (3, "unknown front matter keys: colour"),
        (6, "card 'one' has Q: but no A: field"),
        (10, "card 'two': unclosed or malformed cloze"),
        (12, "duplicate card id 'one' (first on line 6)"),
        (19, "card 'lab': Lab: heads=3 must divide d_model=8"),
    ]:
        assert f"{path}:{where}: {message}" in text, (where, message, text)


def test_unclosed_front_matter_still_checks_the_cards(tmp_path):
    errors = check(tmp_path, "", header="---\nid: x\n\n## a\nQ: only a question\n")
    assert len(errors) == 2, errors
    assert errors[0].endswith("bad.md:1: front matter is not closed by a --- line")
    assert errors[1].endswith("bad.md:4: card 'a' has Q: but no A: field")


def test_no_message_ends_with_a_colon(tmp_path):
    headers = ["---\nid: x\n---\n", "---\nname: n\n---\n", "---\n---\n",
               "---\nid: x\nname: [unclosed\n---\n", "---\nid: X\nname: n\nk: v\n---\n",
               "---\n- a list\n---\n", "---\nid: x\n", "no front matter\n"]
    bodies = ["## a\nQ: one\n", "## a\nA: one\n", "## a\nQ: \nA: \n", "## a\nTags: t\n",
              "## a\nCloze: {{c1::}}\n", "## a\nPredict: p\nChoices: 1\nReveal: 1 + 1\n",
              "## a\nQ: x\nA: y\nLab:\n", "## a\nQ: x\nA: y\nLab: batch-size lr\n",
              "## a\nQ: x\nA: y\nExtra: e\nExtra: f\n"]
    messages = []
    for header in headers:
        for body in bodies:
            messages += [m.rsplit(": ", 1)[-1] for m in check(tmp_path, "", header=header + body)]
    assert len(messages) > 30
    assert not [m for m in messages if m.rstrip().endswith(":")], messages


def test_lab_parameters_are_checked_together(tmp_path):
    ok = write_deck(tmp_path, "ok.md", "## a\nQ: x\nA: y\nLab: transformer-trace heads=2\n")
    deck, errors = parse_deck(ok)
    assert errors == [] and deck.cards[0].lab_params == {"heads": "2"}
    bad = write_deck(tmp_path, "bad.md", "## a\nQ: x\nA: y\nLab: transformer-trace heads=3\n")
    deck, errors = parse_deck(bad)
    assert deck.cards == []
    assert [str(e) for e in errors] == [
        f"{bad}:9: card 'a': Lab: heads=3 must divide d_model=8: each head gets "
        "d_model/heads dimensions of every token vector"]


def test_type_yes_asks_for_the_answer_of_a_basic_or_a_cloze_card(tmp_path):
    path = write_deck(tmp_path, "d.md", """
        ## capital
        Q: The capital of France?
        A: **Paris**
        Type: yes
        Extra: Since 987.

        ## plain
        Q: Not typed
        A: An answer

        ## gaps
        Cloze: {{c1::Paris}} is in {{c2::France}}; {{c1::Paris}} again, {{c3::a}} and {{c3::b}}.
        Type: YES
        """)
    deck, errors = parse_deck(path)
    assert errors == []
    by_id = {c.id: c for c in deck.cards}
    assert by_id["test/capital"].type_answer == "**Paris**"
    assert by_id["test/capital"].extra == "Since 987."
    assert by_id["test/plain"].type_answer == ""
    # As Anki's {{type:cloze:Text}}: one gap's answers, the same ones once.
    assert by_id["test/gaps.c1"].type_answer == "Paris"
    assert by_id["test/gaps.c2"].type_answer == "France"
    assert by_id["test/gaps.c3"].type_answer == "a, b"


def test_type_errors_name_file_and_line(tmp_path):
    cases = {
        "## a\nQ: one\nA: two\nType: Paris\n":
            ("bad.md:8:", "Type: takes yes (the learner types the A: or the cloze's answer), "
                          "not 'Paris'"),
        "## a\nQ: one\nA: two\nType:\n": ("bad.md:8:", "Type: takes yes"),
        "## a\nPredict: how many?\nLab: batch-size\nReveal: steps\nType: yes\n":
            ("bad.md:9:", "Type: belongs to a Q/A or Cloze: card"),
        "## a\nQ: one\nA: ![a figure](f.png)\nType: yes\n":
            ("bad.md:8:", "Type: yes, but A: has no text to type"),
        "## a\nCloze: {{c1::x}} and {{c2::![f](f.png)}}\n\nType: yes\n":
            ("bad.md:8:", "Type: yes, but cloze c2 has no text to type"),
        "## a\nQ: one\nA: " + "word " * 500 + "\nType: yes\n":
            ("bad.md:8:", "characters long; the most to type is 2,000"),
        "## a\nQ: one\nA: two\nType: yes\nType: yes\n": ("bad.md:9:", "second Type: field"),
    }
    for body, (where, message) in cases.items():
        errors = check(tmp_path, body)
        assert any(e.startswith(str(tmp_path / where)) and message in e for e in errors), \
            (body, errors)


def test_a_typed_card_reaches_the_store_and_an_older_database_reads_the_decks_again(tmp_path):
    import sqlite3

    from companion.deck_sync import sync_decks
    from companion.session import ReviewSession
    from companion.settings import Settings
    from companion.store import Store

    write_deck(tmp_path / "decks", "d.md", "## cap\nQ: Capital?\nA: Paris\nType: yes\n")
    store = Store(tmp_path / "c.db")
    sync_decks(store, [tmp_path / "decks"])
    card = ReviewSession(store, Settings(timezone="UTC")).card("test/cap")
    assert card.type_answer == "Paris"
    # A database from before typed answers: its cards lack the column, and the
    # unchanged deck files are read again so the cards get it.
    from companion.store import SCHEMA_ADDED, SCHEMA_TABLES

    made_in: dict[str, int] = {}  # each table's first schema
    for since, added in sorted(SCHEMA_ADDED.items()):
        for table in added:
            made_in.setdefault(table, 0 if table in SCHEMA_TABLES else since)
    for since, added in sorted(SCHEMA_ADDED.items(), reverse=True):
        if since <= 6:
            continue
        for table, columns in added.items():
            if made_in[table] == since:
                store.conn.execute(f"DROP TABLE {table}")
            elif made_in[table] <= 6:
                for column in columns:
                    store.conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    store.conn.execute("PRAGMA user_version = 6")
    store.close()
    store = Store(tmp_path / "c.db")
    assert store.version == SCHEMA_VERSION
    assert sync_decks(store, [tmp_path / "decks"]).skipped is False
    assert ReviewSession(store, Settings(timezone="UTC")).card("test/cap").type_answer == "Paris"
    store.close()
    version = sqlite3.connect(tmp_path / "c.db").execute("PRAGMA user_version").fetchone()
    assert version == (SCHEMA_VERSION,)
