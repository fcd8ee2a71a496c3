"""Presets per deck and decks within decks: each deck is scheduled by its
preset, and the daily limits follow Anki's v3 rules over the deck tree."""

from __future__ import annotations

import pytest

from companion.deck_sync import sync_decks
from companion.decks import load_decks
from companion.doctor import cache_mismatches
from companion.limits import DayLimits, DeckTree, Due, Remaining
from companion.replay import catch_up
from companion.scheduler import MemoryModel
from companion.session import Counts, ReviewSession
from companion.settings import Settings, SettingsError, from_mapping

from .conftest import TZ, write_deck
from .test_session import MIN, T0, Clock


def cards(prefix: str, n: int) -> str:
    return "\n".join(f"## {prefix}{i}\nQ: {prefix} {i}?\nA: {i}.\n" for i in range(n))


def presets(**values) -> Settings:
    return from_mapping({"timezone": TZ, **values})


# -- the settings file -------------------------------------------------------


def test_a_preset_takes_the_default_for_what_it_leaves_out():
    s = presets(new_per_day=30, presets={"exam": {"desired_retention": 0.95}},
                deck_presets={"law": "exam"})
    exam = s.for_deck("law")
    assert (exam.desired_retention, exam.new_per_day) == (0.95, 30)
    assert s.for_deck("other") is s and s.preset_of(None) == "default"
    assert s.decks_using("exam") == ["law"]


@pytest.mark.parametrize("data, message", [
    ({"presets": {"exam": {"theme": "x"}}},
     "presets.exam: unknown setting 'theme' (a preset holds: desired_retention"),
    ({"presets": {"exam": {"desired_retention": 2.0}}},
     "presets.exam.desired_retention: 2.0 must be between 0.7 and 0.99"),
    ({"presets": {"exam": {"learning_steps": ["1x"]}}},
     "presets.exam.learning_steps: '1x' is not a step"),
    ({"presets": {"exam": {"new_per_day": "ten"}}},
     "presets.exam.new_per_day: expected int, got 'ten'"),
    ({"presets": {"exam": {}}, "deck_presets": {"law": "exma"}},
     "deck_presets.law: unknown preset 'exma' (did you mean 'exam'? presets: default, exam)"),
    ({"presets": {"Default": {}}}, "presets: 'Default' is not a preset name"),
    ({"presets": {"exam": 3}}, "presets.exam: expected a table of settings, got 3"),
    ({"deck_presets": {"law": 1}}, "deck_presets.law: expected a preset name, got 1"),
])
def test_a_bad_preset_is_named_in_one_line(data, message):
    with pytest.raises(SettingsError) as caught:
        from_mapping(data, where="settings.toml")
    assert str(caught.value).startswith(f"settings.toml: {message}")
    assert "\n" not in str(caught.value)


def test_presets_survive_a_save_and_load(tmp_path):
    from companion.settings import load, save

    s = presets(presets={"exam": {"desired_retention": 0.95, "learning_steps": ["5m"]}},
                deck_presets={"law": "exam"})
    save(s, tmp_path / "settings.toml")
    assert load(tmp_path / "settings.toml") == s
    assert "[presets]" not in Settings().to_toml()  # no empty tables


def test_with_preset_values_keeps_only_what_differs_from_the_default():
    s = presets(presets={"exam": {"desired_retention": 0.95}})
    changed = s.with_preset_values("exam", desired_retention=0.9, new_per_day=5)
    assert changed.presets == {"exam": {"new_per_day": 5}}
    assert changed.with_preset_values("default", new_per_day=7).new_per_day == 7


# -- each deck scheduled by its preset -----------------------------------------


@pytest.fixture
def two_decks(store, tmp_path):
    folder = tmp_path / "decks"
    write_deck(folder, "law.md", cards("l", 3), deck_id="law", deck_name="Law")
    write_deck(folder, "art.md", cards("a", 3), deck_id="art", deck_name="Art")
    sync_decks(store, [folder])
    return store


