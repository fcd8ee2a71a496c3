"""Our scheduler against the `fsrs` package itself, and the learner's day."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import FUZZ_RANGES

from companion.scheduler import NEW, REVIEW, LearnerDay, Memory, MemoryModel, format_interval, to_ms
from companion.settings import Settings

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _histories(seed: int, n: int = 40):
    rng = random.Random(seed)
    for _ in range(n):
        t = START
        events = []
        for _ in range(rng.randint(1, 25)):
            rating = rng.choice([1, 2, 3, 3, 3, 4])
            events.append((t, rating))
            t = t + timedelta(minutes=rng.choice([1, 10, 600, 60 * 24 * rng.randint(1, 40)]))
        yield events


def test_states_match_fsrs_exactly_without_fuzz():
    settings = Settings(fuzz=False)
    ours = MemoryModel(settings)
    reference = Scheduler(enable_fuzzing=False)
    for events in _histories(1):
        card = Card(card_id=1)
        memory = Memory()
        for when, rating in events:
            card, _ = reference.review_card(card, Rating(rating), when)
            memory = ours.review("d/c", memory, rating, to_ms(when))
            assert memory.state == int(card.state)
            assert memory.step == card.step
            assert memory.stability == card.stability
            assert memory.difficulty == card.difficulty
            assert memory.due == to_ms(card.due)


def _fuzz_bounds(days: int, maximum: int = 36500) -> tuple[int, int]:
    delta = 1.0
    for r in FUZZ_RANGES:
        delta += r["factor"] * max(min(float(days), r["end"]) - r["start"], 0.0)
    low, high = max(2, round(days - delta)), min(round(days + delta), maximum)
    return min(low, high), high


def test_fuzz_stays_in_fsrs_range_and_is_repeatable():
    fuzzed, plain = MemoryModel(Settings()), MemoryModel(Settings(fuzz=False))
    spread = set()
    for i in range(200):
        memory = Memory(state=REVIEW, step=None, stability=40.0, difficulty=5.0,
                        due=to_ms(START), last_review=to_ms(START - timedelta(days=40)), reps=i)
        a = fuzzed.review(f"d/c{i}", memory, 3, to_ms(START))
        b = fuzzed.review(f"d/c{i}", memory, 3, to_ms(START))
        base_days = round((plain.review(f"d/c{i}", memory, 3, to_ms(START)).due - to_ms(START))
                          / 86_400_000)
        days = round((a.due - to_ms(START)) / 86_400_000)
        low, high = _fuzz_bounds(base_days)
        assert a == b  # same card, same review count: same due date
        assert low <= days <= high
        spread.add(days)
    assert len(spread) >= 3  # the fuzz really spreads due dates


def test_new_card_first_good_goes_to_the_second_learning_step():
    model = MemoryModel(Settings())
    after = model.review("d/c", Memory(), 3, to_ms(START))
    assert after.state == 1 and after.step == 1
    assert after.due - to_ms(START) == 10 * 60 * 1000


def test_lapses_count_only_again_in_review():
    model = MemoryModel(Settings(fuzz=False))
    m = model.review("d/c", Memory(), 4, to_ms(START))
    assert m.state == REVIEW and m.lapses == 0
    m = model.review("d/c", m, 1, m.due)
    assert m.state == 3 and m.lapses == 1
    m = model.review("d/c", m, 1, m.due)  # Again while relearning is no new lapse
    assert m.lapses == 1


def test_learner_day_in_new_york_rolls_over_at_4am_local():
    day = LearnerDay(Settings(timezone="America/New_York", day_starts_at=4))
    # 03:59 local on 10 March 2026 still belongs to 9 March.
    before = to_ms(datetime(2026, 3, 10, 7, 59, tzinfo=timezone.utc))  # EDT: UTC-4
    after = to_ms(datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc))
    assert str(day.day_of(before)) == "2026-03-09"
    assert str(day.day_of(after)) == "2026-03-10"
    start, end = day.bounds(after)
    assert start == after and end == to_ms(datetime(2026, 3, 11, 8, 0, tzinfo=timezone.utc))


def test_learner_day_across_the_dst_change_is_23_hours():
    day = LearnerDay(Settings(timezone="America/New_York", day_starts_at=4))
    # DST starts on 8 March 2026 at 2 am, so the learner's day from 4 am on
    # 7 March to 4 am on 8 March is 23 hours long; the next one is 24 again.
    start, end = day.bounds(to_ms(datetime(2026, 3, 7, 12, 0, tzinfo=timezone.utc)))
    assert (end - start) == 23 * 3600 * 1000
    start, end = day.bounds(end)
    assert (end - start) == 24 * 3600 * 1000


def test_interval_formatting_reads_like_anki():
    assert [format_interval(s) for s in (60, 600, 3 * 3600, 4 * 86400, 45 * 86400,
                                         800 * 86400)] == ["1m", "10m", "3h", "4d", "1.5mo", "2.2y"]


def test_retrievability_is_zero_for_new_and_falls_with_time():
    model = MemoryModel(Settings(fuzz=False))
    assert model.retrievability(Memory(state=NEW), to_ms(START)) == 0.0
    m = model.review("d/c", Memory(), 4, to_ms(START))
    r1 = model.retrievability(m, to_ms(START + timedelta(days=1)))
    r30 = model.retrievability(m, to_ms(START + timedelta(days=30)))
    assert 1 > r1 > r30 > 0
    assert State.Review == State(m.state)
