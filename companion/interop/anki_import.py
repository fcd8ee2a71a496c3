"""An Anki package (.apkg, .colpkg) -> deck files, presets and the review log.

What becomes what:

- Each Anki deck that holds cards (and each parent of one) becomes a deck file
  `anki-<name>.md` in the data dir's decks folder: `Parent::Child` is the deck
  `anki-parent-child` with `parent: anki-parent`. A note is a `## id` whose id
  is a hash of its guid, so importing a newer export of the same collection
  updates the notes in place and keeps every card's history. Notes the file
  has and the package lacks are kept (Anki's importer never deletes either).
- Note types: a cloze type becomes `Cloze:` (hints kept) with the other fields
  the back shows as `Extra:`; any other type becomes one basic card per Anki
  card, its question the fields the template's front shows and its answer
  the fields the back adds: Basic is one card, Basic-and-reversed two (`id`
  and `id-2`), type-in-the-answer a basic card. Image occlusion, and a
  template whose front shows no field, are refused: there is nothing
  companion could show.
- Field HTML becomes Markdown (`anki_text`); media are copied into the data
  dir's `media` folder and named from the cards as Markdown images.
- Each preset (deck options) becomes a companion preset `anki-<name>` with its
  FSRS parameters (none: FSRS's defaults), desired retention, steps, daily
  limits, maximum interval and leech settings, assigned to its decks.
- The revlog becomes reviews; rows that are not answers (a reset, a set due
  date, a reschedule, a cram answer) become companion's forget and
  reschedule events or are left out. Each review keeps Anki's decision: the
  state the next answer found the card in, the interval the revlog holds, and
  for the last one the card as Anki holds it now, so the replay that rebuilds
  companion's cache gives Anki's state, interval, steps left and due date.
  Stability and difficulty are replayed from the ratings with the preset's
  parameters, as Anki computed them at each answer; the import says how many
  cards end up differing from Anki's stored memory state (a history from
  before FSRS was turned on, parameters changed since), if any.
- Suspended and buried cards stay so (buried until the next day).

Days: Anki counts a review card's due date in days since the collection was
created. The package carries the creation time (and, from Anki 2.1.50 on, its
UTC offset) but not the rollover hour or the time zone the learner studied in:
the import counts days with companion's own `day_starts_at` and `timezone`
settings, so both should match Anki's (4 am and the computer's time zone by
default in each).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from companion.interop import ImportError_, ImportResult
from companion.interop.anki_package import (
    INSTALL_HINT,
    LATEST_SECONDS,
    CardRow,
    NoteRow,
    NotetypeRow,
    Package,
    RevlogRow,
    extract_media,
    read_package,
)
from companion.interop.anki_text import html_to_markdown
from companion.scheduler import (
    Decision,
    LearnerDay,
    LoggedEvent,
    Memory,
    MemoryModel,
    StateSet,
    stored,
)
from companion.settings import PRESET_NAME, Settings, SettingsError, parse_step
from companion.store import LEARNING, NEW, RELEARNING, REVIEW, Store, now_ms

if TYPE_CHECKING:
    from companion.decks import Deck

IMAGE_OCCLUSION = 6  # Anki's StockNotetype kind
SPECIAL_FIELDS = {"FrontSide", "Tags", "Type", "Deck", "Subdeck", "Card", "CardFlag", "CardID"}
FIELD_REF = re.compile(r"\{\{([^{}]+)\}\}")
CLOZE_REF = re.compile(r"\{\{(?:[^{}:]*:)*cloze:([^{}]+)\}\}")
REVLOG_STATES = {0: LEARNING, 1: REVIEW, 2: RELEARNING}  # Anki's revlog kinds
EMPTY_SIDE = "(empty in Anki)"
MAX_DUE_DAYS = 100_000  # a due date further from the collection's creation is damage


@dataclass
class CardPlan:
    id: str  # companion's card id
    anki: CardRow
    deck_id: str


@dataclass
class NotePlan:
    id: str
    text: str  # the note's block in the deck file, heading included
    cards: list[CardPlan]
    order: tuple[int, int]


@dataclass
class DeckPlan:
    id: str
    anki_name: str
    name: str
    parent: str | None
    description: str
    preset: str | None
    notes: list[NotePlan] = field(default_factory=list)


@dataclass
class Counts:
    notes: int = 0
    skipped: list[str] = field(default_factory=list)  # what the import's notes tell


def import_anki(store: Store, settings: Settings, path: Path,
                decks_dir: Path | None = None, media_dir: Path | None = None,
                settings_path: Path | None = None) -> ImportResult:
    """Import the package at `path`: its decks as deck files, its presets into
    the settings (saved to `settings_path`), its review log and card states
    into the store. All or nothing: a bad package changes nothing."""
    import importlib.util

    from companion import paths

    if importlib.util.find_spec("anki") is None or importlib.util.find_spec("zstandard") is None:
        raise ImportError_(f"{path}: {INSTALL_HINT}")
    decks_dir = decks_dir or paths.user_decks_dir()
    media_dir = media_dir or paths.home() / "media"
    settings_path = settings_path or paths.settings_path()
    with tempfile.TemporaryDirectory(prefix="companion-anki-") as work:
        package = read_package(path, Path(work))
        plan = Planner(package, settings, store, decks_dir, media_dir)
        plan.build()
        return plan.apply(settings_path)


# -- names -------------------------------------------------------------------


def slug(text: str, limit: int = 48) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = "-".join(words)[:limit].strip("-")
    return out


def short_hash(text: str, chars: int = 12) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()[:chars]


def note_id_for(guid: str) -> str:
    """A note's id in its deck file: a hash of its Anki guid (ids are
    lowercase letters, digits and -; a guid is any printable ASCII)."""
    return "n" + short_hash("anki-guid\x1f" + guid)


def preset_name_for(name: str, taken: set[str]) -> str:
    base = "anki-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_") or "preset")
    base = base[:40].rstrip("-_")
    candidate, n = base, 2
    while candidate in taken or not PRESET_NAME.match(candidate):
        candidate = f"{base[:36]}-{n}"
        n += 1
    return candidate


def step_text(minutes: Any) -> str:
    secs = max(1, round(float(minutes) * 60))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


# -- note types ----------------------------------------------------------------


def _refs(fmt: str, fields: list[str]) -> list[tuple[str, bool]]:
    """(field, typed) for each field a template shows, in order."""
    out: list[tuple[str, bool]] = []
    for match in FIELD_REF.finditer(fmt):
        ref = match.group(1).strip()
        if not ref or ref[0] in "#^/!":
            continue
        parts = [p.strip() for p in ref.split(":")]
        name, filters = parts[-1], parts[:-1]
        if name in SPECIAL_FIELDS or name not in fields:
            continue
        typed = any(f.split(" ")[0] == "type" for f in filters)
        if (name, typed) not in out:
            out.append((name, typed))
    return out


def template_sides(notetype: NotetypeRow, ord_: int) -> tuple[list[str], list[str]]:
    """The fields a standard note type's card `ord_` shows on its front, and
    those its back adds."""
    _, qfmt, afmt = notetype.templates[ord_]
    question = [name for name, typed in _refs(qfmt, notetype.fields) if not typed]
    answer = [name for name, _ in _refs(afmt, notetype.fields) if name not in question]
    return question, answer


def _typeable(answer: str) -> bool:
    """An answer companion can ask to type (as the deck parser's Type: check):
    some text, not a paragraph's worth."""
    from companion.typeanswer import MAX_COMPARED_CHARS, expected_text

    return answer != EMPTY_SIDE and 0 < len(expected_text(answer)) <= MAX_COMPARED_CHARS


def _typeable_cloze(text: str) -> bool:
    from companion.decks import ClozeError, cloze_gaps, cloze_typing_answer

    try:
        gaps = sorted({g.number for g in cloze_gaps(text)})
    except ClozeError:
        return False
    return bool(gaps) and all(_typeable(cloze_typing_answer(text, g)) for g in gaps)


def check_notetype(path: Path, notetype: NotetypeRow) -> None:
    """Refuse a note type companion can't show: one line that says why."""
    what = f"note type {notetype.name!r}"
    if notetype.stock_kind == IMAGE_OCCLUSION or any(
            "image-occlusion" in q or "image-occlusion" in a for _, q, a in notetype.templates):
        raise ImportError_(f"{path}: {what} is image occlusion, which companion cannot show "
                           "(it imports Basic-like and Cloze note types)")
    if not notetype.templates:
        raise ImportError_(f"{path}: {what} has no card templates")
    if notetype.cloze:
        if not CLOZE_REF.search(notetype.templates[0][1]):
            raise ImportError_(f"{path}: {what} is a cloze type whose front names no "
                               "{{cloze:Field}}; companion cannot tell its text")
        return
    for ord_, (name, _, _) in enumerate(notetype.templates):
        question, _ = template_sides(notetype, ord_)
        if not question:
            raise ImportError_(f"{path}: {what}, card {name!r}: its front shows no field, so "
                               "companion has no question to ask (it imports Basic-like and "
                               "Cloze note types)")


# -- days ----------------------------------------------------------------------


class AnkiDays:
    """Anki's day numbers as companion's due times (see the module's note)."""

    def __init__(self, package: Package, day: LearnerDay):
        self.day = day
        if package.creation_offset is not None:
            offset = timezone(timedelta(minutes=-max(-1380, min(1380, package.creation_offset))))
            self.created = datetime.fromtimestamp(package.crt, tz=offset).date()
        else:
            self.created = day._local(package.crt * 1000).date()

    def day_start(self, number: int) -> int:
        # a damaged card's day number stays within the dates Python can count
        number = max(-MAX_DUE_DAYS, min(MAX_DUE_DAYS, number))
        return self.day.start_of(self.created + timedelta(days=number))

    def card_due(self, card: CardRow) -> int | None:
        """When Anki has the card due, in ms; None for a new card."""
        due = card.original_due if card.original_deck_id and card.original_due else card.due
        if card.type == NEW:
            return None
        if card.type in (LEARNING, RELEARNING) and due > 1_000_000_000:
            return min(due, LATEST_SECONDS) * 1000  # a learning step's time, in seconds
        return self.day_start(due)


# -- the plan ------------------------------------------------------------------


class Planner:
    def __init__(self, package: Package, settings: Settings, store: Store, decks_dir: Path,
                 media_dir: Path):
        self.package = package
        self.path = package.path
        self.settings = settings
        self.store = store
        self.decks_dir = decks_dir
        self.media_dir = media_dir
        self.counts = Counts()
        self.decks: dict[int, DeckPlan] = {}  # by Anki deck id
        self.home: dict[int, DeckPlan] = {}  # a card's home deck id -> its deck
        self.media_names: dict[str, str] = {}  # package name -> name in the media folder
        self.media_used: set[str] = set()
        self.new_settings = settings
        self.notes: list[str] = []

    # -- decks and presets ------------------------------------------------------

    def _home_deck(self, card: CardRow) -> int:
        return card.original_deck_id or card.deck_id

    def _deck_ids(self, names: list[str]) -> dict[str, str]:
        by_slug: dict[str, list[str]] = {}
        for name in names:
            by_slug.setdefault(slug(name.replace("::", " ")) or "deck", []).append(name)
        own = {d.id: d.path for d in self.store.export_decks()}
        out = {}
        for base, group in by_slug.items():
            for name in group:
                deck_id = f"anki-{base}"
                if len(group) > 1:
                    deck_id = f"{deck_id}-{short_hash(name, 6)}"
                target = str(self.decks_dir / f"{deck_id}.md")
                if deck_id in own and own[deck_id] not in (target, "", None):
                    deck_id = f"{deck_id}-{short_hash(name, 6)}"  # a deck of the learner's own
                out[name] = deck_id
        return out

    def _plan_decks(self) -> None:
        package = self.package
        used = {self._home_deck(c) for c in package.cards if c.note_id in package.notes}
        by_name = {d.name: d for d in package.decks.values()}
        wanted: dict[str, int] = {}
        home_names: dict[int, str] = {}
        for deck_id in used:
            deck = package.decks.get(deck_id)
            name = deck.name if deck else "Default"  # a card of a deck the package lacks
            home_names[deck_id] = name
            parts = name.split("::")
            for depth in range(1, len(parts) + 1):
                sub = "::".join(parts[:depth])
                row_of = by_name.get(sub)
                wanted.setdefault(sub, row_of.id if row_of else -1 - len(wanted))
        ids = self._deck_ids(sorted(wanted))
        presets: dict[int, str] = {}
        taken: set[str] = set()
        for name in sorted(wanted):
            anki_id = wanted[name]
            row = package.decks.get(anki_id)
            preset = None
            if row is not None and row.config_id is not None and row.config_id in package.configs:
                if row.config_id not in presets:
                    conf = package.configs[row.config_id]
                    # the same Anki preset gets the same name each import, so a
                    # re-import updates the preset it made before
                    mine = preset_name_for(str(conf.get("name") or "preset"), taken)
                    taken.add(mine)
                    presets[row.config_id] = mine
                preset = presets[row.config_id]
            parent = ids["::".join(name.split("::")[:-1])] if "::" in name else None
            description = html_to_markdown(row.description) if row else ""
            self.decks[anki_id] = DeckPlan(ids[name], name, name.split("::")[-1] or name,
                                           parent, " ".join(description.split())[:2000],
                                           preset)
        self.home = {deck_id: self.decks[wanted[name]] for deck_id, name in home_names.items()}
        settings = self.settings
        for config_id, name in presets.items():
            values = preset_values(self.path, package.configs[config_id])
            settings = settings.with_preset_values(name, **values)
        deck_presets = dict(settings.deck_presets)
        for plan in self.decks.values():
            if plan.preset:
                deck_presets[plan.id] = plan.preset
        settings = replace(settings, deck_presets=deck_presets)
        try:
            settings.validate()
        except SettingsError as exc:
            raise ImportError_(f"{self.path}: its deck options don't fit companion's "
                               f"settings: {exc}") from None
        self.new_settings = settings

    # -- notes --------------------------------------------------------------------

    def _image(self, src: str) -> str | None:
        import html
        from urllib.parse import unquote

        name = html.unescape(src).strip()
        if re.match(r"^https?://", name):
            return name
        for candidate in (name, unquote(name)):
            if candidate in self.package.media:
                self.media_used.add(candidate)
                return f"../media/{self.media_names.get(candidate, candidate)}"
        return None

    def _md(self, html_text: str) -> str:
        return html_to_markdown(html_text, self._image)

    def _note_text(self, note_id: str, fields: list[tuple[str, str]]) -> str:
        lines = [f"## {note_id}"]
        for name, value in fields:
            value = value.strip()
            if not value and name in ("Q", "A", "Cloze"):
                value = EMPTY_SIDE
            if not value:
                continue
            lines.append(f"{name}: {value}")
        return "\n".join(lines) + "\n"

    def _plan_note(self, note: NoteRow, cards: list[CardRow], home: DeckPlan) -> list[NotePlan]:
        notetype = self.package.notetypes[note.notetype_id]
        values = dict(zip(notetype.fields, note.fields + [""] * len(notetype.fields)))
        base = note_id_for(note.guid)
        tags = " ".join(sorted(set(note.tags), key=note.tags.index))
        order = (min((c.due for c in cards if c.type == NEW), default=0), note.id)
        if len({self._home_deck(c) for c in cards}) > 1:
            self.counts.skipped.append("split")
        if notetype.cloze:
            text_field = CLOZE_REF.search(notetype.templates[0][1])
            assert text_field is not None  # check_notetype
            name = text_field.group(1).strip()
            extra = [f for f, _ in _refs(notetype.templates[0][2], notetype.fields)
                     if f != name and values.get(f, "").strip()]
            text = self._md(values.get(name, ""))
            # {{type:cloze:Text}}: the learner types each gap's answer
            typed = (name, True) in _refs(notetype.templates[0][1], notetype.fields) and \
                _typeable_cloze(text)
            block = self._note_text(base, [
                ("Cloze", text),
                ("Extra", "\n\n".join(self._md(values[f]) for f in extra)),
                ("Type", "yes" if typed else ""),
                ("Tags", tags)])
            plans = [CardPlan(f"{home.id}/{base}.c{c.ord + 1}", c, home.id) for c in cards]
            return [NotePlan(base, block, plans, order)]
        out = []
        for card in cards:
            if card.ord >= len(notetype.templates):
                self.counts.skipped.append("template")
                continue
            question, answer = template_sides(notetype, card.ord)
            note_id = base if card.ord == 0 else f"{base}-{card.ord + 1}"
            back = "\n\n".join(t for f in answer if (t := self._md(values.get(f, ""))))
            # "Basic (type in the answer)": the front's {{type:Back}} is what
            # the back shows, so the A: is the answer to type
            typed_fields = [n for n, typed in _refs(notetype.templates[card.ord][1],
                                                    notetype.fields) if typed]
            typed = bool(typed_fields) and answer == typed_fields and _typeable(back)
            block = self._note_text(note_id, [
                ("Q", "\n\n".join(t for f in question if (t := self._md(values.get(f, ""))))),
                ("A", back),
                ("Type", "yes" if typed else ""),
                ("Tags", tags)])
            out.append(NotePlan(note_id, block, [CardPlan(f"{home.id}/{note_id}", card, home.id)],
                                order))
        return out

    def build(self) -> None:
        """Check the note types and plan the decks and presets (nothing written)."""
        package = self.package
        for notetype_id in {n.notetype_id for n in package.notes.values()}:
            notetype = package.notetypes.get(notetype_id)
            if notetype is None:
                raise ImportError_(f"{self.path}: a note names note type {notetype_id}, which "
                                   "the collection lacks (a damaged collection)")
            check_notetype(self.path, notetype)
        self._plan_decks()

    def build_notes(self) -> None:
        """Each note's block in its deck's file (once the media have their names)."""
        package = self.package
        cards_of: dict[int, list[CardRow]] = {}
        for card in package.cards:
            if card.note_id in package.notes:
                cards_of.setdefault(card.note_id, []).append(card)
            else:
                self.counts.skipped.append("no-note")
        if package.cards and not cards_of:
            raise ImportError_(f"{self.path}: none of its {len(package.cards)} card(s) has its "
                               "note (a damaged collection); nothing imported")
        seen: dict[str, str] = {}
        # A note an earlier import put in one deck stays there when Anki has
        # it in another deck now: its cards keep their ids and history.
        plans = {plan.id: plan for plan in self.decks.values()}
        earlier: dict[str, str] = {}
        for card_id, deck_id in self.store.card_decks().items():
            if deck_id in plans and card_id.startswith(f"{deck_id}/"):
                earlier.setdefault(re.sub(r"(-\d+|\.c\d+)$", "", card_id[len(deck_id) + 1:]),
                                   deck_id)
        for note_id, cards in cards_of.items():
            note = package.notes[note_id]
            base = note_id_for(note.guid)
            if base in seen and seen[base] != note.guid:
                raise ImportError_(f"{self.path}: two notes' guids hash alike "
                                   f"({seen[base]!r}, {note.guid!r}); nothing imported")
            seen[base] = note.guid
            cards.sort(key=lambda c: c.ord)
            home = self.home[self._home_deck(cards[0])]
            if earlier.get(base, home.id) != home.id:
                home = plans[earlier[base]]
                self.counts.skipped.append("moved")
            home.notes.extend(self._plan_note(note, cards, home))
            self.counts.notes += 1
        for deck in self.decks.values():
            deck.notes.sort(key=lambda n: n.order)

    # -- deck files ---------------------------------------------------------------

    def deck_text(self, deck: DeckPlan) -> str:
        import yaml

        meta: dict[str, str] = {"id": deck.id, "name": deck.name}
        if deck.description:
            meta["description"] = deck.description
        if deck.parent:
            meta["parent"] = deck.parent
        front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=10_000)
        intro = f"Imported from Anki: the deck \"{deck.anki_name}\"."
        kept = self._kept_blocks(deck)
        blocks = []
        mine = {n.id: n.text for n in deck.notes}
        for note_id, text in kept:
            blocks.append(mine.pop(note_id, text))
        blocks.extend(text for text in mine.values())
        return f"---\n{front}---\n\n{intro}\n\n" + "\n".join(blocks)

    def _kept_blocks(self, deck: DeckPlan) -> list[tuple[str, str]]:
        """The notes an earlier import left in the deck's file, in order: each
        is replaced by the package's version, the rest stay."""
        from companion.decks import FENCE_RE, card_heading, deck_lines

        target = self.decks_dir / f"{deck.id}.md"
        try:
            lines = deck_lines(target.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            return []
        blocks: list[tuple[str, list[str]]] = []
        in_fence, started = False, False
        for index, line in enumerate(lines):
            if index == 0 and line.strip() == "---":
                continue
            if not started and line.strip() == "---":
                started = True
                continue
            if FENCE_RE.match(line):
                in_fence = not in_fence
            heading = None if in_fence else card_heading(line)
            if heading is not None:
                blocks.append((heading, [line]))
            elif blocks:
                blocks[-1][1].append(line)
        return [(note_id, "\n".join(body).rstrip("\n") + "\n") for note_id, body in blocks]

    # -- the review log -------------------------------------------------------------

    def card_log(self, model: MemoryModel, days: AnkiDays, plan: CardPlan,
                 entries: list[RevlogRow]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]],
                                                    Memory]:
        """One card's reviews (rows for insert_new_reviews) and events (rows for
        card_events), each with Anki's decision, and the memory they replay to."""
        card = plan.anki
        guid = self.package.notes[card.note_id].guid
        items: list[tuple[int, str, RevlogRow]] = []
        for entry in entries:
            if entry.ease in (1, 2, 3, 4) and not (entry.kind == 3 and entry.factor == 0):
                items.append((entry.id, "answer", entry))
            elif entry.ease == 0 and entry.kind == 4 and entry.factor == 0:
                items.append((entry.id, "forget", entry))
            elif entry.ease == 0 and entry.kind in (4, 5):
                items.append((entry.id, "reschedule", entry))
        items.sort(key=lambda item: item[0])
        answers = [i for i, item in enumerate(items) if item[1] == "answer"]
        if answers and card.type == NEW and items[-1][1] == "answer":
            # Anki before 2.1.50 reset a card without a revlog row: say so here
            items.append((items[-1][0] + 1, "forget", items[-1][2]))
        reviews: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        memory = Memory()
        final_due = days.card_due(card)
        for index, (at, kind, entry) in enumerate(items):
            last = index == len(items) - 1
            key = uuid.uuid5(uuid.NAMESPACE_URL, f"anki:{guid}:{card.ord}:{entry.id}:{kind}").hex
            if kind != "answer":
                interval, due = 0, 0
                if kind == "reschedule":
                    interval = max(entry.interval, 0)
                    due = (final_due or 0) if last else days.day.start_of(
                        model.day.timing(at).today + timedelta(days=interval))
                    if last:
                        interval = card.interval
                event = LoggedEvent(at, kind, interval, due)
                events.append((key, plan.id, at, kind, interval, due, None))
                memory = model.apply_event(memory, event)
                continue
            outcome = model.answer(plan.id, memory, entry.ease, at)
            mine = outcome.decision
            following = items[index + 1] if not last else None
            if last:
                state = card.type
                decision = Decision(state, card.left % 1000 if state in (LEARNING, RELEARNING)
                                    else 0, card.interval, final_due or 0, mine.elapsed_days)
            else:
                assert following is not None
                state = (REVLOG_STATES.get(following[2].kind, mine.state)
                         if following[1] == "answer" else mine.state)
                interval = entry.interval if entry.interval > 0 else mine.interval
                timing = model.day.timing(at)
                if state == REVIEW:
                    due = model.day.start_of(timing.today + timedelta(days=max(interval, 1)))
                elif entry.interval < 0:
                    secs = -entry.interval
                    if secs >= timing.secs_until_rollover:
                        days_ahead = (secs - timing.secs_until_rollover) // 86400 + 1
                        due = model.day.start_of(timing.today + timedelta(days=days_ahead))
                    else:
                        due = at + secs * 1000
                else:
                    due = mine.due
                steps = mine.remaining_steps if state == mine.state else 0
                decision = Decision(state, steps, interval, due, mine.elapsed_days)
            reviews.append((key, plan.id, at, entry.ease, max(0, entry.time_ms), *decision))
            memory = replace(outcome.memory, state=decision.state,
                             remaining_steps=decision.remaining_steps,
                             interval=decision.interval, due=decision.due)
        return reviews, events, memory

    # -- applying -----------------------------------------------------------------

    def apply(self, settings_path: Path) -> ImportResult:
        from companion.deck_sync import _upsert_deck
        from companion.decks import parse_deck
        from companion.replay import memory_parameters, rebuild_card, schedule_settings
        from companion.scheduler import PresetModels
        from companion.settings import save

        self.decks_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        staged: list[tuple[Path, Path]] = []  # (temporary file, its place)
        parsed: list[tuple[Deck, Path]] = []
        try:
            media = self._stage_media(staged)
            self.build_notes()
            for plan in self.decks.values():
                target = self.decks_dir / f"{plan.id}.md"
                text = self.deck_text(plan)
                part = _temp_beside(target)
                part.write_text(text, encoding="utf-8")
                part.chmod(0o600)
                staged.append((part, target))
                deck, errors = parse_deck(part)
                if errors or deck is None:
                    first = errors[0] if errors else "unreadable"
                    raise ImportError_(f"{self.path}: deck {plan.anki_name!r} does not make a "
                                       f"deck file companion reads ({first}); nothing imported")
                expected = {c.id for n in plan.notes for c in n.cards}
                missing = expected - {c.id for c in deck.cards}
                if missing:
                    raise ImportError_(f"{self.path}: deck {plan.anki_name!r}: card "
                                       f"{sorted(missing)[0]} has no counterpart in its deck "
                                       "file (a cloze inside a cloze?); nothing imported")
                deck.path = target
                parsed.append((deck, target))
            result = self._store(parsed, media, settings_path, staged, _upsert_deck,
                                 rebuild_card, PresetModels, memory_parameters,
                                 schedule_settings, save)
        finally:
            for part, _ in staged:
                part.unlink(missing_ok=True)
        return result

    def _stage_media(self, staged: list[tuple[Path, Path]]) -> int:
        """Unpack the package's media beside the media folder's files; each
        keeps its name, unless the folder has that name with other content:
        then it gets a name of its own, and the cards show it by that name."""
        wanted = list(self.package.media.values())
        if not wanted:
            return 0
        files = extract_media(self.path, wanted, self.media_dir)
        written = 0
        for name, part in files.items():
            target = self.media_dir / name
            self.media_names[name] = name
            if target.exists() and _same_file(target, part):
                part.unlink()
                continue
            if target.exists():
                digest = hashlib.sha1(part.read_bytes()).hexdigest()[:8]
                stem, dot, ext = name.rpartition(".")
                renamed = f"{stem}-{digest}.{ext}" if dot and stem else f"{name}-{digest}"
                self.media_names[name] = renamed
                target = self.media_dir / renamed
                self.counts.skipped.append("media-renamed")
            staged.append((part, target))
            written += 1
        return written

    def _store(self, parsed: list[tuple[Deck, Path]], media: int, settings_path: Path,
               staged: list[tuple[Path, Path]], upsert: Any, rebuild: Any, models_of: Any,
               memory_parameters: Any, schedule_settings: Any, save: Any) -> ImportResult:
        store, settings = self.store, self.new_settings
        models = models_of(settings)
        day = LearnerDay(settings)
        days = AnkiDays(self.package, day)
        revlog: dict[int, list[RevlogRow]] = {}
        for entry in self.package.revlog:
            revlog.setdefault(entry.card_id, []).append(entry)
        old_settings = settings_path.read_bytes() if settings_path.exists() else None
        replaced: list[tuple[Path, Path | None]] = []
        tomorrow = day.start_of(day.day_of(now_ms()) + timedelta(days=1))
        differ: dict[str, int] = {}
        cards = reviews_added = taken = 0
        try:
            with store.transaction():
                noted_memory = store.meta("memory_parameters")
                noted_schedule = store.meta("schedule_settings")
                had = set(store.every_card_id())
                for deck, _ in parsed:
                    upsert(store, deck)
                flags = []
                for plan in self.decks.values():
                    model = models.for_deck(plan.id)
                    for note in plan.notes:
                        for card in note.cards:
                            rows, events, _ = self.card_log(model, days, card,
                                                            revlog.get(card.anki.id, []))
                            reviews_added += store.insert_new_reviews(rows)
                            store.set_review_records([(NEW, *row[5:], row[0]) for row in rows])
                            store.upsert_card_events(events)
                            memory = rebuild(store, model, card.id)
                            cards += card.id not in had
                            if card.anki.type != NEW and any(
                                    card.anki.data.get(k) is not None and v is None
                                    for k, v in zip("sd", package_memory(card.anki))):
                                self.counts.skipped.append("bad-memory")
                            if compare(card.anki, memory, days):
                                # the log doesn't replay to Anki's state: the
                                # card takes it from the package
                                store.insert_new_card_events(
                                    [state_event(card, memory, days, revlog.get(card.anki.id))])
                                memory = rebuild(store, model, card.id)
                                taken += 1
                            for what in compare(card.anki, memory, days):
                                differ[what] = differ.get(what, 0) + 1
                            queue = card.anki.queue
                            flags.append((int(queue == -1),
                                          tomorrow if queue in (-2, -3) else None, card.id))
                store.set_card_flags(flags)
                # The due dates and memory states written here follow the new
                # presets: note them, so the next start neither replays nor
                # reschedules what it would find already in line.
                if noted_memory == memory_parameters(self.settings):
                    store.set_meta("memory_parameters", memory_parameters(settings))
                if noted_schedule == schedule_settings(self.settings):
                    store.set_meta("schedule_settings", schedule_settings(settings))
                for part, target in staged:
                    backup = None
                    if target.exists() and target.suffix == ".md":
                        backup = _temp_beside(target, ".was")
                        shutil.copy2(target, backup)
                    os.replace(part, target)
                    replaced.append((target, backup))
                if settings != self.settings:
                    save(settings, settings_path)
        except BaseException:
            for target, backup in replaced:
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink(missing_ok=True)
            if old_settings is not None and settings != self.settings:
                settings_path.write_bytes(old_settings)
            raise
        for _, backup in replaced:
            if backup is not None:
                backup.unlink(missing_ok=True)
        added = {"decks": len(parsed), "notes": self.counts.notes, "cards": cards,
                 "reviews": reviews_added, "media": media}
        notes = self._notes(differ, taken)
        return ImportResult(added, None, notes)

    def _notes(self, differ: dict[str, int], taken: int) -> list[str]:
        out = []
        if taken:
            out.append(f"{taken} card(s) took their memory state and due date from the package, "
                       "as their log doesn't replay to them (a history from before FSRS, or "
                       "FSRS parameters changed since the reviews); later reviews go on from it")
        for kind, message in SKIPPED_NOTES:
            n = self.counts.skipped.count(kind)
            if n:
                out.append(message.format(n=n))
        if differ:
            listed = ", ".join(f"{n} {what}" for what, n in sorted(differ.items()))
            out.append(f"cards whose state here differs from Anki's: {listed}")
        presets = sorted({d.preset for d in self.decks.values() if d.preset})
        if presets:
            out.append(f"presets: {', '.join(presets)}; days counted from "
                       f"{self.new_settings.day_starts_at}:00, "
                       f"{self.new_settings.timezone or 'the local time zone'}")
        return out


