"""FSRS-6 and the rules Anki applies around it, as Anki's v3 scheduler does them.

The memory model is fsrs-rs (package `fsrs-rs-python`), the crate Anki itself
links, so stability, difficulty and the intervals it proposes are Anki's to the
bit. Around it, this module does what `rslib/src/scheduler/` does:

- the days since the last review are counted from the next day rollover, as
  Anki counts them (`Timing.fsrs_days_elapsed`), not in 24-hour periods;
- learning and relearning steps (`states/steps.rs`), graduating, and the
  interval order Hard < Good < Easy by at least a day (`states/review.rs`);
- the fuzz range and its constraints (`states/fuzz.rs`), and a learning step's
  fuzz (`answering/learning.rs`);
- due dates on learner days: a review is due at the start of a day, never
  "now + n × 24 h", so a daylight-saving change can't move it a day;
- leeches at the threshold and then every ceil(threshold / 2) lapses;
- the memory state stored as Anki stores it (stability to 4 decimals,
  difficulty to 3, in float32), so the next review starts from the same numbers.

Each answer's outcome is a `Decision` the review log keeps (the state, steps
left, interval and due date it gave, and the days elapsed FSRS saw), so a replay
under later settings rebuilds the same schedule (`MemoryModel.replay`).
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from hashlib import blake2b
from typing import TYPE_CHECKING, Any, NamedTuple

from companion.settings import Settings, parse_step
from companion.store import LEARNING, NEW, RELEARNING, REVIEW

if TYPE_CHECKING:
    from fsrs_rs_python import NextStates

STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}
RATING_NAMES = {1: "Again", 2: "Hard", 3: "Good", 4: "Easy"}
DAY_SECS = 86_400


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def to_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


_FLOAT32 = struct.Struct("f")
_pack, _unpack = _FLOAT32.pack, _FLOAT32.unpack


def _f32(value: float) -> float:
    return _unpack(_pack(value))[0]


def _round_half_away(value: float) -> int:
    """Rust's f32::round (half away from zero), for the non-negative values here."""
    return math.floor(value + 0.5)


def stored(value: float, places: int) -> float:
    """A number as Anki stores it in a card: float32, rounded to `places`
    (`storage/card/data.rs` round_to_places)."""
    factor = _f32(10.0 ** places)
    return _f32(_round_half_away(_f32(_f32(value) * factor)) / factor)


_FLOAT32_PAIR = struct.Struct("ff")
_pack2, _unpack2 = _FLOAT32_PAIR.pack, _FLOAT32_PAIR.unpack
_STABILITY_FACTOR, _DIFFICULTY_FACTOR = _f32(10.0 ** 4), _f32(10.0 ** 3)


def stored_memory(stability: float, difficulty: float) -> tuple[float, float]:
    """`stored(stability, 4), stored(difficulty, 3)` in one go: the same
    float32 steps, two numbers a pack (a replay does this once a review)."""
    floor = math.floor
    s, d = _unpack2(_pack2(stability, difficulty))
    s, d = _unpack2(_pack2(s * _STABILITY_FACTOR, d * _DIFFICULTY_FACTOR))
    return _unpack2(_pack2(floor(s + 0.5) / _STABILITY_FACTOR,
                           floor(d + 0.5) / _DIFFICULTY_FACTOR))


@dataclass(frozen=True)
class Memory:
    """A card's memory state: the cache that replaying its reviews rebuilds.
    The fields are Anki's card fields: `remaining_steps` is its `left`, `interval`
    its `ivl` (the days the last review or lapse scheduled)."""

    state: int = NEW
    remaining_steps: int = 0
    stability: float | None = None
    difficulty: float | None = None
    due: int | None = None  # ms since the epoch, UTC; None while new
    last_review: int | None = None
    reps: int = 0
    lapses: int = 0
    interval: int = 0


class Decision(NamedTuple):
    """What the scheduler decided at one review, as the review log keeps it."""

    state: int  # the card's state after the answer
    remaining_steps: int
    interval: int  # days (Anki's ivl after the answer)
    due: int  # ms, UTC
    elapsed_days: int  # the days since the previous review, as FSRS counted them


class LoggedReview(NamedTuple):
    """A review as a replay reads it: when, the rating, and its decision if the
    log kept one (reviews imported from elsewhere may not have one)."""

    reviewed_at: int
    rating: int
    decision: Decision | None = None


