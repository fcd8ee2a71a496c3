"""The read model: every number Home, Stats, the review summary, the HTML report,
`companion stats` (and its --json) and Browse's card detail show, computed here
from named store reads and returned as frozen dataclasses. The faces only
format them, so the same number can't differ between two of them.

Periods are learner's days (local time, rolling over at `day_starts_at`, as
Anki counts them): "Last 7 days" is today and the six learner's days before it.
The arithmetic over review rows lives in `companion.progress`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, timedelta
from typing import Any

from companion import progress
from companion.progress import Retention, ReviewRow
from companion.scheduler import NEW, LearnerDay, Memory, MemoryModel, PresetModels, to_datetime
from companion.session import CardView, Counts, Queue
from companion.settings import Settings
from companion.store import LabRunRow, MetricPoint, Reads, now_ms

# (label, learner's days ending today; None: the whole log). Every face shows these.
PERIODS: tuple[tuple[str, int | None], ...] = (
    ("Today", 1), ("Last 7 days", 7), ("Last 30 days", 30), ("Last year", 365),
    ("All time", None))
FORECAST_DAYS = 30
PER_DAY_DAYS = 30  # the Stats screen's bars of answers per day
CALENDAR_DAYS = 371  # 53 weeks: Home's calendar and the report's heatmap
YEAR_DAYS = 365
RETENTION_WEEKS = 26  # the report's weekly retention chart
HARDEST = 15  # cards in the report's "hardest cards" table
RECENT_RUNS = 10  # lab runs `companion stats` lists
REPORT_RUNS = 30  # lab runs the report lists


def period_start(day: LearnerDay, today: date, days: int | None) -> int | None:
    """When a period of `days` learner's days ending today begins (ms UTC);
    None for the whole log. The one definition every face's periods use."""
    return None if days is None else day.start_of(today - timedelta(days=days - 1))


def percent(value: Retention | float | None) -> str:
    """A rate as every face shows it: 61.3%, or — when nothing was counted."""
    rate = value.rate if isinstance(value, Retention) else value
    return "—" if rate is None else f"{rate:.1%}"


# -- the numbers ---------------------------------------------------------------


@dataclass(frozen=True)
class PeriodRetention:
    """True retention over one period, split as Anki splits it (young: the
    interval before the answer was under 21 days)."""

    label: str
    days: int | None
    young: Retention
    mature: Retention

    @property
    def all(self) -> Retention:
        return self.young + self.mature


@dataclass(frozen=True)
class GroupRow:
    """A deck or a tag: its live cards, how many were studied, answers, lapses,
    and the true retention of its cards over the whole log."""

    id: str
    name: str
    cards: int
    studied: int
    answers: int
    lapses: int
    retention: Retention


@dataclass(frozen=True)
class Recall:
    """FSRS's probability of recall now, for every studied, active card."""

    cards: int
    would_recall: float  # the sum: how many of them the learner would recall now
    mean: float | None
    deck: dict[str, float] = field(default_factory=dict)  # deck id -> mean
    tag: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RecallPoint:
    """One free-recall attempt (companion.recall) as Stats shows it."""

    day: date  # the learner's day it was made
    recalled: int
    ideas: int

    @property
    def rate(self) -> float:
        return self.recalled / self.ideas if self.ideas else 0.0


@dataclass(frozen=True)
class RecallTrend:
    """A section's free-recall attempts, oldest first: its recall rate over time."""

    section: str
    attempts: tuple[RecallPoint, ...]

    @property
    def first(self) -> float:
        return self.attempts[0].rate

    @property
    def latest(self) -> float:
        return self.attempts[-1].rate


@dataclass(frozen=True)
class Overview:
    """What `companion stats`, its --json and the Stats screen show."""

    now: int
    today: date
    desired: float
    cards: int  # live cards
    studied: int  # live cards answered at least once
    reviews: int  # answers ever given
    streak: int
    retention: tuple[PeriodRetention, ...]
    forecast: tuple[int, ...]  # cards due on each of the next FORECAST_DAYS days, today first
    per_day: dict[date, int]  # answers on each learner's day that has any
    seconds: dict[date, float]  # time spent answering, per learner's day
    decks: tuple[GroupRow, ...]
    tags: tuple[GroupRow, ...]
    recall: Recall
    runs: tuple[LabRunRow, ...]  # the newest RECENT_RUNS
    free_recall: tuple[RecallTrend, ...] = ()  # per section, the sections first tried first

    def last_days(self, days: int) -> list[tuple[date, int]]:
        """Answers on each of the last `days` learner's days, oldest first."""
        return progress.calendar(self.per_day, self.today - timedelta(days=days - 1), self.today)


