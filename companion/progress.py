"""How the learner is doing: pure functions over the review log.

Retention, streak, due forecast, reviews per day and calendar counts: the
read model's arithmetic. The functions take plain rows (no database);
`companion.stats` reads the rows from the store and calls them for every face.
Days are learner's days (`LearnerDay`: local time, rolling over at
`day_starts_at`), as Anki counts them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Iterable, Iterator

from companion.scheduler import REVIEW, LearnerDay
from companion.store import ReviewRow


@dataclass(frozen=True)
class Retention:
    """Passed answers among counted ones; `rate` is None when nothing counted."""

    passed: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None

    def __add__(self, other: "Retention") -> "Retention":
        return Retention(self.passed + other.passed, self.total + other.total)


# -- days ------------------------------------------------------------------


def learner_days(times: Iterable[int], day: LearnerDay) -> Iterator[date]:
    """The learner's day of each time. Times in order are cheap: the day's
    bounds are computed once per day, not once per review."""
    start = end = 0
    current = date.min
    for at in times:
        if not start <= at < end:  # the first time, and each new day
            current = day.day_of(at)
            start, end = day.start_of(current), day.start_of(current + timedelta(days=1))
        yield current


def reviews_per_day(reviews: Iterable[ReviewRow], day: LearnerDay) -> dict[date, int]:
    """How many answers were given on each learner's day that has any."""
    return dict(Counter(learner_days((r.reviewed_at for r in reviews), day)))


def calendar(counts: dict[date, int], first: date, last: date) -> list[tuple[date, int]]:
    """Every day from `first` to `last` inclusive with its count (0 when none)."""
    out = []
    current = first
    while current <= last:
        out.append((current, counts.get(current, 0)))
        current += timedelta(days=1)
    return out


def streak(days: Iterable[date], today: date) -> int:
    """Consecutive learner's days with reviews, ending today. A streak whose
    last day is yesterday still counts: today is not over yet."""
    studied = set(days)
    current = today if today in studied else today - timedelta(days=1)
    count = 0
    while current in studied:
        count += 1
        current -= timedelta(days=1)
    return count


# -- retention -------------------------------------------------------------


def _first_of_day(reviews: Iterable[ReviewRow], day: LearnerDay) -> Iterator[ReviewRow]:
    """Each card's first answer of each learner's day (reviews in time order)."""
    reviews = list(reviews)
    seen: set[tuple[str, date]] = set()
    for review, on in zip(reviews, learner_days((r.reviewed_at for r in reviews), day)):
        key = (review.card_id, on)
        if key not in seen:
            seen.add(key)
            yield review


def true_retention(reviews: Iterable[ReviewRow], day: LearnerDay,
                   start_ms: int | None = None, end_ms: int | None = None) -> Retention:
    """Anki's true retention: among the first answer of the day to each card
    that was in the review state, the share that passed (rating above Again).
    Learning and relearning steps don't count: they test minutes-old memories."""
    chosen = [r for r in reviews
              if (start_ms is None or r.reviewed_at >= start_ms)
              and (end_ms is None or r.reviewed_at < end_ms)]
    passed = total = 0
    for review in _first_of_day(chosen, day):
        if review.state_before == REVIEW:
            total += 1
            passed += review.rating > 1
    return Retention(passed, total)


MATURE_DAYS = 21  # Anki's line between young and mature cards


def retention_young_mature(reviews: Iterable[ReviewRow], day: LearnerDay,
                           start_ms: int | None = None) -> tuple[Retention, Retention]:
    """True retention split as Anki splits it: young cards (the interval that
    led to this review under 21 days) and mature ones. The interval is read
    from the log as the time since the card's previous answer, which is the
    scheduled interval when the learner reviews on the day a card is due."""
    reviews = list(reviews)
    interval: dict[int, int] = {}  # index in `reviews` -> ms since the card's previous answer
    previous: dict[str, int] = {}
    for index, review in enumerate(reviews):
        if review.card_id in previous:
            interval[index] = review.reviewed_at - previous[review.card_id]
        previous[review.card_id] = review.reviewed_at
    counted = {id(r) for r in _first_of_day(reviews, day)}
    young = mature = Retention()
    for index, review in enumerate(reviews):
        if id(review) not in counted or review.state_before != REVIEW:
            continue
        if start_ms is not None and review.reviewed_at < start_ms:
            continue
        one = Retention(int(review.rating > 1), 1)
        if interval.get(index, 0) >= MATURE_DAYS * 86_400_000:
            mature += one
        else:
            young += one
    return young, mature


def retention_by(reviews: Iterable[ReviewRow], day: LearnerDay,
                 groups: Callable[[str], Iterable[str]],
                 start_ms: int | None = None) -> dict[str, Retention]:
    """True retention per group (a deck, a tag): `groups(card_id)` names the
    groups a card belongs to."""
    out: dict[str, Retention] = {}
    chosen = [r for r in reviews if start_ms is None or r.reviewed_at >= start_ms]
    for review in _first_of_day(chosen, day):
        if review.state_before != REVIEW:
            continue
        one = Retention(int(review.rating > 1), 1)
        for group in groups(review.card_id):
            out[group] = out.get(group, Retention()) + one
    return out


def answers_by(reviews: Iterable[ReviewRow],
               groups: Callable[[str], Iterable[str]]) -> dict[str, int]:
    """How many answers each group got."""
    out: Counter[str] = Counter()
    for review in reviews:
        for group in groups(review.card_id):
            out[group] += 1
    return dict(out)


def by_deck_and_tag(reviews: list[ReviewRow], day: LearnerDay,
                    membership: dict[str, tuple[str, list[str]]]
                    ) -> tuple[dict[str, Retention], dict[str, int],
                               dict[str, Retention], dict[str, int]]:
    """True retention and answers per deck, then per tag; `membership` maps a
    card id to its (deck, tags). Reviews of cards not in it count for neither."""

    def deck_of(card_id: str) -> list[str]:
        entry = membership.get(card_id)
        return [entry[0]] if entry else []

    def tags_of(card_id: str) -> list[str]:
        entry = membership.get(card_id)
        return entry[1] if entry else []

    return (retention_by(reviews, day, deck_of), answers_by(reviews, deck_of),
            retention_by(reviews, day, tags_of), answers_by(reviews, tags_of))


# -- the future ------------------------------------------------------------


def forecast(due_times: Iterable[int], day: LearnerDay, now_ms: int, days: int = 30) -> list[int]:
    """Cards coming due on each of the next `days` learner's days; index 0 is
    today and includes everything overdue. Cards due later are left out."""
    today = day.day_of(now_ms)
    bounds = [day.start_of(today + timedelta(days=i + 1)) for i in range(days)]
    counts = [0] * days
    from bisect import bisect_right

    for due in due_times:
        index = bisect_right(bounds, due)
        if index < days:
            counts[index] += 1
    return counts


__all__ = [
    "ReviewRow", "Retention", "learner_days",
    "reviews_per_day", "calendar", "streak", "true_retention", "retention_young_mature",
    "retention_by", "answers_by", "by_deck_and_tag", "forecast",
]
