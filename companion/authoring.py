"""Writing cards into deck files: a new deck, an added card, an edit of a
shipped card, and the learner's editor that does the writing.

A shipped deck is never changed in place: a card added to it, or an edit of
one of its cards, goes into the learner's edits file for it (front matter
`overrides: ID`, in the data dir's decks folder), whose notes take the place
of the shipped notes of the same id, so the card ids, and the history hung on
them, stay. Every file is written whole to a temporary file and renamed into
place, so a crash never leaves half a deck.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from companion.decks import (
    FENCE_RE,
    FIELD_RE,
    ID_RE,
    RESERVED_DECK_IDS,
    CardDef,
    Deck,
    DeckError,
    card_heading,
    deck_files,
    deck_lines,
    load_decks,
    parse_deck,
)

NEW_HEADING = "new"  # the template's card id: replaced by one made from the card's text
TEMPLATE = """\
Write the card below the line, save and quit. Leave it as it is to add nothing.
A basic card has Q: and A:; a cloze card has Cloze: with {{c1::answer}} or
{{c1::answer::hint}} gaps instead. Tags:, Source: and Extra: are optional.
The id after ## may stay "new": one is made from the card's text.
----------------------------------------------------------------------------

## new
Q:
A:
Tags:
"""


class AuthoringError(ValueError):
    """What can't be written, in one line (file:line: message where there is one)."""


@dataclass(frozen=True)
class Written:
    path: Path  # the file the card is in
    line: int  # its heading's line there
    card_ids: tuple[str, ...]


def editor_command() -> list[str]:
    """$EDITOR, then $VISUAL, then nano or vi, whichever is installed."""
    for name in ("EDITOR", "VISUAL"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return shlex.split(value)
            except ValueError as exc:  # an unclosed quote
                raise AuthoringError(f"${name}: {str(exc).lower()} in {value[:80]!r}") from None
    for fallback in ("nano", "vi"):
        if shutil.which(fallback):
            return [fallback]
    raise AuthoringError("no editor: set $EDITOR (e.g. export EDITOR=nano)")


def run_editor(path: Path, line: int | None = None) -> None:
    """The learner's editor on `path` (at `line`, as `+N`, which vi, nano,
    emacs and most others understand); waits for it to exit."""
    command = editor_command()
    args = [*command, *([f"+{line}"] if line else []), str(path)]
    try:
        done = subprocess.run(args)
    except OSError as exc:
        raise AuthoringError(f"cannot run the editor {command[0]!r}: "
                             f"{exc.strerror or exc}") from None
    if done.returncode != 0:
        raise AuthoringError(f"the editor {command[0]!r} exited with status {done.returncode}; "
                             "nothing was saved")


def _write(path: Path, text: str) -> None:
    """`text` as the whole of `path`, written beside it and renamed into place;
    a file the learner made read-only is refused, and one that exists keeps its
    permissions."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = None
    if mode is not None and not mode & stat.S_IWUSR:
        raise AuthoringError(f"{path}: the file is read-only; nothing was written")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- decks ----------------------------------------------------------------------


def all_decks(dirs: list[Path]) -> list[Deck]:
    decks, _ = load_decks(deck_files(dirs))
    return decks


def new_deck(dirs: list[Path], user_dir: Path, deck_id: str, name: str,
             description: str = "", parent: str | None = None) -> Path:
    """A deck file of the learner's own: `user_dir/ID.md`."""
    if not ID_RE.match(deck_id) or len(deck_id) > 100:
        raise AuthoringError(f"{deck_id[:60]!r}: a deck id is lowercase letters, digits and -")
    if deck_id in RESERVED_DECK_IDS:
        raise AuthoringError(f"{deck_id!r} is companion's own deck id; choose another")
    _no_controls(name, "--name")
    _no_controls(description, "--description")
    name = " ".join(name.split())
    if not name:
        raise AuthoringError("--name: give the deck a name")
    decks = all_decks(dirs)
    for deck in decks:
        if deck.id == deck_id:
            raise AuthoringError(f"deck {deck_id!r} exists already ({deck.path})")
    if parent is not None and parent not in {d.id for d in decks}:
        raise AuthoringError(f"--parent {parent[:60]}: no such deck")
    path = user_dir / f"{deck_id}.md"
    if path.exists():
        raise AuthoringError(f"{path}: exists already")
    import yaml

    meta = {"id": deck_id, "name": name}
    if description:
        meta["description"] = " ".join(description.split())
    if parent:
        meta["parent"] = parent
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    _write(path, f"---\n{front}---\n")
    return path


def _target_file(deck: Deck, user_dir: Path) -> Path:
    """Where the learner's changes to a deck go: its own file when that is
    theirs, else their edits file for it."""
    if deck.path.resolve().is_relative_to(user_dir.resolve()) and not deck.overrides:
        return deck.path
    return user_dir / f"{deck.id}.edits.md"


def _ensure_edits_file(path: Path, deck: Deck) -> None:
    if path.exists():
        return
    import yaml

    front = yaml.safe_dump({"overrides": deck.id, "name": f"Your edits of {deck.name}"},
                           allow_unicode=True, sort_keys=False, width=1000)
    _write(path, f"---\n{front}---\n\nYour own cards and edits of the deck {deck.name!r}: a "
                 "note here takes the place of the deck's note with the same id.\n")


# -- notes ------------------------------------------------------------------------


def _slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("{{c", " "))
    words = [w for w in words if not re.fullmatch(r"c\d+", w)]
    return "-".join(words[:5])[:40].strip("-") or "card"


