"""The rebuild's replay (`MemoryModel.replay_rows`: the card's state in locals,
`answer` written out on them) against the general path it stands for:
answering the card's reviews one by one with `MemoryModel.answer`, and for a
review whose decision the log kept, its memory recomputed by `next_states`
from the kept day count. Random histories under random settings: no steps or
several, fuzz on and off, short-term FSRS on and off, small maximum intervals,
time zones with DST, same-day reviews, lapses, odd ratings in kept decisions,
reschedules, forgets and states set by another program between reviews."""

from __future__ import annotations

import pytest
from fsrs_rs_python import DEFAULT_PARAMETERS
from hypothesis import given, settings
from hypothesis import strategies as st

from companion import replay
from companion.replay import rebuild_all
from companion.scheduler import (
    NEW,
    REVIEW,
    Decision,
    LoggedEvent,
    LoggedReview,
    Memory,
    MemoryModel,
    StateSet,
    event_order,
)
from companion.settings import Settings

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
START = 1_772_366_400_000  # 2026-03-01 12:00 UTC, a week before New York's DST change

STEPS = st.sampled_from([[], ["1m"], ["1m", "10m"], ["10m", "1h", "1d"], ["30s", "12h"],
                         ["2d"]])
SHORT_TERM_OFF = list(DEFAULT_PARAMETERS[:17]) + [0.0, 0.0] + list(DEFAULT_PARAMETERS[19:])
A_FITTED_SET = [0.4, 0.9, 3.1, 15.7, 7.0, 0.5, 1.6, 0.01, 1.5, 0.12, 1.0, 1.9, 0.11, 0.29,
                2.2, 0.23, 2.9, 0.4, 0.6, 0.1, 0.3]

SETTINGS = st.builds(
    Settings,
    desired_retention=st.sampled_from([0.7, 0.85, 0.9, 0.97]),
    learning_steps=STEPS, relearning_steps=STEPS,
    maximum_interval=st.sampled_from([1, 3, 30, 365, 36500]),
    fuzz=st.booleans(),
    day_starts_at=st.sampled_from([0, 4, 23]),
    timezone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
    parameters=st.sampled_from([[], SHORT_TERM_OFF, A_FITTED_SET]),
)

GAPS = st.one_of(st.integers(0, 10 * MIN), st.integers(0, 20 * HOUR),
                 st.integers(0, 60 * DAY), st.sampled_from([0, 1, DAY - 1, DAY, 7 * DAY]))

STATE_SETS = st.builds(
    StateSet, state=st.integers(0, 3), remaining_steps=st.sampled_from([0, 1, 2, 3, 1002]),
    stability=st.one_of(st.none(), st.floats(0.01, 400)),
    difficulty=st.one_of(st.none(), st.floats(1, 10)),
    last_review=st.one_of(st.none(), st.integers(START - 30 * DAY, START)),
    reps=st.integers(0, 20), lapses=st.integers(0, 5))


@st.composite
def histories(draw):
    """(reviews, events): ratings at increasing times, and events between them."""
    at, reviews, events = START + draw(st.integers(0, DAY)), [], []
    for _ in range(draw(st.integers(1, 14))):
        at += draw(GAPS)
        if draw(st.integers(0, 9)) == 0:
            kind = draw(st.sampled_from(["reschedule", "forget", "forget-counts", "set-state"]))
            sets = draw(STATE_SETS) if kind == "set-state" else None
            events.append(LoggedEvent(at, kind, draw(st.integers(0, 40)),
                                      at + draw(st.integers(0, 40)) * DAY, sets))
            at += 1
        reviews.append((at, draw(st.sampled_from([1, 2, 3, 3, 3, 4]))))
        at += 1  # two reviews of a card never share a millisecond
    return reviews, events


def _answered(model: MemoryModel, card_id: str, reviews, events):
    """The general path: each review answered by `answer`, events applied at their time."""
    memory, records, pending = Memory(), [], sorted(events, key=event_order)
    for at, rating in reviews:
        while pending and pending[0].at < at:
            memory = model.apply_event(memory, pending.pop(0))
        before = memory.state
        outcome = model.answer(card_id, memory, rating, at)
        memory = outcome.memory
        records.append((before, *outcome.decision))
    for event in pending:
        memory = model.apply_event(memory, event)
    return memory, records