def test_each_card_is_scheduled_by_its_decks_preset(two_decks):
    s = presets(learning_steps=["1m", "10m"], relearning_steps=["10m"],
                presets={"exam": {"learning_steps": ["5m", "1h"], "desired_retention": 0.97,
                                  "leech_threshold": 1, "leech_action": "tag"}},
                deck_presets={"law": "exam"})
    clock = Clock()
    session = ReviewSession(two_decks, s, clock=clock)
    law, art = two_decks.card_row("law/l0"), two_decks.card_row("art/a0")
    assert session.previews(session.card("law/l0"))[1] == "5m"
    assert session.previews(session.card("art/a0"))[1] == "1m"
    # the very rules of MemoryModel under the deck's preset, nothing of its own
    for row, preset in ((law, s.preset("exam")), (art, s)):
        card = session.card(row.id)
        expected = MemoryModel(preset).answer(row.id, card.memory, 4, clock.now).memory
        assert session.answer(row.id, 4).memory == expected
    # 0.97 retention gives a shorter interval than 0.9 from the same Easy
    assert two_decks.card_row("law/l0").interval < two_decks.card_row("art/a0").interval
    # leech settings are the preset's too: a lapse tags law's card, no suspend
    clock.now = two_decks.card_row("law/l0").due + MIN
    result = session.answer("law/l0", 1)
    assert result.leech and not result.leech_suspended
    assert not two_decks.card_row("law/l0").suspended
    assert cache_mismatches(two_decks, s) == []  # a replay uses each deck's preset too


def test_changing_one_presets_parameters_rebuilds_and_reschedules_only_its_decks(two_decks):
    base = presets(reschedule_on_change=True, presets={"exam": {}}, deck_presets={"law": "exam"})
    clock = Clock()
    session = ReviewSession(two_decks, base, clock=clock)
    for card_id in ("law/l0", "art/a0"):
        session.answer(card_id, 4, now=clock.now)
    catch_up(two_decks, base, clock.now)
    before = {c: two_decks.card_row(c) for c in ("law/l0", "art/a0")}
    changed = base.with_preset_values("exam", desired_retention=0.8)
    catch_up(two_decks, changed, clock.now + MIN)
    assert two_decks.card_row("art/a0") == before["art/a0"]  # its preset didn't change
    law = two_decks.card_row("law/l0")
    assert law.due > before["law/l0"].due  # 0.8 retention: due later
    assert two_decks.card_events()[0].card_id == "law/l0" and len(two_decks.card_events()) == 1
    assert cache_mismatches(two_decks, changed) == []


# -- the deck tree -------------------------------------------------------------


def tree_store(store, tmp_path, spec):
    """spec: (id, parent, number of new cards)"""
    folder = tmp_path / "tree"
    for deck_id, parent, n in spec:
        write_deck(folder, f"{deck_id}.md", cards(deck_id.replace("-", ""), n), deck_id=deck_id,
                   deck_name=deck_id.title(), parent=parent)
    report = sync_decks(store, [folder])
    assert report.errors == []
    return store


def test_counts_follow_anki_nested_counts_v3(store, tmp_path):
    # rslib/src/decks/tree.rs `nested_counts_v3`: limits 8, 4, 2, 1; 2 cards each
    tree_store(store, tmp_path, [("parent", None, 2), ("child", "parent", 2),
                                 ("grand-one", "child", 2), ("grand-two", "child", 2)])
    s = presets(presets={"p8": {"new_per_day": 8}, "p4": {"new_per_day": 4},
                         "p2": {"new_per_day": 2}, "p1": {"new_per_day": 1}},
                deck_presets={"parent": "p8", "child": "p4", "grand-one": "p2",
                              "grand-two": "p1"})
    by_deck, total = ReviewSession(store, s, clock=Clock()).overview()
    assert {k: v.new for k, v in by_deck.items()} == {
        "grand-one": 2, "grand-two": 1, "child": 4, "parent": 6}
    assert total.new == 6


