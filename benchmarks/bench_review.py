"""Review at scale: 100,000 cards and 1,000,000 reviews.

Prints, on this machine:
- answering one card (grade + commit + next card drawn), median and p95;
- `companion due` wall time (a fresh process, as the learner runs it), and
  `companion due --short` (what a shell prompt or tmux status bar runs);
- rebuilding every card's state by replaying the 1,000,000 reviews;
- `companion --version` wall time.

Run: python benchmarks/bench_review.py [--cards 100000] [--reviews-per-card 10]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from companion.deck_sync import deck_dirs, sync_decks  # noqa: E402
from companion.replay import rebuild_all  # noqa: E402
from companion.scheduler import REVIEW  # noqa: E402
from companion.session import ReviewSession  # noqa: E402
from companion.settings import Settings  # noqa: E402
from companion.store import Store, now_ms  # noqa: E402

DAY = 86_400_000


def build(home: Path, cards: int, per_card: int, seed: int = 1) -> None:
    """Cards in 10 deck files of the learner's own, and a review log that spans
    the last two years."""
    rng = random.Random(seed)
    decks = home / "decks"
    decks.mkdir(parents=True)
    for d in range(10):
        with open(decks / f"deck{d}.md", "w") as f:
            f.write(f"---\nid: deck{d}\nname: Deck {d}\n---\n\n")
            for i in range(d, cards, 10):
                f.write(f"## card{i}\nQ: Question {i}?\nA: Answer {i}.\nTags: bench\n\n")
    store = Store(home / "companion.db")
    sync_decks(store, deck_dirs())
    now = now_ms()
    with store.transaction() as conn:
        batch = []
        for i in range(cards):
            t = now - 730 * DAY + rng.randint(0, 200) * DAY
            for _ in range(per_card):
                batch.append((uuid.uuid4().hex, f"deck{i % 10}/card{i}", t,
                              rng.choices((1, 2, 3, 4), (10, 10, 70, 10))[0],
                              rng.randint(2000, 15000)))
                t += rng.randint(1, 50) * DAY
            if len(batch) >= 100_000:
                conn.executemany("INSERT INTO reviews(id, card_id, reviewed_at, rating, "
                                 "duration_ms) VALUES (?, ?, ?, ?, ?)", batch)
                batch.clear()
        conn.executemany("INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
                         "VALUES (?, ?, ?, ?, ?)", batch)
    store.close()


def as_installed(env: dict, home: Path) -> dict:
    """`env` for timing companion's starts as installed: pip and pipx
    byte-compile, so each start reads compiled modules (written under `home`
    by a warm-up start), not the sources again. A PYTHONDONTWRITEBYTECODE
    environment otherwise times companion compiling itself at every start
    (about 60 ms of `due --short`'s 0.16 s here)."""
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


def timed_process(args: list[str], env: dict, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--reviews-per-card", type=int, default=10)
    parser.add_argument("--answers", type=int, default=2000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="companion-bench-"))
    db = home / "companion.db"
    try:
        total = args.cards * args.reviews_per_card
        print(f"building {args.cards:,} cards and {total:,} reviews ...", flush=True)
        start = time.perf_counter()
        os.environ["COMPANION_HOME"] = str(home)
        build(home, args.cards, args.reviews_per_card)
        print(f"  built in {time.perf_counter() - start:.1f} s")

        settings = Settings()
        store = Store(db)
        start = time.perf_counter()
        replayed = rebuild_all(store, settings)
        rebuild_s = time.perf_counter() - start
        print(f"rebuild all states from {replayed:,} reviews: {rebuild_s:.1f} s (target <= 60 s)")
        start = time.perf_counter()
        rebuild_all(store, settings)  # the log now keeps its decisions: nothing to rewrite
        print(f"rebuild again (doctor --rebuild on a log in order): "
              f"{time.perf_counter() - start:.1f} s")

        # Answer cards the way the app does: grade, commit, draw the next one.
        session = ReviewSession(store, Settings(reviews_per_day=10**5, new_per_day=10**5))
        due_now = store.conn.execute(
            "SELECT count(*) FROM cards WHERE state = ? AND due < ?",
            (REVIEW, now_ms() + DAY)).fetchone()[0]
        print(f"cards due today: {due_now:,}")
        card = session.next_card()
        latencies = []
        rng = random.Random(2)
        for _ in range(args.answers):
            start = time.perf_counter()
            session.answer(card.id, rng.choice((1, 3, 3, 3, 4)), 5000)
            card = session.next_card()
            latencies.append((time.perf_counter() - start) * 1000)
            if card is None:
                break
        latencies.sort()
        median = statistics.median(latencies)
        p95 = latencies[int(len(latencies) * 0.95)]
        print(f"answer one card (grade + commit + next card), {len(latencies)} answers: "
              f"median {median:.3f} ms, p95 {p95:.3f} ms (target median <= 1 ms)")
        store.close()

        env = as_installed({**os.environ, "COMPANION_HOME": str(home), "NO_COLOR": "1"}, home)
        exe = shutil.which("companion")
        cmd = [exe] if exe else [sys.executable, "-m", "companion.cli"]
        # warm the OS cache and write the bytecode
        subprocess.run([*cmd, "due"], env=env, check=True, capture_output=True)
        due_s = timed_process([*cmd, "due"], env)
        print(f"`companion due` wall: {due_s:.3f} s (target <= 0.3 s)")
        short_s = timed_process([*cmd, "due", "--short"], env)
        print(f"`companion due --short` wall (a shell prompt's): {short_s:.3f} s "
              "(target <= 0.15 s)")
        version_s = timed_process([*cmd, "--version"], env)
        print(f"`companion --version` wall: {version_s:.3f} s (target <= 0.15 s)")
        bare_s = timed_process([sys.executable, "-c", "pass"], env)
        print(f"  (a bare `python -c pass` here: {bare_s:.3f} s)")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
