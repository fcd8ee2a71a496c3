"""Browse's search language and its queries: Anki-like words and filters -> SQL."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from companion.store import Reads

STATE_CODES = {"new": 0, "learning": 1, "review": 2, "relearning": 3}

SEARCH_LIMIT = 1000


@dataclass
class SearchRow:
    id: str
    deck_id: str
    state: int
    due: int | None
    suspended: bool
    front: str
    reps: int
    lapses: int


@dataclass
class SearchResult:
    rows: list[SearchRow]
    total: int
    error: str = ""


def parse_search(text: str, deck: str | None = None, state: str | None = None,
                 day_end: int | None = None) -> tuple[str, list[Any]]:
    """Anki-like search text -> (SQL WHERE clause, args). Words match the
    card's text or id; `deck:ID`, `tag:NAME`, `is:new|learning|review|
    relearning|suspended|due|buried`, `lab:NAME` (or `has:lab`) filter; a
    leading `-` negates a term. Terms are ANDed."""
    try:
        terms = shlex.split(text)
    except ValueError:  # an unclosed quote: take the words as they are
        terms = text.split()
    where: list[str] = ["retired = 0"]
    args: list[Any] = []
    filters = [f"deck:{deck}"] if deck else []
    filters += [f"is:{state}"] if state else []
    for raw in [*filters, *terms]:
        negate = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negate else raw
        key, sep, value = term.partition(":")
        key = key.lower()
        clause: str
        if sep and key == "deck" and value:
            clause, extra = "deck_id = ?", [value]
        elif sep and key == "tag" and value:
            clause, extra = "(' ' || coalesce(tags, '') || ' ') LIKE ?", [f"% {value} %"]
        elif sep and key == "lab" and value:
            clause, extra = "lab = ?", [value]
        elif sep and key == "has" and value.lower() == "lab":
            clause, extra = "coalesce(lab, '') != ''", []
        elif sep and key == "is" and value.lower() in STATE_CODES:
            clause, extra = "state = ?", [STATE_CODES[value.lower()]]
        elif sep and key == "is" and value.lower() == "suspended":
            clause, extra = "suspended = 1", []
        elif sep and key == "is" and value.lower() == "buried":
            clause, extra = "coalesce(buried_until, 0) > ?", [day_end and day_end - 1 or 0]
        elif sep and key == "is" and value.lower() == "due":
            clause, extra = "(state != 0 AND due < ?)", [day_end or 0]
        else:
            like = f"%{term}%"
            clause = "(front LIKE ? OR back LIKE ? OR coalesce(extra, '') LIKE ? OR id LIKE ?)"
            extra = [like, like, like, like]
        where.append(f"NOT {clause}" if negate else clause)
        args.extend(extra)
    return " AND ".join(where), args


FILTERS = ("deck", "tag", "lab", "has", "is")


def unknown_filters(text: str) -> list[str]:
    """The `word:` prefixes in a search that are not filters ('foo:'), which
    parse_search takes as text: worth a hint when nothing matches."""
    words = text.split()
    return [f"{key}:" for word in words
            for key, sep, _ in [word.lstrip("-").partition(":")]
            if sep and key.isalpha() and key.lower() not in FILTERS]


def search_cards(store: Reads, text: str, deck: str | None, state: str | None,
                 day_end: int, limit: int = SEARCH_LIMIT) -> SearchResult:
    conn = store.conn
    where, args = parse_search(text, deck, state, day_end)
    total = conn.execute(f"SELECT count(*) FROM cards WHERE {where}", args).fetchone()[0]
    rows = [SearchRow(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7])
            for r in conn.execute(
                "SELECT id, deck_id, state, due, suspended, front, reps, lapses FROM cards "
                f"WHERE {where} ORDER BY deck_id, position, id LIMIT ?", (*args, limit))]
    return SearchResult(rows, total)
