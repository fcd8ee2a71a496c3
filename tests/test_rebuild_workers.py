"""A long log's rebuild in worker processes (`rebuild_all`'s parts): the
same cards, review records and reschedules as the rebuild in one process,
whatever the workers do: fail to start, die part-way, or meet a log that
can't be replayed."""

from __future__ import annotations

import random
import sqlite3
import sys

import pytest

from companion import replay
from companion.replay import rebuild_all, state_set_json
from companion.scheduler import REVIEW, StateSet
from companion.settings import Settings
from companion.store import Store, StoreError
from tests.conftest import write_deck

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
START = 1_772_366_400_000  # 2026-03-01 12:00 UTC
FITTED = [0.4, 0.9, 3.1, 15.7, 7.0, 0.5, 1.6, 0.01, 1.5, 0.12, 1.0, 1.9, 0.11, 0.29,
          2.2, 0.23, 2.9, 0.4, 0.6, 0.1, 0.3]
FIRST = Settings(timezone="America/New_York")


def _logged(store, deck_dir) -> list[str]:
    """Two decks' cards with a log as an import without decisions writes it:
    same-moment reviews stored out of id order, a forget between reviews, a
    state set on a card without reviews, a suspended card. Returns the cards."""
    from companion.deck_sync import sync_decks

    write_deck(deck_dir, "other.md", "".join(f"## n{n}\nQ: {n}?\nA: {n}.\n\n"
                                             for n in range(60)),
               deck_id="other", deck_name="Other")
    sync_decks(store, [deck_dir])
    cards = [row[0] for row in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    rng = random.Random(11)
    alone, forgotten, suspended = cards[1], cards[5], cards[-3]
    with store.transaction():
        for card_id in cards:
            if card_id == alone:
                continue
            at = START - 300 * DAY
            for n in range(rng.randint(1, 14)):
                at += rng.choice([0, MIN, 10 * MIN, HOUR, DAY, 4 * DAY, 25 * DAY])
                store.conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating, "
                                   "duration_ms) VALUES (?, ?, ?, ?, 1000)",
                                   (f"{card_id}#{99 - n:02d}", card_id, at,
                                    rng.choice([1, 2, 3, 3, 3, 4])))
        store.insert_new_card_events([
            ("set", alone, START - DAY, "set-state", 20, START + 19 * DAY,
             state_set_json(StateSet(REVIEW, 0, 30.0, 5.0, START - 2 * DAY, 4, 0))),
            ("forget", forgotten, START - 200 * DAY, "forget", 0, 0, None)])
        store.set_suspended(suspended, True)
    return cards


def _copy(store, path) -> Store:
    with sqlite3.connect(path) as target:
        store.conn.backup(target)
    return Store(path)


def _everything(store) -> tuple[list, ...]:
    """What a rebuild writes: every card, every review, the events (each
    reschedule's id is random), the notes on what the states follow."""
    return (store.conn.execute("SELECT * FROM cards ORDER BY id").fetchall(),
            store.conn.execute("SELECT * FROM reviews ORDER BY id").fetchall(),
            store.conn.execute("SELECT card_id, at, kind, interval, due, memory "
                               "FROM card_events ORDER BY card_id, at, kind").fetchall(),
            store.conn.execute("SELECT * FROM meta WHERE key IN ('memory_parameters', "
                               "'replay_needed') ORDER BY key").fetchall())


def _not_here(monkeypatch) -> None:
    """The rebuild replays nothing in this process: only the workers do."""
    def refuse(self, *args, **kwargs):
        raise AssertionError("a chunk was replayed in the writing process")

    monkeypatch.setattr(replay._Rebuild, "chunks", refuse)


