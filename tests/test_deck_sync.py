"""Loading decks into the store: idempotent, history-keeping, never deleting."""

from __future__ import annotations

from companion.deck_sync import sync_decks
from companion.session import ReviewSession
from companion.settings import Settings

from .conftest import SMALL_DECK, TZ, write_deck


def ids(store, retired=0):
    return [r[0] for r in store.conn.execute(
        "SELECT id FROM cards WHERE retired = ? ORDER BY id", (retired,))]


def test_sync_is_idempotent_and_cheap_when_nothing_changed(store, deck_dir):
    first = sync_decks(store, [deck_dir])
    assert first.added == 5 and not first.skipped
    assert sync_decks(store, [deck_dir]).skipped
    again = sync_decks(store, [deck_dir], force=True)
    assert again.added == 0 and again.retired == 0
    assert len(ids(store)) == 5


def test_editing_a_card_keeps_its_history(store, deck_dir):
    sync_decks(store, [deck_dir])
    ReviewSession(store, Settings(timezone=TZ)).answer("test/alpha", 3)
    write_deck(deck_dir, "test.md", SMALL_DECK.replace("What is alpha?", "What is alpha, really?"))
    sync_decks(store, [deck_dir])
    front, reps = store.conn.execute(
        "SELECT front, reps FROM cards WHERE id = 'test/alpha'").fetchone()
    assert front == "What is alpha, really?" and reps == 1


def test_a_removed_card_is_retired_with_its_history_and_comes_back(store, deck_dir):
    sync_decks(store, [deck_dir])
    ReviewSession(store, Settings(timezone=TZ)).answer("test/beta", 3)
    without_beta = SMALL_DECK.replace("## beta\nQ: What is beta?\nA: The second letter.\n"
                                      "Lab: batch-size batch_sizes=16,256\n", "")
    write_deck(deck_dir, "test.md", without_beta)
    assert sync_decks(store, [deck_dir]).retired == 1
    assert ids(store, retired=1) == ["test/beta"]
    assert store.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1
    s = ReviewSession(store, Settings(timezone=TZ))
    assert all(s.next_card().id != "test/beta" for _ in range(3))
    write_deck(deck_dir, "test.md", SMALL_DECK)
    sync_decks(store, [deck_dir])
    assert "test/beta" in ids(store)
    assert store.conn.execute("SELECT reps FROM cards WHERE id = 'test/beta'").fetchone()[0] == 1


def test_a_broken_card_is_not_retired(store, deck_dir):
    sync_decks(store, [deck_dir])
    write_deck(deck_dir, "test.md", SMALL_DECK.replace("A: The first letter.", "A:"))
    report = sync_decks(store, [deck_dir])
    assert len(report.errors) == 1 and report.retired == 0
    assert "test/alpha" in ids(store)


def test_a_deleted_deck_file_retires_its_cards(store, deck_dir):
    sync_decks(store, [deck_dir])
    (deck_dir / "test.md").unlink()
    assert sync_decks(store, [deck_dir]).retired == 5
    assert ids(store) == []


def test_a_deck_whose_front_matter_breaks_is_left_alone(store, deck_dir):
    sync_decks(store, [deck_dir])
    (deck_dir / "test.md").write_text("no front matter\n")
    report = sync_decks(store, [deck_dir])
    assert report.errors and report.retired == 0 and len(ids(store)) == 5


def test_changing_a_deck_files_id_retires_the_old_deck_and_says_how_to_undo_it(store, deck_dir):
    sync_decks(store, [deck_dir])
    ReviewSession(store, Settings(timezone=TZ)).answer("test/alpha", 3)
    path = write_deck(deck_dir, "test.md", SMALL_DECK, deck_id="renamed")
    report = sync_decks(store, [deck_dir])
    assert ids(store) == [i.replace("test/", "renamed/") for i in ids(store, retired=1)]
    assert len(report.notes) == 1 and str(path) in report.notes[0]
    assert "from 'test' to 'renamed'" in report.notes[0] and "set id: test again" in report.notes[0]
    assert store.review_count() == 1  # the history is kept
    write_deck(deck_dir, "test.md", SMALL_DECK, deck_id="test")
    sync_decks(store, [deck_dir])
    assert "test/alpha" in ids(store) and store.card_reviews("test/alpha")


def test_a_deck_may_not_take_the_imported_decks_id(store, deck_dir, tmp_path):
    from companion.decks import parse_deck

    path = write_deck(tmp_path / "mine", "imp.md", SMALL_DECK, deck_id="imported")
    deck, errors = parse_deck(path)
    assert deck is None and len(errors) == 1
    assert f"{path}:2: deck id 'imported' is companion's own" in str(errors[0])