@dataclass(frozen=True)
class DeckRow:
    id: str
    name: str
    counts: Counts  # its cards and its subdecks', within its limits
    cards: int
    depth: int = 0  # 0 for a top-level deck, 1 for its subdecks, ...


@dataclass(frozen=True)
class HomeData:
    decks: tuple[DeckRow, ...]
    total: Counts
    answered_today: int
    seconds_today: int
    streak: int
    calendar: dict[date, int]  # answers per learner's day over the last CALENDAR_DAYS
    year: int  # answers in the last YEAR_DAYS learner's days
    today: date
    cards: int
    reviews: int  # answers ever given


@dataclass(frozen=True)
class ReportData:
    """The HTML report: the overview plus what only the report draws."""

    overview: Overview
    generated: datetime
    weekly: tuple[tuple[date, Retention], ...]  # each week's first day, its true retention
    calendar: tuple[tuple[date, int], ...]
    hardest: tuple[dict[str, Any], ...]
    runs: tuple[LabRunRow, ...]  # the newest REPORT_RUNS
    curves: dict[int, list[MetricPoint]] = field(default_factory=dict)


@dataclass(frozen=True)
class CardDetail:
    card: CardView
    deck_name: str
    recall: float | None  # probability of recall now; None for a new card
    history: list[ReviewRow] = field(default_factory=list)  # newest first
    durations: list[int] = field(default_factory=list)
    buried: bool = False  # buried for the rest of the learner's day


# -- computing them -------------------------------------------------------------


def _retention(reviews: list[ReviewRow], day: LearnerDay,
               today: date) -> tuple[PeriodRetention, ...]:
    return tuple(PeriodRetention(label, days, *progress.retention_young_mature(
        reviews, day, start_ms=period_start(day, today, days))) for label, days in PERIODS)


def recall_now(store: Reads, settings: Settings, now: int) -> Recall:
    """FSRS retrievability of every studied, active card now: averaged per deck
    and per tag, and summed (the number of cards the learner would recall)."""
    models = PresetModels(settings)
    per_deck: dict[str, list[float]] = defaultdict(list)
    per_tag: dict[str, list[float]] = defaultdict(list)
    for card in store.studied_memories():
        memory = Memory(state=card.state, stability=card.stability,
                        last_review=card.last_review)
        r = models.for_deck(card.deck_id).retrievability(memory, now)
        per_deck[card.deck_id].append(r)
        for tag in (card.tags or "").split():
            per_tag[tag].append(r)
    everything = [r for rs in per_deck.values() for r in rs]
    return Recall(
        cards=len(everything), would_recall=sum(everything),
        mean=sum(everything) / len(everything) if everything else None,
        deck={k: sum(v) / len(v) for k, v in per_deck.items()},
        tag={k: sum(v) / len(v) for k, v in per_tag.items()})


def _groups(store: Reads, reviews: list[ReviewRow], day: LearnerDay
            ) -> tuple[tuple[GroupRow, ...], tuple[GroupRow, ...]]:
    """Decks by name, then tags by size: cards, studied, answers, lapses, retention."""
    membership: dict[str, tuple[str, list[str]]] = {}
    deck_stats: dict[str, list[int]] = {}  # cards, studied, lapses
    tag_stats: dict[str, list[int]] = {}
    for card in store.card_groups():
        tag_list = (card.tags or "").split()
        membership[card.id] = (card.deck_id, tag_list)
        for key, table in [(card.deck_id, deck_stats)] + [(t, tag_stats) for t in tag_list]:
            row = table.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += (card.reps or 0) > 0
            row[2] += card.lapses or 0
    names = store.deck_names()
    deck_ret, deck_answers, tag_ret, tag_answers = progress.by_deck_and_tag(
        reviews, day, membership)
    decks = tuple(GroupRow(d, names.get(d) or d, cards, studied, deck_answers.get(d, 0), lapses,
                           deck_ret.get(d, Retention()))
                  for d, (cards, studied, lapses) in sorted(
                      deck_stats.items(), key=lambda kv: names.get(kv[0]) or kv[0]))
    tags = tuple(GroupRow(t, t, cards, studied, tag_answers.get(t, 0), lapses,
                          tag_ret.get(t, Retention()))
                 for t, (cards, studied, lapses) in sorted(
                     tag_stats.items(), key=lambda kv: (-kv[1][0], kv[0])))
    return decks, tags


