"""The learning cards a review session keeps between answers (`_Learning`):
what it draws from them is what the store's own read draws, whatever else
writes meanwhile (another process, another session on the same connection,
undo, a bury, a sibling's bury, the day's rollover), and wherever the card
just answered comes back."""

from __future__ import annotations

import random

import pytest

from companion.deck_sync import sync_decks
from companion.scheduler import LEARNING, RELEARNING, REVIEW
from companion.session import Queue, ReviewSession
from companion.settings import Settings
from companion.store import Store

from .conftest import TZ, write_deck
from .test_session import DAY, MIN, T0, Clock

SETTINGS = Settings(timezone=TZ, new_per_day=0)


@pytest.fixture
def decks(store, tmp_path):
    """Eight basic cards in one deck, four in another, and a cloze of two gaps."""
    folder = tmp_path / "decks"
    write_deck(folder, "one.md", "".join(f"## a{i}\nQ: a{i}?\nA: {i}.\nTags: {'odd' * (i % 2)}\n\n"
                                         for i in range(8))
               + "## z\nCloze: {{c1::one}} and {{c2::two}}.\n\n", deck_id="one", deck_name="One")
    write_deck(folder, "two.md", "".join(f"## b{i}\nQ: b{i}?\nA: {i}.\n\n" for i in range(4)),
               deck_id="two", deck_name="Two")
    sync_decks(store, [folder])
    return store


def into_learning(store, ids, clock) -> None:
    """Each card answered Again a minute after the one before: learning, due
    a minute (and its fuzz) after its answer, in this order; none buried (a
    cloze gap's answer buries its siblings)."""
    s = ReviewSession(store, SETTINGS, clock=clock)
    for card_id in ids:
        s.answer(card_id, 1)
        clock.now += MIN
    with store.transaction():
        store.conn.execute("UPDATE cards SET buried_until = NULL")


def three_learning(store) -> Clock:
    """one/a0, a1 and a2 learning, in that order, all due: the clock ten
    minutes on."""
    clock = Clock()
    into_learning(store, ["one/a0", "one/a1", "one/a2"], clock)
    clock.now += 10 * MIN
    return clock


def answer_elsewhere(store, clock, card_id: str, rating: int) -> None:
    """The card answered through another connection: another process, as
    far as SQLite knows."""
    other_store = Store(store.path)
    try:
        ReviewSession(other_store, SETTINGS, clock=clock).answer(card_id, rating)
    finally:
        other_store.close()


def drawn(s: ReviewSession) -> str | None:
    card = s.next_card()
    return None if card is None else card.id


def store_draws(store, clock, deck_id=None) -> str | None:
    """What the queue draws reading the store, keeping nothing."""
    row = Queue(store, SETTINGS, deck_id=deck_id, clock=clock)._next_row(clock())
    return None if row is None else row.id


def test_cards_are_drawn_from_what_is_kept_between_answers(decks, monkeypatch):
    clock = three_learning(decks)
    s = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(s) == "one/a0"
    reads = []
    real = Store.first_learning_card_in

    def counted(self, *args, **kwargs):
        reads.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "first_learning_card_in", counted)
    s.answer("one/a0", 4)
    assert drawn(s) == "one/a1"
    s.answer("one/a1", 4)
    assert drawn(s) == "one/a2"
    assert reads == []


def test_a_card_answered_elsewhere_after_the_draw_is_not_drawn_again(decks):
    clock = three_learning(decks)
    here = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(here) == "one/a0"
    answer_elsewhere(decks, clock, "one/a1", 4)  # to review
    here.answer("one/a0", 4)
    assert drawn(here) == "one/a2"


def test_a_card_answered_elsewhere_after_an_answer_is_not_drawn(decks):
    clock = three_learning(decks)
    here = ReviewSession(decks, SETTINGS, clock=clock)
    here.answer(drawn(here), 4)
    answer_elsewhere(decks, clock, "one/a1", 4)
    assert drawn(here) == "one/a2"


def test_a_card_suspended_by_another_session_on_the_same_connection_is_not_drawn(decks):
    clock = three_learning(decks)
    here = ReviewSession(decks, SETTINGS, clock=clock)
    here.answer(drawn(here), 4)
    ReviewSession(decks, SETTINGS, clock=clock).set_suspended("one/a1", True)  # Browse's toggle
    assert drawn(here) == "one/a2"