def _kept(model: MemoryModel, reviews, decisions, events):
    """The general path for kept decisions: the decision as the log kept it,
    the memory recomputed with `next_states` from its day count."""
    memory, records, pending = Memory(), [], sorted(events, key=event_order)
    for (at, rating), decision in zip(reviews, decisions):
        while pending and pending[0].at < at:
            memory = model.apply_event(memory, pending.pop(0))
        before = memory.state
        states = model.next_states(memory, decision.elapsed_days)
        item = (states.again, states.hard, states.good, states.easy)[rating - 1]
        stability, difficulty = model._kept(item)
        lapses = memory.lapses + (before == REVIEW and rating == 1)
        memory = Memory(decision.state, decision.remaining_steps, stability, difficulty,
                        decision.due, at, memory.reps + 1, lapses, decision.interval)
        records.append((before, *decision))
    for event in pending:
        memory = model.apply_event(memory, event)
    return memory, records


@settings(max_examples=400, deadline=None)
@given(SETTINGS, histories(), st.sampled_from(["d/c", "deck0/card17", "ä/ß 1"]))
def test_replaying_reviews_without_decisions_is_answering_them_one_by_one(
        chosen, history, card_id):
    reviews, events = history
    model = MemoryModel(chosen)
    memory, records = model.replay_rows(card_id, [(at, r, None) for at, r in reviews], events)
    assert (memory, records) == _answered(MemoryModel(chosen), card_id, reviews, events)
    # the wrapper the per-card paths use, with LoggedReviews and Decisions
    again, kept = model.replay(card_id, [LoggedReview(at, r) for at, r in reviews], events)
    assert again == memory and [(b, *d) for b, d in kept] == records
    assert all(isinstance(d, Decision) for _, d in kept)


@settings(max_examples=300, deadline=None)
@given(SETTINGS, SETTINGS, histories(), st.integers(0, 13))
def test_replaying_kept_decisions_under_other_settings_keeps_them(
        answered_under, replayed_under, history, undecided):
    """Decisions kept from one set of settings replayed under another, one
    review left without its decision (answered anew, as an import's)."""
    reviews, events = history
    _, records = _answered(MemoryModel(answered_under), "d/c", reviews, events)
    decisions = [Decision(*record[1:]) for record in records]
    model = MemoryModel(replayed_under)
    logged = [(at, r, decision) for (at, r), decision in zip(reviews, decisions)]
    memory, replayed = model.replay_rows("d/c", logged, events)
    assert (memory, replayed) == _kept(MemoryModel(replayed_under), reviews, decisions, events)
    if undecided < len(reviews):  # one review without its decision, answered anew
        at, rating = reviews[undecided]
        earlier = [e for e in events if e.at < at]
        logged[undecided] = (at, rating, None)
        memory, replayed = model.replay_rows("d/c", logged[:undecided + 1], earlier)
        general = MemoryModel(replayed_under)
        before, records = _kept(general, reviews[:undecided], decisions[:undecided], earlier)
        answer = general.answer("d/c", before, rating, at)
        assert replayed == [*records, (before.state, *answer.decision)]
        assert memory == answer.memory


def test_an_odd_rating_in_a_kept_decision_reads_the_button_the_general_path_reads():
    model = MemoryModel(Settings(timezone="UTC"))
    decision = Decision(REVIEW, 0, 3, START + 3 * DAY, 0)
    for rating in (0, -1, -2):
        memory, _ = model.replay_rows("d/c", [(START, rating, decision)])
        assert memory == _kept(model, [(START, rating)], [decision], [])[0]
    assert memory.state == REVIEW and memory.stability is not None


def test_a_bad_rating_without_a_decision_is_refused_as_answer_refuses_it():
    model = MemoryModel(Settings(timezone="UTC"))
    for rating in (0, 5):
        try:
            model.replay_rows("d/c", [(START, rating, None)])
        except ValueError as exc:
            assert str(exc) == f"rating must be 1-4, got {rating}"
        else:
            raise AssertionError("a rating outside 1-4 was replayed")