def lab_runs(store: Reads, limit: int) -> tuple[LabRunRow, ...]:
    """The newest runs, their parameters and summary decoded (the store shows
    a value that doesn't decode as text instead of raising)."""
    return tuple(store.lab_runs(limit=limit))


def overview(store: Reads, settings: Settings, now: int | None = None,
             reviews: list[ReviewRow] | None = None) -> Overview:
    now = now_ms() if now is None else now
    day = LearnerDay(settings)
    today = day.day_of(now)
    reviews = store.reviews() if reviews is None else reviews
    per_day: dict[date, int] = defaultdict(int)
    seconds: dict[date, float] = defaultdict(float)
    for review, on in zip(reviews, progress.learner_days((r.reviewed_at for r in reviews), day)):
        per_day[on] += 1
        seconds[on] += (review.duration_ms or 0) / 1000
    decks, tags = _groups(store, reviews, day)
    cards, studied = store.live_card_totals()
    return Overview(
        now=now, today=today, desired=settings.desired_retention, cards=cards, studied=studied,
        reviews=len(reviews), streak=progress.streak(per_day, today),
        retention=_retention(reviews, day, today),
        forecast=tuple(progress.forecast(store.due_times(), day, now, FORECAST_DAYS)),
        per_day=dict(per_day), seconds=dict(seconds), decks=decks, tags=tags,
        recall=recall_now(store, settings, now), runs=lab_runs(store, RECENT_RUNS),
        free_recall=free_recall(store, day))


def free_recall(store: Reads, day: LearnerDay) -> tuple[RecallTrend, ...]:
    """Every section's free-recall attempts, each on its learner's day."""
    by_section: dict[str, list[RecallPoint]] = {}
    attempts = store.recall_attempts()
    for attempt, on in zip(attempts, progress.learner_days((a.at for a in attempts), day)):
        by_section.setdefault(attempt.section, []).append(
            RecallPoint(on, attempt.recalled, attempt.ideas))
    return tuple(RecallTrend(name, tuple(points)) for name, points in by_section.items())


stats_data = overview  # the Stats screen's worker calls it by this name


def deck_rows(store: Reads, by_deck: dict[str, Counts]) -> tuple[DeckRow, ...]:
    """The live decks as a tree (each parent before its subdecks, siblings by
    name) with their counts: what Home and `companion due` list."""
    from companion.limits import DeckTree

    live = {d.id: d for d in store.live_decks()}
    tree = DeckTree(store.deck_parents())
    return tuple(DeckRow(deck_id, live[deck_id].name, by_deck.get(deck_id, Counts(0, 0, 0)),
                         live[deck_id].cards, depth)
                 for deck_id, depth in tree.in_order({k: d.name for k, d in live.items()})
                 if deck_id in live)


def home_data(store: Reads, settings: Settings, now: int) -> HomeData:
    """Home reads only the last CALENDAR_DAYS of the log: it draws at every start."""
    session = Queue(store, settings, clock=lambda: now)
    by_deck, total = session.overview(now)
    decks = deck_rows(store, by_deck)
    day = LearnerDay(settings)
    today = day.day_of(now)
    answered, seconds = store.answers_and_seconds_since(day.start_of(today))
    since = day.start_of(today - timedelta(days=CALENDAR_DAYS - 1))
    counts = progress.reviews_per_day(store.reviews(since_ms=since), day)
    streak = progress.streak(counts, today)
    if streak >= CALENDAR_DAYS - 1:  # a streak longer than the calendar: read the whole log
        streak = progress.streak(progress.reviews_per_day(store.reviews(), day), today)
    first_of_year = today - timedelta(days=YEAR_DAYS - 1)  # the period_start of YEAR_DAYS
    year = sum(n for on, n in counts.items() if on >= first_of_year)
    return HomeData(decks=decks, total=total, answered_today=answered,
                    seconds_today=seconds, streak=streak, calendar=counts, year=year,
                    today=today, cards=sum(d.cards for d in decks),
                    reviews=store.review_count())


