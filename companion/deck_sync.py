"""The decks in the store: loading deck files into it, idempotently.

An edited card keeps its id and so its history; a card removed from its file
is retired (hidden, history kept), never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from companion import __version__
from companion.decks import Deck, DeckError, deck_files, load_decks
from companion.store import Store, now_ms


def deck_dirs() -> list[Path]:
    from companion.paths import shipped_decks_dir, user_decks_dir

    return [shipped_decks_dir(), user_decks_dir()]


@dataclass
class SyncReport:
    skipped: bool = False  # nothing changed on disk since the last sync
    decks: int = 0
    added: int = 0
    retired: int = 0
    errors: list[DeckError] = field(default_factory=list)


def _signature(files: list[Path]) -> str:
    parts = [__version__]
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        parts.append(f"{path}|{st.st_mtime_ns}|{st.st_size}")
    return "\n".join(parts)


def sync_decks(store: Store, dirs: list[Path] | None = None, force: bool = False) -> SyncReport:
    """Bring the store's cards in line with the deck files. Cheap when nothing
    changed: only the files' sizes and times are compared."""
    files = deck_files(dirs if dirs is not None else deck_dirs())
    signature = _signature(files)
    if not force and store.meta("deck_signature") == signature:
        return SyncReport(skipped=True)
    decks, errors = load_decks(files)
    report = SyncReport(decks=len(decks), errors=errors)
    broken_files = {e.path for e in errors}
    with store.transaction() as conn:
        before = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        for deck in decks:
            _upsert_deck(conn, deck)
            if deck.path not in broken_files:
                # Only a file that parsed cleanly may retire cards: a typo that
                # breaks one card must not hide it.
                ids = [c.id for c in deck.cards]
                conn.execute(
                    "UPDATE cards SET retired = 1 WHERE deck_id = ? AND retired = 0 "
                    "AND id NOT IN (SELECT value FROM json_each(?))",
                    (deck.id, json.dumps(ids)))
                report.retired += conn.execute("SELECT changes()").fetchone()[0]
        loaded = {d.id for d in decks}
        known_paths = {str(p) for p in files}
        live = conn.execute("SELECT id, path FROM decks WHERE retired = 0").fetchall()
        for deck_id, path in live:
            # A deck whose file is gone is retired; one whose file is there but
            # unreadable is left alone until it is fixed.
            # A deck with no path lives in the store alone (imported): no file
            # to miss.
            if deck_id not in loaded and path and path not in known_paths:
                conn.execute("UPDATE decks SET retired = 1 WHERE id = ?", (deck_id,))
                conn.execute("UPDATE cards SET retired = 1 WHERE deck_id = ? AND retired = 0",
                             (deck_id,))
                report.retired += conn.execute("SELECT changes()").fetchone()[0]
        after = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        report.added = after - before
        store.set_meta("deck_signature", signature if not errors else "")
    return report


def _upsert_deck(conn, deck: Deck) -> None:
    conn.execute(
        "INSERT INTO decks(id, name, description, path, retired) VALUES (?, ?, ?, ?, 0) "
        "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
        "description = excluded.description, path = excluded.path, retired = 0",
        (deck.id, deck.name, deck.description, str(deck.path)))
    added = now_ms()
    conn.executemany(
        "INSERT INTO cards(id, deck_id, note_id, kind, ord, front, back, extra, source, tags, "
        "lab, lab_params, position, line, added_at, choices, reveal) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET deck_id = excluded.deck_id, note_id = excluded.note_id, "
        "kind = excluded.kind, ord = excluded.ord, front = excluded.front, "
        "back = excluded.back, extra = excluded.extra, source = excluded.source, "
        "tags = CASE WHEN instr(' ' || cards.tags || ' ', ' leech ') > 0 "
        "  AND instr(' ' || excluded.tags || ' ', ' leech ') = 0 "
        "  THEN trim(excluded.tags || ' leech') ELSE excluded.tags END, "
        "lab = excluded.lab, lab_params = excluded.lab_params, position = excluded.position, "
        "line = excluded.line, choices = excluded.choices, reveal = excluded.reveal, "
        "retired = 0",
        [
            (c.id, c.deck_id, c.note_id, c.kind, c.ord, c.front, c.back, c.extra, c.source,
             " ".join(c.tags), c.lab, json.dumps(c.lab_params), c.position, c.line, added,
             json.dumps(c.choices), c.reveal)
            for c in deck.cards
        ],
    )
