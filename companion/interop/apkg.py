"""The decks as an Anki package (.apkg), written with genanki, with scheduling.

One Anki deck per companion deck, the cards that are not retired. Basic and
predict cards become notes of a four-field model (Front, Back, Extra, Source);
a cloze note becomes one Anki cloze note holding the note's original Cloze:
text, so Anki makes one card per gap as companion does. Card text is Markdown:
it becomes HTML (raw HTML in a deck stays text), and `$...$` / `$$...$$` math
becomes MathJax's `\\(...\\)` / `\\[...\\]`, which Anki renders.

Ids are stable: a deck's and a note's Anki ids and guids are hashes of their
companion ids, so importing a newer export updates the notes instead of adding
copies. A subdeck is named `Parent::Child`. Every image a card shows travels
with the package (found where the app finds it: the deck file's folder, then
the media folder). A typed card (`Type: yes`) goes as a "type in the answer"
note type, Anki's {{type:Back}} or {{type:cloze:Text}}.

Scheduling travels too, for Anki's "Import any learning progress": each card's
state, due date, interval, steps left, counts and FSRS memory state (stability,
difficulty, as Anki stores them in a card's data), suspended and buried cards,
the review log as Anki's revlog (a reschedule or a forget as the manual rows
Anki writes for them), and each deck's preset as a deck options preset (FSRS
parameters, desired retention, steps, limits, maximum interval, leech). Due
dates are day numbers from the package's creation day, which is written with
its UTC offset and companion's rollover hour, so Anki places every card on the
same day companion has it.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from companion.cardtext import CODE_RE, MATH_RE
from companion.decks import cloze_sides, parse_deck
from companion.rows import ApkgCard
from companion.settings import Settings
from companion.store import LEARNING, NEW, RELEARNING, REVIEW, Store

CSS = """\
.card { font-family: sans-serif; font-size: 20px; text-align: left; color: black;
        background-color: white; max-width: 42em; margin: 1em auto; }
