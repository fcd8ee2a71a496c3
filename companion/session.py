"""A review session: the queue Anki users expect, answering, undo, bury, suspend,
and custom study.

Queue order: learning cards that are due, then reviews due today, then new
cards (in the `new_card_order` setting's order), within the daily limits of
the learner's day, raised for the day by custom study's "increase today's
limit". A `Selection` narrows the queue to a tag, or turns it into one of
Anki's custom studies (review ahead, review forgotten cards). Each answer is
one transaction: the review row and the card's new state are committed
together before the next card is drawn.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable

from companion.limits import DayLimits, DeckTree, Due
from companion.replay import memory_of, memory_row, rebuild_card
from companion.scheduler import (
    LEARNING,
    NEW,
    RELEARNING,
    REVIEW,
    LearnerDay,
    Memory,
    MemoryModel,
    PresetModels,
    format_interval,
)
from companion.settings import Settings
from companion.store import CardFlags, CardRow, DeckCounts, Reads, Store, now_ms

if TYPE_CHECKING:
    pass

# Anki shows learning cards up to 20 minutes early once nothing else is left.
LEARN_AHEAD_MS = 20 * 60 * 1000

# Custom study's bounds, as Anki's dialog has them (qt/aqt/customstudy.py):
# forgotten in the last 1-30 days, ahead and limit raises up to DYN_MAX_SIZE.
MAX_FORGOTTEN_DAYS = 30
MAX_AHEAD_DAYS = 99_999
MAX_LIMIT_RAISE = 99_999


class SelectionError(ValueError):
    """A custom study that can't be built; `field` names the option at fault
    ("tag", "ahead", "forgotten", "extra_new", "extra_reviews")."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Selection:
    """What a study session draws from, one rule for every face (line mode,
    the app's review, their counts). As Anki's Custom Study
    (rslib/src/scheduler/filtered/custom_study.rs; the manual's "Custom
    Study", docs.ankiweb.net/filtered-decks.html#custom-study):

    - `tag`: only cards with this tag. Alone, it is today's queue of those
      cards: learning, reviews due, then new cards, within the daily limits
      (Anki's "Study by card state or tag" with its "due" and "new" kinds;
      companion keeps the daily limits, so a tag session spends the same
      allowance as the whole collection does and nothing is studied twice).
    - `ahead_days`: review ahead, Anki's `prop:due<=N` filtered deck with
      rescheduling on (ahead_config): review cards due within the next N days,
      soonest first, answered early; the scheduler counts the real days since
      the last review, as Anki's FSRS does for an early review. Learning cards
      come back when due, as the filtered deck keeps them.
    - `forgotten_days`: the cards answered Again in the last N learner days
      (Anki's `rated:N:1`, forgot_config), in random order.
    - `built_at`: when the selection was made. A card answered since then has
      left it (unless it is learning again), as a card answered in Anki's
      filtered deck goes back home: so a card reviewed ahead is not offered
      again however soon it comes due.

    - `card_ids`: these cards (Anki's filtered deck over a `cid:` search), as
      the free recall's "study the missed cards now" builds it: the new and
      review cards among them, in deck order, each answered once, and those
      learning when due.

    Review ahead, forgotten cards and chosen cards are not held to the daily
    limits: Anki's
    filtered decks aren't (a filtered deck takes up to 99,999 cards). Unlike
    Anki's forgotten-cards deck, whose answers don't reschedule, every answer
    here is a review: the log is the source of truth and each answer in it is
    replayed, so the scheduler takes it as an early review, as with ahead.
    """

    tag: str | None = None
    ahead_days: int = 0
    forgotten_days: int = 0
    built_at: int = 0
    card_ids: tuple[str, ...] = ()

    @property
    def custom(self) -> bool:
        """Review ahead, forgotten or chosen cards: a filtered study, not today's queue."""
        return bool(self.ahead_days or self.forgotten_days or self.card_ids)

    def describe(self) -> str:
        """In words, for a status line: "review ahead 3 days · tag letters"."""
        parts = []
        if self.card_ids:
            count = len(self.card_ids)
            parts.append(f"{count} chosen card{'s' if count != 1 else ''}")
        if self.ahead_days:
            parts.append(f"review ahead {self.ahead_days} day{'s' if self.ahead_days != 1 else ''}")
        if self.forgotten_days:
            parts.append(f"forgotten in the last {self.forgotten_days} "
                         f"day{'s' if self.forgotten_days != 1 else ''}")
        if self.tag:
            parts.append(f"tag {self.tag}")
        return " · ".join(parts)


