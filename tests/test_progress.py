"""Retention, streak, forecast and calendar: pure functions over the review log."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from companion.progress import (
    Retention,
    ReviewRow,
    calendar,
    forecast,
    learner_days,
    retention_by,
    reviews_per_day,
    streak,
    true_retention,
)
from companion.scheduler import LEARNING, NEW, RELEARNING, REVIEW, LearnerDay, to_ms
from companion.settings import Settings

from .conftest import TZ

NY = LearnerDay(Settings(timezone=TZ))  # days start at 04:00 New York time
H = 3_600_000


def at(y, m, d, hour, minute=0) -> int:
    """A New York wall-clock time (EST, UTC-5, in these winter dates) as ms UTC."""
    return to_ms(datetime(y, m, d, hour, minute, tzinfo=timezone.utc)) + 5 * H


def test_true_retention_counts_the_first_review_state_answer_of_each_card_and_day():
    log = [
        ReviewRow("a", at(2026, 1, 5, 9), 3, REVIEW),       # counted, passed
        ReviewRow("a", at(2026, 1, 5, 9, 10), 1, REVIEW),   # same card, same day: not counted
        ReviewRow("b", at(2026, 1, 5, 10), 1, REVIEW),      # counted, failed
        ReviewRow("b", at(2026, 1, 5, 10, 10), 3, RELEARNING),  # a relearning step: not counted
        ReviewRow("c", at(2026, 1, 5, 11), 3, NEW),         # new: not counted
        ReviewRow("d", at(2026, 1, 5, 12), 2, LEARNING),    # first of its day is learning: no
        ReviewRow("d", at(2026, 1, 5, 13), 3, REVIEW),
        ReviewRow("a", at(2026, 1, 6, 3), 2, REVIEW),       # 03:00 still belongs to Jan 5
        ReviewRow("a", at(2026, 1, 6, 5), 2, REVIEW),       # a new learner's day: Hard passes
    ]
    assert true_retention(log, NY) == Retention(2, 3)
    assert true_retention(log, NY).rate == 2 / 3
    assert true_retention(log, NY, start_ms=at(2026, 1, 6, 4)) == Retention(1, 1)
    assert true_retention([], NY).rate is None


def test_retention_by_deck_and_tag():
    log = [ReviewRow("x1", at(2026, 1, 5, 9), 3, REVIEW),
           ReviewRow("x2", at(2026, 1, 5, 9), 1, REVIEW),
           ReviewRow("y1", at(2026, 1, 5, 9), 4, REVIEW)]
    groups = {"x1": ["x", "shared"], "x2": ["x"], "y1": ["y", "shared"]}
    assert retention_by(log, NY, groups.__getitem__) == {
        "x": Retention(1, 2), "shared": Retention(2, 2), "y": Retention(1, 1)}


def test_reviews_per_day_and_calendar_use_the_learners_day():
    log = [ReviewRow("a", at(2026, 1, 5, 23), 3, NEW), ReviewRow("b", at(2026, 1, 6, 2), 3, NEW),
           ReviewRow("c", at(2026, 1, 6, 4, 30), 3, NEW)]
    per_day = reviews_per_day(log, NY)
    assert per_day == {date(2026, 1, 5): 2, date(2026, 1, 6): 1}
    assert calendar(per_day, date(2026, 1, 4), date(2026, 1, 7)) == [
        (date(2026, 1, 4), 0), (date(2026, 1, 5), 2), (date(2026, 1, 6), 1), (date(2026, 1, 7), 0)]


def test_learner_days_cross_a_daylight_saving_change():
    # New York springs forward on 2026-03-08: that day is 23 hours long.
    times = [at(2026, 3, 7, 12), at(2026, 3, 8, 12) - H, at(2026, 3, 9, 3, 30) - H,
             at(2026, 3, 9, 4, 30) - H]
    assert list(learner_days(times, NY)) == [
        date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 8), date(2026, 3, 9)]


def test_streak_ends_today_or_yesterday():
    today = date(2026, 1, 10)
    days = {today - timedelta(days=k) for k in (1, 2, 3, 5)}
    assert streak(days, today) == 3  # today not studied yet: the streak still stands
    assert streak(days | {today}, today) == 4
    assert streak({today - timedelta(days=2)}, today) == 0
    assert streak(set(), today) == 0


def test_forecast_puts_overdue_cards_today_and_drops_cards_past_the_window():
    now = at(2026, 1, 5, 9)
    dues = [now - 3 * 24 * H, now + H, at(2026, 1, 6, 3), at(2026, 1, 6, 5), at(2026, 2, 20, 9)]
    counts = forecast(dues, NY, now, days=30)
    assert len(counts) == 30
    assert counts[0] == 3  # overdue, later today, and 03:00 tomorrow (still today's learner day)
    assert counts[1] == 1 and sum(counts) == 4
