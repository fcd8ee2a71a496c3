"""Custom study (Anki's: a tag, review ahead, forgotten cards, today's limits
raised) and the new-card orders, through the Queue every face draws from."""

from __future__ import annotations

import pytest

from companion.deck_sync import sync_decks
from companion.doctor import cache_mismatches
from companion.scheduler import REVIEW, LearnerDay
from companion.session import Queue, ReviewSession, Selection, SelectionError, check_selection
from companion.settings import Settings

from .conftest import TZ, write_deck
from .test_session import DAY, MIN, T0, Clock


@pytest.fixture
def synced(store, deck_dir):
    sync_decks(store, [deck_dir])
    return store


def settings(**overrides) -> Settings:
    return Settings(timezone=TZ, **overrides)


def drawn(queue: Queue, session: ReviewSession) -> list[str]:
    """Every card the queue offers, in order: each is suspended once seen (a
    suspend buries no sibling), then all come back."""
    seen: list[str] = []
    while (card := queue.next_card()) is not None and len(seen) < 100:
        seen.append(card.id)
        session.suspend(card.id)
    for card_id in seen:
        session.set_suspended(card_id, False)
    return seen


def rows(store, exclude=()):
    return {row[0]: row for row in store.conn.execute("SELECT * FROM cards ORDER BY id")
            if row[0] not in exclude}


# -- study by tag ------------------------------------------------------------


def test_a_tag_studies_only_its_cards_learning_and_due_first_then_new(synced):
    clock = Clock()
    everything = ReviewSession(synced, settings(), clock=clock)
    everything.answer("test/alpha", 1)  # learning, tagged letters
    everything.answer("test/delta", 1)  # learning, untagged
    clock.now += 15 * MIN
    tagged = ReviewSession(synced, settings(), clock=clock, selection=Selection(tag="LETTERS"))
    counts = tagged.counts()
    assert (counts.new, counts.learning, counts.review) == (2, 1, 0)  # gamma.c1, .c2; alpha
    assert tagged.next_card().id == "test/alpha"  # the learning card comes first
    before = rows(synced, exclude={"test/alpha", "test/gamma.c1", "test/gamma.c2"})
    tagged.answer("test/alpha", 4)
    assert tagged.next_card().id == "test/gamma.c1"
    tagged.answer("test/gamma.c1", 3)
    # gamma.c2 is buried as c1's sibling; beta and delta are not the tag's
    assert tagged.next_card().id == "test/gamma.c1"  # back after its 1m step, learn-ahead
    assert rows(synced, exclude={"test/alpha", "test/gamma.c1", "test/gamma.c2"}) == before


def test_a_tag_session_spends_the_same_daily_new_limit(synced):
    clock = Clock()
    tagged = ReviewSession(synced, settings(new_per_day=1), clock=clock,
                           selection=Selection(tag="letters"))
    tagged.answer(tagged.next_card().id, 4)
    assert tagged.next_card() is None and tagged.counts().new == 0
    assert ReviewSession(synced, settings(new_per_day=1), clock=clock).counts().new == 0


# -- review ahead --------------------------------------------------------------


def _learn_all(store, clock, rating=4):
    """Every card answered once, a day apart, so their due dates differ."""
    session = ReviewSession(store, settings(), clock=clock)
    for card_id in ("test/alpha", "test/beta", "test/gamma.c1", "test/delta"):
        session.answer(card_id, rating)
        clock.now += DAY
    return session