def test_replay_log_chunks_end_on_a_card_and_keep_the_log_order(store, deck_dir):
    """Whatever the chunk size, one card's reviews never straddle two chunks,
    a card with more reviews than a chunk comes whole, and the rows are
    review_log's, in its order."""
    from companion.deck_sync import sync_decks

    sync_decks(store, [deck_dir])
    cards = [row[0] for row in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    with store.transaction():
        for card_id, count in zip(cards, [7, 1, 3, 2, 4]):
            for n in range(count):  # same-ms pairs: the review id breaks the tie
                store.insert_review(f"{card_id}-{n // 2}-{n}", card_id, START + n // 2 * DAY,
                                    3, 1000, NEW, (REVIEW, 0, 1, START, 0))
        # written in the other order: the index holds ties by rowid, the log by id
        for n in (3, 2, 1, 0):
            store.insert_review(f"{cards[0]}-late-{n}", cards[0], START + 9 * DAY, 3, 1000,
                                NEW, (REVIEW, 0, 1, START, 0))
    log = [(r.card_id, r.id, r.reviewed_at, r.rating) for r in store.review_log()]
    ids = dict(store.conn.execute("SELECT rowid, id FROM reviews"))
    for chunk in (1, 2, 3, 5, 8, 100):
        chunks = list(store.replay_log(chunk))
        assert [(r[1], ids[r[0]], r[2], r[3]) for c in chunks for r in c] == log
        for earlier, later in zip(chunks, chunks[1:]):
            assert earlier[-1][1] < later[0][1]


def test_rebuild_all_of_a_log_without_decisions_is_answering_it_one_by_one(store, deck_dir,
                                                                          monkeypatch):
    """An imported log (no decisions kept) over more than one read chunk."""
    import random

    from companion.deck_sync import sync_decks

    sync_decks(store, [deck_dir])
    chosen = Settings(timezone="America/New_York")
    rng = random.Random(3)
    cards = [row[0] for row in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    history = {}
    with store.transaction():
        for card_id in cards:
            at, history[card_id] = START, []
            for n in range(rng.randint(1, 40)):
                at += rng.choice([MIN, 10 * MIN, HOUR, DAY, 3 * DAY, 20 * DAY])
                rating = rng.choice([1, 2, 3, 3, 4])
                store.conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating, "
                                   "duration_ms) VALUES (?, ?, ?, ?, 1000)",
                                   (f"{card_id}#{n}", card_id, at, rating))
                history[card_id].append((at, rating))
    monkeypatch.setattr(replay, "REPLAY_CHUNK", 16)  # several chunks
    assert rebuild_all(store, chosen) == sum(len(h) for h in history.values())
    for card_id, reviews in history.items():
        memory, records = _answered(MemoryModel(chosen), card_id, reviews, [])
        row = store.conn.execute("SELECT state, remaining_steps, stability, difficulty, due, "
                                 "last_review, reps, lapses, interval FROM cards WHERE id = ?",
                                 (card_id,)).fetchone()
        assert row == (memory.state, memory.remaining_steps, memory.stability,
                       memory.difficulty, memory.due, memory.last_review, memory.reps,
                       memory.lapses, memory.interval)
        stored = store.conn.execute(
            "SELECT state_before, state_after, remaining_steps, interval, due, elapsed_days "
            "FROM reviews WHERE card_id = ? ORDER BY reviewed_at, id", (card_id,)).fetchall()
        assert stored == records


def _log(store, review_id, card_id, at, rating):
    """A review as an import without decisions writes it."""
    store.conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
                       "VALUES (?, ?, ?, ?, 1000)", (review_id, card_id, at, rating))


def _cached(store, card_id):
    return store.conn.execute("SELECT state, remaining_steps, stability, difficulty, due, "
                              "last_review, reps, lapses, interval FROM cards WHERE id = ?",
                              (card_id,)).fetchone()


