"""The review log as CSV, in the columns FSRS tools read; importing such a file
(from Anki or FSRS tools) gives cards in the "imported" deck with their history
replayed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

from companion.interop import IMPORTED_DECK, ImportError_, ImportResult
from companion.scheduler import MemoryModel
from companion.session import rebuild_card
from companion.settings import Settings
from companion.store import Store, now_ms

CSV_COLUMNS = ["card_id", "review_time", "review_rating", "review_state", "review_duration"]
CSV_REQUIRED = {"card_id", "review_time", "review_rating"}


def csv_card_number(card_id: str) -> int:
    """FSRS tools want whole-number card ids. A card imported from such a file
    keeps its number; any other card gets a stable 53-bit hash of its id."""
    prefix = f"{IMPORTED_DECK}/"
    if card_id.startswith(prefix) and card_id[len(prefix):].isdigit():
        return int(card_id[len(prefix):])
    return int.from_bytes(hashlib.blake2b(card_id.encode(), digest_size=8).digest(), "big") >> 11


def export_csv(store: Store, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for card_id, at, rating, state, duration in store.conn.execute(
                "SELECT card_id, reviewed_at, rating, state_before, duration_ms FROM reviews "
                "ORDER BY reviewed_at, id"):
            writer.writerow([csv_card_number(card_id), at, rating,
                             state if state is not None else "", duration or 0])


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        value = int(text)
        if value <= 0:
            raise ValueError("time must be after 1970")
        return value
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def import_csv(store: Store, settings: Settings, path: Path) -> ImportResult:
    """A review log (card_id, review_time, review_rating[, review_duration]) ->
    cards in the "imported" deck with their history replayed. A card number
    that is one of this collection's own (`csv_card_number`, as `export --format
    csv` writes them) goes to that card, and a review the card already has at
    the same moment is not added twice: importing your own export changes nothing."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{path}: cannot read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = CSV_REQUIRED - set(header)
    if missing:
        raise ImportError_(f"{path}:1: missing columns {', '.join(sorted(missing))} "
                           f"(found: {', '.join(header) or 'nothing'})")
    reviews: list[tuple] = []
    seen: dict[tuple[str, int], int] = {}
    # This collection's own cards by the number `export --format csv` gives them.
    own = {csv_card_number(cid): cid for (cid,) in store.conn.execute("SELECT id FROM cards")}
    for row in reader:
        number = reader.line_num  # counts physical lines, quoted newlines included
        where = f"{path}:{number}"
        if None in row:
            raise ImportError_(f"{where}: {len(header) + len(row[None])} fields, but the header "
                               f"has {len(header)}")
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        card = row["card_id"]
        if not card or not all(c.isalnum() or c in "-_." for c in card):
            raise ImportError_(f"{where}: card_id {card!r} must be letters, digits, - _ or .")
        try:
            at = _parse_time(row["review_time"])
        except (ValueError, OverflowError) as exc:
            raise ImportError_(f"{where}: review_time {row['review_time']!r}: {exc}") from None
        if row["review_rating"] not in ("1", "2", "3", "4"):
            raise ImportError_(f"{where}: review_rating {row['review_rating']!r} is not 1-4")
        duration_text = row.get("review_duration", "") or "0"
        if not duration_text.isdigit():
            raise ImportError_(f"{where}: review_duration {duration_text!r} must be whole "
                               "milliseconds")
        key = (card, at)
        if key in seen:
            raise ImportError_(f"{where}: duplicate of line {seen[key]} "
                               f"(card {card} at {row['review_time']})")
        seen[key] = number
        card_id = own.get(int(card), "") if card.isdigit() else ""
        card_id = card_id or f"{IMPORTED_DECK}/{card}"
        review_id = uuid.uuid5(uuid.NAMESPACE_URL, f"companion:{card_id}:{at}").hex
        reviews.append((review_id, card_id, at, int(row["review_rating"]), int(duration_text)))
    if not reviews:
        raise ImportError_(f"{path}:2: no reviews in the file")
    model = MemoryModel(settings)
    cards = sorted({r[1] for r in reviews})
    new_cards = [cid for cid in cards if cid.startswith(f"{IMPORTED_DECK}/")]
    with store.transaction() as conn:
        # The same card answered at the same millisecond is the same review.
        have = set(conn.execute("SELECT card_id, reviewed_at FROM reviews WHERE card_id IN "
                                "(SELECT value FROM json_each(?))", (json.dumps(cards),)))
        reviews = [r for r in reviews if (r[1], r[2]) not in have]
        if new_cards:
            conn.execute("INSERT OR IGNORE INTO decks(id, name, description, path, retired) "
                         "VALUES (?, 'Imported', 'Review history imported from a CSV log', "
                         "'', 0)", (IMPORTED_DECK,))
        before_cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0]
        conn.executemany(
            "INSERT OR IGNORE INTO cards(id, deck_id, note_id, kind, ord, front, back, extra, "
            "source, tags, lab, lab_params, position, line, added_at) "
            "VALUES (?, ?, ?, 'basic', 0, ?, ?, '', ?, 'imported', '', '{}', ?, 0, ?)",
            [(cid, IMPORTED_DECK, cid.split("/", 1)[1],
              f"Card {cid.split('/', 1)[1]} of an imported review log",
              "The log carries the history, not the card's text.",
              path.name, i, now_ms()) for i, cid in enumerate(new_cards)])
        before = conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
        conn.executemany("INSERT OR IGNORE INTO reviews(id, card_id, reviewed_at, rating, "
                         "duration_ms) VALUES (?, ?, ?, ?, ?)", reviews)
        added_reviews = conn.execute("SELECT count(*) FROM reviews").fetchone()[0] - before
        added_cards = conn.execute("SELECT count(*) FROM cards").fetchone()[0] - before_cards
        for card_id in cards:
            rebuild_card(store, model, card_id)
    return ImportResult({"cards": added_cards, "reviews": added_reviews})