def test_review_ahead_offers_cards_due_within_the_days_soonest_first_once_each(synced):
    clock = Clock(T0 - 4 * DAY)
    _learn_all(synced, clock)
    clock.now = T0
    normal = ReviewSession(synced, settings(), clock=clock)
    day = LearnerDay(normal.settings)
    today = day.day_of(T0)
    dues = {r[0]: r[1] for r in synced.conn.execute(
        f"SELECT id, due FROM cards WHERE state = {REVIEW}")}
    # Easy intervals of several days: nothing is due today
    assert normal.counts().review == 0 and normal.next_card().id == "test/gamma.c2"
    days = 6
    before = day.start_of(today.fromordinal(today.toordinal() + days + 1))
    wanted = sorted((due, card_id) for card_id, due in dues.items() if due < before)
    assert wanted
    ahead = ReviewSession(synced, settings(), clock=clock,
                          selection=Selection(ahead_days=days, built_at=T0))
    assert ahead.counts().review == len(wanted) and ahead.counts().new == 0
    assert drawn(ahead, ahead) == [card_id for _, card_id in wanted]
    # gamma.c2 is gamma.c1's sibling: answering c1 buries it, as in any review
    answered = {card_id for _, card_id in wanted} | {"test/gamma.c2"}
    untouched = rows(synced, exclude=answered)
    for due, card_id in wanted:
        card = ahead.next_card()
        assert card.id == card_id
        memory = card.memory
        # the scheduler, given the real time, decides: the same as any answer now
        expected = ahead.model_of(card.deck_id).answer(card_id, memory, 3, clock.now).memory
        assert ahead.answer(card_id, 3).memory == expected
        clock.now += MIN
    # answered ahead, each has left the study, however soon it is due again
    assert ahead.next_card() is None and ahead.counts().total == 0
    assert rows(synced, exclude=answered) == untouched
    assert cache_mismatches(synced, ahead.settings) == []  # the log replays to the same


def test_review_ahead_one_day_is_only_the_cards_due_by_tomorrow(synced):
    clock = Clock(T0 - 10 * DAY)
    session = ReviewSession(synced, settings(), clock=clock)
    session.answer("test/alpha", 4)
    clock.now = T0
    ahead = Queue(synced, settings(), clock=clock, selection=Selection(ahead_days=1))
    due = synced.conn.execute("SELECT due FROM cards WHERE id = 'test/alpha'").fetchone()[0]
    _, end = LearnerDay(ahead.settings).bounds(T0)
    if due < end + DAY:
        assert ahead.next_card().id == "test/alpha"
    else:
        assert ahead.next_card() is None
    clock.now = due - DAY  # the day before it is due: ahead by one day reaches it
    assert Queue(synced, settings(), clock=clock,
                 selection=Selection(ahead_days=1)).next_card().id == "test/alpha"


# -- forgotten cards -----------------------------------------------------------


def test_forgotten_cards_are_those_answered_again_in_the_last_days(synced):
    clock = Clock(T0 - 20 * DAY)
    session = _learn_all(synced, clock)

    def lapse(card_id, days_ago):
        clock.now = T0 - days_ago * DAY
        session.answer(card_id, 1)  # forgotten: relearning
        clock.now += 11 * MIN
        session.answer(card_id, 3)  # relearnt: back in review

    lapse("test/alpha", 5)
    lapse("test/beta", 2)
    lapse("test/delta", 0)
    clock.now = T0 + 60 * MIN
    three = Selection(forgotten_days=3, built_at=clock.now)
    first = ReviewSession(synced, settings(), clock=clock, selection=three)
    assert sorted(drawn(first, first)) == ["test/beta", "test/delta"]  # not alpha: 5 days
    one = ReviewSession(synced, settings(), clock=clock, selection=Selection(forgotten_days=1))
    assert drawn(one, one) == ["test/delta"]  # today counts as the first day
    # random, and the same order for every queue of the same selection today
    again = Queue(synced, settings(), clock=clock, selection=three)
    assert drawn(first, first) == drawn(again, first)
    card = first.next_card()
    first.answer(card.id, 3)
    assert first.counts().review == 1 and first.next_card().id != card.id


# -- today's limits raised -------------------------------------------------------


def test_extra_new_cards_raise_todays_limit_until_the_day_ends(synced):
    clock = Clock()
    s = ReviewSession(synced, settings(new_per_day=1), clock=clock)
    s.answer(s.next_card().id, 4)
    assert s.next_card() is None
    assert s.extend_today(new=2) == (3, 200)
    # kept in the database: another session (a restart, Home) sees the same limit
    other = Queue(synced, settings(new_per_day=1), clock=clock)
    assert other.counts().new == 2 and other.next_card() is not None
    assert s.extend_today(new=1) == (4, 200)  # raises add up, as Anki's do
    clock.now += DAY  # the next learner day: back to the setting
    assert other.limits() == (1, 200) and other.counts().new == 1