def test_a_parents_limit_caps_its_subdecks_and_a_subdeck_studied_alone_keeps_its_own(
        store, tmp_path):
    tree_store(store, tmp_path, [("top", None, 1), ("sub", "top", 6)])
    s = presets(presets={"small": {"new_per_day": 3}}, deck_presets={"top": "small"})
    clock = Clock()
    top = ReviewSession(store, s, deck_id="top", clock=clock)
    drawn = []
    while (card := top.next_card()) is not None:
        drawn.append(card.id)
        top.answer(card.id, 4)
    assert len(drawn) == 3  # top's limit of 3 covers its subdeck's cards
    assert top.counts() == Counts(0, 0, 0)
    # "sub" studied alone: its own preset (the default, 20 a day), with what
    # it spent under "top" counted: the parent's limit doesn't apply here
    sub = ReviewSession(store, s, deck_id="sub", clock=clock)
    spent_in_sub = sum(1 for c in drawn if c.startswith("sub/"))
    assert sub.counts().new == 6 - spent_in_sub
    assert sub.next_card().deck_id == "sub"
    # all decks: "top" is a top-level deck, so its limit caps it there too
    assert ReviewSession(store, s, clock=clock).counts().new == 0


def test_studying_a_deck_studies_its_subdecks_and_not_its_siblings(store, tmp_path):
    tree_store(store, tmp_path, [("top", None, 0), ("left", "top", 2), ("right", "top", 2),
                                 ("other", None, 2)])
    session = ReviewSession(store, presets(), deck_id="top", clock=Clock())
    seen = set()
    while (card := session.next_card()) is not None:
        seen.add(card.deck_id)
        session.answer(card.id, 4)
    assert seen == {"left", "right"}


@pytest.mark.parametrize("order", ["deck", "section"])
def test_new_cards_come_deck_by_deck_in_the_deck_lists_order_not_the_ids(store, tmp_path,
                                                                         order):
    # Anki's "Deck" gather order takes the decks sorted by name, a parent
    # before its subdecks: where the parent's limit is shared, its own cards
    # and then its first subdeck's (by name) are introduced, whatever the ids
    folder = tmp_path / "tree"
    for deck_id, name, parent in (("z-top", "Top", None), ("b-sub", "Zeta", "z-top"),
                                  ("a-sub", "Alpha", "z-top"), ("m-other", "Other", None)):
        write_deck(folder, f"{deck_id}.md", cards(deck_id.replace("-", ""), 2),
                   deck_id=deck_id, deck_name=name, parent=parent)
    assert sync_decks(store, [folder]).errors == []
    s = presets(new_card_order=order, presets={"small": {"new_per_day": 4}},
                deck_presets={"z-top": "small"})
    drawn = []
    session = ReviewSession(store, s, clock=Clock())
    while (card := session.next_card()) is not None:
        drawn.append(card.deck_id)
        session.answer(card.id, 4)
    assert drawn == ["m-other", "m-other", "z-top", "z-top", "a-sub", "a-sub"]


def test_custom_study_raises_the_limit_of_the_deck_it_is_asked_in(store, tmp_path):
    tree_store(store, tmp_path, [("one", None, 5), ("two", None, 5)])
    s = presets(new_per_day=1)
    clock = Clock()
    one = ReviewSession(store, s, deck_id="one", clock=clock)
    assert one.extend_today(new=2) == (3, 200)
    by_deck, _ = ReviewSession(store, s, clock=clock).overview()
    assert (by_deck["one"].new, by_deck["two"].new) == (3, 1)
    everything = ReviewSession(store, s, clock=clock)
    everything.extend_today(new=1)  # in all decks: each top-level deck's limit
    by_deck, total = ReviewSession(store, s, clock=clock).overview()
    assert (by_deck["one"].new, by_deck["two"].new, total.new) == (4, 2, 6)