def test_undo_puts_the_card_back_first(decks):
    clock = three_learning(decks)
    s = ReviewSession(decks, SETTINGS, clock=clock)
    s.answer(drawn(s), 4)
    assert drawn(s) == "one/a1"
    s.undo()
    assert drawn(s) == "one/a0"


def test_a_sibling_buried_by_an_answer_is_not_drawn(decks):
    clock = Clock()
    into_learning(decks, ["one/z.c1", "one/z.c2", "one/a0"], clock)
    clock.now += 10 * MIN
    s = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(s) == "one/z.c1"
    assert s.answer("one/z.c1", 1).buried_siblings == ["one/z.c2"]
    assert drawn(s) == "one/a0"
    clock.now += DAY  # the bury ends with the day
    assert drawn(s) == "one/z.c2"


def test_a_buried_learning_card_waits_for_the_next_day(decks):
    clock = Clock()
    into_learning(decks, ["one/a0", "one/a1"], clock)
    clock.now += 10 * MIN
    s = ReviewSession(decks, SETTINGS, clock=clock)
    s.bury("one/a0")
    assert drawn(s) == "one/a1"
    clock.now += MIN
    assert drawn(s) == "one/a1"
    clock.now += DAY
    assert drawn(s) == "one/a0"


def test_a_card_buried_past_today_comes_back_when_its_bury_ends(decks):
    # a bury of more than a day (another machine's, through a sync) ends
    # after the day the learning cards were read in
    clock = Clock()
    into_learning(decks, ["one/a0", "one/a1"], clock)
    clock.now += 10 * MIN
    s = ReviewSession(decks, SETTINGS, clock=clock)
    with decks.transaction():
        decks.bury_card("one/a0", clock.now + DAY + 10 * MIN)
    assert drawn(s) == "one/a1"
    clock.now += DAY
    assert drawn(s) == "one/a1"
    clock.now += 20 * MIN
    assert drawn(s) == "one/a0"


def test_a_card_answered_again_comes_back_before_later_learning_cards(decks):
    clock = Clock()
    into_learning(decks, ["one/a0", "one/a1"], clock)
    with decks.transaction():  # a0 comes due in half an hour
        decks.conn.execute("UPDATE cards SET due = ? WHERE id = 'one/a0'", (T0 + 30 * MIN,))
    clock.now = T0 + 3 * MIN
    s = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(s) == "one/a1"  # a0 is kept after it
    s.answer("one/a1", 1)  # Again: due in a minute, before a0
    clock.now += 2 * MIN
    assert drawn(s) == "one/a1"


def test_a_card_answered_again_due_with_cards_not_read_takes_the_stores_place(decks,
                                                                               monkeypatch):
    # Read two at a time: a1, then a2 of a2 and a3, both due when a1 will be
    # after its answer. The store draws cards due at the same time in its
    # own order (here the cards' rowids: a1 first), which only it can tell.
    monkeypatch.setattr(Queue, "LEARNING_READ", 2)
    clock = Clock()
    into_learning(decks, ["one/a1", "one/a2", "one/a3"], clock)
    clock.now += 10 * MIN
    s = ReviewSession(decks, SETTINGS, clock=clock)
    memory = s.card("one/a1").memory
    due = s.model_of("one").answer("one/a1", memory, 1, clock.now).memory.due
    with decks.transaction():
        decks.conn.execute("UPDATE cards SET due = ? WHERE id IN ('one/a2', 'one/a3')", (due,))
    assert drawn(s) == "one/a1"
    assert s.answer("one/a1", 1).memory.due == due
    clock.now = due
    assert drawn(s) == store_draws(decks, clock) == "one/a1"


def test_a_change_of_deck_draws_from_the_new_deck(decks):
    clock = Clock()
    into_learning(decks, ["one/a0", "two/b0"], clock)
    clock.now += 10 * MIN
    s = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(s) == "one/a0"
    s.deck_id = "two"
    assert drawn(s) == "two/b0"