# What the import's notes say of each thing it did otherwise than Anki has it.
SKIPPED_NOTES = (
    ("split", "{n} note(s) had cards in several Anki decks; each is in the deck of its first "
              "card"),
    ("moved", "{n} note(s) in another deck in Anki than at their first import stay in the "
              "deck they were imported to (a card's id names its deck), their history kept"),
    ("no-note", "{n} card(s) whose note the collection lacks were left out"),
    ("template", "{n} card(s) name a template their note type lacks; left out"),
    ("bad-memory", "{n} card(s) hold a stability or difficulty FSRS can't (not a number, "
                   "infinite, out of range); theirs is replayed from their log"),
    ("media-renamed", "{n} media file(s) whose names the media folder had with other content "
                      "were copied under names of their own"),
)


def state_event(plan: CardPlan, memory: Memory, days: AnkiDays,
                entries: list[RevlogRow] | None) -> tuple[Any, ...]:
    """A set-state event (a row for insert_new_card_events) that gives the card
    Anki's state: its type, steps, stability and difficulty as stored, due date,
    interval, counts and last review. Just after the card's last revlog entry
    (or, with none, now); its id follows from what it sets, so importing the
    same package again adds nothing."""
    from companion.replay import state_set_json

    card = plan.anki
    stability, difficulty = package_memory(card)
    last = _finite(card.data.get("lrt"))
    if last is not None and not 0 < last * 1000 <= now_ms():  # a review before 1970 or to come
        last = None
    sets = StateSet(
        state=card.type,
        remaining_steps=card.left % 1000 if card.type in (LEARNING, RELEARNING) else 0,
        stability=None if card.type == NEW else stability,
        difficulty=None if card.type == NEW else difficulty,
        last_review=int(last) * 1000 if last is not None and last > 0 else None,
        reps=max(card.reps, 0), lapses=max(card.lapses, 0))
    at = max(e.id for e in entries) + 1 if entries else now_ms()
    at = min(at, now_ms())
    due = days.card_due(card) or 0
    interval = max(card.interval, 0) if card.type in (REVIEW, RELEARNING) else memory.interval
    memory_json = state_set_json(sets)
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"anki:{plan.id}:set-state:{interval}:{due}:"
                                         f"{memory_json}").hex
    return (key, plan.id, at, "set-state", interval, due, memory_json)