def test_a_raised_new_limit_comes_off_the_new_cards_studied_so_the_reviews_they_spent_too(
        store, tmp_path):
    # Anki's extend_limits lowers the deck's "new studied today": with new
    # cards spending the review limit, that frees as many reviews
    tree_store(store, tmp_path, [("one", None, 8)])
    s = presets(new_per_day=5, reviews_per_day=5)
    clock = Clock()
    session = ReviewSession(store, s, deck_id="one", clock=clock)
    for _ in range(5):
        session.answer(session.next_card().id, 4)
    assert session.counts().new == 0  # 5 new studied: no reviews left for more
    assert session.extend_today(new=2) == (7, 5)
    assert session.counts().new == 2
    free = presets(new_per_day=5, reviews_per_day=5, new_cards_ignore_review_limit=True)
    assert ReviewSession(store, free, deck_id="one", clock=clock).counts().new == 2
    # all 5 reviews spent by new cards, then a raise of 2 new: 2 reviews free
    limits = DayLimits(DeckTree({"one": None}), "one", {"one": (5, 5)}, done={"one": (5, 0)},
                       extensions={"one": (2, 0)})
    assert limits.remaining["one"] == Remaining(2, 2)


def test_home_and_due_list_subdecks_under_their_parents(store, tmp_path):
    from companion.stats import home_data

    tree_store(store, tmp_path, [("zeta", None, 1), ("alpha", "zeta", 1), ("beta", None, 1)])
    rows = home_data(store, presets(), T0).decks
    assert [(r.id, r.depth) for r in rows] == [("beta", 0), ("zeta", 0), ("alpha", 1)]
    assert [r.counts.new for r in rows] == [1, 2, 1]  # a parent counts its subdecks


def test_limit_tree_unit_cases():
    tree = DeckTree({"a": None, "b": "a", "c": "b"})
    assert tree.subtree("a") == ["a", "b", "c"] and tree.subtree("b") == ["b", "c"]
    limits = DayLimits(tree, None, {"a": (5, 10), "b": (2, 10), "c": (9, 1)},
                       done={"c": (1, 0)})
    # c: 9 new - 1 done, but 1 review - 1 new done leaves no room for either
    assert limits.remaining["c"].review == 0 and limits.remaining["c"].new == 0
    assert limits.remaining["b"].new == 1 and limits.remaining["a"].new == 4
    assert limits.open_for_new() == ["a", "b"]
    shown, total = limits.counts({"a": Due(1, 0, 0), "b": Due(3, 2, 0), "c": Due(4, 1, 0)})
    assert (shown["c"].new, shown["b"].new, shown["a"].new, total.new) == (0, 1, 2, 2)
    assert total.learning == 3  # learning cards are never held back
    free = DayLimits(tree, None, {"a": (5, 10), "b": (2, 10), "c": (9, 1)}, done={"c": (1, 0)},
                     new_cards_ignore_review_limit=True)
    assert free.remaining["c"].new == 8


# -- parents in deck files -------------------------------------------------------


def test_a_bad_parent_is_an_error_with_its_line_and_the_deck_still_loads(tmp_path):
    folder = tmp_path / "d"
    write_deck(folder, "a.md", cards("a", 1), deck_id="a", deck_name="A", parent="nope")
    write_deck(folder, "b.md", cards("b", 1), deck_id="b", deck_name="B", parent="c")
    write_deck(folder, "c.md", cards("c", 1), deck_id="c", deck_name="C", parent="b")
    write_deck(folder, "d.md", cards("d", 1), deck_id="d", deck_name="D", parent="Not An Id")
    decks, errors = load_decks(sorted(folder.glob("*.md")))
    messages = sorted(str(e) for e in errors)
    assert f"{folder / 'a.md'}:4: parent deck 'nope' is not a deck" in messages
    assert f"{folder / 'b.md'}:4: parents loop: b -> c -> b" in messages
    assert any(m.startswith(f"{folder / 'd.md'}:4: parent 'Not An Id' must be a deck id")
               for m in messages)
    assert len(decks) == 4 and {d.id: d.parent for d in decks}["c"] == "b"


