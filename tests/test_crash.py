"""Kill the real CLI with SIGKILL mid-session, again and again: what it said was
saved is in the log, the file is whole, and the cached states equal a replay."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from companion.doctor import cache_mismatches
from companion.settings import Settings
from companion.store import Store

from .conftest import write_deck

KILLS = 50


def test_sigkill_at_random_points_loses_nothing_reported_saved(tmp_path):
    home = tmp_path / "home"
    # its own deck only (--deck d below): the shipped deck has Predict: cards early
    # on, whose lab run would take every kill's whole time
    write_deck(home / "decks", "d.md",
               "".join(f"## c{i}\nQ: q{i}\nA: a{i}\n\n" for i in range(400)), deck_id="d")
    (home / "settings.toml").write_text("new_per_day = 100000\nreviews_per_day = 100000\n")
    env = {**os.environ, "COMPANION_HOME": str(home)}
    rng = random.Random(20261127)
    saved: list[str] = []
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "companion.cli", "review", "--plain",
                                 "--deck", "d"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env=env, bufsize=1)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        try:
            # reveal + a random grade, many times over; the kill lands wherever it lands
            proc.stdin.write("".join(f"\n{rng.randint(1, 4)}\n" for _ in range(200)))
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        time.sleep(rng.uniform(0.3, 0.7))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        reader.join(timeout=5)
        saved += re.findall(r"saved: (\S+)", "".join(lines))
    db = sqlite3.connect(home / "companion.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    logged = [r[0] for r in db.execute("SELECT card_id FROM reviews")]
    # every answer reported saved is in the log; at most one more per kill was
    # committed in the instant before its "saved:" line could be printed
    assert len(saved) > KILLS  # the kills really did land mid-session
    from collections import Counter

    missing = Counter(saved) - Counter(logged)
    assert not missing, missing
    assert len(logged) - len(saved) <= KILLS
    db.close()
    store = Store(home / "companion.db")
    assert cache_mismatches(store, Settings(new_per_day=100000, reviews_per_day=100000)) == []