class StateSet(NamedTuple):
    """What a `set-state` event sets besides the interval and due date: a
    card's state as another program held it. A stability, difficulty or last
    review left None keeps what the replay had."""

    state: int
    remaining_steps: int = 0
    stability: float | None = None
    difficulty: float | None = None
    last_review: int | None = None  # ms
    reps: int = 0
    lapses: int = 0


class LoggedEvent(NamedTuple):
    """A change to a card's schedule that is not an answer, kept in the log as
    Anki keeps its Manual and Rescheduled revlog entries: `reschedule` (new
    interval and due date under changed settings), `forget` (back to new, the
    history kept) and `forget-counts` (also its review and lapse counts); and
    `set-state`: the card as another program held it (an Anki package whose
    memory states its log does not replay to: a history from before FSRS,
    parameters changed since the reviews), from where the later reviews go
    on, as Anki's own starting state for a truncated history."""

    at: int
    kind: str
    interval: int = 0
    due: int = 0
    sets: StateSet | None = None


EVENT_KINDS = ("reschedule", "forget", "forget-counts", "set-state")


def event_order(event: LoggedEvent) -> tuple[int, str]:
    """Where an event falls among a card's others: by time."""
    return event.at, event.kind


@dataclass(frozen=True)
class Outcome:
    memory: Memory
    decision: Decision
    leech: bool  # this answer made the card a leech (again)


class Choice(NamedTuple):
    """One answer button's outcome: its state and a step's seconds or review's days."""

    state: int
    secs: int
    days: int


class _Next(NamedTuple):
    """One answer's next state, before it is applied to the card (Anki's CardState)."""

    state: int
    remaining_steps: int = 0
    secs: int = 0  # learning/relearning: the step's delay
    days: int = 0  # review: scheduled days; relearning: the review's interval
    leech: bool = False
    memory: tuple[float, float] | None = None


def fuzz_delta(interval: float) -> float:
    """1 day, plus 15 % of the days in 2.5-7, 10 % in 7-20 and 5 % beyond."""
    if interval < 2.5:
        return 0.0
    if interval <= 7.0:
        return 1.0 + 0.15 * (interval - 2.5)
    if interval <= 20.0:
        return 1.675 + 0.1 * (interval - 7.0)
    return 2.975 + 0.05 * (interval - 20.0)


def fuzz_bounds(interval: float, minimum: int, maximum: int) -> tuple[int, int]:
    """The days a fuzzed `interval` may land on, inside [minimum, maximum]
    (Anki's constrained_fuzz_bounds)."""
    # min/max written out: a rebuild runs this a million times
    if minimum > maximum:
        minimum = maximum
    if interval < minimum:
        interval = float(minimum)
    if interval > maximum:
        interval = float(maximum)
    delta = fuzz_delta(interval)
    floor = math.floor
    lower = floor(interval - delta + 0.5)
    upper = floor(interval + delta + 0.5)
    least = minimum if minimum > 0 else 0  # never below 0 days
    lower = least if lower < least else lower
    upper = least if upper < least else upper
    lower = maximum if lower > maximum else lower
    upper = maximum if upper > maximum else upper
    if upper == lower and 2 < upper < maximum:
        upper = lower + 1
    return lower, upper


def with_fuzz(fuzz: float | None, interval: float, minimum: int, maximum: int) -> int:
    if fuzz is None:
        return min(max(_round_half_away(interval), minimum), maximum)
    lower, upper = fuzz_bounds(interval, minimum, maximum)
    return math.floor(lower + fuzz * (1 + upper - lower))


def minimum_fuzz_interval(interval: float, previous: int, maximum: int) -> int:
    """Don't let fuzz shrink a review's interval (Anki's minimum_review_fuzz_interval)."""
    if math.floor(interval + 0.5) > previous:
        return previous + 1
    _, upper = fuzz_bounds(interval, 1, maximum)
    if previous <= upper:
        return previous
    return 0


def is_leech(lapses: int, threshold: int) -> bool:
    """At the threshold, then every ceil(threshold / 2) lapses more (Anki)."""
    if threshold <= 0:
        return False
    half = max(1, math.ceil(threshold / 2))
    return lapses >= threshold and (lapses - threshold) % half == 0


