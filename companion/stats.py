"""The read model: what Home, Stats, the report, `companion stats` and Browse's
card detail show, computed from named store reads. The faces only format it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from companion import progress
from companion.scheduler import LearnerDay, Memory, MemoryModel
from companion.session import CardView, Counts, ReviewSession
from companion.settings import Settings
from companion.store import Reads, Store, now_ms

CALENDAR_DAYS = 371  # 53 weeks: as much as the widest terminal shows
PERIODS = (("today", 0), ("7 days", 7), ("30 days", 30), ("365 days", 365))


def recall_now(store: Store, settings: Settings, now: int) -> dict[str, Any]:
    """FSRS retrievability of every studied, active card now: averaged per deck
    and per tag, and summed (the number of cards the learner would recall)."""
    model = MemoryModel(settings)
    per_deck: dict[str, list[float]] = defaultdict(list)
    per_tag: dict[str, list[float]] = defaultdict(list)
    for deck_id, tags, state, stability, last_review in store.conn.execute(
            "SELECT deck_id, tags, state, stability, last_review FROM cards "
            "WHERE retired = 0 AND suspended = 0 AND state != 0"):
        r = model.retrievability(Memory(state=state, stability=stability,
                                        last_review=last_review), now)
        per_deck[deck_id].append(r)
        for tag in (tags or "").split():
            per_tag[tag].append(r)
    everything = [r for rs in per_deck.values() for r in rs]
    return {
        "cards": len(everything),
        "would_recall": sum(everything),
        "mean": sum(everything) / len(everything) if everything else None,
        "deck": {k: sum(v) / len(v) for k, v in per_deck.items()},
        "tag": {k: sum(v) / len(v) for k, v in per_tag.items()},
    }


def gather(store: Store, settings: Settings, now: int | None = None) -> dict[str, Any]:
    now = now_ms() if now is None else now
    day = LearnerDay(settings)
    today = day.day_of(now)
    reviews = progress.load_reviews(store.conn)
    retention = {}
    for label, days in PERIODS:
        start = day.start_of(today - timedelta(days=days))
        young, mature = progress.retention_young_mature(reviews, day, start_ms=start)
        retention[label] = (young, mature, young + mature)
    per_day = progress.reviews_per_day(reviews, day)
    seconds: dict[Any, float] = defaultdict(float)
    # the same order as load_reviews, so the durations line up with its rows
    durations = [r[0] or 0 for r in store.conn.execute(
        "SELECT duration_ms FROM reviews ORDER BY reviewed_at, id")]
    for ms, on in zip(durations, progress.learner_days((r.reviewed_at for r in reviews), day)):
        seconds[on] += ms / 1000
    runs = store.conn.execute(
        "SELECT lab, card_id, status, started_at, summary FROM lab_runs "
        "ORDER BY started_at DESC LIMIT 10").fetchall()
    return {
        "now": now, "today": today, "retention": retention,
        "recall": recall_now(store, settings, now),
        "forecast": progress.forecast(progress.load_due_times(store.conn), day, now),
        "per_day": per_day, "seconds": seconds,
        "streak": progress.streak(per_day, today), "runs": runs,
    }


# -- home ------------------------------------------------------------------


@dataclass
class DeckRow:
    id: str
    name: str
    counts: Counts
    cards: int


@dataclass
class HomeData:
    decks: list[DeckRow]
    total: Counts
    answered_today: int
    seconds_today: int
    streak: int
    calendar: dict[date, int]
    today: date
    cards: int
    reviews: int  # answers ever given


def home_data(store: Reads, settings: Settings, now: int) -> HomeData:
    conn = store.conn
    session = ReviewSession(store, settings, clock=lambda: now)  # type: ignore[arg-type]
    by_deck = session.counts_by_deck(now)
    decks = []
    for deck_id, name, cards in conn.execute(
            "SELECT d.id, d.name, count(c.id) FROM decks d "
            "LEFT JOIN cards c ON c.deck_id = d.id AND c.retired = 0 "
            "WHERE d.retired = 0 GROUP BY d.id ORDER BY d.name"):
        decks.append(DeckRow(deck_id, name, by_deck.get(deck_id, Counts(0, 0, 0)), cards))
    day = LearnerDay(settings)
    today = day.day_of(now)
    start_today = day.start_of(today)
    answered, seconds = conn.execute(
        "SELECT count(*), coalesce(sum(duration_ms), 0) / 1000 FROM reviews "
        "WHERE reviewed_at >= ?", (start_today,)).fetchone()
    since = day.start_of(today - timedelta(days=CALENDAR_DAYS))
    times = [r[0] for r in conn.execute(
        "SELECT reviewed_at FROM reviews WHERE reviewed_at >= ? ORDER BY reviewed_at", (since,))]
    counts = dict(_count_days(times, day))
    streak = progress.streak(counts, today)
    if streak >= CALENDAR_DAYS - 1:  # a streak longer than the calendar: read the whole log
        every = [r[0] for r in conn.execute("SELECT reviewed_at FROM reviews ORDER BY reviewed_at")]
        streak = progress.streak(dict(_count_days(every, day)), today)
    total_reviews = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    return HomeData(decks=decks, total=session.counts(now), answered_today=answered,
                    seconds_today=seconds, streak=streak, calendar=counts, today=today,
                    cards=sum(d.cards for d in decks), reviews=total_reviews)


def _count_days(times: list[int], day: LearnerDay) -> dict[date, int]:
    out: dict[date, int] = {}
    for on in progress.learner_days(times, day):
        out[on] = out.get(on, 0) + 1
    return out


# -- stats -----------------------------------------------------------------

RETENTION_PERIODS = (("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30),
                     ("Last year", 365), ("All time", None))


@dataclass
class GroupRow:
    name: str
    cards: int
    answers: int
    retention: progress.Retention


@dataclass
class StatsData:
    desired: float
    today: date
    retention: list[tuple[str, progress.Retention]]
    forecast: list[int]
    per_day: list[tuple[date, int]]
    decks: list[GroupRow]
    tags: list[GroupRow]
    studied: int  # cards answered at least once
    cards: int
    reviews: int


def stats_data(store: Reads, settings: Settings, now: int) -> StatsData:
    conn = store.conn
    day = LearnerDay(settings)
    today = day.day_of(now)
    reviews = progress.load_reviews(conn)
    retention = []
    for label, days in RETENTION_PERIODS:
        start = None if days is None else day.start_of(today - timedelta(days=max(0, days - 1)))
        retention.append((label, progress.true_retention(reviews, day, start_ms=start)))
    forecast = progress.forecast(progress.load_due_times(conn), day, now, days=30)
    per_day = progress.calendar(progress.reviews_per_day(
        [r for r in reviews if r.reviewed_at >= day.start_of(today - timedelta(days=29))], day),
        today - timedelta(days=29), today)

    cards: dict[str, tuple[str, list[str]]] = {}
    deck_cards: dict[str, int] = {}
    tag_cards: dict[str, int] = {}
    for card_id, deck_id, tags in conn.execute(
            "SELECT id, deck_id, tags FROM cards WHERE retired = 0"):
        tag_list = (tags or "").split()
        cards[card_id] = (deck_id, tag_list)
        deck_cards[deck_id] = deck_cards.get(deck_id, 0) + 1
        for tag in tag_list:
            tag_cards[tag] = tag_cards.get(tag, 0) + 1
    names = dict(conn.execute("SELECT id, name FROM decks WHERE retired = 0").fetchall())

    deck_ret, deck_answers, tag_ret, tag_answers = progress.by_deck_and_tag(reviews, day, cards)
    decks = [GroupRow(names.get(d, d), n, deck_answers.get(d, 0),
                      deck_ret.get(d, progress.Retention()))
             for d, n in sorted(deck_cards.items(), key=lambda kv: names.get(kv[0], kv[0]))]
    tags = [GroupRow(t, n, tag_answers.get(t, 0), tag_ret.get(t, progress.Retention()))
            for t, n in sorted(tag_cards.items(), key=lambda kv: (-kv[1], kv[0]))]
    studied = conn.execute(
        "SELECT count(*) FROM cards WHERE retired = 0 AND reps > 0").fetchone()[0]
    return StatsData(desired=settings.desired_retention, today=today, retention=retention,
                     forecast=forecast, per_day=per_day, decks=decks, tags=tags,
                     studied=studied, cards=len(cards), reviews=len(reviews))


# -- a card, for Browse's detail ---------------------------------------------


@dataclass
class CardDetail:
    card: CardView
    deck_name: str
    recall: float | None  # probability of recall now; None for a new card
    history: list[progress.ReviewRow] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)


def card_detail(store: Reads, settings: Settings, card_id: str, now: int) -> CardDetail:
    conn = store.conn
    session = ReviewSession(store, settings)  # type: ignore[arg-type]
    card = session.card(card_id)
    rows = conn.execute(
        "SELECT card_id, reviewed_at, rating, state_before, duration_ms FROM reviews "
        "WHERE card_id = ? ORDER BY reviewed_at DESC, id DESC", (card_id,)).fetchall()
    recall = None
    if card.memory.state != 0:
        recall = MemoryModel(settings).retrievability(card.memory, now)
    name = conn.execute("SELECT name FROM decks WHERE id = ?", (card.deck_id,)).fetchone()
    return CardDetail(card=card, deck_name=name[0] if name else card.deck_id, recall=recall,
                      history=[progress.ReviewRow(*r[:4]) for r in rows],
                      durations=[r[4] or 0 for r in rows])
