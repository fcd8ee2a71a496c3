"""The review log as CSV, in the columns FSRS tools read; importing such a file
(from Anki or FSRS tools) gives cards in the "imported" deck with their history
replayed."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

from companion.interop import IMPORTED_DECK, ImportError_, ImportResult
from companion.replay import rebuild_card
from companion.scheduler import PresetModels
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
        for review in store.csv_reviews():
            writer.writerow([csv_card_number(review.card_id), review.reviewed_at, review.rating,
                             review.state_before if review.state_before is not None else "",
                             review.duration_ms or 0])


DIGITS = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: "²".isdigit() is True


def _parse_time(text: str, latest: int) -> int:
    """ms since 1970 or an ISO-8601 time, never after `latest` (a log holds
    no answer from the future)."""
    text = text.strip()
    if DIGITS.fullmatch(text):
        value = int(text)
        if value <= 0:
            raise ValueError("time must be after 1970")
    else:
        if len(text) > 40:
            raise ValueError("not a time")
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        value = round(moment.timestamp() * 1000)
    if value > latest:
        raise ValueError("is in the future")
    return value


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
    reviews: list[tuple[str, str, int, int, int]] = []
    seen: dict[tuple[str, int], int] = {}
    # This collection's own cards by the number `export --format csv` gives them.
    own = {csv_card_number(cid): cid for cid in store.every_card_id()}
    latest = now_ms() + 86_400_000
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over the csv module's limit, a stray NUL
            raise ImportError_(f"{path}:{reader.line_num + 1}: {exc}") from None
        number = reader.line_num  # counts physical lines, quoted newlines included
        where = f"{path}:{number}"
        if None in row:
            raise ImportError_(f"{where}: {len(header) + len(row[None])} fields, but the header "
                               f"has {len(header)}")
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        card = row["card_id"]
        if not card or len(card) > 200 or not re.fullmatch(r"[A-Za-z0-9._-]+", card):
            raise ImportError_(f"{where}: card_id {card[:40]!r} must be letters, digits, "
                               "- _ or .")
        try:
            at = _parse_time(row["review_time"], latest)
        except (ValueError, OverflowError) as exc:
            raise ImportError_(f"{where}: review_time {row['review_time'][:40]!r}: {exc}") from None
        if row["review_rating"] not in ("1", "2", "3", "4"):
            raise ImportError_(f"{where}: review_rating {row['review_rating'][:40]!r} is not 1-4")
        duration_text = row.get("review_duration", "") or "0"
        if not re.fullmatch(r"[0-9]{1,9}", duration_text):
            raise ImportError_(f"{where}: review_duration {duration_text[:40]!r} must be whole "
                               "milliseconds (at most 999,999,999)")
        key = (card, at)
        if key in seen:
            raise ImportError_(f"{where}: duplicate of line {seen[key]} "
                               f"(card {card} at {row['review_time']})")
        seen[key] = number
        card_id = own.get(int(card), "") if re.fullmatch(r"[0-9]{1,19}", card) else ""
        card_id = card_id or f"{IMPORTED_DECK}/{card}"
        review_id = uuid.uuid5(uuid.NAMESPACE_URL, f"companion:{card_id}:{at}").hex
        reviews.append((review_id, card_id, at, int(row["review_rating"]), int(duration_text)))
    if not reviews:
        raise ImportError_(f"{path}:2: no reviews in the file")
    models = PresetModels(settings)
    cards = sorted({r[1] for r in reviews})
    new_cards = [cid for cid in cards if cid.startswith(f"{IMPORTED_DECK}/")]
    with store.transaction():
        # The same card answered at the same millisecond is the same review.
        have = store.reviews_at(cards)
        reviews = [r for r in reviews if (r[1], r[2]) not in have]
        if new_cards:
            store.insert_deck_if_missing(IMPORTED_DECK, "Imported",
                                         "Review history imported from a CSV log")
        added_cards = store.insert_log_cards(
            [(cid, IMPORTED_DECK, cid.split("/", 1)[1],
              f"Card {cid.split('/', 1)[1]} of an imported review log",
              "The log carries the history, not the card's text.",
              path.name, i, now_ms()) for i, cid in enumerate(new_cards)])
        # a CSV log keeps no decisions: the replay below decides them
        added_reviews = store.insert_new_reviews([(*r, None, None, None, None, None)
                                                  for r in reviews])
        deck_of = store.card_decks()
        for card_id in cards:
            rebuild_card(store, models.for_deck(deck_of.get(card_id)), card_id)
    return ImportResult({"cards": added_cards, "reviews": added_reviews})