def today_retention(store: Reads, settings: Settings, now: int) -> Retention:
    """True retention today: the review summary's line (the same as the
    overview's "Today" row)."""
    day = LearnerDay(settings)
    today = day.day_of(now)
    return progress.true_retention(
        store.reviews(since_ms=period_start(day, today, 1)), day)


def _weekly(reviews: list[ReviewRow], day: LearnerDay,
            today: date) -> tuple[tuple[date, Retention], ...]:
    """True retention per week (7 learner's days ending today), oldest first.
    Weeks start at a learner's day start, so a card's first answer of a day is
    the same within its week as in the whole log."""
    from bisect import bisect_left

    times = [r.reviewed_at for r in reviews]  # in time order
    out = []
    for back in range(RETENTION_WEEKS - 1, -1, -1):
        first = today - timedelta(days=7 * back + 6)
        start, end = day.start_of(first), day.start_of(first + timedelta(days=7))
        chunk = reviews[bisect_left(times, start):bisect_left(times, end)]
        out.append((first, progress.true_retention(chunk, day)))
    return tuple(out)


def report(store: Reads, settings: Settings, now: int | None = None) -> ReportData:
    now = now_ms() if now is None else now
    day = LearnerDay(settings)
    reviews = store.reviews()
    base = overview(store, settings, now, reviews=reviews)
    today = base.today
    first_day = today - timedelta(days=CALENDAR_DAYS - 1)
    runs = lab_runs(store, REPORT_RUNS)
    curves: dict[int, list[MetricPoint]] = {}
    for run in runs:  # the curves of the newest successful run of each lab
        if run.status != "ok" or any(r.lab == run.lab for r in runs if r.id in curves):
            continue
        points = store.lab_metrics(run.id)
        if points:
            curves[run.id] = points
    local = to_datetime(now).astimezone(day.tz) if day.tz else to_datetime(now).astimezone()
    return ReportData(
        overview=base, generated=local, weekly=_weekly(reviews, day, today),
        calendar=tuple(progress.calendar(base.per_day, first_day, today)),
        hardest=tuple(card._asdict() for card in store.hardest_cards(HARDEST)),
        runs=runs, curves=curves)


def card_detail(store: Reads, settings: Settings, card_id: str, now: int) -> CardDetail:
    session = Queue(store, settings)
    card = session.card(card_id)
    rows = store.card_history(card_id)
    recall = None
    if card.memory.state != NEW:
        recall = MemoryModel(settings.for_deck(card.deck_id)).retrievability(card.memory, now)
    _, day_end = LearnerDay(settings).bounds(now)
    buried = any((flags.buried_until or 0) >= day_end for flags in store.card_flags([card_id]))
    return CardDetail(card=card, deck_name=store.deck_names().get(card.deck_id) or card.deck_id,
                      recall=recall, history=rows,
                      durations=[r.duration_ms or 0 for r in rows], buried=buried)


# -- for scripts -------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """A read-model value as JSON-ready data: dates as ISO text, a retention as
    {passed, total, rate}, dataclasses as objects with their fields."""
    if isinstance(value, Retention):
        return {"passed": value.passed, "total": value.total, "rate": value.rate}
    if isinstance(value, PeriodRetention):
        return {"label": value.label, "days": value.days, "young": to_plain(value.young),
                "mature": to_plain(value.mature), "all": to_plain(value.all)}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {(k.isoformat() if isinstance(k, date) else str(k)): to_plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


__all__ = ["PERIODS", "period_start", "Overview", "HomeData", "ReportData", "CardDetail",
           "GroupRow", "PeriodRetention", "Recall", "RecallPoint", "RecallTrend", "LabRunRow",
           "overview", "home_data",
           "stats_data", "report", "card_detail", "today_retention", "recall_now",
           "to_plain", "percent", "free_recall"]