def check_selection(reads: Reads, tag: str | None = None, ahead_days: int = 0,
                    forgotten_days: int = 0, extra_new: int = 0, extra_reviews: int = 0,
                    built_at: int = 0) -> Selection:
    """The selection these options describe, or a SelectionError that says
    which option is wrong and why, in one line."""
    for name, value, top in (("ahead", ahead_days, MAX_AHEAD_DAYS),
                             ("forgotten", forgotten_days, MAX_FORGOTTEN_DAYS)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
            raise SelectionError(name, f"{value!r} days: give a number of days from 1 to {top}")
    for name, value in (("extra_new", extra_new), ("extra_reviews", extra_reviews)):
        if not isinstance(value, int) or isinstance(value, bool) \
                or not 0 <= value <= MAX_LIMIT_RAISE:
            raise SelectionError(name, f"{value!r}: give a number of cards from 0 to "
                                       f"{MAX_LIMIT_RAISE}")
    if ahead_days and forgotten_days:
        raise SelectionError("forgotten", "review ahead and review forgotten cards are two "
                                          "studies: choose one")
    if tag is not None:
        tag = tag.strip()
        if not tag or len(tag.split()) != 1:
            raise SelectionError("tag", f"{tag[:60]!r} is not a tag (one word, no spaces)")
        known = reads.live_tags()
        if tag.lower() not in known:
            from difflib import get_close_matches

            close = get_close_matches(tag.lower(), known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            listed = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
            raise SelectionError("tag", f"{tag[:60]!r}: no card has this tag "
                                        f"({hint}tags: {listed or 'none'})")
    return Selection(tag or None, ahead_days, forgotten_days, built_at)


def new_review_id(at_ms: int) -> str:
    """A review's own id: 32 hex digits, as a uuid4's, of which the first 12
    are the answer's time in ms and the other 80 bits random. Unique as a
    uuid4 is (two machines' logs still merge as a set union), and an answer's
    id goes to the end of the reviews' id index instead of a random page of
    it: a page SQLite has in its cache, not one read back per answer."""
    return f"{max(0, at_ms) & 0xFFFF_FFFF_FFFF:012x}{os.urandom(10).hex()}"


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
    type_answer: str = ""  # `Type: yes`: the answer to type ("" when the card isn't typed)
    exercise: str = ""  # `Exercise: NAME`: the exercise the card belongs to ("" if none)

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
            type_answer=row.type_answer or "",
            exercise=row.exercise or "",
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
    leech_suspended: bool = False  # a leech its preset's leech action suspended
    buried_siblings: list[str] = field(default_factory=list)


@dataclass
class _Known:
    """What a queue read from its store, and when: `version` is the store's
    `data_state()` then (it moves when another connection commits, or this
    one writes), so a read is used again only while nothing but the queue's
    own answers (`_count_answer`) has written since.
    The day's part (`day`, `done`, `extensions`) is for the learner day that
    starts at `day`."""

    version: tuple[int, int]
    tree: DeckTree
    names: dict[str, str] | None = None
    presets: dict[str, tuple[int, int]] | None = None  # each deck's (new, review) per day
    day: int | None = None
    done: dict[str, tuple[int, int]] = field(default_factory=dict)
    extensions: dict[str, tuple[int, int]] = field(default_factory=dict)
    limits: DayLimits | None = None


@dataclass
class _Learning:
    """The first learning and relearning cards of a scope (`key`: its decks and
    tag), as the store had them at `version` (a `data_state`), kept up to date
    with this session's own answers: every one of the scope's cards learning
    and due before `horizon`, counting those buried until `buried_by` at the
    latest, in the order the store draws them (`Reads.learning_cards_in`):
    each card with its due time, its `buried_until` and whether it has no
    siblings (then its flags, what its answer's undo puts back, are known
    without a read). Anki keeps its day's learning queue in memory too; here
    the store stays the truth, and any write but this session's answers
    (another process, another session on this connection, a sync, undo, a
    bury) drops what is kept."""

    version: tuple[int, int]
    key: tuple[tuple[str, ...] | None, str | None]
    buried_by: int
    rows: list[tuple[CardRow, int, Any, bool]]
    horizon: float  # a due time, or inf when `rows` are all the scope's learning cards


class Queue:
    """What is left to study and the next card, over any store's reads: a
    worker's `ReadStore` (Home's counts, Browse's card) or the review's `Store`."""

    store: Reads

    def __init__(self, store: Reads, settings: Settings, deck_id: str | None = None,
                 clock: Callable[[], int] = now_ms, selection: Selection | None = None):
        self.store = store
        self.settings = settings
        self.deck_id = deck_id
        self.clock = clock
        self.day = LearnerDay(settings)
        selection = selection or Selection()
        if selection.custom and not selection.built_at:
            selection = replace(selection, built_at=clock())
        self.selection = selection
        self._known: _Known | None = None
        self._span = (0, 0)  # [start, end) of the learner day last asked about
        # The row `next_card` last drew, with where the store stood before it
        # read it (`Store.data_state`) and its memory: answering that card
        # reads it again only if anything was written since.
        self._shown: tuple[CardRow, tuple[int, int], Memory] | None = None
        self._learning: _Learning | None = None

    @cached_property
    def models(self) -> PresetModels:
        """Built when an answer or a preview needs one: counting the queue
        (`companion due`, Home) doesn't."""
        return PresetModels(self.settings)

    def model_of(self, deck_id: str) -> MemoryModel:
        """The memory model of a deck's preset: what its cards are scheduled by."""
        return self.models.for_deck(deck_id)

    # -- the day's limits ------------------------------------------------

    def limits(self, now: int | None = None) -> tuple[int, int]:
        """Today's (new, review) limits of the deck studied (for all decks:
        the default preset's, which each top-level deck without a preset of
        its own has): its preset's plus what custom study raised them by for
        this learner day (Anki's "increase today's limit")."""
        now = self.clock() if now is None else now
        tree = self._read().tree
        extra_new, extra_reviews = self._extensions(tree, now).get(self.deck_id or "", (0, 0))
        preset = self.settings.for_deck(self.deck_id)
        return preset.new_per_day + extra_new, preset.reviews_per_day + extra_reviews

    def _extensions(self, tree: DeckTree, now: int) -> dict[str, tuple[int, int]]:
        """Today's raises per deck: each deck's own, and the one asked in all
        decks ("") added to each top-level deck's."""
        raised = self.store.limit_extensions(self.day.day_of(now).isoformat())
        everywhere = raised.get("", (0, 0))
        out = dict(raised)
        for deck_id in tree.children[None]:
            new, review = out.get(deck_id, (0, 0))
            out[deck_id] = (new + everywhere[0], review + everywhere[1])
        return out

    def _read(self) -> _Known:
        """What the queue knows of the store, read again if anything (another
        process, another session on this connection, a sync) wrote since."""
        version, known = self.store.data_state(), self._known
        if known is None or known.version != version:
            known = self._known = _Known(version, DeckTree(self.store.deck_parents()))
        return known

    def _bounds(self, now: int) -> tuple[int, int]:
        """[start, end) of the learner day of `now` (LearnerDay.bounds, kept
        while `now` stays in the same day: every answer and draw asks)."""
        start, end = self._span
        if not start <= now < end:
            start, end = self._span = self.day.bounds(now)
        return start, end

    def day_limits(self, now: int | None = None) -> DayLimits:
        """Today's limits over the deck tree, from the deck studied down
        (companion.limits: Anki's v3 rules). What the day's answers spent is
        read from the log once a day and then kept, each answer of this
        session added as it commits (`_count_answer`), and read again when
        anything else writes to the store."""
        now = self.clock() if now is None else now
        known = self._read()
        start, _ = self._bounds(now)
        if known.day != start:
            known.done = {deck_id: (counts.new, counts.review)
                          for deck_id, counts in self.store.answered_since(start).items()}
            known.extensions = self._extensions(known.tree, now)
            known.day, known.limits = start, None
        if known.limits is None:
            settings = self.settings
            if known.presets is None:  # the decks' own limits: the tree's and the settings'
                known.presets = {}
                for deck_id in known.tree.subtree(self.deck_id):
                    preset = settings.for_deck(deck_id)
                    known.presets[deck_id] = (preset.new_per_day, preset.reviews_per_day)
            known.limits = DayLimits(known.tree, self.deck_id, known.presets, known.done,
                                     known.extensions, settings.new_cards_ignore_review_limit)
        return known.limits

    def _count_answer(self, before: tuple[int, int], changes: int, deck_id: str,
                      state_before: int, at: int) -> None:
        """This session's answer, just committed, in what the queue keeps:
        counted as `Store.answered_since` counts it (the answer of a new card
        or a review card, in its card's deck, from the day's start on), if
        nothing but this answer wrote since the queue read the store; else
        what it kept is dropped, to be read again. `before` is the store's
        `data_state` under the answer's write lock, `changes` the rows
        written once it committed: SQLite's data_version doesn't move with
        this connection's own commit, and another connection's commit after
        it moves it for the next `data_state`, which then drops this."""
        known = self._known
        if known is None:
            return
        if known.version != before:
            self._known = None
            return
        known.version = (before[0], changes)
        if known.day is not None and at >= known.day and state_before in (NEW, REVIEW):
            new, review = known.done.get(deck_id, (0, 0))
            known.done[deck_id] = (new + (state_before == NEW), review + (state_before == REVIEW))
            known.limits = None

    def _salt(self, now: int) -> int:
        """The learner day as a number: the salt of a random order, so it holds
        all day and changes the next (Anki salts with the days elapsed,
        gathering.rs knuth_salt)."""
        return self.day.day_of(now).toordinal()

    def _windows(self, now: int) -> tuple[int, int]:
        """(forgotten since, due ahead before): the start of the learner day
        forgotten_days - 1 days ago (`rated:N` counts today as the first day,
        search/sqlwriter.rs write_rated), and the end of the day ahead_days
        from today (`prop:due<=N`)."""
        today = self.day.day_of(now)
        selection = self.selection
        since = self.day.start_of(today - timedelta(days=max(0, selection.forgotten_days - 1)))
        before = self.day.start_of(today + timedelta(days=selection.ahead_days + 1))
        return since, before

    def _decks(self) -> list[str] | None:
        """The decks studied: the deck and its subdecks (None: every deck)."""
        if self.deck_id is None:
            return None
        return self.studied_decks()

    def studied_decks(self) -> list[str]:
        """The deck studied and its subdecks, parents first (every deck when
        all decks are studied)."""
        return self._read().tree.subtree(self.deck_id)

    # -- the queue -------------------------------------------------------

    def counts(self, now: int | None = None) -> Counts:
        """What is left to study today, daily limits applied."""
        return self.overview(now)[1]

    def counts_by_deck(self, now: int | None = None) -> dict[str, Counts]:
        return self.overview(now)[0]

    def overview(self, now: int | None = None) -> tuple[dict[str, Counts], Counts]:
        """Per deck (its cards and its subdecks') and in all: new, learning
        due, reviews due today, within the daily limits of each deck and its
        subdecks (companion.limits), as Anki's deck list counts them."""
        now = self.clock() if now is None else now
        raw = self._raw_counts(now)
        if self.selection.custom:  # a filtered study: no daily limits, as in Anki
            by_deck = {r.deck_id: Counts(r.new, r.learning, r.review) for r in raw}
            return by_deck, Counts(sum(r.new for r in raw), sum(r.learning for r in raw),
                                   sum(r.review for r in raw))
        shown, total = self.day_limits(now).counts(
            {r.deck_id: Due(r.new, r.learning, r.review) for r in raw})
        return ({deck_id: Counts(d.new, d.learning, d.review) for deck_id, d in shown.items()},
                Counts(total.new, total.learning, total.review))

    def _raw_counts(self, now: int) -> list[DeckCounts]:
        """One pass over the selection's cards, grouped by deck: new, learning
        due now (or within the learn-ahead window), reviews due before the day
        ends (or the selection's own: due ahead, forgotten)."""
        _, end = self._bounds(now)
        selection, reads, decks = self.selection, self.store, self._decks()
        since, before = self._windows(now)
        if selection.card_ids:
            return reads.chosen_counts(selection.card_ids, now + LEARN_AHEAD_MS,
                                       selection.built_at, now)
        if selection.ahead_days:
            return reads.ahead_counts(now + LEARN_AHEAD_MS, before, selection.built_at, now,
                                      decks, selection.tag)
        if selection.forgotten_days:
            return reads.forgotten_counts(now + LEARN_AHEAD_MS, since, selection.built_at, now,
                                          decks, selection.tag)
        return reads.scoped_queue_counts(now + LEARN_AHEAD_MS, end, now, decks, selection.tag)

    def next_card(self, now: int | None = None) -> CardView | None:
        # read before the row: a commit between the two then only costs a re-read
        version = self.store.data_state()
        row = self._next_row(self.clock() if now is None else now, version)
        if row is None:
            self._shown = None
            return None
        view = CardView.from_row(row)
        self._shown = (row, version, view.memory)
        return view

    def _shown_row(self, card_id: str, state: tuple[int, int] | None = None) -> CardRow:
        """The card's row as `next_card` drew it, if nothing was written to
        the store since (another process, this connection, a sync); else as
        the store has it now. Asked under the write lock, with the store's
        `data_state` there (read here if not given)."""
        shown = self._shown
        if shown is not None and shown[0].id == card_id \
                and (self.store.data_state() if state is None else state) == shown[1]:
            return shown[0]
        return self._row(card_id)

    # learning cards read at once, kept while nothing but this session's answers writes
    LEARNING_READ = 64

    def _first_learning(self, due_by: int, now: int, decks: list[str] | None, tag: str | None,
                        version: tuple[int, int]) -> CardRow | None:
        """first_learning_card_in(due_by, now, decks, tag), from the learning
        cards kept (`_Learning`) while the store stands at `version` (read
        before this): the store's answer, without a read on most draws."""
        key = (None if decks is None else tuple(decks), tag)
        kept = self._learning
        fresh = False
        while True:
            if kept is None or kept.version != version or kept.key != key \
                    or not now <= kept.buried_by:
                kept = self._learning = self._read_learning(version, key, now)
                if kept is None:  # planned otherwise: the store's own read
                    break
                fresh = True
            for row, due, buried, _ in kept.rows:
                if due > due_by:
                    return None
                if buried is None or (isinstance(buried, (int, float)) and buried <= now):
                    return row
            if due_by < kept.horizon:
                return None
            if fresh:  # the cards read were all buried, or all due at one time
                break
            kept = None
        return self.store.first_learning_card_in(due_by, now, decks, tag)

    def _read_learning(self, version: tuple[int, int],
                       key: tuple[tuple[str, ...] | None, str | None],
                       now: int) -> _Learning | None:
        buried_by = self._bounds(now)[1]
        limit = self.LEARNING_READ
        read = self.store.learning_cards_in(limit, buried_by, key[0], key[1])
        if read is None:
            return None
        with_siblings = self.store.cards_with_siblings(row for row, _, _ in read)
        rows = [(row, due, buried, row.id not in with_siblings) for row, due, buried in read]
        horizon: float = float("inf")
        if len(rows) == limit:
            # the scope may hold more cards due when the last one read is:
            # kept are only those due before it, all of them
            horizon = rows[-1][1]
            while rows and rows[-1][1] == horizon:
                rows.pop()
        return _Learning(version, key, buried_by, rows, horizon)

    def _next_row(self, now: int, version: tuple[int, int] | None = None) -> CardRow | None:
        _, end = self._bounds(now)
        reads, decks = self.store, self._decks()
        selection = self.selection
        if selection.card_ids:
            # due learning cards first, then the rest in deck order, then the
            # learn-ahead window once nothing else is left
            return (reads.first_chosen_card(selection.card_ids, now, selection.built_at, now)
                    or reads.first_chosen_card(selection.card_ids, now + LEARN_AHEAD_MS,
                                               selection.built_at, now))
        tag = selection.tag
        # (the custom studies' windows: only they need them)
        since, before = self._windows(now) if selection.custom else (0, 0)
        # Learning cards when due come first, then the learn-ahead window once
        # nothing else is left (`again_since`: of forgotten cards, those forgotten).
        again = since if selection.forgotten_days else None
        if again is None and version is not None:
            row = self._first_learning(now, now, decks, tag, version)
        else:
            row = reads.first_learning_card_in(now, now, decks, tag, again)
        if row:
            return row
        if selection.ahead_days:
            row = reads.first_ahead_card(before, selection.built_at, now, decks, tag)
        elif selection.forgotten_days:
            row = reads.first_forgotten_card(since, selection.built_at, now, decks, tag,
                                             self._salt(now))
        else:
            row = self._next_due_or_new(now, end)
        if row:
            return row
        if again is None and version is not None:
            return self._first_learning(now + LEARN_AHEAD_MS, now, decks, tag, version)
        return reads.first_learning_card_in(now + LEARN_AHEAD_MS, now, decks, tag, again)

    def _next_due_or_new(self, now: int, end: int) -> CardRow | None:
        """Today's queue after the learning cards: a review due today, then a
        new card in the order of the studied deck's preset, each from a deck
        whose limits (and its parents', up to the deck studied) have room."""
        reads, tag = self.store, self.selection.tag
        limits = self.day_limits(now)
        open_reviews = limits.open_for_review()
        if open_reviews:
            row = reads.first_review_card_in(end, now, self._narrowed(limits, open_reviews), tag)
            if row:
                return row
        open_new = limits.open_for_new()
        if not open_new:
            return None
        order, salt = self.settings.for_deck(self.deck_id).new_card_order, self._salt(now)
        if order == "random":
            return reads.first_new_card_in(now, self._narrowed(limits, open_new), tag, order,
                                           salt)
        # "deck" and "section" take the decks one by one from the top of the
        # deck list down (a parent before its subdecks, siblings by name), as
        # Anki's "Deck" gather order does (gathering.rs gather_new_cards_by_deck:
        # the decks sorted by name): so where a parent's limit is shared, its
        # own cards and its first subdeck's come first, whatever the deck ids
        still_open = set(open_new)
        known = self._read()
        if known.names is None:
            known.names = reads.deck_names()
        for deck_id, _ in limits.tree.in_order(known.names, self.deck_id):
            if deck_id in still_open:
                row = reads.first_new_card_in(now, [deck_id], tag, order, salt)
                if row:
                    return row
        return None

    @staticmethod
    def _narrowed(limits: DayLimits, open_decks: list[str]) -> list[str] | None:
        """The decks to draw from: None (no filter, the fast plan) when every
        deck of an all-decks study is open."""
        if limits.root is None and len(open_decks) == len(limits.scope):
            return None
        return open_decks

    def _row(self, card_id: str) -> CardRow:
        row = self.store.card_row(card_id)
        if row is None:
            raise KeyError(f"no card {card_id!r}")
        return row

    def card(self, card_id: str) -> CardView:
        return CardView.from_row(self._row(card_id))

    def previews(self, card: CardView, now: int | None = None) -> dict[int, str]:
        """The interval each grade would give, as Anki's buttons show it."""
        now = self.clock() if now is None else now
        seconds = self.model_of(card.deck_id).previews(card.id, card.memory, now)
        return {rating: format_interval(secs) for rating, secs in seconds.items()}



class ReviewSession(Queue):
    """A study session over the `Store`: the queue, and answering, undo, bury and
    suspend, each one transaction."""

    store: Store

    def __init__(self, store: Store, settings: Settings, deck_id: str | None = None,
                 clock: Callable[[], int] = now_ms, selection: Selection | None = None):
        super().__init__(store, settings, deck_id, clock, selection)
        self._undo: list[Step] = []

    def extend_today(self, new: int = 0, review: int = 0,
                     now: int | None = None) -> tuple[int, int]:
        """Raise today's new and review limits by `new` and `review` cards for
        the rest of this learner day (Anki's custom study "Increase today's
        new/review card limit", which adds to the day's allowance and lapses at
        the rollover). Returns today's (new, review) limits after it."""
        now = self.clock() if now is None else now
        if new or review:
            with self.store.transaction():
                self.store.extend_limits(self.day.day_of(now).isoformat(), new, review,
                                         self.deck_id)
        return self.limits(now)

    # -- answering -------------------------------------------------------

    def answer(self, card_id: str, rating: int, duration_ms: int = 0,
               now: int | None = None) -> Answered:
        if rating not in (1, 2, 3, 4):
            raise ValueError(f"rating must be 1-4, got {rating!r}")
        store = self.store
        with store.transaction():
            before = store.data_state()  # under the write lock: no other commit till ours
            card = self._shown_row(card_id, before)
            shown, self._shown = self._shown, None
            memory = shown[2] if shown is not None and shown[0] is card else memory_of(card)
            # The time is read under the write lock, and never at or before the
            # card's last review: a replay orders reviews by time, so the log's
            # order must be the order the answers were committed in, even when
            # another process answered the same card a moment ago.
            now = self.clock() if now is None else now
            now = max(now, (memory.last_review or 0) + 1)
            review_id = new_review_id(now)
            flags = (self._kept_flags(card, before)
                     or store.flags_with_siblings(card_id, card.note_id, card.deck_id))
            siblings = [f.id for f in flags if f.id != card_id]
            outcome = self.model_of(card.deck_id).answer(card_id, memory, rating, now)
            leech = outcome.leech
            suspend = False
            store.insert_review(review_id, card_id, now, rating, max(0, int(duration_ms)),
                                memory.state, outcome.decision)
            store.write_memory(memory_row(card_id, outcome.memory), memory.state)
            if siblings:
                store.bury_cards(siblings, self._bounds(now)[1])
            if leech:
                tags = (card.tags or "").split()
                if "leech" not in tags:
                    tags.append("leech")
                suspend = (self.settings.for_deck(card.deck_id).leech_action == "suspend"
                           or bool(card.suspended))
                store.mark_leech(card_id, " ".join(tags), suspend)
        changes = store.rows_written()
        self._count_answer(before, changes, card.deck_id, memory.state, now)
        self._learning_answered(before, changes, card_id, outcome.memory,
                                not siblings)
        self._undo.append(Step("answer", card_id, flags, review_id, rating))
        return Answered(review_id, card_id, outcome.memory, leech, leech and suspend, siblings)

    def _kept_flags(self, card: CardRow, before: tuple[int, int]) -> list[CardFlags] | None:
        """`Store.flags_with_siblings` of a card drawn from the learning cards
        kept, if it has no siblings and the store still stands where they were
        read (`before`: its `data_state` under the answer's lock); else None."""
        kept = self._learning
        if kept is None or kept.version != before:
            return None
        for row, _, buried, alone in kept.rows:
            if row is card:
                return [CardFlags(row.id, row.suspended, buried, row.tags)] if alone else None
        return None

    def _learning_answered(self, before: tuple[int, int], changes: int, card_id: str,
                           memory: Memory, only_its_state: bool) -> None:
        """This session's answer, just committed, in the learning cards kept
        (`_Learning`), as `_count_answer` counts it in the day's answers: the
        card leaves them, and where it is learning again, due before the
        last of them, they keep only those due before it (its place among
        cards due at the same time is the store's to tell). What else an
        answer changes is the card's own (a leech's tags and suspension), so
        nothing kept holds it, but for siblings it buried: then what is kept
        is dropped, to be read again."""
        kept = self._learning
        if kept is None:
            return
        if not only_its_state or kept.version != before:
            self._learning = None
            return
        rows = kept.rows
        if rows and rows[0][0].id == card_id:
            del rows[0]
        else:
            rows[:] = [item for item in rows if item[0].id != card_id]
        due = memory.due
        if memory.state in (LEARNING, RELEARNING) and due is not None and due < kept.horizon:
            kept.horizon = due
            rows[:] = [item for item in rows if item[1] < due]
        kept.version = (before[0], changes)

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
                rebuild_card(store, self.model_of(self.card(last.card_id).deck_id), last.card_id)
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
        _, end = self._bounds(now)
        with self.store.transaction():
            flags = self.store.card_flags([card_id])
            self.store.bury_card(card_id, end)
        self._undo.append(Step("bury", card_id, flags))


__all__ = ["Queue", "ReviewSession", "Selection", "SelectionError", "check_selection",
           "CardView", "Counts", "Answered", "NEW", "LEARNING", "REVIEW", "RELEARNING"]
