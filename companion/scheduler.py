"""FSRS-6 (the `fsrs` package) plus what Anki users expect around it: the
learner's day with its rollover hour, deterministic fuzz, interval previews,
and replaying the review log into a card's memory state.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS, FUZZ_RANGES

from companion.settings import Settings, parse_step
from companion.store import LEARNING, NEW, RELEARNING, REVIEW

STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}
RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Memory:
    """A card's memory state: the cache that replaying its reviews rebuilds."""

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: int | None = None  # ms since the epoch, UTC; None while new
    last_review: int | None = None
    reps: int = 0
    lapses: int = 0


class _SeededFuzzScheduler(Scheduler):
    """fsrs draws its interval fuzz from the global `random()`. We draw it from
    a hash of (card id, review count), as Anki seeds its fuzz, so replaying
    the log gives the same due dates and the buttons can preview them."""

    fuzz_draw: float = 0.0  # uniform in [0, 1)

    def _get_fuzzed_interval(self, *, interval: timedelta) -> timedelta:
        days = interval.days
        if days < 2.5:
            return interval
        delta = 1.0
        for fuzz_range in FUZZ_RANGES:
            delta += fuzz_range["factor"] * max(
                min(float(days), fuzz_range["end"]) - fuzz_range["start"], 0.0)
        low = max(2, round(days - delta))
        high = min(round(days + delta), self.maximum_interval)
        low = min(low, high)
        # floor, as Anki does: every day in [low, high] equally likely. (fsrs
        # rounds, which can land one day past `high`.)
        fuzzed = int(self.fuzz_draw * (high - low + 1)) + low
        return timedelta(days=min(fuzzed, self.maximum_interval))


class MemoryModel:
    """Turns (memory, rating, time) into the next memory, the FSRS way."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.fsrs = _SeededFuzzScheduler(
            parameters=settings.parameters or DEFAULT_PARAMETERS,
            desired_retention=settings.desired_retention,
            learning_steps=[parse_step(s) for s in settings.learning_steps],
            relearning_steps=[parse_step(s) for s in settings.relearning_steps],
            maximum_interval=settings.maximum_interval,
            enable_fuzzing=settings.fuzz,
        )

    @staticmethod
    def to_fsrs(memory: Memory) -> Card:
        if memory.state == NEW:
            return Card(card_id=0, state=State.Learning, step=0)
        return Card(
            card_id=0, state=State(memory.state), step=memory.step,
            stability=memory.stability, difficulty=memory.difficulty,
            due=to_datetime(memory.due) if memory.due is not None else None,
            last_review=to_datetime(memory.last_review) if memory.last_review else None,
        )

    def _set_fuzz(self, card_id: str, reps: int) -> None:
        digest = hashlib.blake2b(f"{card_id}:{reps}".encode(), digest_size=8).digest()
        self.fsrs.fuzz_draw = int.from_bytes(digest, "big") / 2**64

    def review(self, card_id: str, memory: Memory, rating: int, at_ms: int) -> Memory:
        self._set_fuzz(card_id, memory.reps)
        card, _ = self.fsrs.review_card(self.to_fsrs(memory), Rating(rating), to_datetime(at_ms))
        lapse = memory.state == REVIEW and rating == Rating.Again
        return Memory(
            state=int(card.state), step=card.step, stability=card.stability,
            difficulty=card.difficulty, due=to_ms(card.due), last_review=at_ms,
            reps=memory.reps + 1, lapses=memory.lapses + (1 if lapse else 0),
        )

    def replay(self, card_id: str, reviews: list[tuple[int, int]]) -> tuple[Memory, list[int]]:
        """Reviews as (time ms, rating) in order -> final memory, and the state
        before each review (the log's `state_before` cache). The same steps as
        `review`, minus the conversions between reviews: this is the hot loop of
        a full rebuild."""
        before: list[int] = []
        if not reviews:
            return Memory(), before
        card = self.to_fsrs(Memory())
        state, lapses = NEW, 0
        for reps, (at_ms, rating) in enumerate(reviews):
            before.append(state)
            self._set_fuzz(card_id, reps)
            card, _ = self.fsrs.review_card(card, Rating(rating), to_datetime(at_ms))
            if state == REVIEW and rating == 1:
                lapses += 1
            state = int(card.state)
        return Memory(state=state, step=card.step, stability=card.stability,
                      difficulty=card.difficulty, due=to_ms(card.due),
                      last_review=reviews[-1][0], reps=len(reviews), lapses=lapses), before

    def retrievability(self, memory: Memory, at_ms: int) -> float:
        if memory.state == NEW or memory.stability is None:
            return 0.0
        return self.fsrs.get_card_retrievability(self.to_fsrs(memory), to_datetime(at_ms))


def format_interval(seconds: float) -> str:
    """Anki-style: 1m, 10m, 3h, 4d, 1.5mo, 2.1y."""
    minutes = seconds / 60
    if minutes < 60:
        return f"{max(1, round(minutes))}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        return f"{days / 30:.1f}mo"
    return f"{days / 365:.1f}y"


class LearnerDay:
    """The learner's day: local time, starting at `day_starts_at` (4 am as in Anki)."""

    def __init__(self, settings: Settings):
        self.rollover = settings.day_starts_at
        self.tz: tzinfo | None
        if settings.timezone:
            from zoneinfo import ZoneInfo

            self.tz = ZoneInfo(settings.timezone)
        else:
            self.tz = None  # the system's local zone, DST rules included

    def _local(self, ms: int) -> datetime:
        moment = to_datetime(ms)
        return moment.astimezone(self.tz) if self.tz else moment.astimezone()

    def day_of(self, ms: int) -> date:
        return (self._local(ms) - timedelta(hours=self.rollover)).date()

    def start_of(self, day: date) -> int:
        naive = datetime.combine(day, time(self.rollover))
        aware = naive.replace(tzinfo=self.tz) if self.tz else naive.astimezone()
        return to_ms(aware)

    def bounds(self, ms: int) -> tuple[int, int]:
        """[start, end) of the learner's day that contains `ms`, in ms UTC."""
        day = self.day_of(ms)
        return self.start_of(day), self.start_of(day + timedelta(days=1))