def _finite(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def package_memory(card: CardRow) -> tuple[float | None, float | None]:
    """The stability and difficulty the package's card data holds, each None
    when absent or not one FSRS can hold (NaN, infinite, negative, a string)."""
    stability, difficulty = _finite(card.data.get("s")), _finite(card.data.get("d"))
    if stability is not None and not 0 < stability <= 1e6:
        stability = None
    if difficulty is not None and not 1 <= difficulty <= 10:
        difficulty = None
    return stability, difficulty


def compare(card: CardRow, memory: Memory, days: AnkiDays) -> list[str]:
    """What of a card's replayed state differs from Anki's: state, due, interval,
    stability, difficulty (to the precision Anki stores)."""
    out = []
    if memory.state != card.type:
        out.append("state")
    if card.type != NEW and memory.due != days.card_due(card):
        out.append("due")
    if card.type in (REVIEW, RELEARNING) and memory.interval != card.interval:
        out.append("interval")
    s, d = package_memory(card)
    if s is not None and d is not None and card.type != NEW:
        if memory.stability is None or stored(memory.stability, 4) != stored(s, 4):
            out.append("stability")
        if memory.difficulty is None or stored(memory.difficulty, 3) != stored(d, 3):
            out.append("difficulty")
    return out


def preset_values(path: Path, conf: dict[str, Any]) -> dict[str, Any]:
    """An Anki preset (its legacy dict) as companion preset values."""
    new, lapse, rev = (conf.get(k) or {} for k in ("new", "lapse", "rev"))

    def steps(values: Any) -> list[str]:
        out = [step_text(v) for v in (values or []) if isinstance(v, (int, float)) and v > 0]
        for step in out:
            try:
                parse_step(step)
            except ValueError as exc:
                raise ImportError_(f"{path}: its deck options don't fit companion's settings: "
                                   f"preset {str(conf.get('name'))[:40]!r}: {exc}") from None
        return out

    params: list[float] = []
    for key, size in (("fsrsParams6", 21), ("fsrsParams5", 19), ("fsrsWeights", 19)):
        found = [float(v) for v in conf.get(key) or [] if isinstance(v, (int, float))]
        if len(found) == size:
            params = found if size == 21 else found + [0.0, 0.5]  # FSRS-5 as FSRS-6 reads it
            break
    values: dict[str, Any] = {
        "desired_retention": round(float(conf.get("desiredRetention") or 0.9), 4),
        "learning_steps": steps(new.get("delays")),
        "relearning_steps": steps(lapse.get("delays")),
        "maximum_interval": max(1, min(36500, int(rev.get("maxIvl") or 36500))),
        "new_per_day": max(0, min(100_000, int(new.get("perDay") or 0))),
        "reviews_per_day": max(0, min(100_000, int(rev.get("perDay") or 0))),
        "leech_threshold": max(1, min(100, int(lapse.get("leechFails") or 8))),
        "leech_action": "tag" if int(lapse.get("leechAction") or 0) == 1 else "suspend",
        "parameters": [round(p, 6) for p in params],
    }
    return values


def _temp_beside(target: Path, suffix: str = ".part") -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(handle)
    return Path(name)


def _same_file(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    return hashlib.sha1(a.read_bytes()).digest() == hashlib.sha1(b.read_bytes()).digest()