@pytest.mark.parametrize("deck_id,tag", [(None, None), ("one", None), (None, "odd")])
def test_every_draw_is_the_stores_own_whatever_happens_between(decks, monkeypatch, deck_id, tag):
    """Many learning cards due at the same few times, read three at a time:
    after every answer, undo, bury, suspend, another connection's answer and
    step of the clock, the session draws what a read of the store draws."""
    from companion.session import Selection

    monkeypatch.setattr(Queue, "LEARNING_READ", 3)
    clock = Clock()
    ids = [f"one/a{i}" for i in range(8)] + [f"two/b{i}" for i in range(4)] + ["one/z.c1",
                                                                               "one/z.c2"]
    into_learning(decks, ids, clock)
    with decks.transaction():  # ties: the cards come due at three times
        for i, card_id in enumerate(ids):
            decks.conn.execute("UPDATE cards SET due = ? WHERE id = ?",
                               (T0 + (i % 3) * MIN, card_id))
    selection = Selection(tag=tag)
    s = ReviewSession(decks, SETTINGS, deck_id=deck_id, clock=clock, selection=selection)
    fresh = Queue(decks, SETTINGS, deck_id=deck_id, clock=clock, selection=selection)
    rng = random.Random(7)
    other_store = Store(decks.path)
    try:
        other = ReviewSession(other_store, SETTINGS, clock=clock)
        states = set()
        for _ in range(150):
            card = s.next_card()
            row = fresh._next_row(clock())  # no version: the store's reads, nothing kept
            assert (card and card.id) == (row and row.id)
            if card is not None:
                assert s.card(card.id) == card
                states.add(card.memory.state)
            action = rng.random()
            if card is None or action < 0.05:
                clock.now += rng.choice((MIN, 10 * MIN, DAY))
            elif action < 0.1 and s.can_undo:
                s.undo()
            elif action < 0.15:
                s.bury(card.id)
            elif action < 0.18:
                s.suspend(card.id)
            elif action < 0.25:
                other.answer(rng.choice(ids), rng.choice((1, 3)))
            else:
                s.answer(card.id, rng.choice((1, 1, 3, 4)))
                clock.now += rng.choice((0, 1000, MIN))
        assert {LEARNING, RELEARNING} <= states or tag is not None
    finally:
        other_store.close()
    assert REVIEW in {s.card(i).memory.state for i in ids}


def test_undo_of_a_card_drawn_from_what_is_kept_puts_its_flags_back(decks):
    # its flags (tags, a past bury) are those it was read with, not read again
    clock = Clock()
    into_learning(decks, ["one/a1", "one/a3"], clock)
    with decks.transaction():
        decks.bury_card("one/a1", T0 - DAY)  # a bury that ended yesterday
    clock.now += 10 * MIN
    before = decks.conn.execute("SELECT * FROM cards WHERE id = 'one/a1'").fetchone()
    s = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(s) == "one/a1"
    s.answer("one/a1", 3)
    assert s.undo().card_id == "one/a1"
    assert decks.conn.execute("SELECT * FROM cards WHERE id = 'one/a1'").fetchone() == before
    assert s.card("one/a1").tags == ["odd"]


def test_where_the_store_plans_the_read_of_many_otherwise_each_draw_is_its_own_read(decks,
                                                                                 monkeypatch):
    # learning_cards_in answers None when SQLite would visit the cards of a
    # read of many in another order than first_learning_card_in's
    class Replanned:
        """The store's connection, but a read of many is planned otherwise."""

        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            if sql.startswith("EXPLAIN QUERY PLAN") and "LIMIT 1" not in sql:
                return [(0, 0, 0, "SCAN cards")]
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)

    clock = Clock()
    into_learning(decks, ["one/a0", "one/a1"], clock)
    clock.now += 10 * MIN
    monkeypatch.setattr(Store, "_same_learning_plan", {})
    real = decks.conn
    decks.conn = Replanned(real)
    try:
        assert decks.learning_cards_in(8, clock.now, None, None) is None
    finally:
        decks.conn = real
    assert decks.learning_cards_in(8, clock.now, None, "odd") is not None
    # and a session whose reads of many are refused draws each card with a read
    monkeypatch.setattr(Store, "learning_cards_in", lambda self, *args: None)
    s = ReviewSession(decks, SETTINGS, clock=clock)
    assert drawn(s) == "one/a0"
    s.answer("one/a0", 4)
    assert drawn(s) == store_draws(decks, clock) == "one/a1"