def test_rebuild_all_keeps_a_state_set_on_a_card_without_reviews(store, deck_dir):
    """An Anki card imported with its state but no revlog keeps that state
    through a rebuild (after a parameter change or an upgrade), as replaying
    that card alone gives it; a card neither reviewed nor set goes back to new."""
    from companion.deck_sync import sync_decks
    from companion.replay import rebuild_card, state_set_json
    from companion.scheduler import PresetModels

    sync_decks(store, [deck_dir])
    kept, cleared, reviewed = [r[0] for r in store.conn.execute(
        "SELECT id FROM cards ORDER BY id LIMIT 3")]
    chosen = Settings(timezone="UTC")
    model = PresetModels(chosen).for_deck(store.card_row(kept).deck_id)
    with store.transaction():
        store.insert_new_card_events([(
            "set", kept, START, "set-state", 20, START + 20 * DAY,
            state_set_json(StateSet(REVIEW, 0, 30.0, 5.0, START - DAY, 4, 1)))])
        rebuild_card(store, model, kept)
        store.conn.execute("UPDATE cards SET state = 2, reps = 3, due = 1 WHERE id = ?",
                           (cleared,))
        _log(store, "r", reviewed, START, 3)
    assert _cached(store, kept) == (REVIEW, 0, 30.0, 5.0, START + 20 * DAY, START - DAY,
                                    4, 1, 20)
    rebuild_all(store, chosen)
    assert _cached(store, kept) == (REVIEW, 0, 30.0, 5.0, START + 20 * DAY, START - DAY,
                                    4, 1, 20)
    assert _cached(store, cleared) == (NEW, None, None, None, None, None, 0, 0, None)
    assert _cached(store, reviewed)[6] == 1


