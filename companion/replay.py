"""The review log -> card states: replaying a card's reviews (and the
reschedules and forgets beside them) into its cached memory state, the whole
log at once, catching up after an upgrade or a settings change, and the two
schedule changes that are not answers (reschedule, forget). What doctor
compares the cache with."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable, Collection, Generator, Iterator
from contextlib import closing, contextmanager
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from companion.scheduler import (
    EVENT_KINDS,
    NEW,
    Decision,
    LoggedEvent,
    LoggedReview,
    Memory,
    MemoryModel,
    PresetModels,
    StateSet,
)
from companion.settings import Settings
from companion.store import (
    BAD_ROW_ERRORS,
    CardReview,
    CardRow,
    MemoryRow,
    Reads,
    Store,
    StoreError,
    now_ms,
)

if TYPE_CHECKING:
    from companion.rows import LogReview


def memory_of(row: CardRow) -> Memory:
    """A card's cached memory state, as its row holds it."""
    return cached_memory(row.state, row.remaining_steps, row.stability, row.difficulty,
                         row.due, row.last_review, row.reps, row.lapses, row.interval)


def cached_memory(state: int, remaining_steps: int | None, stability: float | None,
                  difficulty: float | None, due: int | None, last_review: int | None,
                  reps: int, lapses: int, interval: int | None) -> Memory:
    """A memory state from the columns its card caches it in (MemoryRow's)."""
    return Memory(state, remaining_steps or 0, stability, difficulty, due, last_review,
                  reps, lapses, interval or 0)


def memory_row(card_id: str, m: Memory) -> MemoryRow:
    """A memory state as the store caches it on its card."""
    # A card never answered keeps NULLs, as it was added: no steps, no interval.
    return MemoryRow(m.state, m.remaining_steps if m.reps else None, m.stability,
                     m.difficulty, m.due, m.last_review, m.reps, m.lapses,
                     m.interval if m.reps else None, card_id)


def state_set(memory: Any) -> StateSet | None:
    """A set-state event's fields (the JSON object its `memory` holds, or that
    object read), or None where they don't make a card's state."""
    if isinstance(memory, str):
        try:
            memory = json.loads(memory)
        except ValueError:
            return None
    if not isinstance(memory, dict) or set(memory) - set(StateSet._fields):
        return None

    def number(key: str, kinds: tuple[type, ...], optional: bool) -> bool:
        value = memory.get(key)
        if value is None:
            return optional
        return isinstance(value, kinds) and not isinstance(value, bool)

    if not (all(number(k, (int,), False) for k in ("state", "remaining_steps", "reps", "lapses"))
            and all(number(k, (int, float), True) for k in ("stability", "difficulty"))
            and number("last_review", (int,), True) and 0 <= memory["state"] <= 3):
        return None
    return StateSet(**memory)


def state_set_json(sets: StateSet) -> str:
    """A set-state's fields as the store keeps them."""
    return json.dumps(sets._asdict(), separators=(",", ":"))


def events_by_card(store: Reads, card_id: str | None = None, after: str | None = None,
                   upto: str | None = None) -> dict[str, list[LoggedEvent]]:
    """Reschedules, forgets and states set, per card, as the replay reads them
    (one card's, or those of the cards past `after` and up to `upto`, if given)."""
    out: dict[str, list[LoggedEvent]] = {}
    for row in store.card_events(card_id, after, upto):
        out.setdefault(row.card_id, []).append(
            LoggedEvent(row.at, row.kind, row.interval or 0, row.due or 0,
                        state_set(row.memory) if row.kind == "set-state" else None))
    return out


def kept_decision(state_after: int | None, remaining_steps: int | None,
                  interval: int | None, due: int | None,
                  elapsed_days: int | None) -> tuple[int, int, int, int, int] | None:
    """A stored review's DECISION_COLUMNS as the decision it kept, or None
    when the log kept none (an import without them): the replay decides."""
    if state_after is None or due is None or elapsed_days is None:
        return None
    return state_after, remaining_steps or 0, interval or 0, due, elapsed_days


