"""`companion doctor`: is the learner's database whole, and does the cache agree with the log?

`run_doctor` returns a report and prints nothing; the CLI lays it out
(companion/cli/tables.py `print_doctor`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from companion.replay import events_by_card, logged, memory_row, rebuild_all
from companion.scheduler import NEW, LoggedReview, PresetModels
from companion.session import decoded_fields
from companion.settings import Settings
from companion.store import SCHEMA_VERSION, Reads, Store


@dataclass(frozen=True)
class DoctorReport:
    database: Path
    integrity: str  # "ok", or what SQLite's integrity check found
    schema_version: int
    known_schema_version: int  # the newest this companion knows
    cards: int
    retired_cards: int
    reviews: int
    orphan_reviews: int  # reviews of cards not in the store
    rebuilt_reviews: int | None  # with --rebuild: the reviews replayed
    rebuild_seconds: float | None
    mismatches: tuple[str, ...]  # card ids whose cache differs from a replay
    backups: tuple[Path, ...]  # oldest first
    unreadable: tuple[tuple[str, str], ...] = ()  # (card id, what of it doesn't read)
    log_problem: str | None = None  # a row of the log no replay can read (Reads.log_problem)

    @property
    def status(self) -> int:
        """The exit status: 1 when the file is damaged, the cache disagrees or a
        card's stored fields don't read."""
        return 1 if (self.integrity != "ok" or self.mismatches or self.unreadable
                     or self.log_problem) else 0


def cache_mismatches(store: Reads, settings: Settings) -> list[str]:
    """Card ids whose cached memory differs from a replay of their reviews."""
    models = PresetModels(settings)
    deck_of = store.card_decks()
    cached = {row.id: row for row in store.cached_memories()}
    logs: dict[str, list[LoggedReview]] = {}
    for review in store.review_log():
        logs.setdefault(review.card_id, []).append(logged(review))
    events = events_by_card(store)
    bad = []
    for card_id in set(cached) | set(logs):
        model = models.for_deck(deck_of.get(card_id))
        memory, _ = model.replay(card_id, logs.get(card_id, []), events.get(card_id, []))
        # a card a replay leaves plain new (never answered, or forgotten with its
        # counts) has no cached state to compare
        plain = memory.state == NEW and memory.reps == 0
        if cached.get(card_id) != (None if plain else memory_row(card_id, memory)):
            bad.append(card_id)
    return sorted(bad)


def run_doctor(store: Store, settings: Settings, rebuild: bool = False) -> DoctorReport:
    integrity = store.integrity_check()
    totals = store.card_totals()
    reviews = store.review_count()
    orphans = store.orphan_review_count()
    rebuilt, seconds = None, None
    # a log row no replay reads: said, and neither replayed nor compared
    log_problem = store.log_problem()
    if rebuild and log_problem is None:
        started = time.perf_counter()
        rebuilt = rebuild_all(store, settings)
        seconds = time.perf_counter() - started
    return DoctorReport(
        database=store.path, integrity=integrity, schema_version=store.version,
        known_schema_version=SCHEMA_VERSION, cards=totals.cards,
        retired_cards=totals.retired, reviews=reviews, orphan_reviews=orphans,
        rebuilt_reviews=rebuilt, rebuild_seconds=seconds,
        mismatches=() if log_problem else tuple(cache_mismatches(store, settings)),
        log_problem=log_problem,
        unreadable=tuple((card_id, problem) for card_id, params, choices
                         in store.card_json_fields()
                         if (problem := decoded_fields(params, choices)[2])),
        backups=tuple(sorted(store.backups_dir().glob("companion-*.db"))))