.extra { margin-top: 1em; color: #555; font-size: 0.9em; }
.source { margin-top: 1em; color: #777; font-size: 0.75em; }
.cloze { font-weight: bold; color: #1565c0; }
.nightMode .cloze { color: #90caf9; }
pre, code { font-size: 0.85em; }
"""

_BACK_EXTRAS = ('{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
                '{{#Source}}<div class="source">{{Source}}</div>{{/Source}}')


def stable_id(*parts: str) -> int:
    """A positive id in genanki's recommended range [2^30, 2^31), from a hash."""
    digest = hashlib.blake2b("\x1f".join(("companion", *parts)).encode(), digest_size=8).digest()
    return (1 << 30) + int.from_bytes(digest, "big") % (1 << 30)


@lru_cache(maxsize=2)
def _models(typed: bool = False) -> tuple[Any, Any]:
    """The basic and cloze note types; `typed`: their "type in the answer"
    kin (a `Type: yes` card), whose front asks for the Back or the gap as
    Anki's "Basic (type in the answer)" and "Cloze" with {{type:cloze:Text}} do."""
    import genanki

    kind = " (type in the answer)" if typed else ""
    ask_back = "<br>{{type:Back}}" if typed else ""
    ask_gap = "<br>{{type:cloze:Text}}" if typed else ""
    basic = genanki.Model(
        stable_id("model", "basic", "typed" if typed else "1"), f"companion basic{kind}",
        fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Extra"}, {"name": "Source"}],
        templates=[{"name": "Card 1", "qfmt": "{{Front}}" + ask_back,
                    "afmt": ('{{Front}}<hr id="answer">{{type:Back}}' if typed
                             else '{{FrontSide}}<hr id="answer">{{Back}}') + _BACK_EXTRAS}],
        css=CSS)
    cloze = genanki.Model(
        stable_id("model", "cloze", "typed" if typed else "1"), f"companion cloze{kind}",
        fields=[{"name": "Text"}, {"name": "Extra"}, {"name": "Source"}],
        templates=[{"name": "Cloze", "qfmt": "{{cloze:Text}}" + ask_gap,
                    "afmt": "{{cloze:Text}}" + ask_gap + _BACK_EXTRAS}],
        css=CSS, model_type=genanki.Model.CLOZE)
    return basic, cloze


# -- text ------------------------------------------------------------------


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # "html": False: HTML written in a deck is shown as text, never run.
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def _mathjax(latex: str, display: bool) -> str:
    # `}}` would close an Anki cloze early; in LaTeX `} }` means the same.
    body = html.escape(latex, quote=False)
    while "}}" in body:
        body = body.replace("}}", "} }")
    return f"\\[{body}\\]" if display else f"\\({body}\\)"


IMG_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")')


class Media:
    """The media a package carries: each image a card shows, found where the
    app finds it (the deck file's folder, then the data dir's media/, see
    companion.cardimages), under the name Anki will know it by: its file
    name, or, when two different files share one, the name with a digest."""

    def __init__(self, media_dir: Path):
        self.media_dir = media_dir
        self.files: dict[str, Path] = {}  # name in the package -> the file
        self._names: dict[Path, str] = {}

    def placer(self, deck_path: str | None) -> Callable[[str], str | None]:
        from companion.cardimages import image_roots, resolve_image

        roots = image_roots(deck_path, self.media_dir)

        def place(src: str) -> str | None:
            path, _ = resolve_image(src, roots)
            if path is None:
                return None
            if path in self._names:
                return self._names[path]
            name = path.name
            if not _plain_name(name):
                return None
            if name in self.files and not _same_content(self.files[name], path):
                digest = hashlib.sha1(path.read_bytes()).hexdigest()[:8]
                name = f"{path.stem}-{digest}{path.suffix}"
            self.files.setdefault(name, path)
            self._names[path] = name
            return name

        return place


def _same_content(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def to_anki_html(text: str, place: Callable[[str], str | None] | None = None) -> str:
    """Markdown card text -> the HTML of an Anki field, math as MathJax. Each
    image `place` finds (see Media) is named as the package names it."""
    if not text:
        return ""
    maths: list[str] = []

    def stash(match: re.Match[str]) -> str:
        display = match.group(1) is not None
        maths.append(_mathjax(match.group(1) if display else match.group(2), display))
        return f"CMPNMATH{len(maths) - 1}X"

    pieces, last = [], 0
    for code in CODE_RE.finditer(text):  # no math inside code spans
        pieces.append(MATH_RE.sub(stash, text[last:code.start()]))
        pieces.append(code.group(0))
        last = code.end()
    pieces.append(MATH_RE.sub(stash, text[last:]))
    rendered = _markdown().render("".join(pieces)).strip()
    # A single paragraph needs no <p>: Anki shows the field inline.
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    rendered = re.sub(r"CMPNMATH(\d+)X", lambda m: maths[int(m.group(1))], rendered)
    if place is None:
        return rendered

    def media_name(match: re.Match[str]) -> str:
        from urllib.parse import unquote

        src = html.unescape(match.group(2))
        name = place(src) or place(unquote(src))
        if name is None:
            return match.group(0)
        return f"{match.group(1)}{html.escape(name)}{match.group(3)}"

    return IMG_SRC.sub(media_name, rendered)


# -- notes -----------------------------------------------------------------

def _cloze_texts(deck_path: str) -> dict[str, str]:
    """note id -> the note's original Cloze: text, from the deck file as it is now."""
    if not deck_path or not Path(deck_path).is_file():
        return {}
    deck, _ = parse_deck(Path(deck_path))
    if deck is None:
        return {}
    return {c.note_id: c.raw for c in deck.cards if c.kind == "cloze" and c.raw}


def _predict_sides(card: ApkgCard) -> tuple[str, str]:
    """A predict card as question and answer text for a plain Anki note."""
    front = card.front
    choices = json.loads(card.choices or "[]")
    if choices:
        front += "\n\nChoices: " + " | ".join(choices)
    params = " ".join(f"{k}={v}" for k, v in json.loads(card.lab_params or "{}").items())
    command = " ".join(p for p in ("companion lab run", card.lab, params) if p)
    back = card.back or ""
    check = f"Check it: `{command}`" + (f" (the result's `{card.reveal}`)."
                                         if card.reveal else ".")
    return front, (back + "\n\n" + check).strip()


def _basic_note(deck_id: str, card: ApkgCard, front: str, back: str,
                media: Callable[[str], str | None] | None = None) -> Any:
    import genanki

    basic, _ = _models(bool(card.type_answer))
    note = genanki.Note(
        model=basic,
        fields=[to_anki_html(front, media), to_anki_html(back, media),
                to_anki_html(card.extra or "", media), to_anki_html(card.source or "", media)],
        tags=(card.tags or "").split(),
        guid=genanki.guid_for("companion", deck_id, card.id))
    note.cards[0].suspend = bool(card.suspended)
    return note


def _cloze_note(deck_id: str, note_id: str | None, raw: str, gaps: list[ApkgCard],
                media: Callable[[str], str | None] | None = None) -> Any:
    import genanki

    first = gaps[0]
    _, cloze = _models(bool(first.type_answer))
    note = genanki.Note(
        model=cloze,
        fields=[to_anki_html(raw, media), to_anki_html(first.extra or "", media),
                to_anki_html(first.source or "", media)],
        tags=(first.tags or "").split(),
        guid=genanki.guid_for("companion", deck_id, f"{deck_id}/{note_id}"))
    suspended = {g.ord for g in gaps if g.suspended}
    for anki_card in note.cards:  # genanki's ord is the gap number minus one
        anki_card.suspend = anki_card.ord + 1 in suspended
    return note


def deck_notes(store: Store, deck_id: str, deck_path: str, media_set: Media | None = None,
               cards_of: dict[str, dict[int, str]] | None = None) -> list[Any]:
    """The genanki notes of one deck's cards that are not retired; `media_set`
    collects the media files they show, `cards_of` each note's guid -> its
    Anki card ordinals -> companion's card ids."""
    media = media_set.placer(deck_path) if media_set is not None else None
    cards = store.apkg_cards(deck_id)
    clozes: dict[str | None, list[ApkgCard]] = {}
    for card in cards:
        if card.kind == "cloze":
            clozes.setdefault(card.note_id, []).append(card)
    raw_texts = _cloze_texts(deck_path) if clozes else {}
    notes, done = [], set()
    ids: dict[str, dict[int, str]] = {} if cards_of is None else cards_of

    def basic(card: ApkgCard, front: str, back: str) -> Any:
        note = _basic_note(deck_id, card, front, back, media)
        ids[note.guid] = {0: card.id}
        return note

    for card in cards:
        if card.kind == "predict":
            notes.append(basic(card, *_predict_sides(card)))
        elif card.kind != "cloze":
            notes.append(basic(card, card.front, card.back))
        elif card.note_id is not None and card.note_id not in done:
            done.add(card.note_id)
            gaps = clozes[card.note_id]
            raw = raw_texts.get(card.note_id, "")
            # The file's text must still be the one the cards were made from;
            # if it is gone or changed, each gap goes as a card of its own.
            if raw and all(cloze_sides(raw, g.ord) == (g.front, g.back) for g in gaps):
                note = _cloze_note(deck_id, card.note_id, raw, gaps, media)
                ids[note.guid] = {g.ord - 1: g.id for g in gaps}
                notes.append(note)
            else:
                notes.extend(basic(g, g.front, g.back) for g in gaps)
    return notes


def anki_deck_names(store: Store) -> dict[str, str]:
    """Each deck's name as Anki names it: its parents' names before it, `::` between."""
    decks = {d.id: d for d in store.export_decks()}
    out = {}
    for deck_id, deck in decks.items():
        names, seen = [deck.name.replace("::", ":")], {deck_id}
        parent: str | None = deck.parent
        while parent in decks and parent not in seen:
            seen.add(parent)
            names.append(decks[parent].name.replace("::", ":"))
            parent = decks[parent].parent
        out[deck_id] = "::".join(reversed(names))
    return out


def write_apkg(store: Store, path: Path, settings: Settings | None = None,
               media_dir: Path | None = None) -> None:
    """Every deck that is not retired, as one Anki package at `path`, with
    every card's scheduling and the review log (see the module's note)."""
    import os
    import sqlite3
    import tempfile
    import zipfile

    import genanki

    settings = settings or Settings()
    if media_dir is None:
        from companion import paths

        media_dir = paths.home() / "media"
    names = anki_deck_names(store)
    decks, media = [], Media(media_dir)
    cards_of: dict[str, dict[int, str]] = {}
    anki_decks: dict[str, int] = {}
    for row in store.apkg_decks():
        deck = genanki.Deck(stable_id("deck", row.id), names.get(row.id, row.name),
                            description=to_anki_html(row.description))
        for note in deck_notes(store, row.id, row.path, media, cards_of):
            deck.add_note(note)
        decks.append(deck)
        anki_decks[row.id] = deck.deck_id
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="companion-apkg-") as folder:
        database = Path(folder) / "collection.anki2"
        conn = sqlite3.connect(database)
        try:
            cursor = conn.cursor()
            stamp = time.time()
            genanki.Package(decks).write_to_db(cursor, stamp, itertools.count(int(stamp * 1000)))
            _schedule(conn, store, settings, cards_of, anki_decks)
            conn.commit()
        finally:
            conn.close()
        files = dict(sorted(media.files.items()))
        tmp = path.with_name(path.name + ".tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(database, "collection.anki2")
            archive.writestr("media", json.dumps({str(i): name for i, name in enumerate(files)}))
            for i, source in enumerate(files.values()):
                archive.write(source, str(i))
        os.replace(tmp, path)


def _plain_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not re.search(r"[/\\\x00-\x1f]", name)


# -- scheduling ------------------------------------------------------------

DEFAULT_DECAY = 0.1542  # FSRS-6's default w20


def _preset_conf(template: dict[str, Any], conf_id: int, name: str,
                 preset: Settings) -> dict[str, Any]:
    from companion.settings import parse_step

    conf = json.loads(json.dumps(template))

    def minutes(steps: list[str]) -> list[float]:
        return [parse_step(s).total_seconds() / 60 for s in steps]

    conf.update(id=conf_id, name=name, mod=int(time.time()), usn=-1,
                desiredRetention=preset.desired_retention,
                fsrsParams6=list(preset.parameters))
    conf["new"].update(delays=minutes(preset.learning_steps), perDay=preset.new_per_day)
    conf["lapse"].update(delays=minutes(preset.relearning_steps),
                         leechFails=preset.leech_threshold,
                         leechAction=1 if preset.leech_action == "tag" else 0)
    conf["rev"].update(maxIvl=preset.maximum_interval, perDay=preset.reviews_per_day)
    return conf


def _schedule(conn: Any, store: Store, settings: Settings, cards_of: dict[str, dict[int, str]],
              anki_decks: dict[str, int]) -> None:
    """Write each card's schedule, the revlog, the presets and the day count
    into the package's collection (schema 11, as genanki writes it)."""
    from datetime import datetime, timedelta, timezone

    from companion.scheduler import LearnerDay
    from companion.store import now_ms

    day = LearnerDay(settings)
    now = now_ms()
    today = day.day_of(now)
    schedules = {row.id: row for row in store.apkg_schedules()}
    first = min([today] + [day.day_of(r.due) for r in schedules.values()
                           if r.due is not None and r.state != NEW])
    crt_ms = day.start_of(first)
    offset = datetime.fromtimestamp(crt_ms / 1000, tz=timezone.utc).astimezone(
        day.tz) if day.tz else datetime.fromtimestamp(crt_ms / 1000).astimezone()
    minutes_west = -int((offset.utcoffset() or timedelta()).total_seconds() // 60)

    def day_number(ms: int) -> int:
        return (day.day_of(ms) - first).days

    # the presets, and each deck's
    (dconf_text, decks_text, conf_text) = conn.execute(
        "SELECT dconf, decks, conf FROM col").fetchone()
    dconf, anki_deck_rows = json.loads(dconf_text), json.loads(decks_text)
    template = dconf["1"]
    preset_ids = {}
    for deck_id, anki_id in anki_decks.items():
        name = settings.preset_of(deck_id)
        if name not in preset_ids:
            conf_id = stable_id("preset", name)
            preset_ids[name] = conf_id
            # a preset an Anki import made goes back under its Anki name
            title = (name.removeprefix("anki-") if name.startswith("anki-") else
                     "companion" if name == "default" else f"companion {name}")
            dconf[str(conf_id)] = _preset_conf(template, conf_id, title, settings.preset(name))
        anki_deck_rows[str(anki_id)]["conf"] = preset_ids[name]
    conf = json.loads(conf_text)
    conf.update(schedVer=2, rollover=settings.day_starts_at, creationOffset=minutes_west)
    conn.execute("UPDATE col SET crt = ?, dconf = ?, decks = ?, conf = ?",
                 (crt_ms // 1000, json.dumps(dconf), json.dumps(anki_deck_rows),
                  json.dumps(conf)))

    anki_card = {(guid, ord_): card_id for guid, ordinals in cards_of.items()
                 for ord_, card_id in ordinals.items()}
    ids: dict[str, int] = {}
    for anki_id, guid, ord_ in conn.execute(
            "SELECT c.id, n.guid, c.ord FROM cards c JOIN notes n ON n.id = c.nid").fetchall():
        if (guid, ord_) in anki_card:
            ids[anki_card[(guid, ord_)]] = anki_id
    position = 0
    for card_id, anki_id in ids.items():
        row = schedules.get(card_id)
        if row is None:
            continue
        preset = settings.for_deck(row.deck_id)
        position += 1
        queue, due, interval = 0, row.position or position, row.interval or 0
        if row.state == REVIEW and row.due is not None:
            queue, due = 2, day_number(row.due)
        elif row.state in (LEARNING, RELEARNING) and row.due is not None:
            if row.due == day.start_of(day.day_of(row.due)):
                queue, due = 3, day_number(row.due)  # a step of a day or more
            else:
                queue, due = 1, row.due // 1000
        if row.suspended:
            queue = -1
        elif row.buried_until and row.buried_until > now:
            queue = -3
        data: dict[str, Any] = {}
        if row.stability is not None and row.difficulty is not None and row.state != NEW:
            params = preset.parameters
            data = {"s": row.stability, "d": row.difficulty,
                    "dr": preset.desired_retention,
                    "decay": params[20] if len(params) == 21 else DEFAULT_DECAY}
            if row.last_review is not None:
                data["lrt"] = row.last_review // 1000
        conn.execute(
            "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?, "
            "lapses = ?, left = ?, data = ? WHERE id = ?",
            (row.state, queue, due, interval if row.state != NEW else 0,
             2500 if row.state != NEW else 0, row.reps, row.lapses,
             row.remaining_steps or 0 if row.state in (LEARNING, RELEARNING) else 0,
             json.dumps(data) if data else "", anki_id))

    revlog: list[tuple[int, ...]] = []
    used: set[int] = set()
    previous: dict[str, int] = {}
    for entry in store.apkg_reviews():
        cid = ids.get(entry.card_id)
        if cid is None:
            continue
        # int: a time stored as a float (a log another program edited) never
        # moves on from 1e300 by adding 1, and the loop below would never end
        at = int(entry.at)
        while at in used:
            at += 1  # the revlog's id is its time, unique over the collection
        used.add(at)
        last = previous.get(entry.card_id, 0)
        if entry.kind == "answer":
            if entry.state_after == REVIEW:
                ivl = entry.interval or 0
            else:
                ivl = -max(1, ((entry.due or entry.at) - entry.at) // 1000)
            kind = {None: 0, NEW: 0, LEARNING: 0, REVIEW: 1, RELEARNING: 2}.get(
                entry.state_before, 0)
            revlog.append((at, cid, -1, entry.rating, ivl, last, 2500, entry.duration_ms or 0,
                           kind))
        elif entry.kind == "reschedule":
            ivl = entry.interval or 0
            revlog.append((at, cid, -1, 0, ivl, last, 2500, 0, 5))
        else:  # a forget: Anki's reset, a manual row with no ease factor
            ivl = 0
            revlog.append((at, cid, -1, 0, 0, last, 0, 0, 4))
        previous[entry.card_id] = ivl
    conn.executemany("INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", revlog)