def test_extra_reviews_raise_todays_review_limit(synced):
    clock = Clock(T0 - 30 * DAY)
    _learn_all(synced, clock)
    clock.now = T0 + 300 * DAY  # everything is due
    s = ReviewSession(synced, settings(reviews_per_day=1, new_per_day=0), clock=clock)
    s.answer(s.next_card().id, 3)
    assert s.counts().review == 0 and s.next_card() is None
    s.extend_today(review=2)
    assert s.counts().review == 2


# -- bad input -------------------------------------------------------------------


@pytest.mark.parametrize("options, field, message", [
    ({"tag": "leters"}, "tag", "'leters': no card has this tag (did you mean 'letters'?"),
    ({"tag": "two words"}, "tag", "not a tag"),
    ({"ahead_days": 2, "forgotten_days": 2}, "forgotten", "choose one"),
    ({"ahead_days": -1}, "ahead", "from 1 to 99999"),
    ({"forgotten_days": 31}, "forgotten", "from 1 to 30"),
    ({"extra_new": -5}, "extra_new", "from 0 to 99999"),
])
def test_a_selection_that_cant_be_built_says_which_option_and_why(synced, options, field,
                                                                  message):
    with pytest.raises(SelectionError) as caught:
        check_selection(synced, **options)
    assert caught.value.field == field and message in str(caught.value)
    assert "\n" not in str(caught.value)


# -- the new-card order ------------------------------------------------------------


SECTIONS = """
## a1
Q: a1?
A: a1.
Tags: attention

## a2
Q: a2?
A: a2.
Tags: attention heads

## a3
Q: a3?
A: a3.
Tags: attention

## b1
Q: b1?
A: b1.
Tags: batch

## b2
Q: b2?
A: b2.
Tags: batch

## c
Cloze: {{c1::one}} and {{c2::two}}.
Tags: cloze

## u1
Q: u1?
A: u1.
"""


@pytest.fixture
def sections(store, tmp_path):
    write_deck(tmp_path / "sections", "s.md", SECTIONS, deck_id="s")
    sync_decks(store, [tmp_path / "sections"])
    return store


def test_deck_order_is_the_deck_files_order(sections):
    s = ReviewSession(sections, settings(), clock=Clock())
    assert drawn(s, s) == ["s/a1", "s/a2", "s/a3", "s/b1", "s/b2", "s/c.c1", "s/c.c2", "s/u1"]


def test_section_order_takes_each_section_in_turn_and_keeps_a_notes_cards_together(sections):
    s = ReviewSession(sections, settings(new_card_order="section"), clock=Clock())
    assert drawn(s, s) == ["s/a1", "s/b1", "s/c.c1", "s/c.c2", "s/u1", "s/a2", "s/b2", "s/a3"]
    s.answer("s/a1", 4)
    s.answer("s/b1", 4)  # the turns go on from what is still new
    assert s.next_card().id == "s/c.c1"


def test_random_order_holds_all_day_and_changes_the_next(store, tmp_path):
    body = "".join(f"\n## n{i}\nQ: {i}?\nA: {i}.\n" for i in range(20))
    write_deck(tmp_path / "many", "m.md", body, deck_id="m")
    sync_decks(store, [tmp_path / "many"])
    clock = Clock()
    random = settings(new_card_order="random", new_per_day=100)
    first = ReviewSession(store, random, clock=clock)
    today = drawn(first, first)
    assert sorted(today) == sorted(f"m/n{i}" for i in range(20))
    assert today != [f"m/n{i}" for i in range(20)]
    clock.now += 3 * 3600_000  # later the same day, a new session (quit and reopen)
    reopened = ReviewSession(store, random, clock=clock)
    assert drawn(reopened, reopened) == today
    assert Queue(store, random, clock=clock).next_card().id == today[0]
    clock.now += DAY
    assert drawn(reopened, reopened) != today
