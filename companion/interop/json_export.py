"""The json export: lossless (decks, cards, every review, lab runs, settings), with
a format version. Importing it merges: the union of reviews by their ids, then a
replay of the cards they touch, in one transaction after the whole file is checked."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from companion import __version__
from companion.interop import ImportError_, ImportResult
from companion.interop.merge import add_missing, merge_log, rebuild_cards
from companion.rows import ExportLabRun, MergedFlags
from companion.scheduler import PresetModels
from companion.settings import Settings, SettingsError, from_mapping
from companion.store import RecallAttemptRow, Store

FORMAT = "companion-export"
# 2: each review's decision, and card_events; 3: a deck's parent, typed answers;
# 4: set-state events (a card's state as an Anki package held it)
# 5: free-recall attempts
FORMAT_VERSION = 5

# The export's fields are the store's rows, in their order.
RUN_FIELDS = ExportLabRun._fields[1:]  # a run's id is this database's own


def write_json(store: Store, settings: Settings, path: Path) -> None:
    from companion.cardtext import terminal_json  # safe to cat, and lossless

    path.write_text(terminal_json(to_document(store, settings)), encoding="utf-8")

def to_document(store: Store, settings: Settings) -> dict[str, Any]:
    runs = []
    for row in store.export_lab_runs():
        run = row._asdict()
        del run["id"]
        run["metrics"] = [list(m) for m in store.export_lab_metrics(row.id)]
        runs.append(run)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": asdict(settings),
        "decks": [deck._asdict() for deck in store.export_decks()],
        "cards": [card._asdict() for card in store.export_cards()],
        "reviews": [review._asdict() for review in store.export_reviews()],
        "card_events": [event._asdict() for event in store.export_card_events()],
        "lab_runs": runs,
        "recall_attempts": [attempt._asdict() for attempt in store.recall_attempts()],
    }


def import_json(store: Store, settings: Settings, path: Path,
                adopt_settings: bool = False) -> ImportResult:
    """Merge an export into this home. With `adopt_settings` (a home that has no
    settings of its own) the export's settings are used for the replay and
    returned, for the caller to save."""
    from companion.interop.schema import read_document

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportError_(f"{path}: cannot read: {exc.strerror or exc}") from None
    doc = read_document(data, str(path), FORMAT, FORMAT_VERSION)
    exported = None
    if doc.get("settings") is not None:
        try:
            exported = from_mapping(doc["settings"], where="settings")
        except SettingsError as exc:
            raise ImportError_(f"{path}: {exc}") from None
    adopted = None
    if adopt_settings and exported is not None:
        adopted = settings = exported
    added = {"cards": 0, "reviews": 0, "lab_runs": 0, "recall_attempts": 0}
    models = PresetModels(settings)
    with store.transaction():
        new_cards, known = add_missing(store, doc["decks"], doc["cards"])
        added["cards"] = len(new_cards)
        for card in known:
            # Both machines' flags count: suspended on either stays suspended,
            # the later burial wins, tags are the union, the card was added
            # when either machine first had it.
            row = store.merged_flags(card["id"])
            assert row is not None  # known to this store, in this transaction
            local_tags = (row.tags or "").split()
            tags = set(local_tags) | set((card.get("tags") or "").split())
            ordered = local_tags + sorted(tags - set(local_tags))
            added_at = min(x for x in (row.added_at, card.get("added_at")) if x is not None)
            store.set_merged_flags(card["id"], MergedFlags(
                suspended=int(bool(row.suspended) or bool(card.get("suspended"))),
                buried_until=max(row.buried_until or 0, card.get("buried_until") or 0)
                or None,
                tags=" ".join(ordered), added_at=added_at))
        seen_runs = store.lab_run_keys()
        for run in doc["lab_runs"]:
            if (run["lab"], run["started_at"], run["params"]) in seen_runs:
                continue
            store.insert_export_lab_run([run[k] for k in RUN_FIELDS], run["metrics"])
            added["lab_runs"] += 1
        known_attempts = {a.id for a in store.recall_attempts()}
        for attempt in doc.get("recall_attempts", []):
            if attempt["id"] not in known_attempts:  # the union, by id, as the reviews
                store.insert_recall_attempt(RecallAttemptRow(**attempt))
                added["recall_attempts"] += 1
        added["reviews"], added["card_events"], touched = merge_log(
            store, doc["reviews"], doc["card_events"])
        rebuild_cards(store, models, touched)
    return ImportResult(added, adopted)

