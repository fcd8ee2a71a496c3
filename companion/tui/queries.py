"""The queries behind the screens, run in worker threads.

Each worker opens its own read-only connection (WAL lets it read while the UI
thread writes answers), so a slow query never holds the connection the review
uses. Everything returned is plain data for the UI thread to draw.
"""

from __future__ import annotations

import shlex
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterator

from companion import progress
from companion.scheduler import LearnerDay, MemoryModel
from companion.session import CardView, Counts, ReviewSession
from companion.settings import Settings

STATE_CODES = {"new": 0, "learning": 1, "review": 2, "relearning": 3}
CALENDAR_DAYS = 371  # 53 weeks: as much as the widest terminal shows


class _ReadStore:
    """Enough of a Store for ReviewSession's read-only queries."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path


@contextmanager
def reader(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        yield conn
    finally:
        conn.close()


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


def home_data(conn: sqlite3.Connection, path: Path, settings: Settings, now: int) -> HomeData:
    session = ReviewSession(_ReadStore(conn, path), settings, clock=lambda: now)  # type: ignore[arg-type]
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


def stats_data(conn: sqlite3.Connection, settings: Settings, now: int) -> StatsData:
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


# -- browse ----------------------------------------------------------------

SEARCH_LIMIT = 1000


@dataclass
class SearchRow:
    id: str
    deck_id: str
    state: int
    due: int | None
    suspended: bool
    front: str
    reps: int
    lapses: int


@dataclass
class SearchResult:
    rows: list[SearchRow]
    total: int
    error: str = ""


def parse_search(text: str, deck: str | None = None, state: str | None = None,
                 day_end: int | None = None) -> tuple[str, list[Any]]:
    """Anki-like search text -> (SQL WHERE clause, args). Words match the
    card's text or id; `deck:ID`, `tag:NAME`, `is:new|learning|review|
    relearning|suspended|due|buried`, `lab:NAME` (or `has:lab`) filter; a
    leading `-` negates a term. Terms are ANDed."""
    try:
        terms = shlex.split(text)
    except ValueError:  # an unclosed quote: take the words as they are
        terms = text.split()
    where: list[str] = ["retired = 0"]
    args: list[Any] = []
    filters = [f"deck:{deck}"] if deck else []
    filters += [f"is:{state}"] if state else []
    for raw in [*filters, *terms]:
        negate = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negate else raw
        key, sep, value = term.partition(":")
        key = key.lower()
        clause: str
        if sep and key == "deck" and value:
            clause, extra = "deck_id = ?", [value]
        elif sep and key == "tag" and value:
            clause, extra = "(' ' || coalesce(tags, '') || ' ') LIKE ?", [f"% {value} %"]
        elif sep and key == "lab" and value:
            clause, extra = "lab = ?", [value]
        elif sep and key == "has" and value.lower() == "lab":
            clause, extra = "coalesce(lab, '') != ''", []
        elif sep and key == "is" and value.lower() in STATE_CODES:
            clause, extra = "state = ?", [STATE_CODES[value.lower()]]
        elif sep and key == "is" and value.lower() == "suspended":
            clause, extra = "suspended = 1", []
        elif sep and key == "is" and value.lower() == "buried":
            clause, extra = "coalesce(buried_until, 0) > ?", [day_end and day_end - 1 or 0]
        elif sep and key == "is" and value.lower() == "due":
            clause, extra = "(state != 0 AND due < ?)", [day_end or 0]
        else:
            like = f"%{term}%"
            clause = "(front LIKE ? OR back LIKE ? OR coalesce(extra, '') LIKE ? OR id LIKE ?)"
            extra = [like, like, like, like]
        where.append(f"NOT {clause}" if negate else clause)
        args.extend(extra)
    return " AND ".join(where), args


FILTERS = ("deck", "tag", "lab", "has", "is")


def unknown_filters(text: str) -> list[str]:
    """The `word:` prefixes in a search that are not filters ('foo:'), which
    parse_search takes as text: worth a hint when nothing matches."""
    words = text.split()
    return [f"{key}:" for word in words
            for key, sep, _ in [word.lstrip("-").partition(":")]
            if sep and key.isalpha() and key.lower() not in FILTERS]


def search_cards(conn: sqlite3.Connection, text: str, deck: str | None, state: str | None,
                 day_end: int, limit: int = SEARCH_LIMIT) -> SearchResult:
    where, args = parse_search(text, deck, state, day_end)
    total = conn.execute(f"SELECT count(*) FROM cards WHERE {where}", args).fetchone()[0]
    rows = [SearchRow(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7])
            for r in conn.execute(
                "SELECT id, deck_id, state, due, suspended, front, reps, lapses FROM cards "
                f"WHERE {where} ORDER BY deck_id, position, id LIMIT ?", (*args, limit))]
    return SearchResult(rows, total)


@dataclass
class CardDetail:
    card: CardView
    deck_name: str
    recall: float | None  # probability of recall now; None for a new card
    history: list[progress.ReviewRow] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)


def card_detail(conn: sqlite3.Connection, path: Path, settings: Settings, card_id: str,
                now: int) -> CardDetail:
    session = ReviewSession(_ReadStore(conn, path), settings)  # type: ignore[arg-type]
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


def deck_choices(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return conn.execute("SELECT name, id FROM decks WHERE retired = 0 ORDER BY name").fetchall()
