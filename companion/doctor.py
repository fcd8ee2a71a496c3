"""`companion doctor`: is the learner's database whole, and does the cache agree with the log?"""

from __future__ import annotations

import sys
import time

from companion.scheduler import MemoryModel
from companion.session import rebuild_all
from companion.settings import Settings
from companion.store import SCHEMA_VERSION, Store


def cache_mismatches(store: Store, settings: Settings) -> list[str]:
    """Card ids whose cached memory differs from a replay of their reviews."""
    model = MemoryModel(settings)
    conn = store.conn
    cached = {
        r[0]: r[1:] for r in conn.execute(
            "SELECT id, state, step, stability, difficulty, due, last_review, reps, lapses "
            "FROM cards WHERE reps > 0 OR state != 0")
    }
    logs: dict[str, list[tuple[int, int]]] = {}
    for card_id, at, rating in conn.execute(
            "SELECT card_id, reviewed_at, rating FROM reviews ORDER BY card_id, reviewed_at, id"):
        logs.setdefault(card_id, []).append((at, rating))
    bad = []
    for card_id in set(cached) | set(logs):
        memory, _ = model.replay(card_id, logs.get(card_id, []))
        replayed = (memory.state, memory.step, memory.stability, memory.difficulty, memory.due,
                    memory.last_review, memory.reps, memory.lapses)
        if cached.get(card_id) != replayed:
            bad.append(card_id)
    return sorted(bad)


def run_doctor(store: Store, settings: Settings, rebuild: bool = False, out=None) -> int:
    out = out or sys.stdout
    conn = store.conn
    status = 0
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    out.write(f"database: {store.path}\n")
    out.write(f"integrity: {integrity}\n")
    if integrity != "ok":
        status = 1
    out.write(f"schema version: {store.version} (this companion: {SCHEMA_VERSION})\n")
    cards = conn.execute("SELECT count(*), coalesce(sum(retired), 0) FROM cards").fetchone()
    reviews = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    out.write(f"cards: {cards[0]} ({cards[1]} retired), reviews: {reviews}\n")
    orphans = conn.execute(
        "SELECT count(*) FROM reviews WHERE card_id NOT IN (SELECT id FROM cards)").fetchone()[0]
    if orphans:
        out.write(f"reviews of unknown cards: {orphans} (kept; their deck may come back)\n")
    if rebuild:
        started = time.perf_counter()
        replayed = rebuild_all(store, settings)
        out.write(f"rebuilt card states from {replayed} reviews in "
                  f"{time.perf_counter() - started:.1f} s\n")
    bad = cache_mismatches(store, settings)
    if bad:
        status = 1
        out.write(f"cached states that differ from a replay: {len(bad)} "
                  f"(e.g. {', '.join(bad[:3])}); run `companion doctor --rebuild`\n")
    else:
        out.write("cached states: equal to a replay of the review log\n")
    backups = sorted(store.backups_dir().glob("companion-*.db"))
    out.write(f"backups: {len(backups)}" + (f", newest {backups[-1]}" if backups else "") + "\n")
    return status
