"""A review session: the queue Anki users expect, answering, undo, bury, suspend.

Queue order: learning cards that are due, then reviews due today, then new
cards, within the daily limits of the learner's day. Each answer is one
transaction: the review row and the card's new state are committed together
before the next card is drawn.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from companion.replay import memory_of, rebuild_card, write_memory
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
from companion.store import CardFlags, CardRow, DeckCounts, Reads, Store, now_ms

if TYPE_CHECKING:
    pass

# Anki shows learning cards up to 20 minutes early once nothing else is left.
LEARN_AHEAD_MS = 20 * 60 * 1000


def decoded_fields(lab_params: str | None,
                   choices: str | None) -> tuple[dict[str, str], list[str], str]:
    """A card's stored lab parameters (a JSON object of text) and choices (a JSON
    list of text), and what is wrong with them ('' if nothing). What doesn't
    read is shown as none, so one bad card never stops a review; doctor names it."""
    if lab_params in (None, "", "{}") and choices in (None, "", "[]"):
        return {}, [], ""  # most cards: nothing to decode, on every answer's path
    problems = []
    params: dict[str, str] = {}
    listed: list[str] = []
    try:
        value = json.loads(lab_params or "{}")
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            params = {str(k): v for k, v in value.items()}
        else:
            problems.append("lab_params is not a JSON object of text")
    except (ValueError, RecursionError):
        problems.append("lab_params is not valid JSON")
    try:
        value = json.loads(choices or "[]")
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            listed = value
        else:
            problems.append("choices is not a JSON list of text")
    except (ValueError, RecursionError):
        problems.append("choices is not valid JSON")
    return params, listed, "; ".join(problems)


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
    def from_row(cls, row: CardRow) -> "CardView":
        params, choices, _ = decoded_fields(row.lab_params, row.choices)
        return cls(
            id=row.id, deck_id=row.deck_id, note_id=row.note_id, kind=row.kind,
            front=row.front, back=row.back, extra=row.extra or "", source=row.source or "",
            tags=(row.tags or "").split(), lab=row.lab or "",
            lab_params=params,
            memory=memory_of(row),
            suspended=bool(row.suspended), choices=choices,
            reveal=row.reveal or "",
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
    flags: list[CardFlags]  # each card's flags before it
    review_id: str = ""  # an answer's review row
    rating: int = 0  # an answer's rating


@dataclass
class Answered:
    review_id: str
    card_id: str
    memory: Memory
    leech: bool = False
    buried_siblings: list[str] = field(default_factory=list)


class Queue:
    """What is left to study and the next card, over any store's reads: a
    worker's `ReadStore` (Home's counts, Browse's card) or the review's `Store`."""

    store: Reads

    def __init__(self, store: Reads, settings: Settings, deck_id: str | None = None,
                 clock: Callable[[], int] = now_ms):
        self.store = store
        self.settings = settings
        self.deck_id = deck_id
        self.clock = clock
        self.model = MemoryModel(settings)
        self.day = LearnerDay(settings)

    # -- the queue -------------------------------------------------------

    def done_today(self, now: int | None = None) -> tuple[int, int]:
        """(new cards introduced, review-state cards answered) in the learner's day,
        in every deck: the daily limits are shared, so studying one deck spends
        the same allowance as studying them all."""
        now = self.clock() if now is None else now
        start, _ = self.day.bounds(now)
        done = self.store.answered_since(start)
        return done.new, done.review

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
        by_deck = {r.deck_id: Counts(min(r.new, new_left), r.learning, min(r.review, review_left))
                   for r in raw}
        total = Counts(min(sum(r.new for r in raw), new_left), sum(r.learning for r in raw),
                       min(sum(r.review for r in raw), review_left))
        return by_deck, total

    def _allowance(self, now: int) -> tuple[int, int]:
        new_done, review_done = self.done_today(now)
        return (max(0, self.settings.new_per_day - new_done),
                max(0, self.settings.reviews_per_day - review_done))

    def _raw_counts(self, now: int) -> list[DeckCounts]:
        """One pass over the cards, grouped by deck: new, learning due now (or
        within the learn-ahead window), reviews due before the day ends."""
        _, end = self.day.bounds(now)
        return self.store.queue_counts(now + LEARN_AHEAD_MS, end, now, self.deck_id)

    def next_card(self, now: int | None = None) -> CardView | None:
        now = self.clock() if now is None else now
        _, end = self.day.bounds(now)
        reads, deck_id = self.store, self.deck_id
        row = reads.first_learning_card(now, now, deck_id)
        if row:
            return CardView.from_row(row)
        new_done, review_done = self.done_today(now)
        if review_done < self.settings.reviews_per_day:
            row = reads.first_review_card(end, now, deck_id)
            if row:
                return CardView.from_row(row)
        if new_done < self.settings.new_per_day:
            row = reads.first_new_card(now, deck_id)
            if row:
                return CardView.from_row(row)
        row = reads.first_learning_card(now + LEARN_AHEAD_MS, now, deck_id)
        return CardView.from_row(row) if row else None

    def card(self, card_id: str) -> CardView:
        row = self.store.card_row(card_id)
        if row is None:
            raise KeyError(f"no card {card_id!r}")
        return CardView.from_row(row)

    def previews(self, card: CardView, now: int | None = None) -> dict[int, str]:
        """The interval each grade would give, as Anki's buttons show it."""
        now = self.clock() if now is None else now
        seconds = self.model.previews(card.id, card.memory, now)
        return {rating: format_interval(secs) for rating, secs in seconds.items()}



