"""The decks in the store: loading deck files into it, idempotently.

An edited card keeps its id and so its history; a card removed from its file
is retired (hidden, history kept), never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from companion import __version__
from companion.paths import deck_files
from companion.store import CardDefinition, Store, now_ms

if TYPE_CHECKING:  # the parser loads when a file changed, not at every start
    from companion.decks import Deck, DeckError


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
    notes: list[str] = field(default_factory=list)  # said once, when it happens


def _signature(files: list[Path]) -> str:
    parts = [__version__]
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue
        parts.append(f"{path}|{st.st_mtime_ns}|{st.st_size}")
    return "\n".join(parts)


def decks_signature(dirs: list[Path] | None = None) -> str:
    """The deck files' names, sizes and times: it changes when a file is
    added, removed or written (cheap enough to ask every few seconds)."""
    return _signature(deck_files(dirs if dirs is not None else deck_dirs()))


def sync_decks(store: Store, dirs: list[Path] | None = None, force: bool = False) -> SyncReport:
    """Bring the store's cards in line with the deck files. Cheap when nothing
    changed: only the files' sizes and times are compared."""
    files = deck_files(dirs if dirs is not None else deck_dirs())
    signature = _signature(files)
    if not force and store.meta("deck_signature") == signature:
        return SyncReport(skipped=True)
    from companion.decks import load_decks

    decks, errors = load_decks(files)
    report = SyncReport(decks=len(decks), errors=errors)
    broken_files = {e.path for e in errors}
    with store.transaction():
        before = store.card_count()
        for deck in decks:
            _upsert_deck(store, deck)
            if not broken_files.intersection(deck.sources or [deck.path]):
                # Only a file that parsed cleanly may retire cards: a typo that
                # breaks one card must not hide it.
                report.retired += store.retire_cards_not_in(deck.id, [c.id for c in deck.cards])
        loaded = {d.id for d in decks}
        known_paths = {str(p) for p in files}
        renamed = {str(d.path): d.id for d in decks if str(d.path) not in broken_files}
        for live in store.live_deck_paths():
            # A deck whose file is gone is retired; one whose file is there but
            # unreadable is left alone until it is fixed.
            # A deck with no path lives in the store alone (imported): no file
            # to miss.
            if live.id not in loaded and live.path and live.path not in known_paths:
                report.retired += store.retire_deck(live.id)
            elif live.id not in loaded and live.path in renamed:
                # The file now names another deck: the old one's cards would show
                # twice. They are retired, history kept, until the id comes back.
                retired = store.retire_deck(live.id)
                report.retired += retired
                report.notes.append(
                    f"{live.path}: its id changed from {live.id!r} to {renamed[live.path]!r}; "
                    f"the {retired} card(s) of {live.id!r} are retired with their history "
                    f"kept (set id: {live.id} again to bring them back)")
        report.added = store.card_count() - before
        store.set_meta("deck_signature", signature if not errors else "")
    return report


def _upsert_deck(store: Store, deck: Deck) -> None:
    store.upsert_deck(deck.id, deck.name, deck.description, str(deck.path), deck.parent)
    added = now_ms()
    store.upsert_cards(
        CardDefinition(
            id=c.id, deck_id=c.deck_id, note_id=c.note_id, kind=c.kind, ord=c.ord,
            front=c.front, back=c.back, extra=c.extra, source=c.source, tags=" ".join(c.tags),
            lab=c.lab, lab_params=json.dumps(c.lab_params), position=c.position, line=c.line,
            added_at=added, choices=json.dumps(c.choices), reveal=c.reveal,
            type_answer=c.type_answer, exercise=c.exercise)
        for c in deck.cards)
