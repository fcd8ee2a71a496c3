"""The scheduler's rules, checked against Anki's own cases (rslib/src/scheduler), and
the learner's day. tests/test_anki_agreement.py compares it with Anki itself."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from companion.scheduler import (
    NEW,
    REVIEW,
    LearnerDay,
    Memory,
    MemoryModel,
    format_interval,
    is_leech,
    minimum_fuzz_interval,
    to_ms,
    with_fuzz,
)
from companion.settings import Settings

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def _at(text: str, zone: str = "Europe/Berlin") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def _answer_all(model: MemoryModel, events: list[tuple[str, int]], zone: str = "Europe/Berlin"):
    memory, outcome = Memory(), None
    for when, rating in events:
        outcome = model.answer("d/c", memory, rating, _at(when, zone))
        memory = outcome.memory
    assert outcome is not None
    return outcome


BERLIN = Settings(timezone="Europe/Berlin", fuzz=False)


def test_days_elapsed_are_counted_from_the_next_rollover_as_anki_does():
    # 23:30 and 05:00 the next morning are a day apart with a 4 am rollover
    # (Anki: S 7.3154, 7 days), not a same-day review.
    out = _answer_all(MemoryModel(BERLIN), [("2024-05-06 23:30", 3), ("2024-05-07 05:00", 3)])
    assert out.decision.elapsed_days == 1
    assert out.memory.stability == pytest.approx(7.3154, abs=1e-4)
    assert out.decision.interval == 7


def test_good_is_at_least_a_day_more_than_hard_and_easy_than_good():
    model = MemoryModel(BERLIN)
    out = _answer_all(model, [("2024-05-06 20:00", 3), ("2024-05-06 20:11", 3),
                              ("2024-05-06 20:40", 3)])
    assert out.decision.interval == 3  # Anki's minimum: the previous interval + 1
    out = _answer_all(model, [("2024-05-06 20:00", 1), ("2024-05-06 20:02", 4)])
    assert out.decision.interval == 2  # Easy graduates at least a day past Good
    memory = _answer_all(model, [("2024-05-06 20:00", 3), ("2024-05-06 20:11", 3)]).memory
    for days_later in (0, 1, 3, 10, 40):
        seconds = model.previews("d/c", memory, memory.last_review + days_later * 86_400_000)
        assert seconds[2] < seconds[3] < seconds[4]


def test_a_due_date_is_a_learner_day_across_daylight_saving():
    out = _answer_all(MemoryModel(BERLIN), [("2024-10-20 04:30", 4)])
    due = datetime.fromtimestamp(out.memory.due / 1000, ZoneInfo("Europe/Berlin"))
    assert (due.date(), due.hour) == (date(2024, 10, 28), 4)  # Anki: 28 Oct, not 27 Oct


@pytest.mark.parametrize("threshold, leeches", [(5, [5, 8, 11]), (4, [4, 6, 8]), (1, [1, 2])])
def test_leeches_repeat_every_half_threshold_rounded_up(threshold, leeches):
    assert [n for n in range(1, 12) if is_leech(n, threshold)][:len(leeches)] == leeches


# Anki's own cases (rslib/src/scheduler/states/fuzz.rs, `with_review_fuzz`):
# (interval, minimum, maximum) -> the day drawn at fuzz 0, 0.5 and 0.99.
ANKI_FUZZ_CASES = [
    (1.0, 1, 1000, 1, 1, 1), (2.49, 1, 1000, 2, 2, 2), (2.5, 1, 1000, 2, 3, 4),
    (7.0, 1, 1000, 5, 7, 9), (17.0, 1, 1000, 14, 17, 20), (37.0, 1, 1000, 33, 37, 41),
    (2.0, 2, 1000, 2, 2, 2), (2.0, 3, 1000, 3, 4, 4), (2.0, 3, 3, 3, 3, 3),
    (6.9, 3, 1000, 5, 7, 9), (7.0, 3, 1000, 5, 7, 9), (7.1, 3, 1000, 5, 7, 9),
    (19.9, 3, 1000, 17, 20, 23), (20.0, 3, 1000, 17, 20, 23), (20.1, 3, 1000, 17, 20, 23),
    (100.0, 101, 1000, 101, 105, 108), (100.0, 1, 99, 92, 96, 99), (100.0, 97, 103, 97, 100, 103),
]


@pytest.mark.parametrize("interval, minimum, maximum, lower, middle, upper", ANKI_FUZZ_CASES)
def test_fuzz_draws_the_days_anki_draws(interval, minimum, maximum, lower, middle, upper):
    assert [with_fuzz(f, interval, minimum, maximum) for f in (0.0, 0.5, 0.99)] == \
        [lower, middle, upper]


def test_fuzz_without_a_draw_rounds_and_clamps_as_anki():
    assert with_fuzz(None, 1.5, 1, 100) == 2
    assert with_fuzz(None, 0.1, 1, 100) == 1
    assert with_fuzz(None, 101.0, 1, 100) == 100
    # Anki's minimum_review_fuzz_interval cases
    assert minimum_fuzz_interval(2.7269483, 4, 36500) == 4
    assert minimum_fuzz_interval(2.7269483, 5, 36500) == 0
    assert minimum_fuzz_interval(4.591988, 4, 36500) == 5


def test_fuzz_is_repeatable_and_spreads_due_dates():
    fuzzed = MemoryModel(Settings())
    start = to_ms(START)
    spread = set()
    for i in range(200):
        memory = Memory(state=REVIEW, stability=40.0, difficulty=5.0, due=start, interval=40,
                        last_review=start - 40 * 86_400_000, reps=i)
        a = fuzzed.answer(f"d/c{i}", memory, 3, start)
        assert a == fuzzed.answer(f"d/c{i}", memory, 3, start)  # a replay draws the same
        spread.add(a.decision.interval)
    assert len(spread) >= 3


def test_new_card_first_good_goes_to_the_second_learning_step():
    model = MemoryModel(Settings())
    after = model.answer("d/c", Memory(), 3, to_ms(START)).memory
    assert after.state == 1 and after.remaining_steps == 1
    # Anki's learning fuzz: up to a quarter of the step longer, at most 5 minutes
    assert 600_000 <= after.due - to_ms(START) < 750_000
    plain = MemoryModel(Settings(fuzz=False)).answer("d/c", Memory(), 3, to_ms(START)).memory
    assert plain.due - to_ms(START) == 10 * 60 * 1000


def test_lapses_count_only_again_in_review():
    model = MemoryModel(Settings(fuzz=False))
    m = model.answer("d/c", Memory(), 4, to_ms(START)).memory
    assert m.state == REVIEW and m.lapses == 0
    m = model.answer("d/c", m, 1, m.due).memory
    assert m.state == 3 and m.lapses == 1
    m = model.answer("d/c", m, 1, m.due).memory  # Again while relearning is no new lapse
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
    assert [format_interval(s) for s in (30, 60, 150, 600, 5400, 3 * 3600, 4 * 86400,
                                         45 * 86400, 800 * 86400)] == [
        "30s", "1m", "3m", "10m", "1.5h", "3h", "4d", "1.5mo", "2.2y"]


def test_interval_formatting_equals_ankis_answer_buttons(tmp_path):
    """Anki's own answer-button text (its Rust timespan code through the `anki`
    package) for spans from a second to a century."""
    import random

    pytest.importorskip("anki")
    from anki.collection import Collection, FormatTimeSpan

    rng = random.Random(7)
    spans = [10 ** rng.uniform(-1, 9.5) for _ in range(3000)]
    spans += [n * unit + half for unit in (1, 60, 3600, 86400, 2628000, 31536000)
              for n in range(0, 40) for half in (0, unit / 2, unit / 20)]
    col = Collection(str(tmp_path / "c.anki2"))
    try:
        theirs = [col.format_timespan(s, context=FormatTimeSpan.ANSWER_BUTTONS)
                  .replace("\u2068", "").replace("\u2069", "") for s in spans]
    finally:
        col.close()
    differ = [(s, format_interval(s), t) for s, t in zip(spans, theirs)
              if format_interval(s) != t]
    assert differ == []


def test_retrievability_is_zero_for_new_and_falls_with_time():
    model = MemoryModel(Settings(fuzz=False))
    assert model.retrievability(Memory(state=NEW), to_ms(START)) == 0.0
    m = model.answer("d/c", Memory(), 4, to_ms(START)).memory
    r1 = model.retrievability(m, to_ms(START + timedelta(days=1)))
    r30 = model.retrievability(m, to_ms(START + timedelta(days=30)))
    assert 1 > r1 > r30 > 0
    assert m.state == REVIEW
    # stability is by definition the days until recall falls to 90 %
    at_s = m.last_review + round(m.stability * 86_400_000)
    assert model.retrievability(m, at_s) == pytest.approx(0.9, abs=1e-6)


@settings(max_examples=2000, deadline=None)
@given(st.floats(min_value=0.0, max_value=40000.0), st.floats(min_value=1.0, max_value=10.0))
def test_the_replays_one_pass_rounding_is_stored_to_4_and_3_places(stability, difficulty):
    from companion.scheduler import stored, stored_memory

    assert stored_memory(stability, difficulty) == (stored(stability, 4), stored(difficulty, 3))
