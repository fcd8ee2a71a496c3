"""The full-screen app at scale: 10,000 cards and a year of reviews.

Runs the installed `companion` in a pseudo-terminal (80×24), as a learner
starts it, and reads what it draws. Prints:
- process start to the first frame, and to Home with its counts and its
  footer's keys drawn (the first interactive screen), median of several
  starts (target <= 0.5 s);
- interleaved with those starts (companion, bare, companion, bare, ...), a
  bare Textual app's start to its first frame (`bare_app.py`: a one-row
  table, a button and a footer) by the same pty method, and the ratio
  companion Home / bare first frame (goal <= 1.3x);
- a grade key to the next card's question drawn, median and p95 over many
  answers (target <= 50 ms).

Run: python benchmarks/bench_tui.py [--cards 10000] [--starts 5] [--answers 40]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_review import as_installed, build  # noqa: E402

from companion.replay import rebuild_all  # noqa: E402
from companion.settings import Settings  # noqa: E402
from companion.store import Store  # noqa: E402

QUESTION = re.compile(rb"Question (\d+)\?")


class App:
    """`companion` in a pseudo-terminal; `read_until` watches what it draws."""

    def __init__(self, home: Path, width: int = 80, height: int = 24,
                 argv: list[str] | None = None):
        if argv is None:
            argv = [shutil.which("companion") or str(Path(sys.executable).with_name("companion"))]
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        env = {**os.environ, "COMPANION_HOME": str(home), "TERM": "xterm-256color",
               "COLUMNS": str(width), "LINES": str(height)}
        self.started = time.perf_counter()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        start_new_session=True, close_fds=True)
        os.close(slave)
        self.fd = master
        self.buffer = b""

    def read_until(self, test, timeout: float = 20.0) -> tuple[float, re.Match | bool]:
        """Read output until `test(new_bytes)` is truthy; returns (time, result)."""
        deadline = time.perf_counter() + timeout
        seen = b""
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            seen += chunk
            result = test(seen)
            if result:
                return time.perf_counter(), result
        raise TimeoutError(f"never drawn; last output: {seen[-400:]!r}")

    def drain(self, quiet: float = 0.15) -> None:
        """Read until the app has drawn nothing for `quiet` seconds."""
        while True:
            ready, _, _ = select.select([self.fd], [], [], quiet)
            if not ready:
                return
            try:
                os.read(self.fd, 65536)
            except OSError:
                return

    def send(self, keys: str) -> float:
        os.write(self.fd, keys.encode())
        return time.perf_counter()

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        os.close(self.fd)


def drawn_all(*texts: bytes):
    """A `read_until` test: true once every one of `texts` has been drawn."""
    drawn = dict.fromkeys(texts, False)

    def test(out: bytes) -> bool:
        for text in drawn:
            drawn[text] = drawn[text] or text in out
        return all(drawn.values())

    return test


def startup(home: Path) -> tuple[float, float]:
    """Start to the first frame, and to Home with its counts and its footer's
    keys drawn (as the bare app's time includes its footer)."""
    app = App(home)
    home_drawn = drawn_all(b"Study now \xc2\xb7", b"Quit")
    firsts: list[float] = []

    def test(out: bytes) -> bool:
        # One read for both: the first frame may hold the whole of Home.
        if not firsts and b"Deck" in out:
            firsts.append(time.perf_counter())
        return home_drawn(out)

    try:
        ready, _ = app.read_until(test)
        return firsts[0] - app.started, ready - app.started
    finally:
        app.close()


BARE_APP = [sys.executable, str(HERE / "bare_app.py")]


def bare_startup(home: Path) -> float:
    """The bare Textual app's start to its first frame: its table row, button
    and footer drawn."""
    app = App(home, argv=BARE_APP)
    try:
        first, _ = app.read_until(drawn_all(b"Bare deck", b"Bare ready", b"Quit"))
        return first - app.started
    finally:
        app.close()


def grade_latencies(home: Path, answers: int) -> list[float]:
    app = App(home)
    out = []
    try:
        app.read_until(lambda o: b"Study now \xc2\xb7" in o)
        app.drain()
        app.send("s")
        _, match = app.read_until(lambda o: QUESTION.search(o))
        current = match.group(1)
        for _ in range(answers):
            app.drain()
            app.send(" ")
            app.read_until(lambda o: b"1 Again" in o)
            app.drain()
            sent = app.send("3")

            def next_question(o: bytes, current=current):
                found = [m for m in QUESTION.finditer(o) if m.group(1) != current]
                return found[-1] if found else None

            drawn, match = app.read_until(next_question)
            out.append((drawn - sent) * 1000)
            current = match.group(1)
        return out
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--reviews-per-card", type=int, default=3)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--answers", type=int, default=40)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="companion-bench-tui-"))
    try:
        print(f"building {args.cards:,} cards and {args.cards * args.reviews_per_card:,} "
              "reviews ...", flush=True)
        os.environ["COMPANION_HOME"] = str(home)
        # As installed, for companion and the bare app alike (bench_review.as_installed)
        installed = as_installed(dict(os.environ), home)
        os.environ.clear()
        os.environ.update(installed)
        build(home, args.cards, args.reviews_per_card)
        store = Store(home / "companion.db")
        rebuild_all(store, Settings())
        store.close()

        startup(home)  # the first start syncs the decks and warms the OS cache
        bare_startup(home)  # and the bare app's bytecode and imports
        firsts, readies, bares = [], [], []
        for _ in range(args.starts):
            first, ready = startup(home)
            firsts.append(first)
            readies.append(ready)
            bares.append(bare_startup(home))
        print(f"start to first frame: median {statistics.median(firsts):.3f} s")
        print(f"start to Home with counts (first interactive screen), {args.starts} starts: "
              f"median {statistics.median(readies):.3f} s, worst {max(readies):.3f} s "
              "(target <= 0.5 s)")
        ratio = statistics.median(readies) / statistics.median(bares)
        print(f"bare Textual app (one-row table, button, footer) start to first frame, "
              f"{args.starts} starts interleaved: median {statistics.median(bares):.3f} s, "
              f"worst {max(bares):.3f} s")
        print(f"companion Home with counts / bare app first frame: {ratio:.2f}x "
              f"(goal <= 1.3x{'' if ratio <= 1.3 else ', not met'})")

        latencies = sorted(grade_latencies(home, args.answers))
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(f"grade key to the next card drawn, {len(latencies)} answers: "
              f"median {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms "
              "(target <= 50 ms)")
        bare = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import textual.app"], check=True)
            bare.append(time.perf_counter() - start)
        print(f"  (python -c 'import textual.app' alone here: {statistics.median(bare):.3f} s)")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
