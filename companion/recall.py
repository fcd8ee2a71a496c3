"""Free recall, the diary's own experiment ("read the whole post once, then
write down what you remember"), per deck section.

A section is a note's first tag, the same rule as the "section" new-card
order (companion.store.first_new_card_in). The learner writes what they
remember of a section; each of its notes that has a `Keys:` field is one idea,
recalled when the text names every key of it by one of its variants
(`mentions`: case, plural, hyphen and spacing tolerant). The attempt is stored
in its own table and changes no card's schedule: studying the missed cards is
a separate, ordinary custom study (`Selection(card_ids=...)`).
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass
from difflib import get_close_matches
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from companion.decks import CardDef, Deck
    from companion.store import Reads, RecallAttemptRow, Store

MAX_TEXT_CHARS = 100_000  # what one attempt may hold: pages of writing, not a book
_WORD = re.compile(r"[^\W_]+")
_POSSESSIVE = re.compile(r"['’]s\b")
# signs a learner may write for a word (and cards show as math): √d_k is sqrt d_k
_SIGNS = str.maketrans({"√": " sqrt ", "×": " x "})


class RecallError(ValueError):
    """A recall that can't be made (an unknown section, nothing written), in one line."""


def _singular(word: str) -> str:
    """The word without an English plural ending (and a final e, so that
    "phases" and "phase" meet at "phas"). Both sides of a match go through
    it, so it only has to be consistent: "biases" and "bias" both read
    "bias", "batches" and "batch" "batch", "queries" and "query" "query"."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "os")):
        word = word[:-1]
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def match_words(text: str) -> list[str]:
    """The words a match compares: case folded, accents and possessive 's
    dropped, √ and × read as the words sqrt and x, split at anything that is
    not a letter or digit (spaces, hyphens, underscores, punctuation), each
    made singular."""
    folded = unicodedata.normalize("NFKD", _POSSESSIVE.sub("", text.casefold()).translate(_SIGNS))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [_singular(word) for word in _WORD.findall(plain)]


def mentions(text: str | list[str], term: str) -> bool:
    """Does `text` (or its `match_words`) name `term`? The term's words must
    appear as whole words, in order and next to each other, where a term's
    words may be written apart or run together: "feed-forward", "feed
    forward" and "feedforward" all name each other, "Positional Encodings"
    names "positional encoding"; "heads" does not name "head start", nor
    "cat" "concatenate"."""
    words = text if isinstance(text, list) else match_words(text)
    target = "".join(match_words(term))
    if not target:
        return False
    for start in range(len(words)):
        joined = ""
        for word in words[start:]:
            joined += word
            if joined == target:
                return True
            if not target.startswith(joined):
                break
    return False


@dataclass(frozen=True)
class Idea:
    """One note of a section that names its key ideas (`Keys:`)."""

    deck_id: str
    note_id: str
    prompt: str  # the front of its first card, as the deck writes it
    card_ids: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]  # each key: its accepted variants


    @property
    def summary(self) -> str:
        """The prompt on one line as a terminal shows it (a cloze's lines
        joined, so its gaps after the first line count), cut at 72 characters."""
        from companion.cardtext import math_to_unicode, without_bold, without_diagrams

        line = " ".join(math_to_unicode(without_bold(without_diagrams(self.prompt))).split())
        return line if len(line) <= 72 else line[:71] + "…"


@dataclass(frozen=True)
class Section:
    name: str  # the notes' first tag
    ideas: tuple[Idea, ...]


def section_of(card: CardDef) -> str:
    """A card's section: its note's first tag, lower-cased ('' if it has none)."""
    return card.tags[0].lower() if card.tags else ""


def sections(decks: Iterable[Deck]) -> list[Section]:
    """Every section with at least one idea to recall, in the order the decks
    first reach them; a section's ideas in deck order."""
    ideas: dict[str, list[Idea]] = {}
    for deck in decks:
        notes: dict[str, list[CardDef]] = {}
        for card in sorted(deck.cards, key=lambda c: c.position):
            notes.setdefault(card.note_id, []).append(card)
        for cards in notes.values():
            first = cards[0]
            name = section_of(first)
            if not first.keys or not name:
                continue
            ideas.setdefault(name, []).append(Idea(
                deck.id, first.note_id, first.front, tuple(c.id for c in cards), first.keys))
    return [Section(name, tuple(found)) for name, found in ideas.items()]