def _fresh_id(text: str, taken: set[str]) -> str:
    base = _slug(text)
    for _ in range(100):
        candidate = f"{base}-{secrets.token_hex(2)}"
        if candidate not in taken:
            return candidate
    raise AuthoringError("could not make a free card id")  # 65,536 tries of 100: never


def _field_text(value: str) -> str:
    """An option's text as one field: a line of it that would start another
    field (`Tags: x`, `Type: yes`) reads as text (`Tags\\: x`), outside code."""
    lines, code = value.strip().split("\n"), False
    for i, line in enumerate(lines):
        if FENCE_RE.match(line):
            code = not code
        elif i and not code and FIELD_RE.match(line):
            lines[i] = line.replace(":", "\\:", 1)
    return "\n".join(lines)


def note_text(front: str = "", back: str = "", cloze: str = "", tags: tuple[str, ...] = (),
              source: str = "", extra: str = "", note_id: str = NEW_HEADING) -> str:
    lines = [f"## {note_id}"]
    if cloze:
        lines.append(f"Cloze: {_field_text(cloze)}")
    else:
        lines += [f"Q: {_field_text(front)}", f"A: {_field_text(back)}"]
    if extra.strip():
        lines.append(f"Extra: {_field_text(extra)}")
    if source.strip():
        lines.append(f"Source: {_field_text(source)}")
    if tags:
        lines.append("Tags: " + " ".join(t for tag in tags for t in tag.split()))
    return "\n".join(lines) + "\n"


def _no_controls(text: str, where: str) -> None:
    """Refuse text holding a character a terminal acts on (ESC, BEL, CR...):
    a deck file is shared, and companion writes none into one."""
    from companion.cardtext import CONTROL_RE

    for number, line in enumerate(text.split("\n"), start=1):
        found = CONTROL_RE.search(line)
        if found:
            at = f"line {number}, " if "\n" in text else ""
            raise AuthoringError(f"{where}: a control character (U+{ord(found.group()):04X}) at "
                                 f"{at}column {found.start() + 1}; nothing was written")


def _check_note(text: str, deck_id: str, taken: set[str]) -> tuple[str, list[CardDef]]:
    """One note, its id made when it is still "new", parsed as the deck
    parser reads it: (the note's text, its cards), or an AuthoringError."""
    lines = deck_lines(text)
    _no_controls("\n".join(lines), "the card")
    headings = [i for i, line in enumerate(lines) if card_heading(line) is not None]
    if len(headings) != 1:
        raise AuthoringError(f"expected one card (one ## heading), found {len(headings)}")
    body = lines[headings[0]:]
    note_id = card_heading(body[0]) or ""
    fields = "\n".join(body[1:])
    if note_id == NEW_HEADING:
        front = next((line.split(":", 1)[1] for line in body[1:]
                      if line.startswith(("Q:", "Cloze:"))), "")
        note_id = _fresh_id(front, taken)
    elif note_id in taken:
        raise AuthoringError(f"card id {note_id!r} is already in deck {deck_id!r}")
    note = f"## {note_id}\n{fields}".rstrip() + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "card.md"
        probe.write_text(f"---\nid: {deck_id}\nname: probe\n---\n\n{note}", encoding="utf-8")
        deck, errors = parse_deck(probe)
    if errors:
        first = errors[0]
        raise AuthoringError(f"line {max(1, first.line - 5)} of the card: {first.message}")
    assert deck is not None  # the probe's front matter is ours
    if not deck.cards:
        raise AuthoringError("the card has no Q:/A: or Cloze: text")
    return note, deck.cards