def logged(row: CardReview | LogReview) -> LoggedReview:
    """A stored review as a replay reads it: with its kept decision, if any."""
    kept = kept_decision(row.state_after, row.remaining_steps, row.interval, row.due,
                         row.elapsed_days)
    return LoggedReview(row.reviewed_at, row.rating, None if kept is None else Decision(*kept))


def _records(ids: list[str], kept: list[tuple[int, Decision]]) -> list[tuple[int | str, ...]]:
    """The rows set_review_records writes: each review's state before and decision."""
    return [(before, *decision, review_id) for review_id, (before, decision) in zip(ids, kept)]


def write_memory(store: Store, card_id: str, m: Memory) -> None:
    store.write_memory(memory_row(card_id, m))


def rebuild_card(store: Store, model: MemoryModel, card_id: str) -> Memory:
    """Replay one card's reviews into its cached state (and each review's
    state_before). Runs inside the caller's transaction."""
    rows = store.card_reviews(card_id)
    memory, kept = model.replay(card_id, [logged(r) for r in rows],
                                events_by_card(store, card_id).get(card_id, []))
    store.set_review_records(_records([r.id for r in rows], kept))
    write_memory(store, card_id, memory)
    return memory


def _per_deck(settings: Settings, value: Callable[[Settings], Any]) -> str:
    """What some settings are for every deck, as the store notes it: the
    default preset's value alone while every deck has it (the form notes
    had before presets), else it and each deck whose preset differs."""
    default = value(settings)
    decks = {deck_id: v for deck_id in sorted(settings.deck_presets)
             if (v := value(settings.for_deck(deck_id))) != default}
    return json.dumps({"default": default, "decks": decks} if decks else default)


def _read_per_deck(noted: str | None) -> tuple[Any, dict[str, Any]] | None:
    try:
        value = json.loads(noted) if noted else None
    except ValueError:
        return None
    if isinstance(value, dict) and isinstance(value.get("decks"), dict):
        return value.get("default"), value["decks"]
    return (value, {}) if value is not None else None


def changed_decks(store: Reads, noted: str | None, now: str) -> set[str] | None:
    """The decks whose noted value differs between two notes of `_per_deck`;
    None when the earlier note can't be read (then every deck has changed)."""
    before, after = _read_per_deck(noted), _read_per_deck(now)
    if before is None or after is None:
        return None
    (old_default, old), (new_default, new) = before, after
    decks = set(store.every_deck_id()) | set(old) | set(new)
    return {deck for deck in decks if old.get(deck, old_default) != new.get(deck, new_default)}


def memory_parameters(settings: Settings) -> str:
    """The settings a memory state depends on (each deck's FSRS parameters),
    as the store notes them."""
    return _per_deck(settings, lambda s: s.parameters)


def schedule_settings(settings: Settings) -> str:
    """The settings a review card's interval depends on, per deck, as the
    store notes them."""
    return _per_deck(settings, lambda s: [s.parameters, s.desired_retention,
                                          s.maximum_interval])


def catch_up(store: Store, settings: Settings, now: int | None = None) -> int | None:
    """Rebuild every card's cached state when it was built by older rules (a
    schema upgrade) or under other FSRS parameters than the settings hold now,
    as Anki recomputes memory states when its parameters change; due dates stay
    as the review log decided them, unless `reschedule_on_change` asks to move
    them when the settings they depend on changed (only in the decks whose
    preset changed them). Returns the reviews replayed."""
    replayed = None
    noted, current = store.meta("schedule_settings"), schedule_settings(settings)
    move = noted != current and noted is not None and settings.reschedule_on_change
    at = (now_ms() if now is None else now) if move else None
    decks = changed_decks(store, noted, current) if move else None
    if store.meta("replay_needed") == "1" \
            or store.meta("memory_parameters") != memory_parameters(settings):
        # the rebuild's pass reschedules too: each card read and written once
        replayed = rebuild_all(store, settings, reschedule_at=at, reschedule_decks=decks)
    elif at is not None:
        reschedule(store, settings, at, decks)
    if noted != current:
        note_schedule_settings(store, settings)
    return replayed