def find_section(known: list[Section], name: str) -> Section:
    """The section called `name` (in any case), or a RecallError naming the
    closest one and the sections there are."""
    wanted = name.strip().lower()
    for section in known:
        if section.name == wanted:
            return section
    names = [s.name for s in known]
    if not names:
        raise RecallError("no deck section has cards with a Keys: field to recall")
    close = get_close_matches(wanted, names, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = name if len(name) <= 40 else name[:40] + "…"
    raise RecallError(f"no section {shown!r} ({hint}sections: {', '.join(names)})")


@dataclass(frozen=True)
class IdeaResult:
    idea: Idea
    found: tuple[str | None, ...]  # per key: the variant the text names, or None

    @property
    def recalled(self) -> bool:
        return all(found is not None for found in self.found)

    @property
    def missing(self) -> tuple[str, ...]:
        """The keys the text did not name (each by its first variant)."""
        return tuple(key[0] for key, found in zip(self.idea.keys, self.found) if found is None)


@dataclass(frozen=True)
class RecallResult:
    section: str
    text: str
    results: tuple[IdeaResult, ...]

    @property
    def recalled(self) -> int:
        return sum(r.recalled for r in self.results)

    @property
    def ideas(self) -> int:
        return len(self.results)

    @property
    def rate(self) -> float:
        return self.recalled / self.ideas if self.ideas else 0.0

    def headline(self, named: bool = False) -> str:
        """"Recalled 1 of 2 ideas (50%)", with "of SECTION" when `named`: the
        line the app and `companion recall` both show."""
        from companion.cardtext import plural

        of = f" of {self.section}" if named else ""
        return f"Recalled {self.recalled} of {plural(self.ideas, 'idea')}{of} ({self.rate:.0%})"

    @property
    def missed(self) -> tuple[IdeaResult, ...]:
        return tuple(r for r in self.results if not r.recalled)

    @property
    def missed_cards(self) -> tuple[str, ...]:
        """The cards of every missed idea (a cloze note's every gap), in deck order."""
        return tuple(card for r in self.missed for card in r.idea.card_ids)


def written_text(text: str) -> str:
    """What the learner wrote, checked: RecallError when there is nothing (an
    empty attempt is refused rather than stored as 0 %, as closing the editor
    without writing is how one gives up) or too much."""
    if len(text) > MAX_TEXT_CHARS:
        raise RecallError(f"{len(text):,} characters written; an attempt holds at most "
                          f"{MAX_TEXT_CHARS:,}")
    if not match_words(text):
        raise RecallError("nothing written, so no attempt is stored (write what you "
                          "remember of the section)")
    return text


def score(section: Section, text: str) -> RecallResult:
    """Which of the section's ideas `text` names, idea by idea."""
    words = match_words(text)
    results = []
    for idea in section.ideas:
        found = tuple(next((v for v in key if mentions(words, v)), None) for key in idea.keys)
        results.append(IdeaResult(idea, found))
    return RecallResult(section.name, text, tuple(results))


TEMPLATE_MARK = "#"  # lines of the editor's template that start so are left out


def template(section: Section) -> str:
    """What the editor opens on: a header that names the section (never its
    keys) and room to write."""
    return (f"# Free recall: {section.name} ({len(section.ideas)} ideas to remember)\n"
            "# Write down everything you remember of this section, in your own words,\n"
            "# then save and close the editor. Lines starting with # are left out.\n\n")


def without_template(text: str) -> str:
    """The learner's text from the editor's file, the template's # lines left out."""
    return "\n".join(line for line in text.splitlines()
                     if not line.lstrip().startswith(TEMPLATE_MARK))


def save(store: Store, result: RecallResult, at: int) -> RecallAttemptRow:
    """Store the attempt (its own table, one transaction); no card changes."""
    from companion.store import RecallAttemptRow

    row = RecallAttemptRow(uuid.uuid4().hex, at, result.section, result.ideas,
                           result.recalled, list(result.missed_cards), result.text)
    with store.transaction():
        store.insert_recall_attempt(row)
    return row


def load_sections(dirs: list | None = None) -> list[Section]:
    """The sections of the deck files in `dirs` (the shipped and the
    learner's deck folders by default). Bad cards are left out, as a sync
    leaves them out; `companion decks check` reports them."""
    from companion.deck_sync import deck_dirs
    from companion.decks import deck_files, load_decks

    decks, _errors = load_decks(deck_files(dirs if dirs is not None else deck_dirs()))
    return sections(decks)


def attempts_of(store: Reads, section: str | None = None) -> list[RecallAttemptRow]:
    return store.recall_attempts(section)