def add_card(dirs: list[Path], user_dir: Path, deck_id: str, text: str) -> Written:
    """Append one note to the deck (to the learner's edits file of a shipped
    deck); its id is made from its text when it is "new"."""
    deck = next((d for d in all_decks(dirs) if d.id == deck_id), None)
    if deck is None:
        raise AuthoringError(f"--deck {deck_id[:60]}: no such deck")
    taken = {c.note_id for c in deck.cards}
    note, cards = _check_note(text, deck.id, taken)
    target = _target_file(deck, user_dir)
    if target != deck.path:
        _ensure_edits_file(target, deck)
    old = target.read_text(encoding="utf-8")
    joined = old.rstrip("\n") + "\n\n"
    line = len(deck_lines(joined)) + 1
    _write(target, joined + note)
    return Written(target, line, tuple(c.id for c in cards))


def template_unchanged(text: str) -> bool:
    return text.strip() == TEMPLATE.strip()


def find_card(dirs: list[Path], card_id: str) -> tuple[Deck, CardDef]:
    for deck in all_decks(dirs):
        for card in deck.cards:
            if card.id == card_id:
                return deck, card
    raise AuthoringError(f"no card {card_id[:80]!r} in the deck files (see `companion decks "
                         "check` for cards that don't parse)")


def note_lines(path: Path, line: int) -> list[str]:
    """The note whose heading is on `line` of `path`: its lines up to the next
    note (or the end of the file), blank lines at its end left out."""
    lines = deck_lines(path.read_text(encoding="utf-8-sig"))
    end = next((i for i in range(line, len(lines)) if card_heading(lines[i]) is not None),
               len(lines))
    body = lines[line - 1:end]
    while body and not body[-1].strip():
        body.pop()
    return body


@dataclass(frozen=True)
class EditPlace:
    """Where an edit opens, and what puts the file back when the editor leaves it as
    it was."""

    path: Path
    line: int
    opened: str  # the file's text as the editor gets it
    copied: bool = False  # a shipped note was copied in for this edit
    before: str | None = None  # with `copied`: the file's text before (None: made for it)


def place_for_edit(dirs: list[Path], user_dir: Path, card_id: str) -> EditPlace:
    """The file and line to open to edit a card: its own deck file when that
    is the learner's; for a shipped card, its note copied (once) into the
    learner's edits file for that deck."""
    deck, card = find_card(dirs, card_id)
    assert card.path is not None  # every parsed card knows its file
    if card.path.resolve().is_relative_to(user_dir.resolve()):
        return EditPlace(card.path, card.line, card.path.read_text(encoding="utf-8"))
    target = _target_file(deck, user_dir)
    before = target.read_text(encoding="utf-8") if target.exists() else None
    _ensure_edits_file(target, deck)
    old = target.read_text(encoding="utf-8")
    joined = old.rstrip("\n") + "\n\n"
    line = len(deck_lines(joined)) + 1
    text = joined + "\n".join(note_lines(card.path, card.line)) + "\n"
    _write(target, text)
    return EditPlace(target, line, text, copied=True, before=before)


def left_as_it_was(place: EditPlace) -> bool:
    """After the editor: True when it left the file as it opened it. A shipped
    note copied in for the edit is then taken out again (the edits file
    removed when it was made for this edit), so an edit that changed nothing
    leaves no copy behind to hold the card to the shipped text of today."""
    try:
        now = place.path.read_text(encoding="utf-8")
    except OSError:
        return False
    if now != place.opened:
        return False
    if place.copied:
        if place.before is None:
            place.path.unlink(missing_ok=True)
        else:
            _write(place.path, place.before)
    return True


def errors_in(dirs: list[Path], path: Path) -> list[DeckError]:
    """The problems deck loading finds in one file, after an edit."""
    _, errors = load_decks(deck_files(dirs))
    return [e for e in errors if e.path == path]