def test_rebuild_all_under_new_parameters_is_each_card_replayed_alone(store, deck_dir):
    """A second rebuild after the FSRS parameters change moves every memory
    state and keeps the kept schedule: each card as `rebuild_card` leaves it."""
    import random

    from companion.deck_sync import sync_decks
    from companion.replay import rebuild_card
    from companion.scheduler import PresetModels

    sync_decks(store, [deck_dir])
    rng = random.Random(5)
    cards = [row[0] for row in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    with store.transaction():
        for card_id in cards[:-1]:  # the last stays new
            at = START
            for n in range(rng.randint(1, 12)):
                at += rng.choice([MIN, HOUR, DAY, 5 * DAY, 30 * DAY])
                _log(store, f"{card_id}#{n}", card_id, at, rng.choice([1, 3, 3, 4]))
    rebuild_all(store, Settings(timezone="UTC"))
    before = {card_id: _cached(store, card_id) for card_id in cards}
    changed = Settings(timezone="UTC", parameters=A_FITTED_SET)
    rebuild_all(store, changed)
    after = {card_id: _cached(store, card_id) for card_id in cards}
    models = PresetModels(changed)
    with store.transaction():
        for card_id in cards:
            rebuild_card(store, models.for_deck(store.card_row(card_id).deck_id), card_id)
    assert after == {card_id: _cached(store, card_id) for card_id in cards}
    reviewed = cards[:-1]
    assert all(after[c][2:4] != before[c][2:4] for c in reviewed)  # stability, difficulty
    assert all(after[c][:2] + after[c][4:] == before[c][:2] + before[c][4:] for c in reviewed)


@pytest.mark.parametrize("decks", [None, {"other"}])
def test_a_rebuild_that_reschedules_is_a_rebuild_then_a_reschedule(store, deck_dir, tmp_path,
                                                                   decks):
    """catch_up and the optimizer reschedule in the rebuild's own pass: every
    card and every reschedule event as the rebuild followed by `reschedule`
    leaves them (a suspended card stays, a deck not asked for stays, a card
    whose state was set without reviews moves)."""
    import random
    import sqlite3

    from companion.deck_sync import sync_decks
    from companion.replay import rebuild_card, reschedule, state_set_json
    from companion.scheduler import PresetModels
    from companion.store import Store
    from tests.conftest import write_deck

    write_deck(deck_dir, "other.md", "".join(f"## n{n}\nQ: {n}?\nA: {n}.\n\n"
                                             for n in range(40)),
               deck_id="other", deck_name="Other")
    sync_decks(store, [deck_dir])
    rng = random.Random(8)
    cards = [row[0] for row in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    alone = next(card_id for card_id in cards if card_id.startswith("test/"))
    suspended = next(card_id for card_id in cards
                     if not card_id.startswith("other/") and card_id != alone)
    first = Settings(timezone="UTC")
    with store.transaction():
        for card_id in cards:
            if card_id == alone:
                continue
            at = START - 200 * DAY
            for n in range(rng.randint(2, 9)):
                at += rng.choice([DAY, 4 * DAY, 20 * DAY])
                _log(store, f"{card_id}#{n}", card_id, at, rng.choice([1, 3, 3, 3, 4]))
        store.insert_new_card_events([(
            "set", alone, START - DAY, "set-state", 20, START + 19 * DAY,
            state_set_json(StateSet(REVIEW, 0, 30.0, 5.0, START - 2 * DAY, 4, 0)))])
        store.set_suspended(suspended, True)
    rebuild_all(store, first)
    with store.transaction():
        rebuild_card(store, PresetModels(first).for_deck("test"), alone)
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as target:
        store.conn.backup(target)
    apart = Store(copy)
    # intervals near the ones before: Anki's "don't let fuzz shrink it" reads them
    changed = Settings(timezone="UTC", parameters=A_FITTED_SET, desired_retention=0.97)
    now = START + 30 * DAY
    rebuild_all(store, changed, reschedule_at=now, reschedule_decks=decks)
    rebuild_all(apart, changed)
    reschedule(apart, changed, now, decks)

    def state(s):
        return (s.conn.execute("SELECT * FROM cards ORDER BY id").fetchall(),
                s.conn.execute("SELECT card_id, at, kind, interval, due, memory "
                               "FROM card_events ORDER BY card_id, at").fetchall())

    together, after = state(store), state(apart)
    apart.close()
    assert together == after
    moved = {row[0] for row in together[1] if row[2] == "reschedule"}
    assert moved and suspended not in moved
    assert (alone in moved) == (decks is None)
    if decks is not None:
        assert all(card_id.startswith("other/") for card_id in moved)


def test_a_rescheduling_rebuild_reads_a_card_never_answered_as_reschedule_does(store,
                                                                              deck_dir,
                                                                              tmp_path):
    """An Anki card put in review without an answer ("set due date" on a new
    card: reps 0) caches no interval; the rebuild's reschedule compares with
    what the card caches, as `reschedule` after the rebuild does."""
    import sqlite3

    from companion.deck_sync import sync_decks
    from companion.replay import reschedule, state_set_json
    from companion.scheduler import PresetModels
    from companion.store import Store

    sync_decks(store, [deck_dir])
    card = store.conn.execute("SELECT id FROM cards ORDER BY id").fetchone()[0]
    changed = Settings(timezone="UTC", parameters=A_FITTED_SET)
    now = START + 30 * DAY
    model = PresetModels(changed).for_deck("test")
    # the interval and due date the reschedule gives, set already
    event = model.reschedule(card, Memory(REVIEW, 0, 30.0, 5.0, 0, START - 2 * DAY), now, 0)
    with store.transaction():
        store.insert_new_card_events([(
            "set", card, START - DAY, "set-state", event.interval, event.due,
            state_set_json(StateSet(REVIEW, 0, 30.0, 5.0, START - 2 * DAY, 0, 0)))])
    rebuild_all(store, Settings(timezone="UTC"))
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as target:
        store.conn.backup(target)
    apart = Store(copy)
    rebuild_all(store, changed, reschedule_at=now)
    rebuild_all(apart, changed)
    reschedule(apart, changed, now)
    events = "SELECT card_id, kind, interval, due FROM card_events ORDER BY card_id, at"
    together, after = store.conn.execute(events).fetchall(), apart.conn.execute(events).fetchall()
    apart.close()
    assert together == after
    assert [kind for _, kind, _, _ in together] == ["set-state", "reschedule"]


def test_a_step_that_ends_on_the_rollover_goes_to_the_next_day_as_answer_sends_it():
    """A new card's Good at 03:50 (rollover 04:00) takes the 10-minute step to
    the rollover: `answer` puts it at the next day's start; a second earlier,
    the step itself, with its own fuzz (which may carry it past 04:00)."""
    chosen = Settings(timezone="UTC", day_starts_at=4, learning_steps=["1m", "10m"])
    ten_to_four = START - 8 * HOUR - 10 * MIN  # 2026-03-01 03:50 UTC
    dues = {}
    for offset in (-1001, -1000, -1, 0, 1, 999, 1000):
        at = ten_to_four + offset
        memory, records = MemoryModel(chosen).replay_rows("d/c", [(at, 3, None)])
        assert (memory, records) == _answered(MemoryModel(chosen), "d/c", [(at, 3)], [])
        dues[offset] = memory.due
    step = ten_to_four - 1000 + 10 * MIN
    assert step <= dues[-1000] == dues[-1] <= step + 150_000  # up to 25 % more
    assert dues[-1001] == dues[-1] - 1000
    next_day = START - 8 * HOUR  # 04:00 UTC that morning: the next learner day
    assert dues[0] == dues[1] == dues[999] == dues[1000] == next_day != dues[-1]
