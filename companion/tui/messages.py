"""What workers hand back to the UI thread: one dataclass Message per result.

Workers run in threads and never touch widgets; they post one of these and a
handler on the UI thread draws it (Textual's `post_message` is thread-safe).
A screen's results are `Reply`s: each carries the number of the request it
answers, so a result that a newer request superseded is dropped, never drawn
(`CompanionScreen.is_latest`). The payloads are the read model's dataclasses
(plain values, never widgets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from companion.recall import Section
    from companion.search import SearchResult
    from companion.settings import Settings
    from companion.stats import CardDetail, HomeData, Overview
    from companion.store import DeckChoice, LabRunRow, MetricPoint, Store


# -- the app ---------------------------------------------------------------


@dataclass
class StoreReady(Message):
    """The store is open and the decks are synced; `warnings` are deck problems,
    `home` Home's first counts when the worker could read them (else None)."""

    store: Store
    warnings: list[str]
    home: HomeData | None = None


@dataclass
class DecksSynced(Message):
    """Deck files changed while the app ran and were loaded again: what
    changed (`summary`, '' for nothing worth saying) and the problems found."""

    summary: str
    warnings: list[str]


@dataclass
class Synced(Message):
    """The sync with `sync_dir` on start-up is done: its summary, its
    warnings, and the settings in force after it (another machine's change
    may have come with it)."""

    summary: list[str]
    warnings: list[str]
    settings: Settings | None


@dataclass
class StoreFailed(Message):
    """The database could not be opened; the app exits with this one line."""

    error: str


# -- a screen's queries ------------------------------------------------------


@dataclass
class Reply(Message):
    """A worker's result for its screen's request number `request`."""

    request: int


@dataclass
class HomeLoaded(Reply):
    """Home's decks, counts, streak and calendar."""

    data: HomeData


@dataclass
class StatsLoaded(Reply):
    """Stats: retention, forecast, reviews per day, decks and tags."""

    data: Overview


@dataclass
class RecallSectionsLoaded(Reply):
    """Free recall: the deck sections with ideas to recall (companion.recall)."""

    sections: list[Section]


@dataclass
class DecksLoaded(Reply):
    """Browse's deck filter: (name, deck id) of each deck."""

    choices: list[DeckChoice]


@dataclass
class SettingsDecksLoaded(Reply):
    """Settings' deck list: (deck id, name, depth) of each live deck, each
    parent before its subdecks."""

    decks: list[tuple[str, str, int]]


@dataclass
class SearchDone(Reply):
    """The cards a Browse search found."""

    result: SearchResult


@dataclass
class DetailLoaded(Reply):
    """One card's detail for Browse: its memory state and review history."""

    detail: CardDetail


@dataclass
class RunsLoaded(Reply):
    """A lab's past runs, newest first (as `companion.labrunner.past_runs` gives them)."""

    runs: list[LabRunRow]


@dataclass
class MetricsLoaded(Reply):
    """The metric points one past run recorded: (chart, series, x, y)."""

    run_id: int
    rows: list[MetricPoint]


# -- a running lab ---------------------------------------------------------


@dataclass
class LabEvent(Message):
    """One event of run number `run_token` (a `labs.events` dataclass; Review's
    prediction runs send (guess, event))."""

    run_token: int
    event: Any


@dataclass
class LabEnded(Message):
    """Run number `run_token`'s worker has finished: the run is recorded, whatever its end."""

    run_token: int


@dataclass
class ExerciseChecked(Message):
    """Check number `token` of a card's exercise has finished: a
    companion.exercises.Checked, or the reason it could not run."""

    token: int
    card_id: str
    checked: Any = None
    error: str = ""
