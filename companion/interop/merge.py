"""Another copy of the collection merged into this one: one rule for the json
import and the sync folder. Decks and cards this store lacks are added (a deck
whose file is elsewhere lives in the store alone); reviews and schedule events
are merged as the union of their ids; then each card they touch is replayed.
Runs inside the caller's transaction; the records are already checked
(companion.interop.schema)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from companion.replay import rebuild_card
from companion.rows import ExportCard, ExportEvent, ExportReview
from companion.scheduler import PresetModels
from companion.store import Store, now_ms

CARD_FIELDS = ExportCard._fields
REVIEW_FIELDS = ExportReview._fields
EVENT_FIELDS = ExportEvent._fields


def add_missing(store: Store, decks: Iterable[dict[str, Any]],
                cards: Iterable[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Add the decks and cards this store lacks. Returns the ids of the cards
    added and the cards it had already (for the caller's own flag rule)."""
    local_decks = store.every_deck_id()
    for deck in decks:
        if deck["id"] not in local_decks:
            # Its file is on the other machine: the deck lives in the store
            # alone (an empty path), so syncing deck files never retires it.
            store.insert_store_only_deck(deck["id"], deck["name"],
                                         deck.get("description") or "",
                                         int(deck.get("retired") or 0), deck.get("parent"))
            local_decks.add(deck["id"])
    local_cards = set(store.every_card_id())
    added, known = [], []
    for card in cards:
        if card["id"] in local_cards:
            known.append(card)
            continue
        values: dict[str, Any] = {k: card.get(k) for k in CARD_FIELDS}
        store.insert_export_card(ExportCard(
            *[values[k] if values[k] is not None else _default(k) for k in CARD_FIELDS]))
        local_cards.add(card["id"])
        added.append(card["id"])
    return added, known


def merge_log(store: Store, reviews: Sequence[dict[str, Any]],
              events: Sequence[dict[str, Any]]) -> tuple[int, int, set[str]]:
    """The union of the review log and the schedule events with these.
    Returns (reviews added, events added, the cards they belong to)."""
    added_reviews = store.insert_new_reviews(
        [tuple(r.get(k) for k in REVIEW_FIELDS) for r in reviews])
    added_events = store.insert_new_card_events(
        [tuple(_event_value(e, k) for k in EVENT_FIELDS) for e in events])
    touched = {r["card_id"] for r in reviews} | {e["card_id"] for e in events}
    return added_reviews, added_events, touched


def _event_value(event: dict[str, Any], key: str) -> Any:
    """An event's field as the store keeps it: a set-state's fields as JSON."""
    value = event.get(key)
    if key == "memory" and value is not None:
        from companion.replay import state_set, state_set_json

        sets = state_set(value)
        return None if sets is None else state_set_json(sets)
    return value


def rebuild_cards(store: Store, models: PresetModels, card_ids: Iterable[str]) -> int:
    """Replay each card's log into its cached state, under its deck's preset.
    Returns how many cards."""
    deck_of = store.card_decks()
    done = 0
    for card_id in sorted(set(card_ids)):
        rebuild_card(store, models.for_deck(deck_of.get(card_id)), card_id)
        done += 1
    return done


def _default(field: str) -> Any:
    return {"retired": 0, "suspended": 0, "ord": 0, "tags": "", "lab_params": "{}",
            "choices": "[]", "extra": "", "source": "", "lab": "", "reveal": "",
            "position": 0, "line": 0, "added_at": now_ms(), "kind": "basic"}.get(field)
