"""What a review session keeps between answers (the deck tree, the day's answers
per deck) stays what the log says: when another process or another session on
the same home answers, after undo, and across the learner day's rollover;
and the ids its answers get."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from companion.deck_sync import sync_decks
from companion.scheduler import NEW, to_ms
from companion.session import Queue, ReviewSession
from companion.settings import Settings
from companion.store import Store

from .conftest import TZ, write_deck
from .test_session import DAY, MIN, T0, Clock


@pytest.fixture
def five_new(store, tmp_path):
    """Five basic new cards in one deck, and three in a subdeck of it."""
    folder = tmp_path / "decks"
    write_deck(folder, "main.md", "".join(f"## c{i}\nQ: q{i}?\nA: a{i}.\n\n"
                                          for i in range(5)), deck_id="main", deck_name="Main")
    write_deck(folder, "sub.md", "".join(f"## s{i}\nQ: s{i}?\nA: s{i}.\n\n" for i in range(3)),
               deck_id="sub", deck_name="Main::Sub", parent="main")
    sync_decks(store, [folder])
    return store


def session(store, clock, **overrides) -> ReviewSession:
    return ReviewSession(store, Settings(timezone=TZ, **overrides), clock=clock)


def test_another_store_answering_on_the_same_home_spends_this_sessions_limit(five_new):
    clock = Clock()
    here = session(five_new, clock, new_per_day=2)
    assert here.counts().new == 2
    shown = here.next_card()
    assert shown is not None and shown.memory.state == NEW
    other_store = Store(five_new.path)  # another connection: what another process has
    try:
        there = session(other_store, clock, new_per_day=2)
        there.answer(shown.id, 4)  # Easy: the card leaves the day's new cards
        assert here.counts().new == 1
        following = here.next_card()
        assert following is not None and following.id != shown.id
        there.answer(following.id, 4)
    finally:
        other_store.close()
    # two new cards introduced today, both by the other store: none left here
    assert here.counts().new == 0
    assert here.next_card() is None


def test_another_process_answering_meanwhile_is_counted_here(five_new):
    clock = Clock()
    here = session(five_new, clock, new_per_day=3)
    first = here.next_card()
    here.answer(first.id, 4)
    assert here.counts().new == 2
    worker = textwrap.dedent(f"""
        import sys
        from companion.session import ReviewSession
        from companion.settings import Settings
        from companion.store import Store
        store = Store(sys.argv[1])
        session = ReviewSession(store, Settings(timezone={TZ!r}, new_per_day=3),
                                clock=lambda: {T0 + MIN})
        session.answer(session.next_card().id, 4)
        print(session.counts().new)
    """)
    done = subprocess.run([sys.executable, "-c", worker, str(five_new.path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    clock.now = T0 + 2 * MIN
    assert here.counts().new == 1
    last = here.next_card()
    here.answer(last.id, 4)
    assert here.counts().new == 0 and here.next_card() is None


def test_a_second_session_on_the_same_store_is_counted_by_the_first(five_new):
    # The app's screens share one connection (custom study, Browse): a write
    # there is no other connection's commit, and must be seen all the same.
    clock = Clock()
    review = session(five_new, clock, new_per_day=2)
    card = review.next_card()
    other = session(five_new, clock, new_per_day=2)
    other.answer(card.id, 4)
    assert review.counts().new == 1
    other.answer(review.next_card().id, 4)
    assert review.next_card() is None
    assert review.extend_today(new=1) == (3, 200)
    assert review.counts().new == 1 and review.next_card() is not None


def test_undo_gives_the_days_allowance_back(five_new):
    clock = Clock()
    s = session(five_new, clock, new_per_day=1)
    card = s.next_card()
    s.answer(card.id, 4)
    assert s.counts().new == 0 and s.next_card() is None
    s.undo()
    assert s.counts().new == 1
    assert s.next_card().id == card.id


def test_the_days_answers_are_counted_afresh_at_the_rollover(five_new):
    # Anki's day starts at 4 am (day_starts_at): an answer at 03:58 is
    # yesterday's, and at 04:01 the limit is whole again.
    zone = ZoneInfo(TZ)
    before = to_ms(datetime(2026, 5, 6, 3, 58, tzinfo=zone))
    clock = Clock(before)
    s = session(five_new, clock, new_per_day=1)
    s.answer(s.next_card().id, 4)
    assert s.counts().new == 0 and s.next_card() is None
    clock.now = before + 3 * MIN
    assert s.counts().new == 1
    s.answer(s.next_card().id, 4)
    assert s.counts().new == 0
    clock.now += DAY
    assert s.counts().new == 1


def test_what_the_session_keeps_equals_a_fresh_read_after_every_answer(five_new):
    """Answers of new, learning and review cards, undo, bury and suspend, in
    a deck and its subdeck: after each, the session's limits and counts are
    what a queue that reads everything afresh finds."""
    clock = Clock()
    settings = Settings(timezone=TZ, new_per_day=6, reviews_per_day=9)
    s = ReviewSession(five_new, settings, clock=clock)
    rng = random.Random(5)
    steps = 0
    for _ in range(60):
        clock.now += rng.choice((MIN, 10 * MIN, 5 * 60 * MIN))
        card = s.next_card()
        action = rng.random()
        if card is None or action < 0.1:
            if s.can_undo:
                s.undo()
        elif action < 0.15:
            s.bury(card.id)
        elif action < 0.2:
            s.suspend(card.id)
        else:
            s.answer(card.id, rng.choice((1, 3, 3, 4)))
        fresh = Queue(five_new, settings, clock=clock)
        kept, read = s.day_limits(), fresh.day_limits()
        assert kept.remaining == read.remaining
        assert kept.room == read.room
        assert s.overview() == fresh.overview()
        assert s.next_card() == fresh.next_card()
        steps += 1
    assert steps == 60


def test_answers_have_unique_ids_in_the_order_they_were_given(five_new):
    # the ids lead with the answer's time, so the log's id index grows at its
    # end; they stay 32 hex digits, as the uuid4s of older logs are
    clock = Clock()
    s = session(five_new, clock, new_per_day=10)
    ids = []
    for _ in range(6):
        clock.now += 1
        ids.append(s.answer(s.next_card().id, 1).review_id)
    assert len(set(ids)) == 6 and ids == sorted(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    stored = [r[0] for r in five_new.conn.execute("SELECT id FROM reviews ORDER BY reviewed_at")]
    assert stored == ids


def test_a_card_answered_elsewhere_after_it_was_drawn_is_answered_from_its_new_state(five_new):
    """The session answers the card it drew from the row it drew, unless the
    store changed in between: then from the card as it is now."""
    clock = Clock()
    here = session(five_new, clock)
    shown = here.next_card()
    other_store = Store(five_new.path)  # another process, as far as SQLite knows
    try:
        session(other_store, clock).answer(shown.id, 1)  # Again: into learning
    finally:
        other_store.close()
    clock.now += MIN
    answered = here.answer(shown.id, 3)
    assert answered.memory.reps == 2
    assert here.card(shown.id).memory.reps == 2
    assert [r.rating for r in five_new.card_reviews(shown.id)] == [1, 3]


def test_a_card_changed_on_this_connection_after_it_was_drawn_is_read_again(five_new):
    clock = Clock()
    here = session(five_new, clock)
    shown = here.next_card()
    other = session(five_new, clock)  # the same connection: its writes count too
    other.answer(shown.id, 4)  # Easy: straight to review
    clock.now += MIN
    answered = here.answer(shown.id, 3)
    assert answered.memory.reps == 2 and answered.memory.state != NEW
    drawn_again = here.next_card()
    assert drawn_again is not None and drawn_again.id != shown.id
    assert here.answer(drawn_again.id, 3).memory.reps == 1


def test_another_store_answering_between_a_draw_and_its_answer_is_counted(five_new):
    # the session adds its own answer to the day's answers it keeps only if
    # nothing else wrote since it read them: here another connection did,
    # between the draw and the answer
    clock = Clock()
    here = session(five_new, clock, new_per_day=3)
    shown = here.next_card()
    assert here.counts().new == 3
    other_store = Store(five_new.path)
    try:
        there = session(other_store, clock, new_per_day=3)
        elsewhere = next(card_id for card_id in ("main/c1", "main/c2") if card_id != shown.id)
        there.answer(elsewhere, 4)
    finally:
        other_store.close()
    here.answer(shown.id, 4)
    assert here.counts().new == 1