# -- the faces: due, decks list, reschedule --deck, the json export -------------


def test_the_command_line_shows_the_tree_and_each_decks_preset(tmp_path):
    from .test_cli import run

    home = tmp_path / "home"
    write_deck(home / "decks", "top.md", cards("t", 2), deck_id="top", deck_name="Top")
    write_deck(home / "decks", "sub.md", cards("s", 30), deck_id="sub", deck_name="Sub",
               parent="top")
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.toml").write_text(
        "[presets.light]\nnew_per_day = 5\n\n[deck_presets]\ntop = \"light\"\n")
    due = run(["due"], home)
    assert due.returncode == 0, due.stderr
    rows = [line for line in due.stdout.splitlines() if "(top)" in line or "(sub)" in line]
    assert "Top (top)" in rows[0] and "  Sub (sub)" in rows[1]  # the subdeck under its parent
    assert rows[0].split("│")[2].strip() == "5"  # top's 5 cover its subdeck's cards
    assert rows[1].split("│")[2].strip() == "20"  # sub alone: the default preset's 20
    listed = run(["decks", "list"], home).stdout
    assert any("top" in line and "light" in line for line in listed.splitlines())
    assert any("sub" in line and "default" in line for line in listed.splitlines())
    wrong = run(["reschedule", "--deck", "tpo"], home)
    assert wrong.returncode == 2 and "did you mean 'top'?" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1


def test_the_json_export_carries_each_decks_parent(store, tmp_path):
    from companion.interop.json_export import import_json, write_json
    from companion.store import Store

    tree_store(store, tmp_path, [("top", None, 1), ("sub", "top", 1)])
    write_json(store, presets(), tmp_path / "out.json")
    other = Store(tmp_path / "other.db")
    import_json(other, presets(), tmp_path / "out.json")
    assert other.deck_parents() == {"top": None, "sub": "top"}
    other.close()


def test_due_for_a_status_line_and_for_scripts(tmp_path):
    import json

    from .test_cli import run

    home = tmp_path / "home"
    write_deck(home / "decks", "top.md", cards("t", 2), deck_id="top", deck_name="Top")
    write_deck(home / "decks", "sub.md", cards("s", 3), deck_id="sub", deck_name="Sub",
               parent="top")
    write_deck(home / "decks", "bad.md", "## x\nQ: no answer\n", deck_id="bad",
               deck_name="Bad")
    short = run(["due", "--short", "--deck", "top"], home)
    assert (short.returncode, short.stdout, short.stderr) == (0, "5 new\n", "")  # no warnings
    doc = json.loads(run(["due", "--json"], home).stdout)
    # the shipped deck's 20 and top's 5; bad.md has no good card
    assert doc["total"] == {"new": 25, "learning": 0, "review": 0}
    assert {d["id"]: (d["parent"], d["new"]) for d in doc["decks"]} == {
        "top": (None, 5), "sub": ("top", 3), "bad": (None, 0), "dl-week-one": (None, 20)}
    # nothing left today: nothing printed
    (home / "settings.toml").write_text("new_per_day = 0\n")
    assert run(["due", "--short"], home).stdout == ""
    both = run(["due", "--short", "--json"], home)
    assert both.returncode == 2 and "choose one" in both.stderr


def test_the_json_export_carries_a_typed_cards_answer(store, tmp_path):
    from companion.interop.json_export import import_json, write_json
    from companion.store import Store

    folder = tmp_path / "typed"
    write_deck(folder, "t.md", "## cap\nQ: Capital of France?\nA: Paris\nType: yes\n",
               deck_id="typed", deck_name="Typed")
    sync_decks(store, [folder])
    write_json(store, presets(), tmp_path / "out.json")
    other = Store(tmp_path / "other.db")
    import_json(other, presets(), tmp_path / "out.json")
    assert other.card_row("typed/cap").type_answer == "Paris"
    other.close()