def note_schedule_settings(store: Store, settings: Settings) -> None:
    """The settings the due dates now follow, so a later change can be told."""
    with store.transaction():
        store.set_meta("schedule_settings", schedule_settings(settings))


def reschedule(store: Store, settings: Settings, now: int,
               deck_ids: Collection[str] | None = None,
               card_ids: list[str] | None = None) -> int:
    """Recompute every review card's interval and due date (of these decks,
    or of these cards, if given) under its deck's preset, from its last
    review, as Anki's "reschedule cards on change" does; each move is kept
    in the log. Returns how many cards moved."""
    models = PresetModels(settings)
    events: list[tuple[Any, ...]] = []
    memories: list[MemoryRow] = []
    with store.transaction():
        for card_id, deck_id, *cached, last_rating, previous in store.review_cards(
                deck_ids, card_ids):
            memory = cached_memory(*cached)
            moved = _rescheduled(models.for_deck(deck_id), card_id, memory, now, last_rating,
                                 previous, events)
            if moved is not memory:
                memories.append(memory_row(card_id, moved))
        store.insert_card_events(events)
        store.write_memories(memories)
    return len(events)


def _rescheduled(model: MemoryModel, card_id: str, memory: Memory, now: int,
                 last_rating: int | None, previous: int | None,
                 events: list[tuple[Any, ...]]) -> Memory:
    """A review card's memory with its interval and due date recomputed (its
    event added to `events`), or `memory` itself when they stay. `previous`:
    the interval the review before its last one gave."""
    # Anki: the interval before the last answer, unless that was Again
    event = model.reschedule(card_id, memory, now,
                             (previous or 0) if last_rating and last_rating > 1 else 0)
    if event is None or (event.interval, event.due) == (memory.interval, memory.due):
        return memory
    events.append((uuid.uuid4().hex, card_id, event.at, event.kind, event.interval, event.due))
    return model.apply_event(memory, event)


def forget(store: Store, settings: Settings, card_ids: list[str], now: int,
           reset_counts: bool = False) -> list[str]:
    """Back to new, as Anki's Forget: the history stays in the log, the next
    answer starts a fresh memory. Returns the ids that were not new already."""
    models = PresetModels(settings)
    kind = EVENT_KINDS[2] if reset_counts else EVENT_KINDS[1]
    done = []
    with _log_named(store), store.transaction():
        for card_id in card_ids:
            row = store.card_row(card_id)
            if row is None:
                raise KeyError(f"no card {card_id!r}")
            if row.state == NEW and not (reset_counts and row.reps):
                continue
            at = max(now, (row.last_review or 0) + 1)
            store.insert_card_event(uuid.uuid4().hex, card_id, at, kind, 0, 0)
            rebuild_card(store, models.for_deck(row.deck_id), card_id)
            done.append(card_id)
    return done


# A log this long is replayed by worker processes, one part each, where the
# machine has the cores (`rebuild_all`): below it, starting them costs more
# than they save.
PARALLEL_MIN_REVIEWS = 200_000
MAX_WORKERS = 4
# Reviews replayed and written at a time: what a rebuild holds at once.
REPLAY_CHUNK = 20_000
# A worker that sends nothing for this long is taken for stuck: the log is
# then replayed in this process (a chunk takes well under a second).
WORKER_SILENCE_S = 60.0


class _Chunk(NamedTuple):
    """What one chunk of the log comes to: the rebuild's writes for its cards."""

    reviews: int  # the chunk's reviews
    cards: list[str]  # its cards, each replayed
    memories: list[MemoryRow]  # whole states
    schedules: list[tuple[Any, ...]]  # rescheduled: (stability, difficulty, due, interval, id)
    stabilities: list[tuple[float | None, float | None, str]]  # new parameters only
    records: list[tuple[int, ...]]  # the review records that change, by rowid
    moves: list[tuple[Any, ...]]  # the reschedules' events


