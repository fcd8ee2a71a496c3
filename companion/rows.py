"""Typed rows the store returns only to exports, imports, the Anki package,
doctor, Browse and the stats: defined apart from store.py so that a start of
companion (`due`, a review, Home) does not build them; the store's methods
import this module when they run."""

from typing import Any, NamedTuple


class ExportDeck(NamedTuple):
    id: str
    name: str
    description: str | None
    path: str | None
    retired: int
    parent: str | None


class ExportCard(NamedTuple):
    """A card as the json export carries it: its definition and flags, not its
    memory state (the review log rebuilds that). The field order is the export's."""
    id: str
    deck_id: str
    note_id: str | None
    kind: str | None
    ord: int | None
    front: str
    back: str
    extra: str | None
    source: str | None
    tags: str | None
    lab: str | None
    lab_params: str | None
    choices: str | None
    reveal: str | None
    position: int | None
    line: int | None
    retired: int
    suspended: int
    buried_until: int | None
    added_at: int | None
    type_answer: str | None  # format 3: the answer a typed card asks for


class ExportReview(NamedTuple):
    id: str
    card_id: str
    reviewed_at: int
    rating: int
    duration_ms: int | None
    # what the scheduler decided (store.DECISION_COLUMNS), so the importing
    # side replays the same schedule under its own settings
    state_after: int | None = None
    remaining_steps: int | None = None
    interval: int | None = None
    due: int | None = None
    elapsed_days: int | None = None


class ExportEvent(NamedTuple):
    """A reschedule, forget or state set as the json export and the sync
    folder carry it: a set-state's `memory` is its fields (a dict; the store
    keeps them as JSON text)."""

    id: str
    card_id: str
    at: int
    kind: str
    interval: int | None
    due: int | None
    memory: Any


class ExportUndo(NamedTuple):
    """An answer taken back, as the sync folder carries it: the review's id."""

    id: str
    card_id: str
    at: int


class ExportLabRun(NamedTuple):
    """A lab run as the json export carries it (after its id, the export's fields)."""
    id: int
    lab: str | None
    params: str | None
    device: str | None
    seed: int | None
    card_id: str | None
    started_at: int | None
    ended_at: int | None
    status: str | None
    error: str | None
    summary: str | None
    prediction: str | None


class ExportMetric(NamedTuple):
    chart: str | None
    series: str | None
    x: float | None
    y: float | None


class CsvReview(NamedTuple):
    card_id: str
    reviewed_at: int
    rating: int
    state_before: int | None
    duration_ms: int | None


class MergedFlags(NamedTuple):
    """A local card's flags that an imported copy of it merges with."""
    suspended: int
    buried_until: int | None
    tags: str | None
    added_at: int | None


class FlagEvent(NamedTuple):
    """A suspend, unsuspend, bury (until a time, or none: unburied), leech or
    unleech, as the flag log keeps it and the sync folder carries it."""
    id: str
    card_id: str
    at: int
    kind: str
    until: int | None


class ApkgDeck(NamedTuple):
    id: str
    name: str
    description: str
    path: str


class ApkgCard(NamedTuple):
    id: str
    note_id: str | None
    kind: str
    ord: int
    front: str
    back: str
    extra: str | None
    source: str | None
    tags: str | None
    lab: str | None
    lab_params: str | None
    choices: str | None
    reveal: str | None
    suspended: int
    type_answer: str | None  # a typed card's answer: Anki's {{type:...}}


class ApkgSchedule(NamedTuple):
    """A card's schedule as an Anki package carries it."""
    id: str
    deck_id: str
    state: int
    remaining_steps: int | None
    stability: float | None
    difficulty: float | None
    due: int | None
    last_review: int | None
    reps: int
    lapses: int
    interval: int | None
    suspended: int
    buried_until: int | None
    position: int | None


class ApkgReview(NamedTuple):
    """A review or schedule change as Anki's revlog carries it."""
    card_id: str
    at: int
    rating: int  # 0: a reschedule or a forget (`kind`)
    duration_ms: int | None
    state_before: int | None
    state_after: int | None
    interval: int | None
    due: int | None
    kind: str  # "answer", or the event's kind


class ReviewCost(NamedTuple):
    """Answers in one state with one rating that took time, and their mean duration
    (each capped at a minute), for optimize's workload simulation."""
    state_before: int | None
    rating: int
    answers: int
    avg_ms: float


class DeckListing(NamedTuple):
    """A row of `companion decks list`."""

    id: str
    name: str
    cards: int
    reviewed: int
    suspended: int
    path: str | None


class CardTotals(NamedTuple):
    cards: int
    retired: int


class StudiedMemory(NamedTuple):
    deck_id: str
    tags: str | None
    state: int
    stability: float | None
    last_review: int | None


class CardGroup(NamedTuple):
    id: str
    deck_id: str
    tags: str | None
    reps: int | None
    lapses: int | None


class HardCard(NamedTuple):
    id: str
    deck: str
    front: str
    tags: str | None
    reps: int | None
    lapses: int | None
    suspended: int | None


class SearchHit(NamedTuple):
    id: str
    deck_id: str
    state: int
    due: int | None
    suspended: int
    front: str
    reps: int
    lapses: int
    buried_until: int | None


class LogReview(NamedTuple):
    """A review in the order a replay reads the whole log: by card, then time."""

    card_id: str
    id: str
    reviewed_at: int
    rating: int
    state_before: int | None
    state_after: int | None
    remaining_steps: int | None
    interval: int | None
    due: int | None
    elapsed_days: int | None