@pytest.mark.parametrize("workers, chunk", [(2, 20_000), (3, 20_000), (2, 60)])
def test_a_first_replay_by_workers_is_the_replay_in_one_process(store, deck_dir, tmp_path,
                                                               monkeypatch, workers, chunk):
    monkeypatch.setattr(replay, "REPLAY_CHUNK", chunk)  # 60: several chunks a worker
    _logged(store, deck_dir)
    apart = _copy(store, tmp_path / "apart.db")
    assert rebuild_all(apart, FIRST, workers=1) == store.review_count()
    expected = _everything(apart)
    apart.close()
    _not_here(monkeypatch)
    progress = []
    assert rebuild_all(store, FIRST, progress=lambda done, total: progress.append(done),
                       workers=workers) == store.review_count()
    assert _everything(store) == expected
    assert len(store.log_split(workers)) == workers - 1
    # a count per chunk as it is written, then the whole
    chunks = -(-store.review_count() // chunk)
    assert progress[-1] == store.review_count() and len(progress) >= min(chunks, workers) + 1
    # the log's decisions are there: every review has one
    assert store.conn.execute("SELECT count(*) FROM reviews WHERE state_after IS NULL "
                              "OR elapsed_days IS NULL").fetchone()[0] == 0


@pytest.mark.parametrize("decks", [None, {"other"}])
def test_a_rescheduling_rebuild_by_workers_is_the_rebuild_in_one_process(store, deck_dir,
                                                                        tmp_path,
                                                                        monkeypatch, decks):
    """New parameters and a new retention, rescheduled in the rebuild's pass
    (what catch_up does after an optimize): the same states and events."""
    _logged(store, deck_dir)
    rebuild_all(store, FIRST)
    changed = Settings(timezone="America/New_York", parameters=FITTED,
                       desired_retention=0.97)
    now = START + 10 * DAY
    apart = _copy(store, tmp_path / "apart.db")
    rebuild_all(apart, changed, reschedule_at=now, reschedule_decks=decks, workers=1)
    expected = _everything(apart)
    apart.close()
    _not_here(monkeypatch)
    rebuild_all(store, changed, reschedule_at=now, reschedule_decks=decks, workers=2)
    assert _everything(store) == expected
    assert any(kind == "reschedule" for _, _, kind, *_ in expected[2])


def _fails(monkeypatch, code: str) -> list[int]:
    """Workers run `code` instead; returns a list that counts their starts."""
    started = []

    def command():
        started.append(1)
        return [sys.executable, "-c", code]

    monkeypatch.setattr(replay, "_worker_command", command)
    return started


def test_workers_that_cannot_run_leave_the_rebuild_to_this_process(store, deck_dir, tmp_path,
                                                                  monkeypatch):
    _logged(store, deck_dir)
    apart = _copy(store, tmp_path / "apart.db")
    rebuild_all(apart, FIRST, workers=1)
    expected = _everything(apart)
    apart.close()
    started = _fails(monkeypatch, "import sys; sys.exit(3)")
    rebuild_all(store, FIRST, workers=2)
    assert started and _everything(store) == expected


def test_a_worker_killed_part_way_leaves_the_rebuild_to_this_process(store, deck_dir,
                                                                    tmp_path, monkeypatch):
    """Workers that send their first chunk and die (killed, out of memory),
    in a rebuild that reschedules: what was written of them is rolled back
    and the log replayed here, each reschedule once."""
    from pathlib import Path

    monkeypatch.setattr(replay, "REPLAY_CHUNK", 60)  # several chunks a worker
    _logged(store, deck_dir)
    rebuild_all(store, FIRST)
    changed = Settings(timezone="America/New_York", parameters=FITTED)
    now = START + 10 * DAY
    apart = _copy(store, tmp_path / "apart.db")
    rebuild_all(apart, changed, reschedule_at=now, workers=1)
    expected = _everything(apart)
    apart.close()
    root = str(Path(replay.__file__).resolve().parent.parent)
    started = _fails(monkeypatch, f"""
import os, sys
sys.path.insert(0, {root!r})
import companion.replay as r
whole = r._Rebuild.chunks
def chunks(self, *args):
    for chunk in whole(self, *args):
        yield chunk
        sys.stdout.buffer.flush()
        os._exit(9)
r._Rebuild.chunks = chunks
r._worker_main()
""")
    received = []
    from_workers = replay._from_workers

    def counted(*args):
        for chunk in from_workers(*args):
            received.append(chunk)
            yield chunk

    monkeypatch.setattr(replay, "_from_workers", counted)
    rebuild_all(store, changed, reschedule_at=now, workers=2)
    assert len(started) == 2 and received  # written, then rolled back
    assert sum(chunk.reviews for chunk in received) < store.review_count()
    assert _everything(store) == expected


def test_a_worker_that_goes_silent_leaves_the_rebuild_to_this_process(store, deck_dir,
                                                                     tmp_path, monkeypatch):
    _logged(store, deck_dir)
    apart = _copy(store, tmp_path / "apart.db")
    rebuild_all(apart, FIRST, workers=1)
    expected = _everything(apart)
    apart.close()
    monkeypatch.setattr(replay, "WORKER_SILENCE_S", 0.5)
    started = _fails(monkeypatch, "import time; time.sleep(60)")
    rebuild_all(store, FIRST, workers=2)
    assert len(started) == 2 and _everything(store) == expected


def test_a_worker_imports_nothing_from_the_current_folder(store, deck_dir, tmp_path,
                                                          monkeypatch):
    """Started from a folder holding a `json.py` (a shared deck's, say): the
    workers replay, and that file never runs."""
    _logged(store, deck_dir)
    folder = tmp_path / "shared"
    folder.mkdir()
    marker = tmp_path / "ran"
    (folder / "json.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (folder / "companion").mkdir()
    (folder / "companion" / "__init__.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.chdir(folder)
    _not_here(monkeypatch)
    rebuild_all(store, FIRST, workers=2)
    assert not marker.exists()
    assert store.conn.execute("SELECT count(*) FROM reviews WHERE state_after IS NULL"
                              ).fetchone()[0] == 0


def test_a_log_no_worker_can_replay_fails_as_it_does_in_one_process(store, deck_dir,
                                                                    monkeypatch):
    """A rating no answer gives, without a decision: the rebuild stops with
    the one process's error, naming the row, and nothing it had written stays."""
    cards = _logged(store, deck_dir)
    rebuild_all(store, FIRST)
    with store.transaction():
        store.conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating, "
                           "duration_ms) VALUES ('odd', ?, ?, 7, 0)", (cards[-1], START))
    before = _everything(store)
    started = []
    command = replay._worker_command
    monkeypatch.setattr(replay, "_worker_command", lambda: (started.append(1), command())[1])
    with pytest.raises(StoreError, match="review 'odd': rating 7 is not 1-4, .*"
                                         "rating must be 1-4, got 7"):
        rebuild_all(store, Settings(timezone="UTC", parameters=FITTED), workers=2)
    assert len(started) == 2  # the workers tried first
    assert _everything(store) == before


def test_the_log_is_cut_into_runs_of_whole_cards(store, deck_dir):
    _logged(store, deck_dir)
    reviews = dict(store.conn.execute("SELECT card_id, count(*) FROM reviews "
                                      "GROUP BY card_id").fetchall())
    most = max(reviews.values())
    for parts in (2, 3, 5):
        cuts = store.log_split(parts)
        assert cuts == sorted(set(cuts)) and len(cuts) == parts - 1
        runs = [sum(n for card_id, n in reviews.items()
                    if (after is None or card_id > after) and (upto is None or card_id <= upto))
                for after, upto in zip([None, *cuts], [*cuts, None])]
        assert sum(runs) == sum(reviews.values())
        assert max(runs) - min(runs) <= 2 * most  # about as many reviews each
        replayed = [row[1] for after, upto in zip([None, *cuts], [*cuts, None])
                    for chunk in store.replay_log(replay.REPLAY_CHUNK, after, upto)
                    for row in chunk]
        assert replayed == [row[1] for chunk in store.replay_log(replay.REPLAY_CHUNK)
                            for row in chunk]
        # each worker reads the decks of its own cards only, and together all
        decks: dict[str, str] = {}
        for after, upto in zip([None, *cuts], [*cuts, None]):
            part = store.card_decks(after, upto)
            assert not decks.keys() & part.keys()
            decks.update(part)
        assert decks == store.card_decks()


def test_how_many_workers(store, deck_dir, monkeypatch):
    """None below PARALLEL_MIN_REVIEWS, one per core up to MAX_WORKERS above
    it, and none where the write lock's snapshot can't be read by another
    process (a database not in WAL mode)."""
    _logged(store, deck_dir)
    monkeypatch.setattr(replay.os, "sched_getaffinity", lambda pid: set(range(8)),
                        raising=False)
    assert replay._workers(store, None) == 1
    monkeypatch.setattr(replay, "PARALLEL_MIN_REVIEWS", store.review_count())
    assert replay._workers(store, None) == replay.MAX_WORKERS == 4
    monkeypatch.setattr(replay.os, "sched_getaffinity", lambda pid: {0, 1})
    assert replay._workers(store, None) == 2
    monkeypatch.setattr(replay.os, "sched_getaffinity", lambda pid: {0})
    assert replay._workers(store, None) == 1
    assert replay._workers(store, 3) == 3
    store.conn.execute("PRAGMA journal_mode = DELETE")
    assert replay._workers(store, 3) == 1


def test_the_readme_says_when_workers_replay_and_how_many():
    from pathlib import Path

    text = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    words = {2: "two", 3: "three", 4: "four", 8: "eight"}
    assert (f"a log of {replay.PARALLEL_MIN_REVIEWS:,} reviews or more is replayed by "
            f"worker processes, one per core up to {words[replay.MAX_WORKERS]}") in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_writing_process_killed_part_way_changes_nothing_and_leaves_no_worker(
        store, deck_dir, tmp_path):
    """Companion killed (SIGKILL, the machine's OOM killer) in the middle of a
    rebuild by workers, after it has written some of their chunks: the database
    is as it was before the rebuild, and no worker outlives it (each meets the
    closed pipe at its next chunk)."""
    import os
    import signal
    import subprocess
    import time
    from pathlib import Path

    _logged(store, deck_dir)
    before = _everything(store)
    path = store.path
    root = str(Path(replay.__file__).resolve().parent.parent)
    marker = tmp_path / "writing"
    script = f"""
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
import companion.replay as r
from companion.settings import Settings
from companion.store import Store
r.REPLAY_CHUNK = 60  # several chunks a worker, each written slowly
write = Store.write_memories
def slow(self, rows):
    write(self, rows)
    Path({str(marker)!r}).touch()
    time.sleep(0.2)
Store.write_memories = slow
r.rebuild_all(Store(Path({str(path)!r})), Settings(timezone="America/New_York"), workers=2)
print("finished")
"""
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), child.communicate(timeout=5)
        workers = [int(pid) for pid in Path(f"/proc/{child.pid}/task/{child.pid}/children")
                   .read_text().split()]
        assert len(workers) == 2
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
        assert b"finished" not in out
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = []
        for pid in workers:
            try:
                status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            if status != "Z":  # a zombie has exited; init reaps it
                alive.append(pid)
        time.sleep(0.05)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert alive == []
    again = Store(path)  # a fresh connection: what the next start of companion sees
    try:
        assert again.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert _everything(again) == before
    finally:
        again.close()
