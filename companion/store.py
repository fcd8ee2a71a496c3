"""The learner's database: SQLite, WAL, schema version in PRAGMA user_version.

The hot paths (the review queue, answering, `companion due`) use the plain
sqlite3 connection; schema creation and bulk writes use sqlite-utils, which is
imported only when they run (it pulls in numpy, too slow for every start).
"""

# No `from __future__ import annotations` here: with it every NamedTuple field's
# annotation is a string that typing compiles at import, ~10 ms of each start.

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Collection, Iterable, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, TypeVar

if TYPE_CHECKING:  # built only when the store's reads that return them run
    from companion.rows import (
        ApkgCard,
        ApkgDeck,
        ApkgReview,
        ApkgSchedule,
        CardGroup,
        CardTotals,
        CsvReview,
        DeckListing,
        ExportCard,
        ExportDeck,
        ExportEvent,
        ExportLabRun,
        ExportMetric,
        ExportReview,
        ExportUndo,
        FlagEvent,
        HardCard,
        LogReview,
        MergedFlags,
        ReviewCost,
        SearchHit,
        StudiedMemory,
    )

SCHEMA_VERSION = 12
# The times (ms since the epoch) a review or event can have: those a date in
# any time zone can show (years 1-9999, a day's margin either side).
LOG_TIME_RANGE = (-62_135_596_800_000 + 86_400_000, 253_402_300_799_999 - 86_400_000)
BACKUPS_KEPT = 5

# A card's state, as the schema stores it (and as Anki numbers them). SQL names
# them through these constants, never as bare numbers.
NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3

Row = TypeVar("Row")


# -- rows: decks -------------------------------------------------------------


class DeckChoice(NamedTuple):
    name: str
    id: str


class DeckPath(NamedTuple):
    id: str
    path: str | None


class CardDefinition(NamedTuple):
    """A card as a deck file defines it: what a deck sync writes (the memory
    state and the learner's flags are not part of it)."""

    id: str
    deck_id: str
    note_id: str
    kind: str
    ord: int
    front: str
    back: str
    extra: str
    source: str
    tags: str
    lab: str
    lab_params: str
    position: int
    line: int
    added_at: int
    choices: str
    reveal: str
    type_answer: str = ""  # `Type: yes`: the answer the learner types ("" if not typed)
    exercise: str = ""  # `Exercise: NAME`: the exercise the card belongs to ("" if none)


# -- rows: cards and the queue -----------------------------------------------


class CardRow(NamedTuple):
    """A card as the review shows it: its text, its memory state, its flags."""

    id: str
    deck_id: str
    note_id: str
    kind: str
    front: str
    back: str
    extra: str | None
    source: str | None
    tags: str | None
    lab: str | None
    lab_params: str | None
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
    choices: str | None
    reveal: str | None
    type_answer: str | None
    exercise: str | None


CARD_COLUMNS = ", ".join(CardRow._fields)


class CardFlags(NamedTuple):
    """What a suspend, a bury or a leech changes, so undo can put it back."""

    id: str
    suspended: int
    buried_until: int | None
    tags: str | None


class DeckCounts(NamedTuple):
    """Per deck: new cards, learning cards due, reviews due (before any daily limit)."""

    deck_id: str
    new: int
    learning: int
    review: int


# -- rows: the review log ----------------------------------------------------


class AnsweredCounts(NamedTuple):
    """Answers since a time: of new cards (introduced) and of review-state cards."""

    new: int
    review: int


class CardReview(NamedTuple):
    """A review as a replay reads it, with the decision the scheduler kept
    (NULLs when the log holds none: a review imported from elsewhere)."""

    id: str
    reviewed_at: int
    rating: int
    state_after: int | None
    remaining_steps: int | None
    interval: int | None
    due: int | None
    elapsed_days: int | None


class CardEvent(NamedTuple):
    """A reschedule, a forget or a state set from another program, as the
    replay reads it."""

    card_id: str
    at: int
    kind: str
    interval: int | None
    due: int | None
    memory: str | None  # a set-state's other fields, JSON (EVENT_MEMORY_FIELDS)


# -- rows: doctor and rebuild ------------------------------------------------


class MemoryRow(NamedTuple):
    """A card's cached memory state, as it is written (and compared with a replay)."""

    state: int
    remaining_steps: int | None
    stability: float | None
    difficulty: float | None
    due: int | None
    last_review: int | None
    reps: int
    lapses: int
    interval: int | None
    id: str


# -- rows: lab runs ----------------------------------------------------------


class LabRunRow(NamedTuple):
    """A recorded lab run, its parameters and result summary decoded from JSON."""

    id: int
    lab: str
    params: dict[str, Any]
    device: str | None
    seed: int | None
    card_id: str | None
    started_at: int
    ended_at: int | None
    status: str
    error: str | None
    summary: dict[str, Any] | None
    prediction: str | None


class MetricPoint(NamedTuple):
    chart: str
    series: str
    x: float
    y: float


# -- rows: the read model ----------------------------------------------------


class ReviewRow(NamedTuple):
    card_id: str
    reviewed_at: int  # ms since the epoch, UTC
    rating: int  # 1-4
    state_before: int | None  # the card's state when it was answered
    duration_ms: int | None = 0


class ExerciseAttemptRow(NamedTuple):
    """One check of the learner's code for an exercise (companion.exercises)."""

    id: str
    exercise: str
    card_id: str | None  # the card it was checked for, if any
    at: int  # ms since the epoch, UTC
    passed: int  # checks that passed
    failed: int
    total: int
    seconds: float  # the learner's code's running time
    file: str


class RecallAttemptRow(NamedTuple):
    """One free-recall attempt (companion.recall): what the learner wrote for
    a section, and how many of its key ideas the text named."""

    id: str
    at: int  # ms since the epoch, UTC
    section: str
    ideas: int  # the section's notes with Keys: then
    recalled: int
    missed: list[str]  # the missed notes' card ids
    text: str


class LiveDeck(NamedTuple):
    id: str
    name: str
    cards: int


class SearchTerm(NamedTuple):
    """One term of Browse's search (companion.search parses the text): `kind`
    is text, deck, tag, lab, has_lab, exercise, has_exercise, state, suspended, buried or due."""

    kind: str
    value: Any = None
    negate: bool = False


# -- rows: import and export -------------------------------------------------


# -- end of rows --------------------------------------------------------------


# What code that reads a log row no companion writes raises (a rating of 7 used
# as an index, a time of 1e300 made a date, text in a sum): only these are put
# down to such a row (`Store.log_problem`), in a replay and in a failed command.
BAD_ROW_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, IndexError, KeyError,
                                              ArithmeticError)


class StoreError(RuntimeError):
    """A database that can't be used as it is; the message says which file and why."""


def _migration_1(db: Any) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["decks"].create(
        {"id": str, "name": str, "description": str, "path": str, "retired": int},
        pk="id", defaults={"retired": 0}, not_null={"name"},
    )
    db["cards"].create(
        {
            "id": str, "deck_id": str, "note_id": str, "kind": str, "ord": int,
            "front": str, "back": str, "extra": str, "source": str, "tags": str,
            "lab": str, "lab_params": str, "position": int, "line": int,
            "retired": int, "suspended": int, "buried_until": int, "added_at": int,
            # The memory state below is a cache: replaying `reviews` rebuilds it.
            "state": int, "step": int, "stability": float, "difficulty": float,
            "due": int, "last_review": int, "reps": int, "lapses": int,
        },
        pk="id",
        defaults={"retired": 0, "suspended": 0, "state": 0, "reps": 0, "lapses": 0},
        not_null={"deck_id", "front", "back"},
    )
    db["cards"].create_index(["retired", "suspended", "state", "due"], index_name="cards_queue")
    db["cards"].create_index(["retired", "suspended", "state", "deck_id", "position"],
                             index_name="cards_new_order")
    # Covers the per-deck counts (`companion due`, the home screen) so they never
    # read a card's text: ~40 ms instead of ~350 ms at 100,000 cards.
    db["cards"].create_index(["retired", "suspended", "deck_id", "state", "due", "buried_until"],
                             index_name="cards_counts")
    db["cards"].create_index(["deck_id"], index_name="cards_deck")
    db["cards"].create_index(["note_id"], index_name="cards_note")
    # The review log: append-only, the source of truth. `state_before` is a
    # cache of the card's state when it was answered (replay rebuilds it).
    db["reviews"].create(
        {"id": str, "card_id": str, "reviewed_at": int, "rating": int,
         "duration_ms": int, "state_before": int},
        pk="id", not_null={"card_id", "reviewed_at", "rating"},
    )
    db["reviews"].create_index(["card_id", "reviewed_at"], index_name="reviews_card")
    db["reviews"].create_index(["reviewed_at"], index_name="reviews_time")
    db["lab_runs"].create(
        {"id": int, "lab": str, "params": str, "device": str, "seed": int, "card_id": str,
         "started_at": int, "ended_at": int, "status": str, "error": str, "summary": str},
        pk="id",
    )
    db["lab_metrics"].create(
        {"run_id": int, "chart": str, "series": str, "x": float, "y": float},
        foreign_keys=[("run_id", "lab_runs", "id")],
    )
    db["lab_metrics"].create_index(["run_id"], index_name="lab_metrics_run")


def _migration_2(db: Any) -> None:
    """Predict-then-run cards: their choices and where the lab's result holds the
    answer; a lab run remembers the guess it was run to check."""
    db["cards"].add_column("choices", str)
    db["cards"].add_column("reveal", str)
    db["lab_runs"].add_column("prediction", str)


def _migration_3(db: Any) -> None:
    """A lab run remembers the process that owns it (its pid and that process's
    start), so a run whose process was killed can be told from one still going."""
    db["lab_runs"].add_column("pid", int)
    db["lab_runs"].add_column("pid_started", str)


def _migration_4(db: Any) -> None:
    """Scheduling as Anki does it: a card keeps Anki's steps left and interval,
    and each review what the scheduler decided, so a replay is exact under any
    later settings. Every cached state is rebuilt under the new rules on the
    next open (`replay_needed`), which also fills in the old reviews' decisions."""
    db.execute("ALTER TABLE cards RENAME COLUMN step TO remaining_steps")
    db["cards"].add_column("interval", int)
    for column in ("state_after", "remaining_steps", "interval", "due", "elapsed_days"):
        db["reviews"].add_column(column, int)
    # Schedule changes that are not answers (reschedule, forget), append-only
    # like the reviews and replayed among them by time.
    db["card_events"].create(
        {"id": str, "card_id": str, "at": int, "kind": str, "interval": int, "due": int},
        pk="id", not_null={"card_id", "at", "kind"},
    )
    db["card_events"].create_index(["card_id", "at"], index_name="card_events_card")
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('replay_needed', '1')")


def _migration_5(db: Any) -> None:
    """Decks within decks: a deck names its parent (Anki's "Parent::Child"),
    whose daily limits cap its own, and studying a deck studies its subdecks."""
    db["decks"].add_column("parent", str)


# When a flag event happened: now in ms, and always after every event the log
# holds (this machine's or one merged from another's), so a change made after
# seeing another machine's change wins over it whatever the two clocks say.
_FLAG_EVENT_AT = ("max(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), "
                  "coalesce((SELECT max(at) FROM flag_events), 0) + 1)")
_HAS_LEECH = "instr(' ' || coalesce({}.tags, '') || ' ', ' leech ') > 0"
# meta's key while a sync writes what other machines' events decided: those
# writes are not this machine's changes, so the triggers log none of them.
SYNC_APPLYING_KEY = "sync_applying"


