"""The json export: lossless (decks, cards, every review, lab runs, settings), with
a format version. Importing it merges: the union of reviews by their ids, then a
replay of the cards they touch, in one transaction after the whole file is checked."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from companion import __version__
from companion.interop import ImportError_, ImportResult
from companion.scheduler import MemoryModel
from companion.session import rebuild_card
from companion.settings import Settings, SettingsError, from_mapping
from companion.store import Store, now_ms

FORMAT = "companion-export"
FORMAT_VERSION = 1

CARD_FIELDS = ("id", "deck_id", "note_id", "kind", "ord", "front", "back", "extra", "source",
               "tags", "lab", "lab_params", "choices", "reveal", "position", "line", "retired",
               "suspended", "buried_until", "added_at")
REVIEW_FIELDS = ("id", "card_id", "reviewed_at", "rating", "duration_ms")
RUN_FIELDS = ("lab", "params", "device", "seed", "card_id", "started_at", "ended_at", "status",
              "error", "summary", "prediction")


def write_json(store: Store, settings: Settings, path: Path) -> None:
    path.write_text(json.dumps(to_document(store, settings), ensure_ascii=False, indent=1),
                    encoding="utf-8")

def _rows(store: Store, sql: str, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [dict(zip(fields, row)) for row in store.conn.execute(sql)]


def to_document(store: Store, settings: Settings) -> dict[str, Any]:
    runs = []
    for run in _rows(store, f"SELECT id, {', '.join(RUN_FIELDS)} FROM lab_runs ORDER BY id",
                     ("id", *RUN_FIELDS)):
        run_id = run.pop("id")
        run["metrics"] = [list(m) for m in store.conn.execute(
            "SELECT chart, series, x, y FROM lab_metrics WHERE run_id = ? ORDER BY rowid",
            (run_id,))]
        runs.append(run)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "app_version": __version__,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": asdict(settings),
        "decks": _rows(store, "SELECT id, name, description, path, retired FROM decks ORDER BY id",
                       ("id", "name", "description", "path", "retired")),
        "cards": _rows(store, f"SELECT {', '.join(CARD_FIELDS)} FROM cards ORDER BY id",
                       CARD_FIELDS),
        "reviews": _rows(store, f"SELECT {', '.join(REVIEW_FIELDS)} FROM reviews "
                                "ORDER BY reviewed_at, id", REVIEW_FIELDS),
        "lab_runs": runs,
    }


def _check(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise ImportError_(f"{where}: {message}")


def _validate_document(doc: Any, where: str) -> None:
    """The whole document is checked before anything is written."""
    _check(isinstance(doc, dict) and doc.get("format") == FORMAT, where,
           f"not a companion export (expected \"format\": \"{FORMAT}\")")
    version = doc.get("version")
    _check(isinstance(version, int), where, "no format version")
    _check(version <= FORMAT_VERSION, where,
           f"written by a newer companion (format {version}; this one reads up to "
           f"{FORMAT_VERSION}): upgrade companion")
    for key in ("decks", "cards", "reviews", "lab_runs"):
        _check(isinstance(doc.get(key), list), where, f"{key!r} must be a list")
    for i, deck in enumerate(doc["decks"]):
        _check(isinstance(deck, dict) and isinstance(deck.get("id"), str)
               and isinstance(deck.get("name"), str), where, f"decks[{i}]: needs id and name")
    card_ids = set()
    for i, card in enumerate(doc["cards"]):
        _check(isinstance(card, dict) and set(card) >= {"id", "deck_id", "front", "back"},
               where, f"cards[{i}]: needs id, deck_id, front and back")
        _check(isinstance(card["id"], str) and isinstance(card["front"], str)
               and isinstance(card["back"], str), where, f"cards[{i}]: id and text are strings")
        unknown = set(card) - set(CARD_FIELDS)
        _check(not unknown, where, f"cards[{i}]: unknown fields {sorted(unknown)}")
        card_ids.add(card["id"])
    for i, review in enumerate(doc["reviews"]):
        _check(isinstance(review, dict) and set(review) == set(REVIEW_FIELDS), where,
               f"reviews[{i}]: expected the fields {', '.join(REVIEW_FIELDS)}")
        _check(isinstance(review["id"], str) and review["id"], where, f"reviews[{i}]: bad id")
        _check(review["rating"] in (1, 2, 3, 4), where,
               f"reviews[{i}]: rating {review['rating']!r} is not 1-4")
        _check(isinstance(review["reviewed_at"], int) and review["reviewed_at"] > 0, where,
               f"reviews[{i}]: reviewed_at must be ms since the epoch")
        _check(isinstance(review["duration_ms"], int | None), where,
               f"reviews[{i}]: duration_ms must be a whole number")
        _check(review["card_id"] in card_ids, where,
               f"reviews[{i}]: card {review['card_id']!r} is not among the cards")
    for i, run in enumerate(doc["lab_runs"]):
        _check(isinstance(run, dict) and set(run) == {*RUN_FIELDS, "metrics"}, where,
               f"lab_runs[{i}]: expected the fields {', '.join(RUN_FIELDS)}, metrics")
    if doc.get("settings") is not None:
        try:
            from_mapping(doc["settings"], where="settings")
        except SettingsError as exc:
            raise ImportError_(f"{where}: {exc}") from None


def import_json(store: Store, settings: Settings, path: Path,
                adopt_settings: bool = False) -> ImportResult:
    """Merge an export into this home. With `adopt_settings` (a home that has no
    settings of its own) the export's settings are used for the replay and
    returned, for the caller to save."""
    where = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ImportError_(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{path}: cannot read: {exc}") from None
    _validate_document(doc, where)
    adopted = None
    if adopt_settings and doc.get("settings") is not None:
        adopted = settings = from_mapping(doc["settings"], where="settings")
    added = {"cards": 0, "reviews": 0, "lab_runs": 0}
    model = MemoryModel(settings)
    with store.transaction() as conn:
        local_decks = {r[0] for r in conn.execute("SELECT id FROM decks")}
        for deck in doc["decks"]:
            if deck["id"] not in local_decks:
                # Its file is on the other machine: the deck lives in the store
                # alone (an empty path), so syncing deck files never retires it.
                conn.execute("INSERT INTO decks(id, name, description, path, retired) "
                             "VALUES (?, ?, ?, '', ?)",
                             (deck["id"], deck["name"], deck.get("description") or "",
                              int(deck.get("retired") or 0)))
        local_cards = {r[0] for r in conn.execute("SELECT id FROM cards")}
        for card in doc["cards"]:
            values = {k: card.get(k) for k in CARD_FIELDS}
            if card["id"] not in local_cards:
                conn.execute(f"INSERT INTO cards({', '.join(CARD_FIELDS)}) VALUES "
                             f"({', '.join('?' * len(CARD_FIELDS))})",
                             [values[k] if values[k] is not None else _default(k)
                              for k in CARD_FIELDS])
                added["cards"] += 1
            else:
                # Both machines' flags count: suspended on either stays suspended,
                # the later burial wins, tags are the union, the card was added
                # when either machine first had it.
                row = conn.execute("SELECT suspended, buried_until, tags, added_at FROM cards "
                                   "WHERE id = ?", (card["id"],)).fetchone()
                tags = set((row[2] or "").split()) | set((card.get("tags") or "").split())
                ordered = (row[2] or "").split() + sorted(tags - set((row[2] or "").split()))
                added_at = min(x for x in (row[3], card.get("added_at")) if x is not None)
                conn.execute("UPDATE cards SET suspended = ?, buried_until = ?, tags = ?, "
                             "added_at = ? WHERE id = ?",
                             (int(bool(row[0]) or bool(card.get("suspended"))),
                              max(row[1] or 0, card.get("buried_until") or 0) or None,
                              " ".join(ordered), added_at, card["id"]))
        before = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
        conn.executemany(
            "INSERT OR IGNORE INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
            "VALUES (?, ?, ?, ?, ?)",
            [tuple(r[k] for k in REVIEW_FIELDS) for r in doc["reviews"]])
        added["reviews"] = conn.execute("SELECT count(*) FROM reviews").fetchone()[0] - before
        seen_runs = {(r[0], r[1], r[2]) for r in conn.execute(
            "SELECT lab, started_at, params FROM lab_runs")}
        for run in doc["lab_runs"]:
            if (run["lab"], run["started_at"], run["params"]) in seen_runs:
                continue
            cur = conn.execute(f"INSERT INTO lab_runs({', '.join(RUN_FIELDS)}) VALUES "
                               f"({', '.join('?' * len(RUN_FIELDS))})",
                               [run[k] for k in RUN_FIELDS])
            conn.executemany("INSERT INTO lab_metrics(run_id, chart, series, x, y) "
                             "VALUES (?, ?, ?, ?, ?)",
                             [(cur.lastrowid, *m) for m in run["metrics"]])
            added["lab_runs"] += 1
        touched = {r["card_id"] for r in doc["reviews"]}
        for card_id in sorted(touched):
            rebuild_card(store, model, card_id)
    return ImportResult(added, adopted)


def _default(field: str) -> Any:
    return {"retired": 0, "suspended": 0, "ord": 0, "tags": "", "lab_params": "{}",
            "choices": "[]", "extra": "", "source": "", "lab": "", "reveal": "",
            "position": 0, "line": 0, "added_at": now_ms(), "kind": "basic"}.get(field)
