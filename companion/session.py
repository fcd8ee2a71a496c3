"""A review session: the queue Anki users expect, answering, undo, bury, suspend.

Queue order: learning cards that are due, then reviews due today, then new
cards, within the daily limits of the learner's day. Each answer is one
transaction: the review row and the card's new state are committed together
before the next card is drawn.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Callable

from companion.scheduler import (
    LEARNING,
    NEW,
    RELEARNING,
    REVIEW,
    LearnerDay,
    Memory,
    MemoryModel,
    format_interval,
)
from companion.settings import Settings
from companion.store import Store, now_ms

# Anki shows learning cards up to 20 minutes early once nothing else is left.
LEARN_AHEAD_MS = 20 * 60 * 1000

CARD_COLUMNS = (
    "id, deck_id, note_id, kind, front, back, extra, source, tags, lab, lab_params, "
    "state, step, stability, difficulty, due, last_review, reps, lapses, suspended, "
    "choices, reveal"
)


@dataclass(frozen=True)
class CardView:
    id: str
    deck_id: str
    note_id: str
    kind: str
    front: str
    back: str
    extra: str
    source: str
    tags: list[str]
    lab: str
    lab_params: dict[str, str]
    memory: Memory
    suspended: bool
    choices: list[str] = field(default_factory=list)
    reveal: str = ""

    @classmethod
    def from_row(cls, row: tuple) -> "CardView":
        return cls(
            id=row[0], deck_id=row[1], note_id=row[2], kind=row[3], front=row[4],
            back=row[5], extra=row[6] or "", source=row[7] or "",
            tags=(row[8] or "").split(), lab=row[9] or "",
            lab_params=json.loads(row[10] or "{}"),
            memory=Memory(state=row[11], step=row[12], stability=row[13], difficulty=row[14],
                          due=row[15], last_review=row[16], reps=row[17], lapses=row[18]),
            suspended=bool(row[19]), choices=json.loads(row[20] or "[]"), reveal=row[21] or "",
        )


@dataclass
class Counts:
    new: int
    learning: int
    review: int

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


@dataclass
class Step:
    """One thing `undo` can take back: an answer, a suspend or a bury."""

    kind: str  # "answer", "suspend" or "bury"
    card_id: str
    flags: dict[str, tuple]  # card id -> (suspended, buried_until, tags) before it
    review_id: str = ""  # an answer's review row
    rating: int = 0  # an answer's rating


@dataclass
class Answered:
    review_id: str
    card_id: str
    memory: Memory
    leech: bool = False
    buried_siblings: list[str] = field(default_factory=list)


class ReviewSession:
    def __init__(self, store: Store, settings: Settings, deck_id: str | None = None,
                 clock: Callable[[], int] = now_ms):
        self.store = store
        self.settings = settings
        self.deck_id = deck_id
        self.clock = clock
        self.model = MemoryModel(settings)
        self.day = LearnerDay(settings)
        self._undo: list[Step] = []

    # -- the queue -------------------------------------------------------

    def _deck_filter(self) -> tuple[str, tuple]:
        return ("AND deck_id = ?", (self.deck_id,)) if self.deck_id else ("", ())

    def done_today(self, now: int | None = None) -> tuple[int, int]:
        """(new cards introduced, review-state cards answered) in the learner's day,
        in every deck: the daily limits are shared, so studying one deck spends
        the same allowance as studying them all."""
        now = self.clock() if now is None else now
        start, _ = self.day.bounds(now)
        row = self.store.conn.execute(
            "SELECT coalesce(sum(state_before = 0), 0), coalesce(sum(state_before = 2), 0) "
            "FROM reviews WHERE reviewed_at >= ?", (start,)).fetchone()
        return row[0], row[1]

    def counts(self, now: int | None = None) -> Counts:
        """What is left to study today, daily limits applied."""
        return self.overview(now)[1]

    def counts_by_deck(self, now: int | None = None) -> dict[str, Counts]:
        return self.overview(now)[0]

    def overview(self, now: int | None = None) -> tuple[dict[str, Counts], Counts]:
        """Per deck and in all: new, learning due, reviews due today, each capped by
        what is left of the daily limits. All decks share the limits, so the deck
        rows can add up to more than the total."""
        now = self.clock() if now is None else now
        raw = self._raw_counts(now)
        new_left, review_left = self._allowance(now)
        by_deck = {deck_id: Counts(min(new, new_left), learning, min(review, review_left))
                   for deck_id, new, learning, review in raw}
        total = Counts(min(sum(r[1] for r in raw), new_left), sum(r[2] for r in raw),
                       min(sum(r[3] for r in raw), review_left))
        return by_deck, total

    def _allowance(self, now: int) -> tuple[int, int]:
        new_done, review_done = self.done_today(now)
        return (max(0, self.settings.new_per_day - new_done),
                max(0, self.settings.reviews_per_day - review_done))

    def _raw_counts(self, now: int) -> list[tuple[str, int, int, int]]:
        """One pass over the cards, grouped by deck: new, learning due now (or
        within the learn-ahead window), reviews due before the day ends."""
        _, end = self.day.bounds(now)
        deck_sql, deck_args = self._deck_filter()
        return self.store.conn.execute(
            "SELECT deck_id, coalesce(sum(state = 0), 0), "
            "coalesce(sum(state IN (1, 3) AND due <= ?), 0), "
            "coalesce(sum(state = 2 AND due < ?), 0) FROM cards "
            "WHERE retired = 0 AND suspended = 0 "
            f"AND (buried_until IS NULL OR buried_until <= ?) {deck_sql} "
            "GROUP BY deck_id ORDER BY deck_id",
            (now + LEARN_AHEAD_MS, end, now, *deck_args)).fetchall()

    def _first(self, where: str, order: str, args: tuple, now: int) -> CardView | None:
        deck_sql, deck_args = self._deck_filter()
        row = self.store.conn.execute(
            f"SELECT {CARD_COLUMNS} FROM cards WHERE retired = 0 AND suspended = 0 "
            f"AND {where} AND (buried_until IS NULL OR buried_until <= ?) {deck_sql} "
            f"ORDER BY {order} LIMIT 1", (*args, now, *deck_args)).fetchone()
        return CardView.from_row(row) if row else None

    def next_card(self, now: int | None = None) -> CardView | None:
        now = self.clock() if now is None else now
        _, end = self.day.bounds(now)
        card = self._first("state IN (1, 3) AND due <= ?", "due", (now,), now)
        if card:
            return card
        new_done, review_done = self.done_today(now)
        if review_done < self.settings.reviews_per_day:
            card = self._first("state = 2 AND due < ?", "due", (end,), now)
            if card:
                return card
        if new_done < self.settings.new_per_day:
            card = self._first("state = 0", "deck_id, position", (), now)
            if card:
                return card
        return self._first("state IN (1, 3) AND due <= ?", "due", (now + LEARN_AHEAD_MS,), now)

    def card(self, card_id: str) -> CardView:
        row = self.store.conn.execute(
            f"SELECT {CARD_COLUMNS} FROM cards WHERE id = ?", (card_id,)).fetchone()
        if row is None:
            raise KeyError(f"no card {card_id!r}")
        return CardView.from_row(row)

    def previews(self, card: CardView, now: int | None = None) -> dict[int, str]:
        """The interval each grade would give, as Anki's buttons show it."""
        now = self.clock() if now is None else now
        out = {}
        for rating in (1, 2, 3, 4):
            after = self.model.review(card.id, card.memory, rating, now)
            out[rating] = format_interval((after.due - now) / 1000)
        return out

    # -- answering -------------------------------------------------------

    def _flags(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple]:
        rows = conn.execute(
            "SELECT id, suspended, buried_until, tags FROM cards WHERE id IN "
            "(SELECT value FROM json_each(?))", (json.dumps(ids),)).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def answer(self, card_id: str, rating: int, duration_ms: int = 0,
               now: int | None = None) -> Answered:
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, got {rating!r}")
        review_id = uuid.uuid4().hex
        with self.store.transaction() as conn:
            card = self.card(card_id)
            # The time is read under the write lock, and never at or before the
            # card's last review: a replay orders reviews by time, so the log's
            # order must be the order the answers were committed in, even when
            # another process answered the same card a moment ago.
            now = self.clock() if now is None else now
            now = max(now, (card.memory.last_review or 0) + 1)
            _, day_end = self.day.bounds(now)
            siblings = [r[0] for r in conn.execute(
                "SELECT id FROM cards WHERE note_id = ? AND deck_id = ? AND id != ? "
                "AND kind = 'cloze' AND retired = 0", (card.note_id, card.deck_id, card_id))]
            flags = self._flags(conn, [card_id, *siblings])
            memory = self.model.review(card_id, card.memory, rating, now)
            conn.execute(
                "INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms, state_before) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (review_id, card_id, now, rating, max(0, int(duration_ms)), card.memory.state))
            _write_memory(conn, card_id, memory)
            if siblings:
                conn.execute(
                    "UPDATE cards SET buried_until = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (day_end, json.dumps(siblings)))
            leech = memory.lapses > card.memory.lapses and self._is_leech(memory.lapses)
            if leech:
                tags = card.tags if "leech" in card.tags else [*card.tags, "leech"]
                suspend = 1 if self.settings.leech_action == "suspend" else int(card.suspended)
                conn.execute("UPDATE cards SET tags = ?, suspended = ? WHERE id = ?",
                             (" ".join(tags), suspend, card_id))
        self._undo.append(Step("answer", card_id, flags, review_id, rating))
        return Answered(review_id, card_id, memory, leech, siblings)

    def _is_leech(self, lapses: int) -> bool:
        # As Anki: at the threshold, then again every half threshold.
        threshold = self.settings.leech_threshold
        return lapses >= threshold and (lapses - threshold) % max(1, threshold // 2) == 0

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> Step | None:
        """Take back the last answer, suspend or bury of this session. An
        answer's review row goes and the card's state is replayed from the rest
        of its log; the flags it changed (bury, leech, suspend) are restored."""
        if not self._undo:
            return None
        last = self._undo.pop()
        with self.store.transaction() as conn:
            if last.review_id:
                conn.execute("DELETE FROM reviews WHERE id = ?", (last.review_id,))
                rebuild_card(self.store, self.model, last.card_id)
            for cid, (suspended, buried_until, tags) in last.flags.items():
                conn.execute("UPDATE cards SET suspended = ?, buried_until = ?, tags = ? "
                             "WHERE id = ?", (suspended, buried_until, tags, cid))
        return last

    def set_suspended(self, card_id: str, suspended: bool) -> None:
        """Suspend or unsuspend, outside the session's undo (Browse's toggle)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE cards SET suspended = ? WHERE id = ?", (int(suspended), card_id))

    def suspend(self, card_id: str) -> None:
        """Suspend the card being studied; `undo` brings it back."""
        with self.store.transaction() as conn:
            flags = self._flags(conn, [card_id])
            conn.execute("UPDATE cards SET suspended = 1 WHERE id = ?", (card_id,))
        self._undo.append(Step("suspend", card_id, flags))

    def bury(self, card_id: str, now: int | None = None) -> None:
        """Hide the card until the learner's next day starts; `undo` brings it back."""
        now = self.clock() if now is None else now
        _, end = self.day.bounds(now)
        with self.store.transaction() as conn:
            flags = self._flags(conn, [card_id])
            conn.execute("UPDATE cards SET buried_until = ? WHERE id = ?", (end, card_id))
        self._undo.append(Step("bury", card_id, flags))


def _write_memory(conn: sqlite3.Connection, card_id: str, m: Memory) -> None:
    conn.execute(
        "UPDATE cards SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
        "last_review = ?, reps = ?, lapses = ? WHERE id = ?",
        (m.state, m.step, m.stability, m.difficulty, m.due, m.last_review, m.reps, m.lapses,
         card_id))


def rebuild_card(store: Store, model: MemoryModel, card_id: str) -> Memory:
    conn = store.conn
    rows = conn.execute(
        "SELECT id, reviewed_at, rating FROM reviews WHERE card_id = ? "
        "ORDER BY reviewed_at, id", (card_id,)).fetchall()
    memory, before = model.replay(card_id, [(r[1], r[2]) for r in rows])
    conn.executemany("UPDATE reviews SET state_before = ? WHERE id = ?",
                     [(b, r[0]) for b, r in zip(before, rows)])
    _write_memory(conn, card_id, memory)
    return memory


def rebuild_all(store: Store, settings: Settings,
                progress: Callable[[int, int], None] | None = None) -> int:
    """Replay the whole review log into every card's memory state. Returns the
    number of reviews replayed. One transaction: all or nothing."""
    model = MemoryModel(settings)
    conn = store.conn
    total = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    done = 0
    with store.transaction():
        conn.execute("UPDATE cards SET state = 0, step = NULL, stability = NULL, "
                     "difficulty = NULL, due = NULL, last_review = NULL, reps = 0, lapses = 0 "
                     "WHERE reps > 0 OR state != 0")
        cursor = conn.execute(
            "SELECT card_id, id, reviewed_at, rating FROM reviews "
            "ORDER BY card_id, reviewed_at, id")
        card_id, ids, log = None, [], []
        memory_rows, before_rows = [], []

        def finish() -> None:
            memory, before = model.replay(card_id, log)
            memory_rows.append((memory.state, memory.step, memory.stability, memory.difficulty,
                                memory.due, memory.last_review, memory.reps, memory.lapses,
                                card_id))
            before_rows.extend(zip(before, ids))

        def flush() -> None:
            conn.executemany(
                "UPDATE cards SET state = ?, step = ?, stability = ?, difficulty = ?, due = ?, "
                "last_review = ?, reps = ?, lapses = ? WHERE id = ?", memory_rows)
            conn.executemany("UPDATE reviews SET state_before = ? WHERE id = ?", before_rows)
            memory_rows.clear()
            before_rows.clear()

        for cid, rid, at, rating in cursor.fetchall():
            if cid != card_id:
                if card_id is not None:
                    finish()
                    if len(before_rows) > 50_000:
                        flush()
                        if progress:
                            progress(done, total)
                card_id, ids, log = cid, [], []
            ids.append(rid)
            log.append((at, rating))
            done += 1
        if card_id is not None:
            finish()
        flush()
    if progress:
        progress(done, total)
    return done


__all__ = ["ReviewSession", "CardView", "Counts", "Answered", "rebuild_all", "rebuild_card",
           "NEW", "LEARNING", "REVIEW", "RELEARNING"]