def _migration_6(db: Any) -> None:
    """The sync folder: a card's suspension, burial and leech tag change by
    events (append-only, each with its own id, like the reviews), so two
    machines' changes merge as a union and the later one wins. Triggers log
    every change of those columns, whichever code path makes it; what each
    card has now is logged once as where its log starts."""
    db["flag_events"].create(
        {"id": str, "card_id": str, "at": int, "kind": str, "until": int},
        pk="id", not_null={"card_id", "at", "kind"},
    )
    db["flag_events"].create_index(["card_id", "at"], index_name="flag_events_card")
    db["flag_events"].create_index(["at"], index_name="flag_events_at")
    event = ("INSERT INTO flag_events(id, card_id, at, kind, until) SELECT "
             f"lower(hex(randomblob(16))), new.id, {_FLAG_EVENT_AT}, ")
    not_syncing = f"NOT EXISTS (SELECT 1 FROM meta WHERE key = '{SYNC_APPLYING_KEY}')"
    db.execute(
        "CREATE TRIGGER cards_flags_changed AFTER UPDATE OF suspended, buried_until, tags "
        f"ON cards WHEN {not_syncing} BEGIN "
        f"{event}CASE WHEN coalesce(new.suspended, 0) THEN 'suspend' ELSE 'unsuspend' END, "
        "NULL WHERE coalesce(new.suspended, 0) != coalesce(old.suspended, 0); "
        f"{event}'bury', new.buried_until WHERE new.buried_until IS NOT old.buried_until; "
        f"{event}CASE WHEN {_HAS_LEECH.format('new')} THEN 'leech' ELSE 'unleech' END, NULL "
        f"WHERE {_HAS_LEECH.format('new')} != {_HAS_LEECH.format('old')}; END")
    db.execute(
        f"CREATE TRIGGER cards_flags_added AFTER INSERT ON cards WHEN {not_syncing} BEGIN "
        f"{event}'suspend', NULL WHERE coalesce(new.suspended, 0) != 0; "
        f"{event}'bury', new.buried_until WHERE new.buried_until IS NOT NULL; END")
    # Where each card's log starts: what it has now, as of now.
    at = int(time.time() * 1000)
    for kind, until, where in (("suspend", "NULL", "suspended = 1"),
                               ("bury", "buried_until", f"buried_until > {at}"),
                               ("leech", "NULL", _HAS_LEECH.format("cards"))):
        db.execute("INSERT INTO flag_events(id, card_id, at, kind, until) SELECT "
                   f"lower(hex(randomblob(16))), id, {at}, '{kind}', {until} FROM cards "
                   f"WHERE {where}")


def _migration_7(db: Any) -> None:
    """Typed answers (a deck's `Type: yes`): a card keeps the answer the
    learner types. The deck files are read again on the next sync, so cards
    already stored get theirs without a change to any file."""
    db["cards"].add_column("type_answer", str)
    db.execute("DELETE FROM meta WHERE key = 'deck_signature'")


def _migration_8(db: Any) -> None:
    """A card's state as another program held it (Anki's stability and
    difficulty from a history before FSRS, or from parameters changed since
    the reviews): a `set-state` event, its fields besides interval and due in
    `memory` (JSON). The replay sets the card to it at its time. And the
    answers taken back, so that no merge brings one back."""
    db["card_events"].add_column("memory", str)
    # An answer taken back (undo): its id, so a copy of the log that still has
    # it (another machine's sync file, this one's own, a package imported
    # again) doesn't bring it back. Append-only, merged as a union.
    db["undone_reviews"].create({"id": str, "card_id": str, "at": int}, pk="id",
                                not_null={"card_id", "at"})


def _migration_9(db: Any) -> None:
    """Free recall (`companion recall`): each attempt at writing down a
    section's ideas, kept with its text and score, apart from the review log,
    as an attempt changes no card's schedule."""
    db["recall_attempts"].create(
        {"id": str, "at": int, "section": str, "ideas": int, "recalled": int, "missed": str,
         "text": str},
        pk="id", not_null={"at", "section", "ideas", "recalled", "missed", "text"},
    )
    db["recall_attempts"].create_index(["section", "at"], index_name="recall_attempts_section")


def _migration_10(db: Any) -> None:
    """Exercises: a card may name one (`Exercise: NAME`), and each check of the
    learner's code is kept (when, which card, how many checks passed), apart
    from the review log: a check only proposes the card's grade."""
    db["cards"].add_column("exercise", str)
    db["exercise_attempts"].create(
        {"id": str, "exercise": str, "card_id": str, "at": int, "passed": int, "failed": int,
         "total": int, "seconds": float, "file": str},
        pk="id", not_null={"exercise", "at", "passed", "failed", "total"},
    )
    db["exercise_attempts"].create_index(["exercise", "at"], index_name="exercise_attempts_at")
    db.execute("DELETE FROM meta WHERE key = 'deck_signature'")  # the decks read again


def _migration_11(db: Any) -> None:
    """An answer taken back is known by its review id and its card together.
    Keyed on the id alone, a record naming the id with another card (a
    damaged or hostile sync file) took the id's place, the true undo was
    ignored, and the answer came back on the next merge. The table is built
    anew, as SQLite changes a primary key (inside this migration's transaction)."""
    db["undone_reviews_keyed"].create({"id": str, "card_id": str, "at": int},
                                      pk=("id", "card_id"), not_null={"at"})
    db.execute("INSERT INTO undone_reviews_keyed(id, card_id, at) "
               "SELECT id, card_id, at FROM undone_reviews")
    db.execute("DROP TABLE undone_reviews")
    db.execute("ALTER TABLE undone_reviews_keyed RENAME TO undone_reviews")


def _migration_12(db: Any) -> None:
    """The new-card order's index holds the new cards only. It held every
    card by its state, so each answer that moved a card between learning,
    review and relearning rewrote two of its entries (about 18 µs of an
    answer's 150 at 100,000 cards); now only a card's first answer, which
    takes it out of the index, touches it. The new-card queries say
    `state = 0`, which lets SQLite use the partial index."""
    db.execute("DROP INDEX IF EXISTS cards_new_order")
    db.execute(f"CREATE INDEX cards_new_order ON cards(retired, suspended, deck_id, position) "
               f"WHERE state = {NEW}")


MIGRATIONS = {1: _migration_1, 2: _migration_2, 3: _migration_3, 4: _migration_4,
              5: _migration_5, 6: _migration_6, 7: _migration_7, 8: _migration_8,
              9: _migration_9, 10: _migration_10, 11: _migration_11,
              12: _migration_12}


# What each schema version has, to tell companion's database from another
# program's file that happens to carry the same user_version.
SCHEMA_TABLES = {
    "meta": {"key", "value"},
    "decks": {"id", "name", "path", "retired"},
    "cards": {"id", "deck_id", "note_id", "front", "back", "state", "due", "retired"},
    "reviews": {"id", "card_id", "reviewed_at", "rating"},
    "lab_runs": {"id", "lab", "params", "status"},
    "lab_metrics": {"run_id", "chart", "series", "x", "y"},
}
SCHEMA_ADDED = {2: {"cards": {"choices", "reveal"}, "lab_runs": {"prediction"}},
                3: {"lab_runs": {"pid", "pid_started"}},
                4: {"cards": {"remaining_steps", "interval"},
                    "reviews": {"state_after", "remaining_steps", "interval", "due",
                                "elapsed_days"},
                    "card_events": {"id", "card_id", "at", "kind", "interval", "due"}},
                5: {"decks": {"parent"}},
                6: {"flag_events": {"id", "card_id", "at", "kind", "until"}},
                7: {"cards": {"type_answer"}},
                8: {"card_events": {"memory"}, "undone_reviews": {"id", "card_id", "at"}},
                9: {"recall_attempts": {"id", "at", "section", "ideas", "recalled", "missed",
                                        "text"}},
                10: {"cards": {"exercise"},
                     "exercise_attempts": {"id", "exercise", "card_id", "at", "passed", "failed",
                                           "total", "seconds", "file"}}}
# The columns a review keeps of what the scheduler decided, in order.
DECISION_COLUMNS = "state_after, remaining_steps, interval, due, elapsed_days"


def _missing_schema(conn: sqlite3.Connection, version: int) -> str:
    """What a database of `version` lacks of companion's schema, in words ('' if nothing)."""
    have: dict[str, set[str]] = {}
    for table, column in conn.execute(
            "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
            "WHERE m.type = 'table'"):
        have.setdefault(table, set()).add(column)
    tables = dict(SCHEMA_TABLES)
    for since, added in SCHEMA_ADDED.items():
        if version >= since:
            tables.update({table: tables.get(table, set()) for table in added})
    for table, columns in tables.items():
        wanted = set(columns)
        for since, added in SCHEMA_ADDED.items():
            if version >= since:
                wanted |= added.get(table, set())
        if table not in have:
            return f"it has no {table} table"
        if wanted - have[table]:
            return f"its {table} table lacks {', '.join(sorted(wanted - have[table]))}"
    return ""


