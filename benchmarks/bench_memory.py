"""Memory at scale: 100,000 cards.

Prints the peak resident memory (the kernel's ru_maxrss of the process) of:
- the full-screen app, started in a pseudo-terminal (80x24) on Home and
  driven through 50 answers (reveal, Good), goal < 200 MB;
- `companion review --plain` through 50 answers fed on stdin (Enter reveals,
  3 grades Good), goal < 100 MB;
- the same, started when every card's state must first be replayed from the
  log (after an upgrade that changes the rules, or new FSRS parameters: the
  `replay_needed` mark), goal < 100 MB.

Each case runs in a child process of its own that starts only that case's
`companion`, so `getrusage(RUSAGE_CHILDREN)` there is that process's peak and
nothing else's (or its largest worker's, where one is larger). A replay of a
long log runs in worker processes beside `companion` (replay.rebuild_all), so
the line-mode cases also print the peak of all of them together, sampled
every 20 ms from /proc (Linux). The cards and review log are `bench_review.build`'s, as in
bench_tui.py and bench_review.py.

Run: python benchmarks/bench_memory.py [--cards 100000] [--reviews-per-card 10]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_review import build  # noqa: E402
from bench_tui import grade_latencies, startup  # noqa: E402

from companion.replay import rebuild_all  # noqa: E402
from companion.settings import Settings  # noqa: E402
from companion.store import Store  # noqa: E402

GOALS_MB = {"app": 200, "plain": 100, "plain-replay": 100}
LABELS = {"app": "the app, Home and {answers} answers",
          "plain": "companion review --plain, {answers} answers",
          "plain-replay": "companion review --plain after a full replay, {answers} answers"}


def review_count(home: Path) -> int:
    with sqlite3.connect(home / "companion.db") as conn:
        return conn.execute("SELECT count(*) FROM reviews").fetchone()[0]


def run_case(case: str, home: Path, answers: int) -> None:
    """In the child: run one case's `companion`, then print its peak RSS (kB
    on Linux) and how many answers it recorded, as JSON."""
    before = review_count(home)
    if case == "app":
        grade_latencies(home, answers)
        together_kb = None
    else:
        exe = shutil.which("companion") or str(Path(sys.executable).with_name("companion"))
        proc = subprocess.Popen([exe, "review", "--plain"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "COMPANION_HOME": str(home)})
        sampled = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                sampled[0] = max(sampled[0], tree_rss_kb(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate("\n3\n" * answers + "q\n")
        stop.set()
        sampler.join()
        if proc.returncode:
            raise SystemExit(f"companion review --plain: {err.strip().splitlines()[-1:]}")
        together_kb = sampled[0]
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"peak_kb": peak_kb, "together_kb": together_kb,
                      "answered": review_count(home) - before}))


def tree_rss_kb(pid: int) -> int:
    """The resident memory of a process and all its descendants now, kB
    (0 where /proc can't say)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next((int(line.split()[1]) for line in status.splitlines()
                           if line.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def measure(case: str, home: Path, answers: int) -> tuple[float, float | None, int]:
    done = subprocess.run([sys.executable, __file__, "--case", case, "--home", str(home),
                           "--answers", str(answers)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {case} case failed: {done.stderr.strip().splitlines()[-1:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    together = result["together_kb"]
    return (result["peak_kb"] / 1024, None if together is None else together / 1024,
            result["answered"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--reviews-per-card", type=int, default=10)
    parser.add_argument("--answers", type=int, default=50)
    parser.add_argument("--case", choices=sorted(GOALS_MB), help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.home, args.answers)
        return

    home = Path(tempfile.mkdtemp(prefix="companion-bench-memory-"))
    try:
        print(f"building {args.cards:,} cards and {args.cards * args.reviews_per_card:,} "
              "reviews ...", flush=True)
        os.environ["COMPANION_HOME"] = str(home)
        build(home, args.cards, args.reviews_per_card)
        store = Store(home / "companion.db")
        rebuild_all(store, Settings())
        store.close()
        startup(home)  # the first start syncs the decks; the cases measure later starts

        for case in ("app", "plain", "plain-replay"):
            if case == "plain-replay":  # what catch_up finds after a rule change
                store = Store(home / "companion.db")
                with store.transaction():
                    store.set_meta("replay_needed", "1")
                store.close()
            peak_mb, together_mb, answered = measure(case, home, args.answers)
            goal = GOALS_MB[case]
            verdict = "met" if peak_mb < goal else "NOT met"
            print(f"peak RSS, {LABELS[case].format(answers=answered)}: {peak_mb:.1f} MB "
                  f"(goal < {goal} MB, {verdict}; {peak_mb / goal:.2f}x the goal)", flush=True)
            if together_mb:
                print(f"  with the processes it started, together (sampled): "
                      f"{together_mb:.1f} MB", flush=True)
            if answered != args.answers:
                print(f"  (recorded {answered} answers, not {args.answers}: fewer cards were due)")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