class _Rebuild:
    """One rebuild's rules, the same in the process that writes and in each
    worker: the log's chunks -> what to write."""

    def __init__(self, settings: Settings, deck_of: dict[str, str],
                 events: dict[str, list[LoggedEvent]], reschedule_at: int | None,
                 reschedule_decks: Collection[str] | None):
        self.models = PresetModels(settings)
        self.deck_of, self.events = deck_of, events
        self.at, self.decks = reschedule_at, reschedule_decks

    def moved(self, card_id: str, model: MemoryModel, memory: Memory,
              old: tuple[Any, ...] | None, last_rating: int | None, previous: int | None,
              moves: list[tuple[Any, ...]]) -> Memory:
        """The card rescheduled, if this rebuild reschedules it."""
        # the live, unsuspended cards (a card not in review stays: `_rescheduled`)
        if self.at is None or old is None or old[9] or old[10] \
                or (self.decks is not None and self.deck_of.get(card_id) not in self.decks):
            return memory
        # as `reschedule` reads it back from the card (a card never answered
        # caches no interval)
        cached = cached_memory(*memory_row(card_id, memory)[:9])
        return _rescheduled(model, card_id, cached, self.at, last_rating, previous, moves)

    def chunks(self, store: Reads, after: str | None = None, upto: str | None = None,
               size: int | None = None) -> Generator[_Chunk, None, None]:
        """The log's chunks of about `size` reviews (REPLAY_CHUNK), of the cards
        past `after` up to `upto`, if given, replayed, each as what to write."""
        for chunk in store.replay_log(REPLAY_CHUNK if size is None else size, after, upto):
            yield self.chunk(chunk, store.memories_between(chunk[0][1], chunk[-1][1]))

    def chunk(self, chunk: list[tuple[Any, ...]], cached: dict[str, tuple[Any, ...]]) -> _Chunk:
        out = _Chunk(len(chunk), [], [], [], [], [], [])
        models, deck_of, events = self.models, self.deck_of, self.events
        for card_id, group in groupby(chunk, _card_of):
            out.cards.append(card_id)
            rows = list(group)
            reviews = [(r[2], r[3], kept_decision(*r[5:10])) for r in rows]
            model = models.for_deck(deck_of.get(card_id))
            memory, replayed_rows = model.replay_rows(card_id, reviews, events.get(card_id, ()))
            old = cached.get(card_id)
            memory = self.moved(card_id, model, memory, old, rows[-1][3],
                                replayed_rows[-2][3] if len(rows) > 1 else None, out.moves)
            new = memory_row(card_id, memory)
            # the narrowest write: the fewer of the queue's indexed columns
            # (state, due) it names, the fewer indexes SQLite updates
            if old is None or old[:2] != new[:2] or old[5:8] != new[5:8]:
                out.memories.append(new)
            elif old[4] != new.due or old[8] != new.interval:  # rescheduled
                out.schedules.append((new.stability, new.difficulty, new.due, new.interval,
                                      card_id))
            elif old[2:4] != new[2:4]:  # new parameters: the schedule stands
                out.stabilities.append((new.stability, new.difficulty, card_id))
            # only the reviews whose record changes: a log in order writes none
            # (a stored state_before of NULL always changes: no slice to compare)
            out.records.extend([(*record, r[0]) for r, record in zip(rows, replayed_rows)
                                if r[4] is None or record != r[4:10]])
        return out


def rebuild_all(store: Store, settings: Settings,
                progress: Callable[[int, int], None] | None = None,
                reschedule_at: int | None = None,
                reschedule_decks: Collection[str] | None = None,
                workers: int | None = None) -> int:
    """Replay the whole review log into every card's memory state. Returns the
    number of reviews replayed. One transaction: all or nothing. With
    `reschedule_at`, each live review card (of `reschedule_decks`, if given)
    is then rescheduled at that time, as `reschedule` would after the
    rebuild, in the same pass.

    A long log (PARALLEL_MIN_REVIEWS) is replayed in parts by worker
    processes, one per core (`workers`, if given, however long the log),
    while this process writes what they send: each card is replayed by the
    same code either way, and the result is the same. Should a worker fail
    to start or stop short, the transaction is rolled back and the log
    replayed here."""
    parts = _workers(store, workers)
    with _without_gc(), _log_named(store):
        if parts > 1:
            try:
                return _rebuild_all(store, settings, progress, reschedule_at,
                                    reschedule_decks, parts)
            except _WorkersFailed:
                pass  # rolled back: nothing of it was written
        return _rebuild_all(store, settings, progress, reschedule_at, reschedule_decks, 1)