def process_started(pid: int) -> str | None:
    """When process `pid` started, as the kernel counts it (Linux's /proc), so a
    pid reused by another process is not taken for the one that owned a run.
    None where that can't be read: then only whether the pid lives is known."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # the fields after the command name, which is in parentheses
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int | None, started: str | None) -> bool:
    if not pid:
        return False  # recorded before runs remembered their process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process has that pid now
    return started is None or process_started(pid) == started


def _json_object(text: str | None, name: str) -> dict[str, Any] | None:
    """A stored JSON object (a run's parameters or summary). Text that doesn't
    read as one (a stranger's export, an old bug) comes back under `name`,
    never raised: every reader of runs can show it."""
    import json

    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {name: text}
    return value if isinstance(value, dict) else {name: value}


def _event_memory(text: str) -> dict[str, Any] | None:
    """A set-state event's fields, as a dict; None where the text doesn't read
    as one (the export's check then leaves the event out, saying why)."""
    import json

    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# A review's card is in one of the decks a JSON list names (a preset's decks).
_IN_DECKS = ("card_id IN (SELECT id FROM cards WHERE deck_id IN "
             "(SELECT value FROM json_each(?)))")


def _json_list(values: Sequence[Any]) -> str:
    import json

    return json.dumps(list(values))


def _search_where(terms: Sequence[SearchTerm], day_end: int) -> tuple[str, list[Any]]:
    """Browse's search terms as one WHERE clause over live cards; terms are ANDed."""
    where: list[str] = ["retired = 0"]
    args: list[Any] = []
    for term in terms:
        extra: list[Any] = []
        if term.kind == "deck":
            clause, extra = "deck_id = ?", [term.value]
        elif term.kind == "tag":
            clause, extra = "(' ' || coalesce(tags, '') || ' ') LIKE ?", [f"% {term.value} %"]
        elif term.kind == "lab":
            clause, extra = "lab = ?", [term.value]
        elif term.kind == "has_lab":
            clause = "coalesce(lab, '') != ''"
        elif term.kind == "exercise":
            clause, extra = "exercise = ?", [term.value]
        elif term.kind == "has_exercise":
            clause = "coalesce(exercise, '') != ''"
        elif term.kind == "state":
            clause, extra = "state = ?", [term.value]
        elif term.kind == "suspended":
            clause = "suspended = 1"
        elif term.kind == "buried":
            clause, extra = "coalesce(buried_until, 0) > ?", [day_end - 1]
        elif term.kind == "due":
            clause, extra = f"(state != {NEW} AND due < ?)", [day_end]
        elif term.kind == "nc":  # the card's text without its marks (cardtext.without_combining)
            like = f"%{term.value}%"
            clause = ("(companion_nc(front) LIKE ? ESCAPE '\\' OR "
                      "companion_nc(back) LIKE ? ESCAPE '\\' OR "
                      "companion_nc(coalesce(extra, '')) LIKE ? ESCAPE '\\')")
            extra = [like, like, like]
        else:
            like = f"%{term.value}%"
            # the value is a LIKE pattern already (search.like_pattern: Anki's wildcards)
            clause = ("(front LIKE ? ESCAPE '\\' OR back LIKE ? ESCAPE '\\' OR "
                      "coalesce(extra, '') LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')")
            extra = [like, like, like, like]
        where.append(f"NOT {clause}" if term.negate else clause)
        args.extend(extra)
    return " AND ".join(where), args


# meta's key for the day's raised limits: {"day": "2026-05-05", "new": 10, "review": 0}
LIMIT_EXTENSION_KEY = "limit_extension"


def _day_hash(text: Any, salt: Any) -> int:
    """A 63-bit hash of a salt (the learner day) and a card id: a random order
    that is the same all day and another the next. BLAKE2 of both, as Anki
    hashes the id with a salt (sorting.rs hash_id_with_salt, fnvhash); here a
    hash with C speed, called once per new card of the scope."""
    digest = hashlib.blake2b(f"{salt}\x00{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


_last = itemgetter(-1)


def now_ms() -> int:
    return int(time.time() * 1000)


def _id_range(after: str | None, upto: str | None,
              column: str = "id") -> tuple[str, tuple[str, ...]]:
    """A WHERE clause for the ids (in `column`) past `after` and up to `upto`
    (either may be None: no bound), and its arguments."""
    bounds = [(f"{column} {op} ?", value) for op, value in ((">", after), ("<=", upto))
              if value is not None]
    if not bounds:
        return "", ()
    return " WHERE " + " AND ".join(c for c, _ in bounds), tuple(v for _, v in bounds)


class Reads:
    """Every named read of the store. `Store` (the writer) and `ReadStore` (a
    worker's read-only connection) both have them, so a query is written once.

    Rows come back typed (a NamedTuple per kind of row below), filled by column
    name, so a reordered SELECT can't shift a value into the wrong field."""

    path: Path
    conn: sqlite3.Connection

    # (row class, SQL) -> whether the SELECT's columns are the class's fields in
    # order. Then a row is filled by position, which is filling by name, at
    # a tenth of the cost: a card's 22 columns by keyword cost ~8 µs, several
    # times per answer.
    _in_field_order: dict[tuple[type, str], bool] = {}

    def _by_position(self, cls: type, sql: str, cursor: sqlite3.Cursor) -> bool:
        key = (cls, sql)
        known = self._in_field_order.get(key)
        if known is None:
            if len(self._in_field_order) > 1000:  # statements built with literals in them
                self._in_field_order.clear()
            names = tuple(column[0] for column in cursor.description)
            known = self._in_field_order[key] = names == getattr(cls, "_fields", None)
        return known

    def _rows(self, cls: type[Row], sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cursor = self.conn.execute(sql, args)
        if self._by_position(cls, sql, cursor):
            return list(map(cls._make, cursor))  # type: ignore[attr-defined]  # a NamedTuple
        names = [column[0] for column in cursor.description]
        return [cls(**dict(zip(names, values))) for values in cursor]

    def _row(self, cls: type[Row], sql: str, args: Sequence[Any] = ()) -> Row | None:
        cursor = self.conn.execute(sql, args)
        values = cursor.fetchone()
        if values is None:
            return None
        if self._by_position(cls, sql, cursor):
            return cls._make(values)  # type: ignore[attr-defined]  # a NamedTuple
        return cls(**dict(zip([column[0] for column in cursor.description], values)))

    def _value(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.conn.execute(sql, args).fetchone()
        return row[0] if row else None

    def _column(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return [row[0] for row in self.conn.execute(sql, args)]

    def data_state(self) -> tuple[int, int]:
        """Where the database's history stands, as this connection sees it:
        SQLite's data_version (it moves when another connection commits) and
        this connection's total_changes (it moves with each row this
        connection writes). Equal twice: nothing was written in between."""
        return self.conn.execute("PRAGMA data_version").fetchone()[0], self.rows_written()

    def rows_written(self) -> int:
        """Rows this connection inserted, changed or deleted since it opened
        (no statement runs: SQLite counts them)."""
        return self.conn.total_changes

    def meta(self, key: str, default: str | None = None) -> str | None:
        value = self._value("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else value

    # -- decks (reads) -------------------------------------------------------

    def deck_choices(self) -> list[DeckChoice]:
        """The live decks by name, for a filter or a picker."""
        return self._rows(DeckChoice, "SELECT name, id FROM decks WHERE retired = 0 ORDER BY name")

    def deck_exists(self, deck_id: str) -> bool:
        """A live (not retired) deck with this id."""
        return self._value("SELECT 1 FROM decks WHERE id = ? AND retired = 0",
                           (deck_id,)) is not None

    def deck_parents(self) -> dict[str, str | None]:
        """Each live deck's parent deck (None at the top). A parent that is
        retired, or a chain that loops (a store edited by hand), counts as the
        top: the tree is always a tree."""
        parents: dict[str, str | None] = dict(self.conn.execute(
            "SELECT id, parent FROM decks WHERE retired = 0").fetchall())
        for deck_id, parent in list(parents.items()):
            seen = {deck_id}
            while parent is not None:
                if parent not in parents or parent in seen:
                    parents[deck_id] = None
                    break
                seen.add(parent)
                parent = parents[parent]
        return parents

    def live_deck_ids(self) -> list[str]:
        return self._column("SELECT id FROM decks WHERE retired = 0")

    def deck_path(self, deck_id: str) -> str | None:
        """The file a deck is read from (None for a deck that lives in the store alone)."""
        return self._value("SELECT path FROM decks WHERE id = ?", (deck_id,))

    def live_deck_paths(self) -> list[DeckPath]:
        return self._rows(DeckPath, "SELECT id, path FROM decks WHERE retired = 0")

    def deck_listing(self) -> "list[DeckListing]":
        """The live decks by name with their live cards: how many, reviewed, suspended."""
        from companion.rows import DeckListing
        return self._rows(
            DeckListing,
            "SELECT d.id, d.name, count(c.id) AS cards, coalesce(sum(c.reps > 0), 0) AS reviewed, "
            "coalesce(sum(c.suspended), 0) AS suspended, d.path FROM decks d "
            "LEFT JOIN cards c ON c.deck_id = d.id AND c.retired = 0 "
            "WHERE d.retired = 0 GROUP BY d.id ORDER BY d.name")

    def card_count(self) -> int:
        """Every card, retired ones too."""
        return self._value("SELECT count(*) FROM cards")

    # -- cards: the queue, a card, its flags (reads) -------------------------

    @staticmethod
    def _deck_filter(deck_id: str | None) -> tuple[str, tuple[Any, ...]]:
        return ("AND deck_id = ?", (deck_id,)) if deck_id else ("", ())

    # -- the queue of a selection: a tag, custom study, a new-card order ------
    #
    # The queue's reads within a scope: a deck and/or a tag. Custom study
    # (companion.session.Selection) adds cards due ahead or forgotten, each
    # counted once: a card answered since the selection was built (`built_at`)
    # has left it, unless it is learning again, as a card leaves Anki's
    # filtered deck once answered (rslib/src/scheduler/filtered/).

    @staticmethod
    def _scope(now: int | None, decks: Sequence[str] | None,
               tag: str | None) -> tuple[str, list[Any]]:
        """Studyable cards (live, not suspended, not buried at `now`) of the
        decks (None: every deck) and with the tag, if given; a tag matches
        whole and in any case, as Anki's tag search does. With `now` None:
        every live card of them."""
        sql = "retired = 0"
        args: list[Any] = []
        if now is not None:
            sql += " AND suspended = 0 AND (buried_until IS NULL OR buried_until <= ?)"
            args.append(now)
        if decks is not None:
            if len(decks) == 1:
                sql += " AND deck_id = ?"
            else:  # none: no card; many: a literal list the planner can read
                sql += f" AND deck_id IN ({', '.join('?' * len(decks))})"
            args.extend(decks[:1] if len(decks) == 1 else decks)
        if tag:
            sql += " AND instr(' ' || lower(coalesce(tags, '')) || ' ', ?) > 0"
            args.append(f" {tag.lower()} ")
        return sql, args

    _AGAIN_SINCE = "id IN (SELECT card_id FROM reviews WHERE rating = 1 AND reviewed_at >= ?)"
    _AGAIN_BETWEEN = ("id IN (SELECT card_id FROM reviews WHERE rating = 1 "
                      "AND reviewed_at >= ? AND reviewed_at < ?)")

    def scoped_queue_counts(self, learning_due_by: int, reviews_due_before: int, now: int,
                            decks: Sequence[str] | None, tag: str | None) -> list[DeckCounts]:
        """One pass over the scope's studyable cards (not retired, suspended or
        buried at `now`), grouped by deck: new, learning due by `learning_due_by`,
        reviews due before `reviews_due_before`."""
        scope, args = self._scope(now, decks, tag)
        return self._rows(
            DeckCounts,
            f"SELECT deck_id, coalesce(sum(state = {NEW}), 0) AS new, "
            f"coalesce(sum(state IN ({LEARNING}, {RELEARNING}) AND due <= ?), 0) AS learning, "
            f"coalesce(sum(state = {REVIEW} AND due < ?), 0) AS review FROM cards "
            f"WHERE {scope} GROUP BY deck_id ORDER BY deck_id",
            (learning_due_by, reviews_due_before, *args))

    def _first_in(self, where: str, order: str, args: Sequence[Any], now: int,
                  decks: Sequence[str] | None, tag: str | None) -> CardRow | None:
        scope, scope_args = self._scope(now, decks, tag)
        return self._row(CardRow, f"SELECT {CARD_COLUMNS} FROM cards WHERE {scope} "
                                  f"AND {where} ORDER BY {order} LIMIT 1",
                         (*scope_args, *args))

    def first_learning_card_in(self, due_by: int, now: int, decks: Sequence[str] | None,
                               tag: str | None, again_since: int | None = None
                               ) -> CardRow | None:
        """The scope's learning or relearning card due first, if due by `due_by`;
        with `again_since`, only one answered Again since then."""
        where, args = f"state IN ({LEARNING}, {RELEARNING}) AND due <= ?", [due_by]
        if again_since is not None:
            where += f" AND {self._AGAIN_SINCE}"
            args.append(again_since)
        # ORDER BY due alone lets SQLite walk cards_queue in order and stop at the
        # first row (ties go by the index's rowid order); "due, id" made it sort
        # every due card: 3.5 ms an answer instead of 0.03 at 20,000 cards.
        return self._first_in(where, "due", args, now, decks, tag)

    # SQL text of first_learning_card_in's read -> whether SQLite plans the
    # read of learning_cards_in the same way (see there).
    _same_learning_plan: dict[str, bool] = {}

    def learning_cards_in(self, limit: int, buried_by: int, decks: Sequence[str] | None,
                          tag: str | None) -> list[tuple[CardRow, int, Any]] | None:
        """The scope's first `limit` learning and relearning cards (any due
        date) in the order first_learning_card_in draws them, each with its
        due time and its `buried_until`: the cards buried at a time up to `buried_by` are among
        them, so the first of them not buried at `now` (and due by its bound)
        is what first_learning_card_in(due_by, now, ...) reads, for any `now`
        up to `buried_by`.

        That order is the plan's: SQLite sorts by due alone, and cards due at
        the same time come in the order the plan visits them (a static order
        over each row: the IN list's, then the index's). None when SQLite would
        plan this read other than first_learning_card_in's, where that order
        could differ."""
        scope, scope_args = self._scope(buried_by, decks, tag)
        where = f"state IN ({LEARNING}, {RELEARNING}) AND due <= ?"
        args = (*scope_args, 2**63 - 1)
        one = f"SELECT {CARD_COLUMNS} FROM cards WHERE {scope} AND {where} ORDER BY due LIMIT 1"
        many = (f"SELECT {CARD_COLUMNS}, buried_until FROM cards WHERE {scope} AND {where} "
                f"ORDER BY due LIMIT {int(limit)}")
        same = self._same_learning_plan.get(one)
        if same is None:
            if len(self._same_learning_plan) > 1000:  # many decks' lists over a session
                self._same_learning_plan.clear()
            plans = [[step[3] for step in self.conn.execute(f"EXPLAIN QUERY PLAN {sql}", args)]
                     for sql in (one, many)]
            same = self._same_learning_plan[one] = plans[0] == plans[1]
        if not same:
            return None
        make, due = CardRow._make, CardRow._fields.index("due")
        return [(make(values[:-1]), values[due], values[-1])
                for values in self.conn.execute(many, args)]

    def first_review_card_in(self, due_before: int, now: int, decks: Sequence[str] | None,
                             tag: str | None) -> CardRow | None:
        """The scope's review card due first, if due before `due_before`."""
        return self._first_in(f"state = {REVIEW} AND due < ?", "due", [due_before], now,
                              decks, tag)

    @staticmethod
    def _with_hash(conn: sqlite3.Connection) -> None:
        # Anki registers `fnvhash` on its connection (rslib/src/storage/sqlite.rs)
        # and orders random cards by it; this is the same idea over companion's
        # text ids. Registering again replaces it: cheap, and every connection
        # (the writer's, a worker's) has it when it needs it.
        conn.create_function("companion_hash", 2, _day_hash, deterministic=True)

    def first_new_card_in(self, now: int, decks: Sequence[str] | None, tag: str | None,
                          order: str = "deck", salt: int = 0) -> CardRow | None:
        """The scope's next new card in `order` (Settings.new_card_order):
        "deck" (deck, then file position), "random" (a hash of the id and
        `salt`, the learner's day) or "section" (round-robin over each deck's
        sections, a section being a note's first tag)."""
        if order == "random":
            self._with_hash(self.conn)
            return self._first_in(f"state = {NEW}", "companion_hash(id, ?), id", [salt], now,
                                  decks, tag)
        if order != "section":
            return self._first_in(f"state = {NEW}", "deck_id, position, id", [], now,
                                  decks, tag)
        scope, args = self._scope(now, decks, tag)
        live, live_args = self._scope(None, decks, tag)
        # only the columns the order and the scope read go through the sorts
        narrow = "id, deck_id, position, state, retired, suspended, buried_until, tags"
        first_tag = ("CASE WHEN instr(trim(coalesce(tags, '')) || ' ', ' ') > 1 "
                     "THEN lower(substr(trim(tags), 1, instr(trim(tags) || ' ', ' ') - 1)) "
                     "ELSE '' END")
        # Each note's turn in its section (1 for the section's first note, 2
        # for its second...), counted over every live note, so that learning,
        # suspending or burying a card never moves another's turn: the first
        # turn of every section comes first, then the second, ... One pass of
        # window functions over the scope's live cards.
        return self._row(
            CardRow,
            f"SELECT {CARD_COLUMNS} FROM cards WHERE id = (SELECT id FROM ("
            f"SELECT {narrow}, note_at, dense_rank() OVER (PARTITION BY deck_id, section "
            f"ORDER BY note_at, note_id) AS turn FROM (SELECT {narrow}, note_id, "
            "min(position) OVER (PARTITION BY deck_id, note_id) AS note_at, "
            f"{first_tag} AS section FROM cards WHERE {live})) WHERE {scope} "
            f"AND state = {NEW} ORDER BY deck_id, turn, note_at, position, id LIMIT 1)",
            (*live_args, *args))

    def ahead_counts(self, learning_due_by: int, due_before: int, built_at: int, now: int,
                     decks: Sequence[str] | None, tag: str | None) -> list[DeckCounts]:
        """Review ahead: per deck, learning cards due by `learning_due_by`, and
        review cards due before `due_before` not answered since `built_at`."""
        scope, args = self._scope(now, decks, tag)
        return self._rows(
            DeckCounts,
            "SELECT deck_id, 0 AS new, "
            f"coalesce(sum(state IN ({LEARNING}, {RELEARNING}) AND due <= ?), 0) AS learning, "
            f"coalesce(sum(state = {REVIEW} AND due < ? AND coalesce(last_review, 0) < ?), 0) "
            f"AS review FROM cards WHERE {scope} GROUP BY deck_id ORDER BY deck_id",
            (learning_due_by, due_before, built_at, *args))

    def first_ahead_card(self, due_before: int, built_at: int, now: int,
                         decks: Sequence[str] | None, tag: str | None) -> CardRow | None:
        """Review ahead: the review card due first, if due before `due_before`
        and not answered since `built_at`."""
        return self._first_in(f"state = {REVIEW} AND due < ? AND coalesce(last_review, 0) < ?",
                              "due", [due_before, built_at], now, decks, tag)

    def forgotten_counts(self, learning_due_by: int, again_since: int, built_at: int, now: int,
                         decks: Sequence[str] | None, tag: str | None) -> list[DeckCounts]:
        """Forgotten cards: per deck, the cards answered Again since `again_since`
        that are new or in review and not answered since `built_at`, and those
        learning again, due by `learning_due_by`."""
        scope, args = self._scope(now, decks, tag)
        return self._rows(
            DeckCounts,
            "SELECT deck_id, "
            f"coalesce(sum(state = {NEW} AND coalesce(last_review, 0) < ? "
            f"AND {self._AGAIN_BETWEEN}), 0) AS new, "
            f"coalesce(sum(state IN ({LEARNING}, {RELEARNING}) AND due <= ?), 0) AS learning, "
            f"coalesce(sum(state = {REVIEW} AND coalesce(last_review, 0) < ? "
            f"AND {self._AGAIN_BETWEEN}), 0) AS review "
            f"FROM cards WHERE {scope} AND {self._AGAIN_SINCE} "
            "GROUP BY deck_id ORDER BY deck_id",
            (built_at, again_since, built_at, learning_due_by, built_at, again_since, built_at,
             *args, again_since))

    def first_forgotten_card(self, again_since: int, built_at: int, now: int,
                             decks: Sequence[str] | None, tag: str | None,
                             salt: int) -> CardRow | None:
        """Forgotten cards: the next new or review card answered Again between
        `again_since` and `built_at` and not since, in random order (a hash
        of its id and `salt`)."""
        self._with_hash(self.conn)
        return self._first_in(
            f"state IN ({NEW}, {REVIEW}) AND coalesce(last_review, 0) < ? "
            f"AND {self._AGAIN_BETWEEN}", "companion_hash(id, ?), id",
            [built_at, again_since, built_at, salt], now, decks, tag)

    # -- a chosen list of cards (custom study of the cards a recall missed) ---

    @staticmethod
    def _chosen(card_ids: Sequence[str]) -> str:
        return f"id IN ({', '.join('?' * len(card_ids))})"

    def chosen_counts(self, card_ids: Sequence[str], learning_due_by: int, built_at: int,
                      now: int) -> list[DeckCounts]:
        """Of the studyable cards among `card_ids`, per deck: the new and review
        cards not answered since `built_at`, and the learning cards due by
        `learning_due_by` (a card answered since has left the study, unless it
        is learning again)."""
        if not card_ids:
            return []
        scope, args = self._scope(now, None, None)
        return self._rows(
            DeckCounts,
            "SELECT deck_id, "
            f"coalesce(sum(state = {NEW} AND coalesce(last_review, 0) < ?), 0) AS new, "
            f"coalesce(sum(state IN ({LEARNING}, {RELEARNING}) AND due <= ?), 0) AS learning, "
            f"coalesce(sum(state = {REVIEW} AND coalesce(last_review, 0) < ?), 0) AS review "
            f"FROM cards WHERE {scope} AND {self._chosen(card_ids)} "
            "GROUP BY deck_id ORDER BY deck_id",
            (built_at, learning_due_by, built_at, *args, *card_ids))

    def first_chosen_card(self, card_ids: Sequence[str], learning_due_by: int, built_at: int,
                          now: int) -> CardRow | None:
        """The next of `card_ids` to study: a learning card due by
        `learning_due_by` (the one due first), else a new or review card not
        answered since `built_at`, in deck order."""
        if not card_ids:
            return None
        scope, args = self._scope(now, None, None)
        chosen = self._chosen(card_ids)
        row = self._row(CardRow, f"SELECT {CARD_COLUMNS} FROM cards WHERE {scope} AND {chosen} "
                                 f"AND state IN ({LEARNING}, {RELEARNING}) AND due <= ? "
                                 "ORDER BY due LIMIT 1", (*args, *card_ids, learning_due_by))
        if row is not None:
            return row
        return self._row(CardRow, f"SELECT {CARD_COLUMNS} FROM cards WHERE {scope} AND {chosen} "
                                  f"AND state IN ({NEW}, {REVIEW}) "
                                  "AND coalesce(last_review, 0) < ? "
                                  "ORDER BY deck_id, position, id LIMIT 1",
                         (*args, *card_ids, built_at))

    # -- exercises -------------------------------------------------------------

    def exercise_attempts(self, exercise: str | None = None,
                          since: int | None = None) -> list[ExerciseAttemptRow]:
        """Every check of an exercise (of one, since a time), oldest first."""
        clauses: list[str] = []
        args: list[Any] = []
        if exercise is not None:
            clauses.append("exercise = ?")
            args.append(exercise)
        if since is not None:
            clauses.append("at >= ?")
            args.append(since)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._rows(ExerciseAttemptRow,
                          f"SELECT {', '.join(ExerciseAttemptRow._fields)} FROM "
                          f"exercise_attempts {where} ORDER BY at, id", args)

    def exercise_cards(self) -> dict[str, list[str]]:
        """exercise -> the live cards that name it (`Exercise:` in a deck)."""
        out: dict[str, list[str]] = {}
        for card_id, exercise in self.conn.execute(
                "SELECT id, exercise FROM cards WHERE retired = 0 AND exercise IS NOT NULL "
                "AND exercise != '' ORDER BY deck_id, position, id"):
            out.setdefault(exercise, []).append(card_id)
        return out

    # -- free recall -----------------------------------------------------------

    def recall_attempts(self, section: str | None = None) -> list[RecallAttemptRow]:
        """Every free-recall attempt (of one section), oldest first."""
        where, args = ("WHERE section = ?", (section,)) if section is not None else ("", ())
        cursor = self.conn.execute("SELECT id, at, section, ideas, recalled, missed, text "
                                   f"FROM recall_attempts {where} ORDER BY at, id", args)
        return [RecallAttemptRow(i, at, section, ideas, recalled, json.loads(missed), text)
                for i, at, section, ideas, recalled, missed, text in cursor]

    def live_tags(self) -> list[str]:
        """Every tag of a live card, lower-cased, sorted."""
        tags: set[str] = set()
        for text in self._column("SELECT DISTINCT tags FROM cards WHERE retired = 0 "
                                 "AND coalesce(tags, '') != ''"):
            tags.update(tag.lower() for tag in text.split())
        return sorted(tags)

    def limit_extensions(self, day: str) -> dict[str, tuple[int, int]]:
        """(new, review) cards the day's limits of each deck ("" for all
        decks) were raised by (custom study's "increase today's limit"); none
        on any other day."""
        raw = self.meta(LIMIT_EXTENSION_KEY)
        try:
            value = json.loads(raw) if raw else None
            if not isinstance(value, dict) or value.get("day") != day:
                return {}
            if "decks" not in value:  # as schema 4 kept it: for all decks
                return {"": (int(value.get("new", 0)), int(value.get("review", 0)))}
            return {str(deck): (int(pair[0]), int(pair[1]))
                    for deck, pair in dict(value["decks"]).items()}
        except (ValueError, TypeError, IndexError, KeyError):
            return {}  # unreadable: no extension, never a broken queue


    def card_row(self, card_id: str) -> CardRow | None:
        return self._row(CardRow, f"SELECT {CARD_COLUMNS} FROM cards WHERE id = ?", (card_id,))

    @staticmethod
    def _siblings(note_id: str, deck_id: str, card_id: str) -> str:
        """Where a card's siblings are, given the SQL of its note_id, deck_id and id."""
        return (f"note_id = {note_id} AND deck_id = {deck_id} AND id != {card_id} "
                "AND kind IN ('cloze', 'diagram') AND retired = 0")

    def flags_with_siblings(self, card_id: str, note_id: str, deck_id: str) -> list[CardFlags]:
        """The card's flags, then its siblings': the other live cards of the
        same cloze or diagram note in the same deck (a diagram's labels are
        siblings as a cloze's gaps are), which an answer buries. What an
        answer may change, in one read."""
        return self._rows(
            CardFlags,
            "SELECT id, suspended, buried_until, tags FROM cards WHERE id = ? UNION ALL "
            "SELECT id, suspended, buried_until, tags FROM cards WHERE "
            f"{self._siblings('?', '?', '?')}",
            (card_id, note_id, deck_id, card_id))

    def cards_with_siblings(self, cards: Iterable[CardRow]) -> set[str]:
        """Those of the cards that have siblings (`flags_with_siblings`'), in
        one read."""
        # (the subquery's own columns first: note_id is the sibling's)
        return set(self._column(
            "SELECT c.id FROM cards c WHERE c.id IN (SELECT value FROM json_each(?)) AND EXISTS "
            f"(SELECT 1 FROM cards WHERE {self._siblings('c.note_id', 'c.deck_id', 'c.id')})",
            (json.dumps([card.id for card in cards]),)))

    def card_flags(self, ids: list[str]) -> list[CardFlags]:
        return self._rows(
            CardFlags,
            "SELECT id, suspended, buried_until, tags FROM cards WHERE id IN "
            "(SELECT value FROM json_each(?))", (json.dumps(ids),))

    def learning_due_count(self, due_before: int, deck_id: str | None = None) -> int:
        """Learning and relearning cards (not retired or suspended) due before a time."""
        deck_sql, deck_args = self._deck_filter(deck_id)
        return self._value(
            "SELECT count(*) FROM cards WHERE retired = 0 AND suspended = 0 "
            f"AND state IN ({LEARNING}, {RELEARNING}) AND due < ? {deck_sql}",
            (due_before, *deck_args))

    # -- the review log (reads) ----------------------------------------------

    def answered_since(self, since: int) -> dict[str, AnsweredCounts]:
        """Per deck, answers at or after `since` of cards that were new, and
        that were in review."""
        return {deck_id: AnsweredCounts(new, review) for deck_id, new, review in
                self.conn.execute(
                    f"SELECT c.deck_id, coalesce(sum(r.state_before = {NEW}), 0), "
                    f"coalesce(sum(r.state_before = {REVIEW}), 0) FROM reviews r "
                    "JOIN cards c ON c.id = r.card_id WHERE r.reviewed_at >= ? "
                    "GROUP BY c.deck_id", (since,))}

    def card_reviews(self, card_id: str) -> list[CardReview]:
        """One card's reviews in replay order (time, then id)."""
        return self._rows(
            CardReview,
            f"SELECT id, reviewed_at, rating, {DECISION_COLUMNS} FROM reviews "
            "WHERE card_id = ? ORDER BY reviewed_at, id", (card_id,))

    def review_log(self) -> "list[LogReview]":
        """The whole log in replay order: by card, then time, then id."""
        from companion.rows import LogReview
        return self._rows(
            LogReview,
            f"SELECT card_id, id, reviewed_at, rating, state_before, {DECISION_COLUMNS} "
            "FROM reviews ORDER BY card_id, reviewed_at, id")

    _REPLAY_LOG = ("SELECT rowid, card_id, reviewed_at, rating, state_before, "
                   f"{DECISION_COLUMNS} FROM reviews ")
    # The index's own order: a tie-break on id there costs a sort of the whole
    # log; `_by_id_within_ties` breaks the (rare) ties instead.
    _REPLAY_ORDER = "ORDER BY card_id, reviewed_at"

    def replay_log(self, chunk: int, after: str | None = None,
                   upto: str | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """The whole log in `review_log`'s order as plain rows, (rowid, card_id,
        reviewed_at, rating, state_before, *DECISION_COLUMNS), in lists of
        about `chunk` rows that each end with a card's last review: what
        rebuild_all reads, a chunk's query done before its rows are written.
        With `after` and `upto`, only the cards whose id is past `after` and
        up to `upto` (a part of the log for one of the rebuild's workers)."""
        while True:
            where, args = _id_range(after, upto, "card_id")
            rows = self.conn.execute(f"{self._REPLAY_LOG}{where} {self._REPLAY_ORDER} LIMIT ?",
                                     (*args, chunk)).fetchall()
            if len(rows) < chunk:
                if rows:
                    yield self._by_id_within_ties(rows)
                return
            last = rows[-1][1]
            cut = len(rows) - 1
            while cut and rows[cut - 1][1] == last:
                cut -= 1
            if cut:  # the last card may go on past the limit: it starts the next chunk
                del rows[cut:]
                after = rows[-1][1]
            else:  # one card fills the chunk: read it whole
                rows = self.conn.execute(f"{self._REPLAY_LOG}WHERE card_id = ? "
                                         f"{self._REPLAY_ORDER}", (last,)).fetchall()
                after = last
            yield self._by_id_within_ties(rows)

    def log_split(self, parts: int) -> list[str]:
        """The card ids that cut the log into `parts` runs of about as many
        reviews, each run ending with its cut's card (`replay_log`'s `upto`),
        in order; fewer where one card's reviews span a cut."""
        total = self.review_count()
        cuts: list[str] = []
        for part in range(1, parts):
            row = self.conn.execute("SELECT card_id FROM reviews ORDER BY card_id "
                                    "LIMIT 1 OFFSET ?", (total * part // parts,)).fetchone()
            if row is not None and (not cuts or row[0] > cuts[-1]):
                cuts.append(row[0])
        return cuts

    def memories_between(self, first: str, last: str) -> dict[str, tuple[Any, ...]]:
        """What a rebuild compares with and reschedules by, for every card whose
        id is from `first` to `last`: its cached memory state (MemoryRow's
        fields but the id), then whether it is retired and whether suspended."""
        return {row[0]: row[1:] for row in self.conn.execute(
            f"SELECT id, {self._MEMORY_COLUMNS}, retired, suspended FROM cards "
            "WHERE id BETWEEN ? AND ?", (first, last))}

    def _by_id_within_ties(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Rows in (card_id, reviewed_at) order put in review_log's: one card's
        reviews at the same moment by id (the index holds them by rowid)."""
        tied = [(a[0], b[0]) for a, b in zip(rows, islice(rows, 1, None))
                if a[2] == b[2] and a[1] == b[1]]
        if not tied:
            return rows
        rowids = sorted({rowid for pair in tied for rowid in pair})
        ids: dict[int, str] = {}
        for start in range(0, len(rowids), 500):
            part = rowids[start:start + 500]
            ids.update(self.conn.execute(
                f"SELECT rowid, id FROM reviews WHERE rowid IN ({','.join('?' * len(part))})",
                part).fetchall())
        # stable: only a tie's rows have an id in the key, and only they move
        rows.sort(key=lambda r: (r[1], r[2], ids.get(r[0]) or ""))  # a NULL id first, as SQL
        return rows

    _MEMORY_COLUMNS = ("state, remaining_steps, stability, difficulty, due, last_review, "
                       "reps, lapses, interval")
    # a card's last review, and the one before: review_log's order, backwards
    _NTH_LAST_REVIEW = ("(SELECT {column} FROM reviews r WHERE r.card_id = c.id "
                        "ORDER BY r.reviewed_at DESC, r.id DESC LIMIT 1 OFFSET {offset})")

    def review_cards(self, deck_ids: Collection[str] | None = None,
                     card_ids: Collection[str] | None = None) -> list[tuple[Any, ...]]:
        """The live, unsuspended cards in review (of these decks, of these
        cards, if given): the ones a reschedule moves. Each (id, deck, its
        cached memory state as MemoryRow's fields, its last review's rating,
        the interval the review before that one gave, or None)."""
        where: str = ""
        args: list[str] = []
        for column, ids in (("deck_id", deck_ids), ("id", card_ids)):
            if ids is not None:
                where += f"AND c.{column} IN (SELECT value FROM json_each(?)) "
                args.append(json.dumps(sorted(ids)))
        last_rating = self._NTH_LAST_REVIEW.format(column="r.rating", offset=0)
        previous = self._NTH_LAST_REVIEW.format(column="r.interval", offset=1)
        return self.conn.execute(
            f"SELECT c.id, c.deck_id, {self._MEMORY_COLUMNS}, {last_rating}, {previous} "
            f"FROM cards c WHERE c.state = {REVIEW} AND c.retired = 0 AND c.suspended = 0 "
            f"{where}ORDER BY c.id", args).fetchall()

    def card_decks(self, after: str | None = None, upto: str | None = None) -> dict[str, str]:
        """Every card's deck, retired cards too: the deck whose preset schedules
        it (of the cards whose id is past `after` and up to `upto`, if given)."""
        where, args = _id_range(after, upto)
        return dict(self.conn.execute(f"SELECT id, deck_id FROM cards{where}", args).fetchall())

    def card_events(self, card_id: str | None = None, after: str | None = None,
                    upto: str | None = None) -> list[CardEvent]:
        """Schedule changes that are not answers, by card then time; one card's
        if given, or those of the cards past `after` and up to `upto`."""
        where, args = (" WHERE card_id = ?", (card_id,)) if card_id \
            else _id_range(after, upto, "card_id")
        return self._rows(CardEvent, "SELECT card_id, at, kind, interval, due, memory "
                                     f"FROM card_events{where} ORDER BY card_id, at, id", args)

    def review_count(self) -> int:
        return self._value("SELECT count(*) FROM reviews")

    # -- doctor and rebuild (reads) ------------------------------------------

    def card_json_fields(self) -> list[tuple[str, str | None, str | None]]:
        """Every live card's id with its stored lab_params and choices (JSON text)."""
        return self.conn.execute("SELECT id, lab_params, choices FROM cards "
                                 "WHERE retired = 0 ORDER BY id").fetchall()

    def integrity_check(self) -> str:
        """SQLite's own check: "ok", or what is wrong."""
        return self._value("PRAGMA integrity_check")

    def card_totals(self) -> "CardTotals":
        from companion.rows import CardTotals
        row = self._row(CardTotals, "SELECT count(*) AS cards, "
                                    "coalesce(sum(retired), 0) AS retired FROM cards")
        assert row is not None  # an aggregate always has its row
        return row

    def orphan_review_count(self) -> int:
        """Reviews whose card is not in the store (its deck may come back)."""
        return self._value(
            "SELECT count(*) FROM reviews WHERE card_id NOT IN (SELECT id FROM cards)")

    def log_problem(self) -> str | None:
        """The first row of the review log (or of the card events beside it)
        no companion writes: a rating not 1-4, a time that is no integer or
        outside the years a date can have, a decision column of another kind
        (a database edited by another program, damaged). None when all read.
        One pass over the log, asked where a replay of it failed and by doctor."""
        ms = "typeof({0}) = 'integer' AND {0} BETWEEN {1} AND {2}".format
        low, high = LOG_TIME_RANGE
        checks = [
            ("reviews", "rating", ms("rating", 1, 4), "is not 1-4"),
            ("reviews", "reviewed_at", ms("reviewed_at", low, high), "is not a time"),
            ("reviews", "state_after", f"state_after IS NULL OR {ms('state_after', 0, 3)}",
             "is not a card state"),
            ("reviews", "due", f"due IS NULL OR {ms('due', low, high)}", "is not a time"),
            *[("reviews", column, f"typeof({column}) IN ('integer', 'null')",
               "is not a whole number") for column in
              ("state_before", "remaining_steps", "interval", "elapsed_days")],
            ("card_events", "at", ms("at", low, high), "is not a time"),
            ("card_events", "due", f"due IS NULL OR {ms('due', low, high)}", "is not a time"),
            ("card_events", "interval", "typeof(interval) IN ('integer', 'null')",
             "is not a whole number"),
        ]
        for table in ("reviews", "card_events"):
            mine = [(column, good, what) for t, column, good, what in checks if t == table]
            # one pass over the table; then which of the row's columns is wrong
            row = self.conn.execute(
                f"SELECT rowid, {', '.join(f'({good})' for _, good, _ in mine)} "  # noqa: S608
                f"FROM {table} WHERE NOT ({' AND '.join(f'({g})' for _, g, _ in mine)}) "
                "LIMIT 1").fetchone()
            if row is None:
                continue
            column, _, what = next(check for check, ok in zip(mine, row[1:]) if not ok)
            row_id, value = self.conn.execute(f"SELECT id, {column} FROM {table} "  # noqa: S608
                                              "WHERE rowid = ?", (row[0],)).fetchone()
            kind = "review" if table == "reviews" else "card event"
            shown = repr(value[:40]) if isinstance(value, str) else str(value)[:40]
            return f"{kind} {str(row_id)[:60]!r}: {column} {shown} {what}"
        return None

    def cached_memories(self) -> list[MemoryRow]:
        """The cached memory state of every card that has one (not plain new)."""
        return self._rows(
            MemoryRow,
            "SELECT state, remaining_steps, stability, difficulty, due, last_review, reps, "
            "lapses, interval, id "
            f"FROM cards WHERE reps > 0 OR state != {NEW}")

    # -- lab runs (reads) ----------------------------------------------------

    def lab_runs(self, lab: str | None = None, card_id: str | None = None,
                 limit: int = 50) -> list[LabRunRow]:
        """The newest runs first, of one lab and/or from one card if given."""
        where, args = [], []
        if lab:
            where.append("lab = ?")
            args.append(lab)
        if card_id:
            where.append("card_id = ?")
            args.append(card_id)
        sql = ("SELECT id, lab, params, device, seed, card_id, started_at, ended_at, status, "
               "error, summary, prediction FROM lab_runs"
               + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY started_at DESC, id DESC LIMIT ?")
        # The query reads params and summary as JSON text; the rows carry them
        # decoded, and every text in them neutralised: a run can come from a
        # stranger's export, and every face that lists runs reads them here.
        from companion.cardtext import neutralise_all

        stored: list[Any] = self._rows(LabRunRow, sql, (*args, limit))
        return [LabRunRow._make(neutralise_all(list(row._replace(
                    params=_json_object(row.params, "params") or {},
                    summary=_json_object(row.summary, "result")))))
                for row in stored]

    def lab_metrics(self, run_id: int) -> list[MetricPoint]:
        """A run's metric points in the order they were recorded."""
        return self._rows(MetricPoint, "SELECT chart, series, x, y FROM lab_metrics "
                                       "WHERE run_id = ? ORDER BY rowid", (run_id,))

    # -- the read model: stats, home, report, search (reads) -----------------

    def reviews(self, since_ms: int | None = None,
                card_ids: Sequence[str] | None = None,
                studied_only: bool = False,
                deck_ids: Collection[str] | None = None) -> list[ReviewRow]:
        """The review log in time order (ties broken by review id, as replay does);
        `studied_only`: only live, unsuspended cards' reviews (what Anki's
        optimizer searches: `preset:X -is:suspended`, deleted cards gone);
        `deck_ids`: only the reviews of cards in these decks (a preset's)."""
        sql = "SELECT card_id, reviewed_at, rating, state_before, duration_ms FROM reviews"
        where: list[str] = []
        args: list[Any] = []
        if studied_only:
            where.append("card_id IN (SELECT id FROM cards WHERE retired = 0 AND suspended = 0)")
        if deck_ids is not None:
            where.append(_IN_DECKS)
            args.append(_json_list(sorted(deck_ids)))
        if since_ms is not None:
            where.append("reviewed_at >= ?")
            args.append(since_ms)
        if card_ids is not None:
            where.append("card_id IN (SELECT value FROM json_each(?))")
            args.append(_json_list(card_ids))
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._rows(ReviewRow, sql + " ORDER BY reviewed_at, id", args)

    def answers_and_seconds_since(self, start_ms: int) -> tuple[int, int]:
        """(answers, whole seconds spent answering) since `start_ms`."""
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(duration_ms), 0) / 1000 FROM reviews "
            "WHERE reviewed_at >= ?", (start_ms,)).fetchone()
        return row[0], row[1]

    def card_history(self, card_id: str) -> list[ReviewRow]:
        """One card's answers, newest first."""
        return self._rows(ReviewRow,
                          "SELECT card_id, reviewed_at, rating, state_before, duration_ms "
                          "FROM reviews WHERE card_id = ? ORDER BY reviewed_at DESC, id DESC",
                          (card_id,))

    def due_times(self) -> list[int]:
        """When each studied, active card is next due (ms UTC)."""
        return self._column(f"SELECT due FROM cards WHERE retired = 0 AND suspended = 0 "
                            f"AND state != {NEW} AND due IS NOT NULL")

    def studied_memories(self) -> "list[StudiedMemory]":
        """The memory state of every studied, active card."""
        from companion.rows import StudiedMemory
        return self._rows(StudiedMemory,
                          f"SELECT deck_id, tags, state, stability, last_review FROM cards "
                          f"WHERE retired = 0 AND suspended = 0 AND state != {NEW}")

    def card_groups(self) -> "list[CardGroup]":
        """Every live card's deck, tags, answers and lapses."""
        from companion.rows import CardGroup
        return self._rows(CardGroup,
                          "SELECT id, deck_id, tags, reps, lapses FROM cards WHERE retired = 0")

    def live_card_totals(self) -> tuple[int, int]:
        """(live cards, live cards answered at least once)."""
        row = self.conn.execute("SELECT count(*), coalesce(sum(reps > 0), 0) FROM cards "
                                "WHERE retired = 0").fetchone()
        return row[0], row[1]

    def deck_names(self) -> dict[str, str]:
        """Every deck's name by id, retired ones too (their cards may be shown)."""
        return dict(self.conn.execute("SELECT id, name FROM decks").fetchall())

    def live_decks(self) -> list[LiveDeck]:
        """The live decks by name with their live cards."""
        return self._rows(LiveDeck,
                          "SELECT d.id, d.name, count(c.id) AS cards FROM decks d "
                          "LEFT JOIN cards c ON c.deck_id = d.id AND c.retired = 0 "
                          "WHERE d.retired = 0 GROUP BY d.id ORDER BY d.name")

    def hardest_cards(self, limit: int) -> "list[HardCard]":
        """The live cards forgotten most often after learning them."""
        from companion.rows import HardCard
        return self._rows(HardCard,
                          "SELECT c.id, coalesce(d.name, c.deck_id) AS deck, c.front, c.tags, "
                          "c.reps, c.lapses, c.suspended FROM cards c "
                          "LEFT JOIN decks d ON d.id = c.deck_id WHERE c.retired = 0 "
                          "AND c.lapses > 0 ORDER BY c.lapses DESC, c.reps DESC, c.id LIMIT ?",
                          (limit,))

    def search_cards(self, terms: Sequence[SearchTerm], day_end: int,
                     limit: int) -> "tuple[int, list[SearchHit]]":
        """(how many live cards match every term, the first `limit` of them in
        deck and deck-file order)."""
        from companion.rows import SearchHit
        if any(term.kind == "nc" for term in terms):
            from companion.cardtext import without_combining

            self.conn.create_function("companion_nc", 1, without_combining, deterministic=True)
        where, args = _search_where(terms, day_end)
        total = self._value(f"SELECT count(*) FROM cards WHERE {where}", args)
        rows = self._rows(SearchHit,
                          "SELECT id, deck_id, state, due, suspended, front, reps, lapses, "
                          f"buried_until FROM cards WHERE {where} "
                          "ORDER BY deck_id, position, id LIMIT ?",
                          (*args, limit))
        return total, rows

    # -- export (reads) ------------------------------------------------------

    def export_decks(self) -> "list[ExportDeck]":
        from companion.rows import ExportDeck
        return self._rows(ExportDeck, "SELECT id, name, description, path, retired, parent "
                                      "FROM decks ORDER BY id")

    def export_cards(self) -> "list[ExportCard]":
        from companion.rows import ExportCard
        return self._rows(ExportCard, f"SELECT {', '.join(ExportCard._fields)} FROM cards "
                                      "ORDER BY id")

    def export_reviews(self) -> "list[ExportReview]":
        """The whole review log in time order (ties by id)."""
        from companion.rows import ExportReview
        return self._rows(ExportReview, f"SELECT {', '.join(ExportReview._fields)} FROM reviews "
                                        "ORDER BY reviewed_at, id")

    def export_card_events(self) -> "list[ExportEvent]":
        from companion.rows import ExportEvent
        rows = self._rows(ExportEvent, f"SELECT {', '.join(ExportEvent._fields)} "
                                       "FROM card_events ORDER BY at, id")
        return [row._replace(memory=_event_memory(row.memory)) if row.memory is not None
                else row for row in rows]

    def insert_new_card_events(self, events: Sequence[Sequence[Any]]) -> int:
        """(id, card_id, at, kind, interval, due, memory) each; one the log has
        is left out."""
        before = self._value("SELECT count(*) FROM card_events")
        self.conn.executemany("INSERT OR IGNORE INTO card_events(id, card_id, at, kind, "
                              "interval, due, memory) VALUES (?, ?, ?, ?, ?, ?, ?)", events)
        return self._value("SELECT count(*) FROM card_events") - before

    def log_ids(self) -> dict[str, set[Any]]:
        """The ids of every review, schedule event and flag event, and the
        (review id, card) of every answer taken back, by kind ("review",
        "event", "flag", "undo"): what a sync tells its new records by
        (sync_folder.record_key)."""
        ids: dict[str, set[Any]] = {
            kind: set(self._column(f"SELECT id FROM {table}"))
            for kind, table in (("review", "reviews"), ("event", "card_events"),
                                ("flag", "flag_events"))}
        ids["undo"] = set(self.conn.execute("SELECT id, card_id FROM undone_reviews"))
        return ids

    def export_undone(self) -> "list[ExportUndo]":
        """The answers taken back, in time order."""
        from companion.rows import ExportUndo
        return self._rows(ExportUndo, "SELECT id, card_id, at FROM undone_reviews "
                                      "ORDER BY at, id")

    def export_flag_events(self, card_ids: Collection[str] | None = None
                           ) -> "list[FlagEvent]":
        """Suspensions, burials and leech tags as their log has them, in time
        order (ties by id); only these cards' if given."""
        from companion.rows import FlagEvent
        where: str = ""
        args: tuple[str, ...] = ()
        if card_ids is not None:
            where, args = "WHERE card_id IN (SELECT value FROM json_each(?)) ", (
                json.dumps(sorted(card_ids)),)
        return self._rows(FlagEvent, "SELECT id, card_id, at, kind, until FROM flag_events "
                                     f"{where}ORDER BY at, id", args)

    def export_lab_runs(self) -> "list[ExportLabRun]":
        from companion.rows import ExportLabRun
        return self._rows(ExportLabRun, f"SELECT {', '.join(ExportLabRun._fields)} FROM lab_runs "
                                        "ORDER BY id")

    def export_lab_metrics(self, run_id: int) -> "list[ExportMetric]":
        """One run's metric points in the order they were recorded."""
        from companion.rows import ExportMetric
        return self._rows(ExportMetric, "SELECT chart, series, x, y FROM lab_metrics "
                                        "WHERE run_id = ? ORDER BY rowid", (run_id,))

    def csv_reviews(self) -> "list[CsvReview]":
        """The review log for the csv export, in time order (ties by id)."""
        from companion.rows import CsvReview
        return self._rows(CsvReview, "SELECT card_id, reviewed_at, rating, state_before, "
                                     "duration_ms FROM reviews ORDER BY reviewed_at, id")

    def every_deck_id(self) -> set[str]:
        """Every deck's id, retired ones included."""
        return set(self._column("SELECT id FROM decks"))

    def every_card_id(self) -> list[str]:
        """Every card's id, retired ones included."""
        return self._column("SELECT id FROM cards")

    def merged_flags(self, card_id: str) -> "MergedFlags | None":
        from companion.rows import MergedFlags
        return self._row(MergedFlags, "SELECT suspended, buried_until, tags, added_at FROM cards "
                                      "WHERE id = ?", (card_id,))

    def reviews_at(self, card_ids: Sequence[str]) -> set[tuple[str, int]]:
        """(card id, reviewed_at) of every review these cards have."""
        import json

        return set(self.conn.execute("SELECT card_id, reviewed_at FROM reviews WHERE card_id IN "
                                     "(SELECT value FROM json_each(?))",
                                     (json.dumps(list(card_ids)),)))

    def lab_run_keys(self) -> set[tuple[str, int, str]]:
        """(lab, started_at, params) of every lab run: what makes an imported run known."""
        return set(self.conn.execute("SELECT lab, started_at, params FROM lab_runs"))

    def apkg_decks(self) -> "list[ApkgDeck]":
        """The decks that are not retired, by name."""
        from companion.rows import ApkgDeck
        return self._rows(ApkgDeck, "SELECT id, name, coalesce(description, '') AS description, "
                                    "coalesce(path, '') AS path FROM decks "
                                    "WHERE retired = 0 ORDER BY name, id")

    def apkg_cards(self, deck_id: str) -> "list[ApkgCard]":
        """A deck's cards that are not retired, in the deck file's order."""
        from companion.rows import ApkgCard
        return self._rows(ApkgCard, f"SELECT {', '.join(ApkgCard._fields)} FROM cards "
                                    "WHERE deck_id = ? AND retired = 0 "
                                    "ORDER BY position, ord, id", (deck_id,))

    def apkg_schedules(self) -> "list[ApkgSchedule]":
        """Every live card's schedule, for the Anki package."""
        from companion.rows import ApkgSchedule
        return self._rows(ApkgSchedule, f"SELECT {', '.join(ApkgSchedule._fields)} FROM cards "
                                        "WHERE retired = 0")

    def apkg_reviews(self) -> "list[ApkgReview]":
        """The review log with the reschedules and forgets among it, by card
        then time, for the Anki package's revlog."""
        from companion.rows import ApkgReview
        return self._rows(
            ApkgReview,
            "SELECT card_id, reviewed_at AS at, rating, duration_ms, state_before, state_after, "
            "interval, due, 'answer' AS kind FROM reviews "
            "UNION ALL SELECT card_id, at, 0, 0, NULL, NULL, interval, due, kind "
            # a state set from another program is the card's, not a revlog row
            "FROM card_events WHERE kind != 'set-state' ORDER BY card_id, at")

    def studied_card_dues(self) -> dict[str, int | None]:
        """card id -> due, for every card answered at least once."""
        return dict(self.conn.execute("SELECT id, due FROM cards WHERE reps > 0"))

    def review_costs(self, deck_ids: Collection[str] | None = None) -> "list[ReviewCost]":
        """Answers that took time, by state and rating: how many, and their mean
        duration with each capped at a minute; of the cards in these decks, if given."""
        from companion.rows import ReviewCost
        where: str = ""
        args: tuple[str, ...] = ()
        if deck_ids is not None:
            where, args = f"AND {_IN_DECKS} ", (_json_list(sorted(deck_ids)),)
        return self._rows(ReviewCost, "SELECT state_before, rating, count(*) AS answers, "
                                      "avg(min(duration_ms, 60000)) AS avg_ms FROM reviews "
                                      f"WHERE duration_ms > 0 {where}"
                                      "GROUP BY state_before, rating", args)

    def active_card_count(self, deck_ids: Collection[str] | None = None) -> int:
        """Cards neither retired nor suspended (in these decks, if given)."""
        where: str = ""
        args: tuple[str, ...] = ()
        if deck_ids is not None:
            where, args = "AND deck_id IN (SELECT value FROM json_each(?))", (
                _json_list(sorted(deck_ids)),)
        return self._value("SELECT count(*) FROM cards WHERE retired = 0 AND suspended = 0 "
                           f"{where}", args)

    # -- end of reads ---------------------------------------------------------


class ReadStore(Reads):
    """A read-only connection of its own, for a worker thread: WAL lets it read
    while the UI thread commits answers, and it can't write by mistake."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout = 10000")

    def close(self) -> None:
        self.conn.close()


@contextmanager
def open_reader(path: Path) -> Iterator[ReadStore]:
    store = ReadStore(path)
    try:
        yield store
    finally:
        store.close()


class Store(Reads):
    def __init__(self, path: Path):
        self.path = Path(path)
        self.conn = self._connect()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        existed = self.path.exists()
        if not existed:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if existed and version == 0 and self.path.stat().st_size > 0:
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if tables:
                    raise StoreError(f"{self.path}: not a companion database "
                                     "(it has tables but no companion schema version)")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path}: written by a newer companion (schema {version}, this one "
                    f"knows up to {SCHEMA_VERSION}); upgrade companion, the file is untouched")
            if existed and 0 < version <= SCHEMA_VERSION:
                missing = _missing_schema(conn, version)
                if missing:
                    raise StoreError(
                        f"{self.path}: not a companion database (schema version {version}, "
                        f"but {missing}); the file is untouched")
            conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL still makes every commit survive a crash of the
            # app (only a power cut can lose the last commits), at a fraction of
            # FULL's fsync cost per answer.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the database: {exc} "
                             "(run `companion doctor` for backups)") from None
        if not existed:
            self.path.chmod(0o600)
        return conn

    @property
    def version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version
        if current == SCHEMA_VERSION:
            return
        import sqlite_utils

        if current > 0:
            self.backup(reason=f"before-migration-{current}-to-{SCHEMA_VERSION}")
        db = sqlite_utils.Database(self.conn)
        for target in sorted(t for t in MIGRATIONS if current < t <= SCHEMA_VERSION):
            with self.transaction():
                MIGRATIONS[target](db)
                self.conn.execute(f"PRAGMA user_version = {target}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: one writer at a time, all or nothing."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            # A full disk, a read-only file, a lock held past the busy timeout:
            # this write is rolled back whole, and what was committed before
            # it stays as it was.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreError(f"{self.path}: could not save: {exc} (nothing already saved "
                             "is affected)") from None

    def sqlite_utils(self) -> Any:
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    def extend_limits(self, day: str, new: int, review: int,
                      deck_id: str | None = None) -> tuple[int, int]:
        """Raise the learner day `day`'s new and review limits of a deck (None:
        all decks) by `new` and `review` on top of any raise already made that
        day, as Anki's custom study adds to the day's limits of the deck it is
        asked in (rslib/src/decks/stats.rs extend_limits); a raise from another
        day is dropped. Returns the deck's raise now."""
        raises = self.limit_extensions(day)
        had_new, had_review = raises.get(deck_id or "", (0, 0))
        total = (max(0, had_new + new), max(0, had_review + review))
        raises[deck_id or ""] = total
        self.set_meta(LIMIT_EXTENSION_KEY, json.dumps({"day": day, "decks": raises}))
        return total

    def backups_dir(self) -> Path:
        return self.path.parent / "backups"

    def backup(self, reason: str = "manual") -> Path:
        """A consistent copy through SQLite's backup API; keeps the newest few."""
        folder = self.backups_dir()
        folder.mkdir(mode=0o700, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = folder / f"companion-{stamp}-{reason}.db"
        dest = sqlite3.connect(target)
        try:
            self.conn.backup(dest)
        finally:
            dest.close()
        target.chmod(0o600)
        for old in sorted(folder.glob("companion-*.db"))[:-BACKUPS_KEPT]:
            old.unlink()
        return target

    def daily_backup(self) -> Path | None:
        """A backup when the newest is more than a day old (or there is none)."""
        newest = max((p.stat().st_mtime for p in self.backups_dir().glob("companion-*.db")),
                     default=0.0)
        if time.time() - newest < 86400:
            return None
        if self.conn.execute("SELECT count(*) FROM reviews").fetchone()[0] == 0:
            return None  # nothing worth keeping yet
        return self.backup(reason="daily")

    def daily_backup_warning(self) -> str | None:
        """The daily backup, as every start takes it: a failure (a full disk) is
        a warning to show, never a reason to stop a review."""
        try:
            self.daily_backup()
        except OSError as exc:
            return f"daily backup failed: {exc}"
        return None

    # -- decks (writes) ------------------------------------------------------

    def upsert_deck(self, deck_id: str, name: str, description: str, path: str,
                    parent: str | None = None) -> None:
        """Add the deck, or update it from its file; either way it is live."""
        self.conn.execute(
            "INSERT INTO decks(id, name, description, path, retired, parent) "
            "VALUES (?, ?, ?, ?, 0, ?) "
            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
            "description = excluded.description, path = excluded.path, retired = 0, "
            "parent = excluded.parent",
            (deck_id, name, description, path, parent))

    def upsert_cards(self, cards: Iterable[CardDefinition]) -> None:
        """Add the cards, or update their definitions. The memory state, suspension,
        burial and added time stay; a `leech` tag the learner earned stays too."""
        self.conn.executemany(
            "INSERT INTO cards(id, deck_id, note_id, kind, ord, front, back, extra, source, tags, "
            "lab, lab_params, position, line, added_at, choices, reveal, type_answer, exercise) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET deck_id = excluded.deck_id, "
            "note_id = excluded.note_id, "
            "kind = excluded.kind, ord = excluded.ord, front = excluded.front, "
            "back = excluded.back, extra = excluded.extra, source = excluded.source, "
            "tags = CASE WHEN instr(' ' || cards.tags || ' ', ' leech ') > 0 "
            "  AND instr(' ' || excluded.tags || ' ', ' leech ') = 0 "
            "  THEN trim(excluded.tags || ' leech') ELSE excluded.tags END, "
            "lab = excluded.lab, lab_params = excluded.lab_params, "
            "position = excluded.position, "
            "line = excluded.line, choices = excluded.choices, reveal = excluded.reveal, "
            "type_answer = excluded.type_answer, exercise = excluded.exercise, retired = 0",
            cards)

    def retire_cards_not_in(self, deck_id: str, keep: list[str]) -> int:
        """Retire the deck's live cards whose ids are not in `keep`; how many."""
        return self.conn.execute(
            "UPDATE cards SET retired = 1 WHERE deck_id = ? AND retired = 0 "
            "AND id NOT IN (SELECT value FROM json_each(?))",
            (deck_id, json.dumps(keep))).rowcount

    def retire_deck(self, deck_id: str) -> int:
        """Retire the deck and its live cards; how many cards."""
        self.conn.execute("UPDATE decks SET retired = 1 WHERE id = ?", (deck_id,))
        return self.conn.execute(
            "UPDATE cards SET retired = 1 WHERE deck_id = ? AND retired = 0",
            (deck_id,)).rowcount

    # -- cards: answering, undo, suspend, bury (writes) ----------------------

    _WRITE_MEMORY = ("UPDATE cards SET state = ?, remaining_steps = ?, stability = ?, "
                     "difficulty = ?, due = ?, last_review = ?, reps = ?, lapses = ?, "
                     "interval = ? WHERE id = ?")
    _WRITE_MEMORY_KEEPING_STATE = _WRITE_MEMORY.replace("state = ?, ", "", 1)

    def insert_review(self, review_id: str, card_id: str, reviewed_at: int, rating: int,
                      duration_ms: int, state_before: int, decision: Sequence[int]) -> None:
        """One answer, with what the scheduler decided (DECISION_COLUMNS' order)."""
        self.conn.execute(
            "INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms, state_before, "
            f"{DECISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (review_id, card_id, reviewed_at, rating, duration_ms, state_before, *decision))

    def insert_exercise_attempt(self, attempt: ExerciseAttemptRow) -> None:
        """One check of the learner's code; no card is touched."""
        self.conn.execute(
            f"INSERT INTO exercise_attempts({', '.join(ExerciseAttemptRow._fields)}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", attempt)

    def insert_recall_attempt(self, attempt: RecallAttemptRow) -> None:
        """One free-recall attempt; no card is touched."""
        self.conn.execute(
            "INSERT INTO recall_attempts(id, at, section, ideas, recalled, missed, text) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (attempt.id, attempt.at, attempt.section, attempt.ideas, attempt.recalled,
             json.dumps(attempt.missed), attempt.text))

    def insert_card_events(self, events: Iterable[Sequence[Any]]) -> None:
        """(id, card_id, at, kind, interval, due) each."""
        self.conn.executemany("INSERT INTO card_events(id, card_id, at, kind, interval, due) "
                              "VALUES (?, ?, ?, ?, ?, ?)", events)

    def insert_card_event(self, event_id: str, card_id: str, at: int, kind: str,
                          interval: int, due: int) -> None:
        self.conn.execute("INSERT INTO card_events(id, card_id, at, kind, interval, due) "
                          "VALUES (?, ?, ?, ?, ?, ?)", (event_id, card_id, at, kind, interval, due))

    def delete_review(self, review_id: str) -> None:
        """Take an answer back: it leaves the log, and its id is kept as undone."""
        self.conn.execute("INSERT OR IGNORE INTO undone_reviews(id, card_id, at) SELECT id, "
                          "card_id, ? FROM reviews WHERE id = ?", (now_ms(), review_id))
        self.conn.execute("DELETE FROM reviews WHERE id = ?", (review_id,))

    def undo_reviews(self, undone: Sequence[tuple[str, str, int]]) -> list[str]:
        """(review id, card id, at) each, taken back on another machine: each
        leaves the log. Returns the card of each review that left it. A record
        takes back only a review of the card it names (one naming another card
        would leave the review's own card unreplayed, its cache not its log's)."""
        self.conn.executemany("INSERT OR IGNORE INTO undone_reviews(id, card_id, at) "
                              "VALUES (?, ?, ?)", undone)
        return [card_id for review_id, card_id, _ in undone
                if self.conn.execute("DELETE FROM reviews WHERE id = ? AND card_id = ?",
                                     (review_id, card_id)).rowcount]

    def write_memory(self, memory: MemoryRow, state_before: int | None = None) -> None:
        """Cache one card's memory state. Given the state the card had
        (`state_before`) and the memory keeps it, the state column is left
        out: SQLite then leaves the indexes that hold the state but not the
        due date alone (and the partial cards_new_order of new cards never
        sees a card that is not new)."""
        if memory.state == state_before:
            self.conn.execute(self._WRITE_MEMORY_KEEPING_STATE, memory[1:])
        else:
            self.conn.execute(self._WRITE_MEMORY, memory)

    def bury_cards(self, ids: list[str], until: int) -> None:
        self.conn.execute(
            "UPDATE cards SET buried_until = ? WHERE id IN (SELECT value FROM json_each(?))",
            (until, json.dumps(ids)))

    def bury_card(self, card_id: str, until: int) -> None:
        self.conn.execute("UPDATE cards SET buried_until = ? WHERE id = ?", (until, card_id))

    def set_suspended(self, card_id: str, suspended: bool) -> None:
        self.conn.execute("UPDATE cards SET suspended = ? WHERE id = ?",
                          (int(suspended), card_id))

    def mark_leech(self, card_id: str, tags: str, suspended: bool) -> None:
        """A leech: its tags (with `leech`) and whether it is now suspended."""
        self.conn.execute("UPDATE cards SET tags = ?, suspended = ? WHERE id = ?",
                          (tags, int(suspended), card_id))

    def restore_card_flags(self, flags: CardFlags) -> None:
        """Put back what `card_flags` read (undo of a bury, suspend or leech)."""
        self.conn.execute("UPDATE cards SET suspended = ?, buried_until = ?, tags = ? "
                          "WHERE id = ?", (flags.suspended, flags.buried_until, flags.tags,
                                           flags.id))

    # -- rebuild (writes) ----------------------------------------------------

    def reset_unreviewed_memories(self) -> None:
        """Every card without a review back to new, its cached memory state
        cleared (a rebuild writes each reviewed card's whole state itself)."""
        self.conn.execute(
            f"UPDATE cards SET state = {NEW}, remaining_steps = NULL, stability = NULL, "
            "difficulty = NULL, due = NULL, last_review = NULL, reps = 0, lapses = 0, "
            "interval = NULL "
            f"WHERE (reps > 0 OR state != {NEW}) "
            "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.card_id = cards.id)")

    def memories_of(self, card_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """`memories_between`'s rows of these cards."""
        return {row[0]: row[1:] for row in self.conn.execute(
            f"SELECT id, {self._MEMORY_COLUMNS}, retired, suspended FROM cards "
            "WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(card_ids)),))}

    def write_memories(self, memories: Iterable[MemoryRow]) -> None:
        self.conn.executemany(self._WRITE_MEMORY, memories)

    def write_schedules(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """(stability, difficulty, due, interval, card id) each: a memory state
        rescheduled, its state, steps, counts and last review standing."""
        self.conn.executemany("UPDATE cards SET stability = ?, difficulty = ?, due = ?, "
                              "interval = ? WHERE id = ?", rows)

    def write_stabilities(self, rows: Iterable[tuple[float | None, float | None, str]]) -> None:
        """(stability, difficulty, card id) each: a memory state whose other
        fields stand, written without touching the queue's indexes."""
        self.conn.executemany("UPDATE cards SET stability = ?, difficulty = ? WHERE id = ?", rows)

    def set_replayed_records(self, records: list[tuple[int, ...]]) -> None:
        """`set_review_records` with each review named by its rowid (as
        `replay_log` reads it), written in rowid order: the table's own order,
        the rebuild's writes. Sorts `records`."""
        records.sort(key=_last)
        self.conn.executemany(self._SET_REVIEW_RECORD.format(key="rowid"), records)

    _SET_REVIEW_RECORD = ("UPDATE reviews SET state_before = ?, state_after = ?, "
                          "remaining_steps = ?, interval = ?, due = ?, elapsed_days = ? "
                          "WHERE {key} = ?")

    def set_review_records(self, records: Iterable[Sequence[int | str]]) -> None:
        """(state_before, *decision, review id) per review: the state each review
        found its card in and what the scheduler decided (DECISION_COLUMNS)."""
        self.conn.executemany(self._SET_REVIEW_RECORD.format(key="id"), records)

    # -- lab runs (writes) ---------------------------------------------------

    def running_lab_runs(self) -> list[tuple[int, int | None, str | None]]:
        """(run id, owner pid, owner's start) of every run still marked running."""
        return self.conn.execute("SELECT id, pid, pid_started FROM lab_runs "
                                 "WHERE status = 'running'").fetchall()

    def mark_abandoned_runs(self) -> int:
        """Runs left `running` by a process that was killed (SIGKILL, SIGHUP, a
        closed terminal) are marked interrupted; returns how many. Every start
        of companion asks (one small read when nothing was left behind)."""
        gone = [run_id for run_id, pid, started in self.running_lab_runs()
                if not _alive(pid, started)]
        if gone:
            with self.transaction():
                self.mark_lab_runs_interrupted(gone, now_ms())
        return len(gone)

    def mark_lab_runs_interrupted(self, run_ids: Sequence[int], ended_at: int) -> None:
        self.conn.executemany(
            "UPDATE lab_runs SET status = 'interrupted', ended_at = ?, error = ? "
            "WHERE id = ? AND status = 'running'",
            [(ended_at, "the process running it ended before the lab did", run_id)
             for run_id in run_ids])

    def insert_lab_run(self, lab: str, params: dict[str, Any], device: str, seed: int,
                       card_id: str | None, started_at: int, prediction: str | None,
                       pid: int | None = None, pid_started: str | None = None) -> int:
        """A run that is starting (status `running`), owned by process `pid`; its id."""
        cursor = self.conn.execute(
            "INSERT INTO lab_runs(lab, params, device, seed, card_id, started_at, status, "
            "prediction, pid, pid_started) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (lab, json.dumps(params), device, seed, card_id, started_at, prediction, pid,
             pid_started))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_lab_run(self, run_id: int, ended_at: int, status: str, error: str | None,
                       summary: dict[str, Any] | None, device: str) -> None:
        self.conn.execute(
            "UPDATE lab_runs SET ended_at = ?, status = ?, error = ?, summary = ?, "
            "device = ? WHERE id = ?",
            (ended_at, status, error, json.dumps(summary) if summary is not None else None,
             device, run_id))

    def insert_lab_metrics(self, run_id: int, points: Iterable[MetricPoint]) -> None:
        self.conn.executemany("INSERT INTO lab_metrics(run_id, chart, series, x, y) "
                              "VALUES (?, ?, ?, ?, ?)",
                              ((run_id, *point) for point in points))

    # -- import (writes) -----------------------------------------------------

    def insert_store_only_deck(self, deck_id: str, name: str, description: str,
                               retired: int, parent: str | None = None) -> None:
        """A deck whose file is elsewhere (an empty path), so syncing deck files
        never retires it."""
        self.conn.execute("INSERT INTO decks(id, name, description, path, retired, parent) "
                          "VALUES (?, ?, ?, '', ?, ?)",
                          (deck_id, name, description, retired, parent))

    def insert_deck_if_missing(self, deck_id: str, name: str, description: str) -> None:
        """A live deck of the store alone (an empty path), unless the id is taken."""
        self.conn.execute("INSERT OR IGNORE INTO decks(id, name, description, path, retired) "
                          "VALUES (?, ?, ?, '', 0)", (deck_id, name, description))

    def insert_export_card(self, card: "ExportCard") -> None:
        """A card with its definition and flags, as the json export carries it;
        its memory state starts empty (a replay fills it)."""
        from companion.rows import ExportCard
        self.conn.execute(f"INSERT INTO cards({', '.join(ExportCard._fields)}) VALUES "
                          f"({', '.join('?' * len(ExportCard._fields))})", card)

    def set_merged_flags(self, card_id: str, flags: "MergedFlags") -> None:
        self.conn.execute("UPDATE cards SET suspended = ?, buried_until = ?, tags = ?, "
                          "added_at = ? WHERE id = ?", (*flags, card_id))

    def insert_log_cards(self, cards: Sequence[tuple[str, str, str, str, str, str, int, int]]
                         ) -> int:
        """Basic cards that stand for a review log's cards: (id, deck_id, note_id,
        front, back, source, position, added_at) each, a card whose id is taken
        left as it is. Returns how many were added."""
        before = self._value("SELECT count(*) FROM cards")
        self.conn.executemany(
            "INSERT OR IGNORE INTO cards(id, deck_id, note_id, kind, ord, front, back, extra, "
            "source, tags, lab, lab_params, position, line, added_at) "
            "VALUES (?, ?, ?, 'basic', 0, ?, ?, '', ?, 'imported', '', '{}', ?, 0, ?)", cards)
        return self._value("SELECT count(*) FROM cards") - before

    def insert_new_reviews(self, reviews: Sequence[Sequence[Any]]) -> int:
        """(id, card_id, reviewed_at, rating, duration_ms, *DECISION_COLUMNS) each;
        a review whose id the log has already is left out (the logs' union).
        Returns how many were added."""
        before = self._value("SELECT count(*) FROM reviews")
        # one taken back (undone) stays out
        self.conn.executemany(
            "INSERT OR IGNORE INTO reviews(id, card_id, reviewed_at, rating, duration_ms, "
            f"{DECISION_COLUMNS}) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 "
            "WHERE NOT EXISTS (SELECT 1 FROM undone_reviews WHERE id = ?1 AND card_id = ?2)",
            reviews)
        return self._value("SELECT count(*) FROM reviews") - before

    def upsert_card_events(self, events: Sequence[Sequence[Any]]) -> None:
        """(id, card_id, at, kind, interval, due, memory) each: added, or (an
        event an earlier import brought, known by its id) given its values again."""
        self.conn.executemany(
            "INSERT INTO card_events(id, card_id, at, kind, interval, due, memory) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "card_id = excluded.card_id, at = excluded.at, kind = excluded.kind, "
            "interval = excluded.interval, due = excluded.due, memory = excluded.memory", events)

    def set_card_flags(self, flags: Sequence[tuple[int, int | None, str]]) -> None:
        """(suspended, buried_until, card id) each, as another program has them."""
        self.conn.executemany("UPDATE cards SET suspended = ?, buried_until = ? WHERE id = ?",
                              flags)

    def insert_export_lab_run(self, run: Sequence[Any],
                              metrics: Sequence[Sequence[Any]]) -> int:
        """A lab run (ExportLabRun's fields after the id) with its metric points
        (chart, series, x, y); returns the run's new id."""
        from companion.rows import ExportLabRun
        fields = ExportLabRun._fields[1:]
        cursor = self.conn.execute(f"INSERT INTO lab_runs({', '.join(fields)}) VALUES "
                                   f"({', '.join('?' * len(fields))})", run)
        run_id = cursor.lastrowid
        assert run_id is not None  # an INSERT's cursor always has it
        self.conn.executemany("INSERT INTO lab_metrics(run_id, chart, series, x, y) "
                              "VALUES (?, ?, ?, ?, ?)", [(run_id, *m) for m in metrics])
        return run_id

    # -- the sync folder (writes) ---------------------------------------------

    def insert_new_flag_events(self, events: Sequence[Sequence[Any]]) -> int:
        """(id, card_id, at, kind, until) each; one the log has is left out.
        Returns how many were added."""
        before = self._value("SELECT count(*) FROM flag_events")
        self.conn.executemany("INSERT OR IGNORE INTO flag_events(id, card_id, at, kind, until) "
                              "VALUES (?, ?, ?, ?, ?)", events)
        return self._value("SELECT count(*) FROM flag_events") - before

    @contextmanager
    def applying_sync(self) -> Iterator[None]:
        """Inside the caller's transaction: what is written here comes from
        other machines' logs, so the flag triggers log none of it as a change
        of this machine's (it would echo back, stamped later than it was made)."""
        self.set_meta(SYNC_APPLYING_KEY, "1")
        try:
            yield
        finally:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (SYNC_APPLYING_KEY,))

    def write_synced_flags(self, flags: Iterable[CardFlags]) -> None:
        """Cards' suspension, burial and tags as their merged logs decide (within
        `applying_sync`)."""
        self.conn.executemany("UPDATE cards SET suspended = ?, buried_until = ?, tags = ? "
                              "WHERE id = ?",
                              [(f.suspended, f.buried_until, f.tags, f.id) for f in flags])

    # -- end of writes --------------------------------------------------------

    def close(self) -> None:
        self.conn.close()


def list_backups(database: Path) -> list[Path]:
    """Newest first."""
    return sorted((database.parent / "backups").glob("companion-*.db"),
                  key=lambda p: p.stat().st_mtime, reverse=True)


def restore_backup(database: Path, backup: Path) -> Path:
    """Put `backup` in place of `database`. The file it replaces is moved aside,
    never deleted; returns where it went."""
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        version = check.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{backup}: not a usable backup: {exc}") from None
    finally:
        check.close()
    if ok != "ok" or version > SCHEMA_VERSION:
        raise StoreError(f"{backup}: not a usable backup (integrity: {ok}, schema {version})")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    aside = database.with_name(f"{database.name}.broken-{stamp}")
    if database.exists():
        database.replace(aside)
    for suffix in ("-wal", "-shm"):
        extra = database.with_name(database.name + suffix)
        if extra.exists():
            extra.replace(aside.with_name(aside.name + suffix))
    source = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    target = sqlite3.connect(database)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    database.chmod(0o600)
    return aside


def open_store(path: Path | None = None) -> Store:
    if path is None:
        from companion.paths import database_path

        path = database_path()
    return Store(path)
