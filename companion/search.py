"""Browse's search language and its queries: Anki-like words and filters -> SQL."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from companion.store import LEARNING, NEW, RELEARNING, REVIEW, Reads, SearchTerm

STATE_CODES = {"new": NEW, "learning": LEARNING, "review": REVIEW, "relearning": RELEARNING}

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
    buried: bool = False  # buried for the rest of the learner's day (`is:buried`)


@dataclass
class SearchResult:
    rows: list[SearchRow]
    total: int
    error: str = ""


def parse_search(text: str, deck: str | None = None,
                 state: str | None = None) -> list[SearchTerm]:
    """Anki-like search text -> terms. Words match the card's text or id;
    `deck:ID`, `tag:NAME`, `is:new|learning|review|relearning|suspended|due|
    buried`, `lab:NAME` (or `has:lab`), `exercise:NAME` (or `has:exercise`)
    filter; `nc:TEXT` matches the text with accents ignored, as Anki's does;
    a leading `-` negates a term.
    Terms are ANDed; the store turns them into SQL."""
    try:
        words = _split(text)
    except ValueError:  # an unclosed quote: take the words as they are
        words = text.split()
    filters = [f"deck:{deck}"] if deck else []
    filters += [f"is:{state}"] if state else []
    terms = []
    for raw in [*filters, *words]:
        negate = raw.startswith("-") and len(raw) > 1
        word = raw[1:] if negate else raw
        key, sep, value = word.partition(":")
        key, lowered = key.lower(), value.lower()
        term: SearchTerm
        if sep and key in ("deck", "tag", "lab", "exercise") and value:
            term = SearchTerm(key, value, negate)
        elif sep and key == "nc" and value:  # Anki's: accents and other marks ignored
            from companion.cardtext import without_combining

            term = SearchTerm("nc", without_combining(like_pattern(value)), negate)
        elif sep and key == "has" and lowered in ("lab", "exercise"):
            term = SearchTerm(f"has_{lowered}", None, negate)
        elif sep and key == "is" and lowered in STATE_CODES:
            term = SearchTerm("state", STATE_CODES[lowered], negate)
        elif sep and key == "is" and lowered in ("suspended", "buried", "due"):
            term = SearchTerm(lowered, None, negate)
        else:
            term = SearchTerm("text", like_pattern(word), negate)
        terms.append(term)
    return terms


def _split(text: str) -> list[str]:
    """`shlex.split` (quotes group words), but backslashes are kept for
    `like_pattern`: Anki's `\\*` is a literal star, `\\_` a literal underscore."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split, lexer.commenters, lexer.escape = True, "", ""
    return list(lexer)


# Anki's search escapes (rslib search/parser.rs `unescape`, then text.rs `to_sql`)
_PARSER_ESCAPE = re.compile(r'\\[\\":()-]')
_LIKE_SPECIAL = re.compile(r"\\[\\*]|[*%]")
_LIKE_OF = {"\\\\": "\\\\", "\\*": "*", "*": "%", "%": "\\%"}


def like_pattern(word: str) -> str:
    """A search word as Anki matches it, as the body of a LIKE pattern with
    `ESCAPE '\\'`: `*` any run of characters, `_` any one, `%` itself,
    `\\*` and `\\_` a literal star and underscore, `\\"`, `\\:`, `\\(`,
    `\\)` and `\\-` the character itself."""
    word = _PARSER_ESCAPE.sub(lambda m: m[0] if m[0] == "\\\\" else m[0][1], word)
    pattern = _LIKE_SPECIAL.sub(lambda m: _LIKE_OF[m[0]], word)
    # A backslash left at the end escapes nothing (Anki refuses the search):
    # here it is a backslash, not the escape of the closing `%`.
    if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
        pattern += "\\"
    return pattern


FILTERS = ("deck", "tag", "lab", "exercise", "has", "is", "nc")


def unknown_filters(text: str) -> list[str]:
    """The `word:` prefixes in a search that are not filters ('foo:'), which
    parse_search takes as text: worth a hint when nothing matches."""
    words = text.split()
    return [f"{key}:" for word in words
            for key, sep, _ in [word.lstrip("-").partition(":")]
            if sep and key.isalpha() and key.lower() not in FILTERS]


def search_cards(store: Reads, text: str, deck: str | None, state: str | None,
                 day_end: int, limit: int = SEARCH_LIMIT) -> SearchResult:
    total, hits = store.search_cards(parse_search(text, deck, state), day_end, limit)
    return SearchResult([SearchRow(h.id, h.deck_id, h.state, h.due, bool(h.suspended), h.front,
                                   h.reps, h.lapses, (h.buried_until or 0) >= day_end)
                         for h in hits], total)