class _Steps:
    """Learning or relearning steps in seconds (`states/steps.rs`)."""

    def __init__(self, steps: Sequence[str]):
        self.secs = [int(parse_step(s).total_seconds()) for s in steps]

    def _index(self, remaining: int) -> int:
        total = len(self.secs)
        return min(max(total - remaining % 1000, 0), max(total - 1, 0))

    def again(self) -> int | None:
        return self.secs[0] if self.secs else None

    def hard(self, remaining: int) -> int | None:
        if not self.secs:
            return None
        index = self._index(remaining)
        current = self.secs[index]
        if index != 0:
            return current
        if len(self.secs) > 1:
            return _round_in_days((current + self.secs[1]) // 2)
        return _round_in_days(min(current * 3 // 2, current + DAY_SECS))

    def good(self, remaining: int) -> int | None:
        index = self._index(remaining) + 1
        return self.secs[index] if index < len(self.secs) else None

    def remaining_for_good(self, remaining: int) -> int:
        return max(len(self.secs) - (self._index(remaining) + 1), 0)

    def after(self, rating: int, remaining: int) -> tuple[int | None, int]:
        """Again, Hard or Good with `remaining` steps left: the next step's delay
        (None: past the last step) and the steps left after it."""
        if rating == 1:
            return self.again(), len(self.secs)
        if rating == 2:
            return self.hard(remaining), remaining
        return self.good(remaining), self.remaining_for_good(remaining)


def _round_in_days(secs: int) -> int:
    return _round_half_away(secs / DAY_SECS) * DAY_SECS if secs > DAY_SECS else secs


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
        # A replay asks for the same days again and again: UTC offsets and
        # rollovers fall on quarter hours in every zone, so a quarter hour's
        # timing is one answer, and a day's start is one.
        self._timings: dict[int, tuple[int, date]] = {}
        self._starts: dict[date, int] = {}

    def _local(self, ms: int) -> datetime:
        moment = to_datetime(ms)
        return moment.astimezone(self.tz) if self.tz else moment.astimezone()

    def day_of(self, ms: int) -> date:
        return (self._local(ms) - timedelta(hours=self.rollover)).date()

    def start_of(self, day: date) -> int:
        start = self._starts.get(day)
        if start is None:
            naive = datetime.combine(day, time(self.rollover))
            aware = naive.replace(tzinfo=self.tz) if self.tz else naive.astimezone()
            start = self._starts[day] = to_ms(aware)
            if len(self._starts) > 100_000:
                self._starts.clear()
        return start

    def bounds(self, ms: int) -> tuple[int, int]:
        """[start, end) of the learner's day that contains `ms`, in ms UTC."""
        day = self.day_of(ms)
        return self.start_of(day), self.start_of(day + timedelta(days=1))

    def timing(self, ms: int) -> Timing:
        """Today and the next rollover as Anki computes them at `ms`
        (`scheduler/timing.rs`): the rollover hour in the current UTC offset,
        plus exactly 24 hours once it has passed."""
        bucket = ms // 900_000
        known = self._timings.get(bucket)
        if known is None:
            local = self._local(bucket * 900_000)
            local = local.replace(tzinfo=timezone(local.utcoffset() or timedelta()))
            rollover = local.replace(hour=self.rollover, minute=0, second=0, microsecond=0)
            passed = rollover <= local
            next_day_at = (rollover + timedelta(days=1)) if passed else rollover
            today = local.date() if passed else local.date() - timedelta(days=1)
            known = self._timings[bucket] = (int(next_day_at.timestamp()), today)
            if len(self._timings) > 100_000:
                self._timings.clear()
        return Timing(ms // 1000, *known)


class Timing(NamedTuple):
    now_secs: int
    next_day_at: int  # secs, UTC
    today: date

    def fsrs_days_elapsed(self, last_review_ms: int | None) -> int:
        """Anki's days_elapsed for FSRS: whole days from the last review to the
        next rollover (so a review at 23:30 and one at 05:00 are a day apart)."""
        if last_review_ms is None:
            return 0
        return max(0, self.next_day_at - last_review_ms // 1000) // DAY_SECS

    @property
    def secs_until_rollover(self) -> int:
        return self.next_day_at - self.now_secs


class MemoryModel:
    """Turns (memory, rating, time) into the next memory and due date, as Anki does."""

    def __init__(self, settings: Settings):
        from fsrs_rs_python import DEFAULT_PARAMETERS, FSRS, MemoryState

        self.settings = settings
        self.parameters = list(settings.parameters or DEFAULT_PARAMETERS)
        self._fsrs = FSRS(self.parameters)
        self._memory_state = MemoryState
        self.desired_retention = settings.desired_retention
        self.learn = _Steps(settings.learning_steps)
        self.relearn = _Steps(settings.relearning_steps)
        self.maximum = max(1, settings.maximum_interval)
        self.fuzz = settings.fuzz
        self.leech_threshold = settings.leech_threshold
        self.day = LearnerDay(settings)
        # Anki shortens a step below half a day only when there are no steps
        # (fsrs_short_term_with_steps off, its default) and w17, w18 allow it.
        self.short_term = self.parameters[17] > 0 and self.parameters[18] > 0
        self.decay = -self.parameters[20]
        self.factor = 0.9 ** (1 / self.decay) - 1
        # replay_rows' lookups: quarter hour -> (next rollover, today's day
        # number), day number -> its start (ms)
        self._replay_timings: dict[int, tuple[int, int]] = {}
        self._replay_starts: dict[int, int] = {}

    # -- the FSRS part -----------------------------------------------------

    def next_states(self, memory: Memory, elapsed_days: int) -> NextStates:
        state = None
        if memory.state != NEW and memory.stability is not None \
                and memory.difficulty is not None:
            state = self._memory_state(memory.stability, memory.difficulty)
        return self._fsrs.next_states(state, self.desired_retention, elapsed_days)

    @staticmethod
    def _kept(item: Any) -> tuple[float, float]:
        memory = item.memory
        return stored_memory(memory.stability, memory.difficulty)

    def retrievability(self, memory: Memory, at_ms: int) -> float:
        if memory.state == NEW or not memory.stability or memory.last_review is None:
            return 0.0
        days = max(0.0, (at_ms - memory.last_review) / 86_400_000)
        return float((1 + self.factor * days / memory.stability) ** self.decay)

    # -- the state machine (Anki's states/*.rs) ----------------------------

    def _fuzz_draw(self, card_id: str, reps: int) -> float | None:
        """Uniform in [0, 1) from (card id, reps), as Anki seeds its fuzz from
        the card id plus its review count: a replay draws the same."""
        if not self.fuzz:
            return None
        digest = hashlib.blake2b(f"{card_id}:{reps}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def _graduate(self, fuzz: float | None, interval: float) -> int:
        return with_fuzz(fuzz, max(float(_round_half_away(interval)), 1.0), 1, self.maximum)

    def _next(self, memory: Memory, rating: int, states: NextStates,
              fuzz: float | None) -> _Next:
        item = (states.again, states.hard, states.good, states.easy)[rating - 1]
        kept = self._kept(item)
        if memory.state in (NEW, LEARNING):
            return self._learning(memory, rating, item, kept, states, fuzz)
        if memory.state == REVIEW:
            return self._review(memory, rating, item, kept, states, fuzz)
        return self._relearning(memory, rating, item, kept, states, fuzz)

    def _easy_days(self, states: NextStates, fuzz: float | None) -> int:
        good = with_fuzz(fuzz, states.good.interval, 1, self.maximum)
        easy = max(float(_round_half_away(states.easy.interval)), 1.0)
        return with_fuzz(fuzz, easy, min(good + 1, self.maximum), self.maximum)

    def _learning(self, memory: Memory, rating: int, item: Any, kept: tuple[float, float],
                  states: NextStates, fuzz: float | None) -> _Next:
        steps = self.learn
        remaining = len(steps.secs) if memory.state == NEW else memory.remaining_steps
        if rating == 4:
            return _Next(REVIEW, days=self._easy_days(states, fuzz), memory=kept)
        delay, left = steps.after(rating, remaining)
        if delay is not None:
            return _Next(LEARNING, remaining_steps=left, secs=delay, memory=kept)
        if self.short_term and not steps.secs and item.interval < 0.5:
            return _Next(LEARNING, remaining_steps=left, secs=int(item.interval * DAY_SECS),
                         memory=kept)
        return _Next(REVIEW, days=self._graduate(fuzz, item.interval), memory=kept)

    def _review(self, memory: Memory, rating: int, item: Any, kept: tuple[float, float],
                states: NextStates, fuzz: float | None) -> _Next:
        if rating == 1:
            lapses = memory.lapses + 1
            days = item.interval
            leech = is_leech(lapses, self.leech_threshold)
            review_days = max(_round_half_away(days), 1)
            again = self.relearn.again()
            if again is not None:
                return _Next(RELEARNING, remaining_steps=len(self.relearn.secs), secs=again,
                             days=review_days, leech=leech, memory=kept)
            if self.short_term and days < 0.5:
                return _Next(RELEARNING, remaining_steps=0, secs=int(days * DAY_SECS),
                             days=review_days, leech=leech, memory=kept)
            return _Next(REVIEW, days=review_days, leech=leech, memory=kept)
        previous, maximum = memory.interval, self.maximum
        floor = 1
        for grade, option in ((2, states.hard), (3, states.good), (4, states.easy)):
            minimum = max(minimum_fuzz_interval(option.interval, previous, maximum), floor)
            minimum = min(max(minimum, 1), maximum)
            days = with_fuzz(fuzz, option.interval, minimum, maximum)
            if grade == rating:
                return _Next(REVIEW, days=days, memory=kept)
            floor = days + 1
        raise ValueError(f"rating must be 1-4, got {rating!r}")

    def _relearning(self, memory: Memory, rating: int, item: Any, kept: tuple[float, float],
                    states: NextStates, fuzz: float | None) -> _Next:
        steps, remaining = self.relearn, memory.remaining_steps
        if rating == 4:
            return _Next(REVIEW, days=self._easy_days(states, fuzz), memory=kept)
        delay, left = steps.after(rating, remaining)
        if rating == 1 and delay is not None:  # a lapse's interval is set again
            return _Next(RELEARNING, remaining_steps=left, secs=delay,
                         days=max(_round_half_away(item.interval), 1), memory=kept)
        if delay is not None:
            return _Next(RELEARNING, remaining_steps=left, secs=delay, days=memory.interval,
                         memory=kept)
        days = self._graduate(fuzz, item.interval)
        if self.short_term and not steps.secs and item.interval < 0.5:
            return _Next(RELEARNING, remaining_steps=left, secs=int(item.interval * DAY_SECS),
                         days=days, memory=kept)
        return _Next(REVIEW, days=days, memory=kept)

    # -- applying a next state to the card (Anki's answering/*.rs) ----------

    @staticmethod
    def _learning_fuzz(draw: float | None, secs: int) -> int:
        """A learning step's own fuzz: up to 25 % longer, at most 5 minutes."""
        upper = secs + min(math.floor(secs * 0.25), 300)
        if draw is None or secs >= upper:
            return secs
        return secs + int(draw * (upper - secs))

    def _due(self, nxt: _Next, timing: Timing, fuzz: float | None) -> int:
        if nxt.state == REVIEW:
            return self.day.start_of(timing.today + timedelta(days=nxt.days))
        if nxt.secs >= timing.secs_until_rollover:
            days = (nxt.secs - timing.secs_until_rollover) // DAY_SECS + 1
            return self.day.start_of(timing.today + timedelta(days=days))
        return (timing.now_secs + self._learning_fuzz(fuzz, nxt.secs)) * 1000

    def answer(self, card_id: str, memory: Memory, rating: int, at_ms: int) -> Outcome:
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, got {rating!r}")
        timing = self.day.timing(at_ms)
        elapsed = timing.fsrs_days_elapsed(memory.last_review)
        states = self.next_states(memory, elapsed)
        fuzz = self._fuzz_draw(card_id, memory.reps)  # one draw, as Anki's one seed
        nxt = self._next(memory, rating, states, fuzz)
        due = self._due(nxt, timing, fuzz)
        interval = nxt.days if nxt.state in (REVIEW, RELEARNING) else memory.interval
        decision = Decision(nxt.state, nxt.remaining_steps, interval, due, elapsed)
        return Outcome(self._apply(memory, decision, rating, at_ms, nxt.memory), decision,
                       nxt.leech)

    @staticmethod
    def _apply(memory: Memory, decision: Decision, rating: int, at_ms: int,
               kept: tuple[float, float] | None) -> Memory:
        lapse = memory.state == REVIEW and rating == 1
        return Memory(
            state=decision.state, remaining_steps=decision.remaining_steps,
            stability=kept[0] if kept else None, difficulty=kept[1] if kept else None,
            due=decision.due, last_review=at_ms, reps=memory.reps + 1,
            lapses=memory.lapses + (1 if lapse else 0), interval=decision.interval)

    def choices(self, card_id: str, memory: Memory, at_ms: int) -> dict[int, Choice]:
        """What each answer would do: the state, a step's seconds or a review's
        days (Anki's SchedulingStates, before a learning step's own fuzz)."""
        timing = self.day.timing(at_ms)
        states = self.next_states(memory, timing.fsrs_days_elapsed(memory.last_review))
        fuzz = self._fuzz_draw(card_id, memory.reps)
        out = {}
        for rating in (1, 2, 3, 4):
            nxt = self._next(memory, rating, states, fuzz)
            out[rating] = Choice(nxt.state, nxt.secs, nxt.days)
        return out

    def previews(self, card_id: str, memory: Memory, at_ms: int) -> dict[int, float]:
        """Seconds until each answer would bring the card back, as Anki's buttons
        count them: a step that reaches past the rollover counts in days."""
        timing = self.day.timing(at_ms)
        out = {}
        for rating, nxt in self.choices(card_id, memory, at_ms).items():
            if nxt.state == REVIEW:
                out[rating] = float(nxt.days * DAY_SECS)
            elif nxt.secs >= timing.secs_until_rollover:
                out[rating] = float(((nxt.secs - timing.secs_until_rollover) // DAY_SECS + 1)
                                    * DAY_SECS)
            else:
                out[rating] = float(nxt.secs)
        return out

    # -- replaying the log ---------------------------------------------------

    def reschedule(self, card_id: str, memory: Memory, now_ms: int,
                   previous_interval: int) -> LoggedEvent | None:
        """A review card's interval and due date recomputed under the current
        settings, from its last review (Anki's "reschedule cards on change",
        `fsrs/memory_state.rs`), or None when the card isn't in review."""
        if memory.state != REVIEW or memory.stability is None or memory.last_review is None:
            return None
        timing = self.day.timing(now_ms)
        elapsed = timing.fsrs_days_elapsed(memory.last_review)
        interval = self._fsrs.next_interval(memory.stability, self.desired_retention, 0)
        minimum = max(minimum_fuzz_interval(interval, previous_interval, self.maximum), 1)
        days = with_fuzz(self._fuzz_draw(card_id, max(memory.reps - 1, 0)), interval,
                         min(minimum, self.maximum), self.maximum)
        due = self.day.start_of(timing.today + timedelta(days=days - elapsed))
        # after the last review, in a replay's order too
        return LoggedEvent(max(now_ms, memory.last_review + 1), "reschedule", days, due)

    @staticmethod
    def apply_event(memory: Memory, event: LoggedEvent) -> Memory:
        if event.kind == "set-state":
            sets = event.sets
            if sets is None:
                return memory
            return Memory(
                state=sets.state, remaining_steps=sets.remaining_steps,
                stability=memory.stability if sets.stability is None else sets.stability,
                difficulty=memory.difficulty if sets.difficulty is None else sets.difficulty,
                due=None if sets.state == NEW else event.due,
                last_review=memory.last_review if sets.last_review is None else sets.last_review,
                reps=sets.reps, lapses=sets.lapses, interval=event.interval)
        if event.kind == "reschedule":
            if memory.state != REVIEW:
                return memory
            # written out, not dataclasses.replace: a rescheduling rebuild does it per card
            m = memory
            return Memory(m.state, m.remaining_steps, m.stability, m.difficulty, event.due,
                          m.last_review, m.reps, m.lapses, event.interval)
        if event.kind == "forget-counts":
            return Memory()
        return Memory(reps=memory.reps, lapses=memory.lapses)

    def replay(self, card_id: str, reviews: Iterable[LoggedReview],
               events: Sequence[LoggedEvent] = ()) -> tuple[Memory, list[tuple[int, Decision]]]:
        """A card's reviews in order -> its memory now, and for each review the
        state it found the card in and the decision it kept. A review whose
        decision the log kept gets the same decision again (a settings change
        since doesn't rewrite history); stability and difficulty are always
        recomputed with the current parameters from the kept day counts.
        A review without one is answered as `answer` answers it.
        `events` (reschedules, forgets) apply at their time among the reviews."""
        memory, rows = self.replay_rows(card_id, reviews, events)
        return memory, [(row[0], Decision(*row[1:])) for row in rows]

    def replay_rows(self, card_id: str,
                    reviews: Iterable[tuple[int, int, Sequence[int] | None]],
                    events: Sequence[LoggedEvent] = ()) -> tuple[Memory, list[ReplayRecord]]:
        """`replay`, for the whole log's rebuild: each review (reviewed_at,
        rating, the kept decision's five fields or None), each record flat
        (state before, *decision). The card's state lives in locals and a
        review without a kept decision is `answer` written out on them (the
        same steps in the same order, each button's interval read only when
        the rating needs it): a rebuild of an imported log runs it a million
        times. tests/test_replay_fast.py holds it equal to `answer`."""
        state, left, stability, difficulty = NEW, 0, None, None
        due: int | None = None
        last: int | None = None
        reps = lapses = interval = 0
        records: list[ReplayRecord] = []
        append = records.append
        pending = sorted(events, key=event_order) if events else None
        next_states, retention = self._fsrs.next_states, self.desired_retention
        memory_state = self._memory_state
        timings, starts = self._replay_timings, self._replay_starts
        learn, relearn = self.learn, self.relearn
        n_learn, n_relearn = len(learn.secs), len(relearn.secs)
        first_relearn = relearn.secs[0] if relearn.secs else None
        short_term, maximum = self.short_term, self.maximum
        fuzz_key = f"{card_id}:".encode() if self.fuzz else None
        for at, rating, kept in reviews:
            if pending and pending[0].at < at:
                memory = Memory(state, left, stability, difficulty, due, last, reps, lapses,
                                interval)
                while pending and pending[0].at < at:
                    memory = self.apply_event(memory, pending.pop(0))
                state, left, stability, difficulty = (memory.state, memory.remaining_steps,
                                                      memory.stability, memory.difficulty)
                due, last, reps, lapses, interval = (memory.due, memory.last_review,
                                                     memory.reps, memory.lapses,
                                                     memory.interval)
            before = state
            current = None
            if before != NEW and stability is not None and difficulty is not None:
                current = memory_state(stability, difficulty)
            if kept is not None:
                states = next_states(current, retention, kept[4])
                button = _BUTTONS.get(rating)
                if button is None:  # as `_next` indexes: a log's odd rating reads the same
                    item = (states.again, states.hard, states.good, states.easy)[rating - 1].memory
                else:
                    item = getattr(states, button).memory
                stability, difficulty = stored_memory(item.stability, item.difficulty)
                if before == REVIEW and rating == 1:
                    lapses += 1
                state, left, interval, due = kept[0], kept[1], kept[2], kept[3]
                last = at
                reps += 1
                append((before, state, left, interval, due, kept[4]))
                continue
            # -- `answer`, on the locals --
            if rating not in (1, 2, 3, 4):
                raise ValueError(f"rating must be 1-4, got {rating!r}")
            known = timings.get(at // 900_000)
            if known is None:
                known = self._replay_timing(at)
            next_day_at, today = known
            now_secs = at // 1000
            elapsed = 0 if last is None else max(0, next_day_at - last // 1000) // DAY_SECS
            states = next_states(current, retention, elapsed)
            option = getattr(states, _BUTTONS[rating])
            item = option.memory
            new_stability, new_difficulty = stored_memory(item.stability, item.difficulty)
            fuzz = None
            if fuzz_key is not None:
                digest = blake2b(fuzz_key + b"%d" % reps, digest_size=8).digest()
                fuzz = int.from_bytes(digest, "big") / 2**64
            secs = days = new_left = 0
            if state == REVIEW:
                if rating == 1:
                    lapses += 1
                    lapsed = option.interval
                    days = _round_half_away(lapsed)
                    days = days if days > 1 else 1
                    if first_relearn is not None:
                        new_state, new_left, secs = RELEARNING, n_relearn, first_relearn
                    elif short_term and lapsed < 0.5:
                        new_state, secs = RELEARNING, int(lapsed * DAY_SECS)
                    else:
                        new_state = REVIEW
                else:
                    new_state = REVIEW
                    days = _review_days(fuzz, states.hard.interval, interval, 1, maximum)
                    if rating > 2:
                        days = _review_days(fuzz, states.good.interval, interval, days + 1,
                                            maximum)
                        if rating == 4:
                            days = _review_days(fuzz, states.easy.interval, interval,
                                                days + 1, maximum)
            elif rating == 4:  # new, learning or relearning
                new_state, days = REVIEW, self._easy_days(states, fuzz)
            elif state == NEW or state == LEARNING:
                delay, new_left = learn.after(rating, n_learn if state == NEW else left)
                if delay is not None:
                    new_state, secs = LEARNING, delay
                elif short_term and not n_learn and option.interval < 0.5:
                    new_state, secs = LEARNING, int(option.interval * DAY_SECS)
                else:
                    new_state, new_left = REVIEW, 0
                    days = self._graduate(fuzz, option.interval)
            else:  # relearning (or a state no answer gives: as `_next`)
                delay, new_left = relearn.after(rating, left)
                if rating == 1 and delay is not None:
                    new_state, secs = RELEARNING, delay
                    days = _round_half_away(option.interval)
                    days = days if days > 1 else 1
                elif delay is not None:
                    new_state, secs, days = RELEARNING, delay, interval
                else:
                    days = self._graduate(fuzz, option.interval)
                    if short_term and not n_relearn and option.interval < 0.5:
                        new_state, secs = RELEARNING, int(option.interval * DAY_SECS)
                    else:
                        new_state, new_left = REVIEW, 0
            day: int | None
            if new_state == REVIEW:
                day = today + days
            else:
                until = next_day_at - now_secs
                day = today + (secs - until) // DAY_SECS + 1 if secs >= until else None
            if day is None:
                due = (now_secs + self._learning_fuzz(fuzz, secs)) * 1000
            else:
                due = starts.get(day)
                if due is None:
                    due = self._replay_start(today, day)
            if new_state != LEARNING:
                interval = days
            state, left, stability, difficulty = new_state, new_left, new_stability, new_difficulty
            last = at
            reps += 1
            append((before, state, left, interval, due, elapsed))
        memory = Memory(state, left, stability, difficulty, due, last, reps, lapses, interval)
        if pending:
            for event in pending:
                memory = self.apply_event(memory, event)
        return memory, records

    def _replay_timing(self, at_ms: int) -> tuple[int, int]:
        """The next rollover (secs) and today (a day number) of `timing`, as a
        replay looks them up by quarter hour."""
        if len(self._replay_timings) > 100_000:
            self._replay_timings.clear()
        timing = self.day.timing(at_ms)
        known = self._replay_timings[at_ms // 900_000] = (timing.next_day_at,
                                                           timing.today.toordinal())
        return known

    def _replay_start(self, today: int, day: int) -> int:
        """The start of the learner's day `day` (a day number) `day - today`
        days after today, as `_due` reaches it."""
        if len(self._replay_starts) > 100_000:
            self._replay_starts.clear()
        start = self._replay_starts[day] = self.day.start_of(
            date.fromordinal(today) + timedelta(days=day - today))
        return start


def _review_days(fuzz: float | None, interval: float, previous: int, floor: int,
                 maximum: int) -> int:
    """A review's Hard, Good or Easy days (Anki's review.rs): fuzzed, never
    below `floor` (the button before it plus a day), as `_review` does it."""
    minimum = minimum_fuzz_interval(interval, previous, maximum)
    if minimum < floor:
        minimum = floor
    if minimum < 1:
        minimum = 1
    if minimum > maximum:
        minimum = maximum
    return with_fuzz(fuzz, interval, minimum, maximum)


_BUTTONS = {1: "again", 2: "hard", 3: "good", 4: "easy"}
ReplayRecord = tuple[int, int, int, int, int, int]  # state before, *Decision


class PresetModels:
    """A memory model per preset, each built when a card of a deck using it
    first needs one: a card is scheduled by its deck's preset (its steps,
    retention, maximum interval, leech threshold and FSRS parameters), as
    Anki schedules a card by its deck's options."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._models: dict[str, MemoryModel] = {}

    def named(self, preset: str) -> MemoryModel:
        model = self._models.get(preset)
        if model is None:
            model = self._models[preset] = MemoryModel(self.settings.preset(preset))
        return model

    def for_deck(self, deck_id: str | None) -> MemoryModel:
        return self.named(self.settings.preset_of(deck_id))


# Anki's units for a span (rslib/src/scheduler/timespan.rs): a month is a
# twelfth of 365 days.
_SPAN_UNITS = ((60.0, 1.0, "s"), (3600.0, 60.0, "m"), (86400.0, 3600.0, "h"),
               (365 * 86400 / 12, 86400.0, "d"), (365 * 86400.0, 365 * 86400 / 12, "mo"),
               (math.inf, 365 * 86400.0, "y"))


def format_interval(seconds: float) -> str:
    """What Anki puts above an answer button (timespan.rs answer_button_time):
    30s, 6m, 1.5h, 4d, 1.5mo, 2.2y; seconds, minutes and days whole, hours,
    months and years to one decimal, computed in f32 as Anki does."""
    secs = _f32(max(0.0, seconds))
    for limit, size, suffix in _SPAN_UNITS:
        if abs(secs) < _f32(limit):
            break
    amount = _f32(secs / _f32(size))
    if suffix in ("s", "m", "d"):
        amount = float(_round_half_away(amount))
    else:
        amount = _f32(_round_half_away(_f32(amount * 10)) / 10)
    return f"{amount:g}{suffix}"
