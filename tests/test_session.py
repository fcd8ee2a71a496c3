"""The review queue, answering, undo, burying, leeches, and replay == incremental."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timezone

import pytest

from companion.deck_sync import sync_decks
from companion.doctor import cache_mismatches
from companion.replay import rebuild_all
from companion.scheduler import LEARNING, NEW, REVIEW, to_ms
from companion.session import Counts, ReviewSession
from companion.settings import Settings

from .conftest import TZ, database_at, write_deck

# 10:00 in New York on a Tuesday.
T0 = to_ms(datetime(2026, 5, 5, 14, 0, tzinfo=timezone.utc))
MIN, DAY = 60_000, 86_400_000


class Clock:
    def __init__(self, now: int = T0):
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def synced(store, deck_dir):
    sync_decks(store, [deck_dir])
    return store


def session(store, clock, **overrides) -> ReviewSession:
    return ReviewSession(store, Settings(timezone=TZ, **overrides), clock=clock)


def card_row(store, card_id):
    return store.conn.execute("SELECT * FROM cards WHERE id = ?", (card_id,)).fetchone()


def test_new_cards_come_in_deck_order_within_the_daily_limit(synced):
    clock = Clock()
    s = session(synced, clock, new_per_day=2)
    assert s.counts().new == 2
    first = s.next_card()
    assert first.id == "test/alpha" and first.memory.state == NEW
    s.answer(first.id, 4)  # Easy: straight to review
    second = s.next_card()
    assert second.id == "test/beta"
    s.answer(second.id, 4)
    assert s.next_card() is None and s.counts().new == 0  # limit reached
    clock.now += DAY  # a new learner's day: two more new cards
    assert s.counts().new == 2


def test_each_deck_has_its_own_daily_limits_spent_alike_from_any_study(store, deck_dir):
    # Anki's limits are per deck (rslib/src/decks/limits.rs): an answer spends
    # its deck's allowance whether the deck or all decks are being studied.
    write_deck(deck_dir, "other.md", """
        ## one
        Q: One?
        A: 1.

        ## two
        Q: Two?
        A: 2.

        ## three
        Q: Three?
        A: 3.
        """, deck_id="other", deck_name="Other")
    sync_decks(store, [deck_dir])
    clock = Clock()
    everything = session(store, clock, new_per_day=2)
    assert everything.counts().new == 4  # two a day in each deck
    everything.answer("test/alpha", 4)  # one of deck "test"'s two
    other = ReviewSession(store, Settings(timezone=TZ, new_per_day=2), deck_id="other",
                          clock=clock)
    assert other.counts().new == 2  # "other" has spent nothing
    other.answer(other.next_card().id, 4)
    assert other.counts().new == 1
    assert everything.counts_by_deck() == {"test": Counts(1, 0, 0), "other": Counts(1, 0, 0)}
    other.answer(other.next_card().id, 4)
    assert other.next_card() is None and other.counts().new == 0
    assert everything.next_card().deck_id == "test"  # only "test" has room
    assert everything.counts().new == 1


def test_learning_cards_come_back_first_when_due(synced):
    clock = Clock()
    s = session(synced, clock)
    s.answer("test/alpha", 1)  # Again: due in 1 minute
    assert s.next_card().id == "test/beta"  # not due yet: new cards meanwhile
    clock.now += 2 * MIN
    assert s.next_card().id == "test/alpha"
    assert s.counts().learning == 1


def test_reviews_due_today_come_before_new_cards(synced):
    clock = Clock()
    s = session(synced, clock)
    s.answer("test/delta", 4)
    due = s.card("test/delta").memory.due
    clock.now = due + MIN
    assert s.next_card().id == "test/delta"
    assert s.counts().review == 1


def test_review_limit_is_honoured(synced):
    clock = Clock()
    s = session(synced, clock, reviews_per_day=1)
    for cid in ("test/alpha", "test/delta"):
        s.answer(cid, 4)
    clock.now = max(s.card(c).memory.due for c in ("test/alpha", "test/delta")) + MIN
    s.answer(s.next_card().id, 3)
    assert s.counts().review == 0
    # As Anki's default: a new card spends a review too, so with the day's one
    # review done there is no room for new cards either (limits.rs v3)...
    assert s.next_card() is None and s.counts().new == 0
    # ...unless "new cards ignore review limit" is on
    free = session(synced, clock, reviews_per_day=1, new_cards_ignore_review_limit=True)
    assert free.counts().new == 3 and free.next_card().memory.state == NEW


def test_new_cards_spend_the_review_limit_as_in_anki(synced):
    clock = Clock()
    s = session(synced, clock, new_per_day=20, reviews_per_day=3)
    assert s.counts().new == 3  # 5 new cards, but only 3 reviews' room
    s.answer(s.next_card().id, 4)
    s.answer(s.next_card().id, 4)
    assert s.counts().new == 1


def test_cloze_siblings_are_buried_until_the_next_day(synced):
    clock = Clock()
    s = session(synced, clock)
    result = s.answer("test/gamma.c1", 3)
    assert result.buried_siblings == ["test/gamma.c2"]
    seen = set()
    while (card := s.next_card()) is not None and card.id not in seen:
        seen.add(card.id)
        s.answer(card.id, 4)
    assert "test/gamma.c2" not in seen
    clock.now += DAY
    ids = set()
    while (card := s.next_card()) is not None and card.id not in ids:
        ids.add(card.id)
        s.answer(card.id, 4)
    assert "test/gamma.c2" in ids


def test_undo_restores_the_previous_state_exactly(synced):
    clock = Clock()
    s = session(synced, clock)
    before_card = card_row(synced, "test/gamma.c1")
    before_sibling = card_row(synced, "test/gamma.c2")
    reviews_before = synced.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    s.answer("test/gamma.c1", 3)
    assert card_row(synced, "test/gamma.c1") != before_card
    assert s.undo().card_id == "test/gamma.c1"
    assert card_row(synced, "test/gamma.c1") == before_card
    assert card_row(synced, "test/gamma.c2") == before_sibling
    assert synced.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall() == reviews_before
    assert s.undo() is None


def test_undo_in_the_middle_of_a_history(synced):
    clock = Clock()
    s = session(synced, clock)
    s.answer("test/alpha", 3)
    clock.now += 11 * MIN
    s.answer("test/alpha", 3)
    middle = card_row(synced, "test/alpha")
    clock.now += 3 * DAY
    s.answer("test/alpha", 1)
    s.undo()
    assert card_row(synced, "test/alpha") == middle
    assert synced.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 2


def test_leech_is_tagged_and_suspended(synced):
    clock = Clock()
    s = session(synced, clock, leech_threshold=2)
    s.answer("test/alpha", 4)
    for _ in range(2):
        clock.now = s.card("test/alpha").memory.due + MIN
        s.answer("test/alpha", 1)  # lapse
        clock.now += 11 * MIN
        result = s.answer("test/alpha", 3)  # relearnt
    card = s.card("test/alpha")
    assert card.memory.lapses == 2 and "leech" in card.tags and card.suspended
    # the leech flag came with the second lapse, not the relearning answer
    assert not result.leech


def test_suspend_and_bury_take_a_card_out_of_the_queue(synced):
    clock = Clock()
    s = session(synced, clock)
    s.set_suspended("test/alpha", True)
    assert s.next_card().id == "test/beta"
    s.bury("test/beta")
    assert s.next_card().id == "test/gamma.c1"
    s.set_suspended("test/alpha", False)
    assert s.next_card().id == "test/alpha"
    clock.now += DAY
    s.set_suspended("test/alpha", True)
    assert s.next_card().id == "test/beta"  # burial ends with the day


def test_undo_takes_back_suspend_and_bury_in_order_with_answers(synced):
    clock = Clock()
    s = session(synced, clock)
    fresh = {cid: card_row(synced, cid) for cid in ("test/alpha", "test/beta", "test/delta")}
    s.answer("test/alpha", 3)
    s.suspend("test/beta")
    s.bury("test/delta")
    assert s.card("test/beta").suspended and s.next_card().id == "test/gamma.c1"
    undone = [s.undo() for _ in range(3)]
    assert [(u.kind, u.card_id, u.rating) for u in undone] == [
        ("bury", "test/delta", 0), ("suspend", "test/beta", 0), ("answer", "test/alpha", 3)]
    assert {cid: card_row(synced, cid) for cid in fresh} == fresh
    assert s.undo() is None


def test_each_answer_is_committed_before_the_next_card(synced, home):
    s = session(synced, Clock())
    s.answer("test/alpha", 3)
    other = sqlite3.connect(home / "companion.db")
    assert other.execute("SELECT card_id, rating FROM reviews").fetchall() == [("test/alpha", 3)]
    other.close()


def test_replay_equals_incremental(synced):
    clock = Clock()
    rng = random.Random(7)
    s = session(synced, clock)
    for _ in range(300):
        card = s.next_card()
        if card is None:
            clock.now += rng.choice([MIN, 30 * MIN, DAY, 5 * DAY])
            continue
        s.answer(card.id, rng.choice([1, 2, 3, 3, 3, 4]), duration_ms=rng.randint(500, 9000))
        clock.now += rng.choice([5_000, 20_000, MIN])
        if rng.random() < 0.05:
            s.undo()
    assert synced.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] > 60
    cached = synced.conn.execute("SELECT * FROM cards ORDER BY id").fetchall()
    log = synced.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    assert cache_mismatches(synced, s.settings) == []
    rebuild_all(synced, s.settings)
    assert synced.conn.execute("SELECT * FROM cards ORDER BY id").fetchall() == cached
    assert synced.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall() == log


def test_previews_match_what_the_answer_gives(synced):
    clock = Clock()
    s = session(synced, clock)
    s.answer("test/alpha", 4)
    clock.now = s.card("test/alpha").memory.due + DAY
    card = s.card("test/alpha")
    previews = s.previews(card)
    assert previews[1] == "10m"
    result = s.answer(card.id, 3)
    from companion.scheduler import format_interval

    assert format_interval((result.memory.due - clock.now) / 1000) == previews[3]
    assert result.memory.state == REVIEW and LEARNING != REVIEW


def test_bad_rating_is_refused_and_nothing_is_written(synced):
    s = session(synced, Clock())
    with pytest.raises(ValueError):
        s.answer("test/alpha", 5)
    with pytest.raises(KeyError):
        s.answer("test/nope", 3)
    assert synced.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0


def test_deck_filter(store, tmp_path):
    folder = tmp_path / "decks"
    write_deck(folder, "a.md", "## x\nQ: a\nA: b\n", deck_id="aaa")
    write_deck(folder, "b.md", "## y\nQ: a\nA: b\n", deck_id="bbb")
    sync_decks(store, [folder])
    s = ReviewSession(store, Settings(timezone=TZ), deck_id="bbb", clock=Clock())
    assert s.next_card().id == "bbb/y" and s.counts().new == 1


# -- the log keeps the scheduler's decisions: settings changes are not damage --


def _answer_some(store, clock, **overrides):
    s = session(store, clock, **overrides)
    for _ in range(12):
        card = s.next_card()
        if card is None:
            clock.now += DAY
            continue
        s.answer(card.id, random.Random(card.id + str(clock.now)).choice([1, 3, 3, 4]))
        clock.now += 7 * MIN
    clock.now += 2 * DAY
    for card_id in ("test/alpha", "test/beta"):
        s.answer(card_id, 3)
    return s


def _dues(store):
    return dict(store.conn.execute("SELECT id, due FROM cards WHERE reps > 0"))


def test_a_settings_change_is_not_damage_and_reschedule_moves_due_dates(synced):
    clock = Clock()
    _answer_some(synced, clock)
    dues = _dues(synced)
    changed = Settings(timezone=TZ, desired_retention=0.85, learning_steps=["5m"],
                       maximum_interval=400)
    assert cache_mismatches(synced, changed) == []  # the doctor exit 1, gone
    rebuild_all(synced, changed)
    assert _dues(synced) == dues  # a replay keeps what was decided
    from companion.replay import reschedule

    moved = reschedule(synced, changed, clock.now)
    assert moved > 0 and sum(_dues(synced)[c] != d for c, d in dues.items()) == moved
    moved_dues = _dues(synced)
    rebuild_all(synced, changed)  # the reschedule is in the log: a replay keeps it
    assert _dues(synced) == moved_dues and cache_mismatches(synced, changed) == []
    assert reschedule(synced, changed, clock.now) == 0  # nothing left to move


def test_forget_puts_a_card_back_to_new_and_keeps_its_history(synced):
    from companion.replay import forget

    clock = Clock()
    s = _answer_some(synced, clock)
    reviews = synced.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    before = s.card("test/alpha").memory
    assert before.state != NEW
    assert forget(synced, s.settings, ["test/alpha", "test/alpha"], clock.now) == ["test/alpha"]
    after = s.card("test/alpha").memory
    assert (after.state, after.stability, after.due) == (NEW, None, None)
    assert after.reps == before.reps  # counts kept, as Anki's default
    assert synced.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == reviews
    assert cache_mismatches(synced, s.settings) == []
    clock.now += MIN
    fresh = s.answer("test/alpha", 3).memory  # a new card's first answer: a fresh memory
    assert fresh.state == LEARNING and fresh.remaining_steps == 1
    forget(synced, s.settings, ["test/beta"], clock.now, reset_counts=True)
    assert (s.card("test/beta").memory.reps, s.card("test/beta").memory.lapses) == (0, 0)
    rebuild_all(synced, s.settings)
    assert s.card("test/beta").memory.state == NEW and cache_mismatches(synced, s.settings) == []


def test_an_export_carries_the_decisions_to_a_home_with_other_settings(synced, tmp_path):
    from companion.interop.json_export import import_json, write_json
    from companion.store import Store

    clock = Clock()
    s = _answer_some(synced, clock)
    from companion.replay import forget

    forget(synced, s.settings, ["test/beta"], clock.now)
    write_json(synced, s.settings, tmp_path / "out.json")
    other = Store(tmp_path / "other.db")
    theirs = Settings(timezone="Asia/Tokyo", desired_retention=0.8, relearning_steps=[])
    import_json(other, theirs, tmp_path / "out.json")
    assert _dues(other) == _dues(synced)
    assert other.conn.execute("SELECT state FROM cards WHERE id = 'test/beta'").fetchone() == (NEW,)


def test_an_older_database_is_replayed_under_the_new_rules_on_open(tmp_path):
    from companion.replay import catch_up
    from companion.store import Store

    path = tmp_path / "c.db"
    conn = database_at(path, 3)
    conn.execute("INSERT INTO decks(id, name) VALUES ('d', 'D')")
    conn.execute("INSERT INTO cards(id, deck_id, note_id, kind, front, back, state, step, "
                 "reps, due, last_review) VALUES ('d/c', 'd', 'c', 'basic', 'q', 'a', 2, NULL, "
                 "2, 1, 1)")  # a cache the old rules wrote
    for i, (at, rating) in enumerate([(T0, 3), (T0 + 11 * MIN, 3), (T0 + 3 * DAY, 3)]):
        conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating) VALUES (?, ?, ?, ?)",
                     (f"r{i}", "d/c", at, rating))
    conn.commit()
    conn.close()
    store = Store(path)
    settings = Settings(timezone=TZ)
    assert catch_up(store, settings) == 3
    row = store.conn.execute("SELECT state, reps, interval FROM cards").fetchone()
    assert row[0] == REVIEW and row[1] == 3 and row[2] >= 1
    decided = store.conn.execute("SELECT count(*) FROM reviews WHERE state_after IS NOT NULL "
                                 "AND elapsed_days IS NOT NULL").fetchone()[0]
    assert decided == 3 and cache_mismatches(store, settings) == []
    assert catch_up(store, settings) is None  # once