@contextmanager
def _log_named(store: Reads) -> Iterator[None]:
    """A replay that fails on a row no companion writes (a rating of 7, a
    time in the year 285,200,616, text where a number goes: a database
    another program edited) fails as a StoreError naming the row, not with
    the scheduler's error from deep inside it. The log is only searched for
    the row once a replay has failed."""
    try:
        yield
    except BAD_ROW_ERRORS as exc:
        problem = store.log_problem()
        if problem is None:
            raise
        raise StoreError(f"{store.path}: {problem}, so the review log can't be replayed "
                         f"({type(exc).__name__}: {exc}); nothing was changed "
                         "(`companion doctor` lists the backups)") from None


@contextmanager
def _without_gc() -> Iterator[None]:
    """Python's cycle collector off while a rebuild makes its millions of
    tuples (none of them in a cycle: reference counting frees each): else
    every few thousand it walks every object the process holds (the app's,
    a benchmark's), which measured doubles the rebuild of 1,000,000 reviews
    in a process holding 3,000,000 objects. The switch is the process's: the
    app's other threads make no collectable garbage for those seconds, and
    what they leave in cycles is collected once it is back on."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _workers(store: Store, asked: int | None) -> int:
    """How many worker processes replay the log: one per core this process
    may run on, up to MAX_WORKERS, for a log of PARALLEL_MIN_REVIEWS or more
    (or as asked); none (1) for a database a reader in another process can't
    see the write lock's snapshot of (not in WAL mode).

    Not fewer on a busy machine: measured on two cores with two other jobs,
    a first replay of 1,000,000 reviews took 12.2 s in one process and
    12.7-13.6 s in two workers, a small loss beside the gain on idle cores
    (about 40 %); and the load average, the one portable gauge, still counts
    the rebuild's own workers a minute later (a rebuild just after another
    then ran in one process: 8.7 s instead of 4.3)."""
    if asked is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
        asked = min(cores, MAX_WORKERS) if store.review_count() >= PARALLEL_MIN_REVIEWS else 1
    if asked > 1 and store.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return 1
    return asked


def _rebuild_all(store: Store, settings: Settings,
                 progress: Callable[[int, int], None] | None,
                 reschedule_at: int | None, reschedule_decks: Collection[str] | None,
                 parts: int) -> int:
    done = 0
    with store.transaction():
        # Under the write lock before the workers start: they read the log as
        # it was committed, and nobody can commit until this transaction does.
        deck_of = store.card_decks()
        total = store.review_count()
        store.reset_unreviewed_memories()
        events = events_by_card(store)
        rules = _Rebuild(settings, deck_of, events, reschedule_at, reschedule_decks)
        replayed: set[str] = set()
        moves: list[tuple[Any, ...]] = []
        chunks = rules.chunks(store) if parts == 1 else _from_workers(
            store, settings, reschedule_at, reschedule_decks, store.log_split(parts))
        with closing(chunks):  # the workers stopped however the loop ends
            for out in chunks:
                replayed.update(out.cards)
                store.write_memories(out.memories)
                store.write_stabilities(out.stabilities)
                store.write_schedules(out.schedules)
                store.set_replayed_records(out.records)
                moves.extend(out.moves)
                done += out.reviews
                if progress:
                    progress(done, total)
        # a card with no review but a state set, or forgotten: its events alone
        alone = [card_id for card_id in events if card_id not in replayed]
        flags = store.memories_of(alone)
        unreviewed = []
        for card_id in alone:
            model = rules.models.for_deck(deck_of.get(card_id))
            memory = model.replay_rows(card_id, [], events[card_id])[0]
            unreviewed.append(memory_row(card_id, rules.moved(
                card_id, model, memory, flags.get(card_id), None, None, moves)))
        store.write_memories(unreviewed)
        store.insert_card_events(moves)
        store.set_meta("memory_parameters", memory_parameters(settings))
        store.set_meta("replay_needed", "0")
    if progress:
        progress(done, total)
    return done


class _WorkersFailed(RuntimeError):
    """A worker process did not start, died, or stopped short."""


def _worker_command() -> list[str]:
    """What runs a worker: this interpreter, on this very companion (the
    folder it was imported from, where the worker's own path doesn't have it
    first: the worker checks that it is the same file), its job on stdin and
    its chunks on stdout."""
    root = str(Path(__file__).resolve().parent.parent)
    # -P: nothing from the current directory (a shared deck's folder, say)
    # goes on the path ahead of the standard library and companion
    return [sys.executable, "-P", "-c", f"import sys; sys.path.append({root!r}); "
                                        "from companion.replay import _worker_main; "
                                        "_worker_main()"]


def _from_workers(store: Store, settings: Settings, reschedule_at: int | None,
                  reschedule_decks: Collection[str] | None,
                  cuts: list[str]) -> Generator[_Chunk, None, None]:
    """The log's chunks as worker processes replay them, a part each (cut at
    `cuts`), in the order they arrive. A few chunks wait at a time: a worker
    ahead of the writing waits on its pipe."""
    import pickle
    import queue
    import subprocess
    import threading

    bounds = list(zip([None, *cuts], [*cuts, None]))
    procs: list[subprocess.Popen[bytes]] = []
    arrived: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=4 * len(bounds))
    stop = threading.Event()

    def offer(item: tuple[int, Any]) -> bool:
        while not stop.is_set():
            try:
                arrived.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run(index: int, proc: subprocess.Popen[bytes], job: tuple[Any, ...]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        try:  # here, not in the writer: a worker slow to read can't hold it up
            pickle.dump(job, proc.stdin)
            proc.stdin.close()
            while True:
                message = pickle.load(proc.stdout)
                if not offer((index, message)) or not isinstance(message, _Chunk):
                    return
        except Exception as exc:  # EOF: the worker died
            offer((index, f"stopped short ({type(exc).__name__})"))

    try:
        for index, (after, upto) in enumerate(bounds):
            try:
                proc = subprocess.Popen(_worker_command(), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        close_fds=True)
            except (OSError, ValueError) as exc:  # no interpreter to run it
                raise _WorkersFailed(f"cannot start a worker: {exc}") from None
            procs.append(proc)
            job = (str(Path(__file__).resolve()), str(store.path), settings, reschedule_at,
                   None if reschedule_decks is None else set(reschedule_decks), after, upto,
                   REPLAY_CHUNK)
            threading.Thread(target=run, args=(index, proc, job), daemon=True).start()
        running = len(procs)
        while running:
            try:
                index, message = arrived.get(timeout=WORKER_SILENCE_S)
            except queue.Empty:
                raise _WorkersFailed(f"no word from the workers in "
                                     f"{WORKER_SILENCE_S:.0f} s") from None
            if isinstance(message, _Chunk):
                yield message
            elif message == "done":
                running -= 1
            else:
                raise _WorkersFailed(f"worker {index}: {message}")
    finally:
        stop.set()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass


def _worker_main() -> None:
    """A worker: replay its part of the log, read-only, and send each chunk's
    writes up stdout (pickles, from a parent that started it: never a file
    anyone else wrote), then "done"; on an error, its one-line text."""
    import gc
    import pickle

    from companion.store import ReadStore

    gc.disable()  # as `_without_gc`: nothing it makes is in a cycle
    out = sys.stdout.buffer
    try:
        code, path, settings, at, decks, after, upto, size = pickle.load(sys.stdin.buffer)
        if str(Path(__file__).resolve()) != code:
            raise RuntimeError(f"another companion ({__file__}) than the one that asked ({code})")
        store = ReadStore(Path(path))
        try:
            rules = _Rebuild(settings, store.card_decks(after, upto),
                             events_by_card(store, None, after, upto), at, decks)
            for chunk in rules.chunks(store, after, upto, size):
                pickle.dump(chunk, out, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            store.close()
        pickle.dump("done", out)
    except Exception as exc:
        pickle.dump(f"{type(exc).__name__}: {exc}", out)
    out.flush()


_card_of = itemgetter(1)
