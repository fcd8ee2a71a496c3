"""Two processes on one home: every answer lands once, nobody sees "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from companion.deck_sync import sync_decks
from companion.doctor import cache_mismatches
from companion.settings import Settings

from .conftest import write_deck

WORKER = textwrap.dedent("""
    import sys
    from companion.session import ReviewSession
    from companion.settings import Settings
    from companion.store import Store
    store = Store(sys.argv[1])
    session = ReviewSession(store, Settings(new_per_day=10**6, reviews_per_day=10**6))
    cards = [r[0] for r in store.conn.execute("SELECT id FROM cards ORDER BY id")]
    done = 0
    for i in range(int(sys.argv[2])):
        session.answer(cards[(i * 7 + int(sys.argv[3])) % len(cards)], 1 + i % 4, 1000)
        done += 1
    print(done)
""")


def test_two_writers_lose_and_double_nothing(store, tmp_path):
    folder = tmp_path / "decks"
    write_deck(folder, "d.md", "".join(f"## c{i}\nQ: q{i}\nA: a{i}\n\n" for i in range(40)))
    sync_decks(store, [folder])
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(store.path), "150", str(k)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    for (out, err), p in zip(results, procs):
        assert p.returncode == 0 and "locked" not in err, err
        assert out.strip() == "150"
    total, distinct = store.conn.execute(
        "SELECT count(*), count(DISTINCT id) FROM reviews").fetchone()
    assert total == distinct == 450
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert cache_mismatches(store, Settings(new_per_day=10**6, reviews_per_day=10**6)) == []