class ReviewSession(Queue):
    """A study session over the `Store`: the queue, and answering, undo, bury and
    suspend, each one transaction."""

    store: Store

    def __init__(self, store: Store, settings: Settings, deck_id: str | None = None,
                 clock: Callable[[], int] = now_ms):
        super().__init__(store, settings, deck_id, clock)
        self._undo: list[Step] = []

    # -- answering -------------------------------------------------------

    def answer(self, card_id: str, rating: int, duration_ms: int = 0,
               now: int | None = None) -> Answered:
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, got {rating!r}")
        review_id = uuid.uuid4().hex
        store = self.store
        with store.transaction():
            card = self.card(card_id)
            # The time is read under the write lock, and never at or before the
            # card's last review: a replay orders reviews by time, so the log's
            # order must be the order the answers were committed in, even when
            # another process answered the same card a moment ago.
            now = self.clock() if now is None else now
            now = max(now, (card.memory.last_review or 0) + 1)
            _, day_end = self.day.bounds(now)
            siblings = store.cloze_siblings(card.note_id, card.deck_id, card_id)
            flags = store.card_flags([card_id, *siblings])
            outcome = self.model.answer(card_id, card.memory, rating, now)
            memory, leech = outcome.memory, outcome.leech
            store.insert_review(review_id, card_id, now, rating, max(0, int(duration_ms)),
                                card.memory.state, outcome.decision)
            write_memory(store, card_id, memory)
            if siblings:
                store.bury_cards(siblings, day_end)
            if leech:
                tags = card.tags if "leech" in card.tags else [*card.tags, "leech"]
                suspend = self.settings.leech_action == "suspend" or card.suspended
                store.mark_leech(card_id, " ".join(tags), suspend)
        self._undo.append(Step("answer", card_id, flags, review_id, rating))
        return Answered(review_id, card_id, memory, leech, siblings)

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
        store = self.store
        with store.transaction():
            if last.review_id:
                store.delete_review(last.review_id)
                rebuild_card(store, self.model, last.card_id)
            for flags in last.flags:
                store.restore_card_flags(flags)
        return last

    def set_suspended(self, card_id: str, suspended: bool) -> None:
        """Suspend or unsuspend, outside the session's undo (Browse's toggle)."""
        with self.store.transaction():
            self.store.set_suspended(card_id, suspended)

    def suspend(self, card_id: str) -> None:
        """Suspend the card being studied; `undo` brings it back."""
        with self.store.transaction():
            flags = self.store.card_flags([card_id])
            self.store.set_suspended(card_id, True)
        self._undo.append(Step("suspend", card_id, flags))

    def bury(self, card_id: str, now: int | None = None) -> None:
        """Hide the card until the learner's next day starts; `undo` brings it back."""
        now = self.clock() if now is None else now
        _, end = self.day.bounds(now)
        with self.store.transaction():
            flags = self.store.card_flags([card_id])
            self.store.bury_card(card_id, end)
        self._undo.append(Step("bury", card_id, flags))


__all__ = ["Queue", "ReviewSession", "CardView", "Counts", "Answered",
           "NEW", "LEARNING", "REVIEW", "RELEARNING"]
