"""Decks are Markdown files; this module turns them into cards, or into
`file:line: message` errors. Nothing in a deck is executed (decks/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from companion.paths import deck_files as deck_files  # where the deck files are
from companion.paths import read_regular

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
IMPORTED_DECK = "imported"  # companion's own deck for cards of imported review logs
RESERVED_DECK_IDS = frozenset({IMPORTED_DECK})
FIELD_RE = re.compile(
    r"^(Q|A|Cloze|Predict|Choices|Reveal|Type|Extra|Source|Tags|Lab|Keys|Exercise|Diagram"
    r"|Labels)"
    r":(?:\s|$)(.*)$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
CLOZE_OPEN = re.compile(r"\{\{c(\d+)::")

# Bounds on what one deck file may hold. A shared deck is a stranger's input:
# past these it is a `file:line` error, never a hang or a database it breaks.
MAX_FILE_BYTES = 8_000_000
MAX_LINE_CHARS = 20_000
MAX_FRONT_MATTER_CHARS = 8_000
MAX_GAPS_PER_NOTE = 100
MAX_CLOZE_NUMBER = 999  # {{c1::...}} .. {{c999::...}}
# A diagram (`Diagram:`) fits an 80-column terminal, and a screen or two.
MAX_DIAGRAM_COLUMNS = 80
MAX_DIAGRAM_LINES = 60
MAX_LABELS = 50


def card_heading(line: str) -> str | None:
    """The note id of a `## id` heading line (`###` and deeper are not cards).
    Plain string operations, linear in the line's length."""
    if not line.startswith("##") or line.startswith("###"):
        return None
    return line[2:].strip()


def deck_lines(text: str) -> list[str]:
    """A file's lines as an editor numbers them: only \n, \r\n and \r end a
    line (a form feed or U+2028 inside a field must not shift every later
    line number, as str.splitlines would)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class ClozeError(ValueError):
    pass


@dataclass(frozen=True)
class Gap:
    start: int  # offsets of the whole {{cN::...}} in the text
    end: int
    number: int
    answer: str
    hint: str


def cloze_gaps(text: str) -> list[Gap]:
    """Find every {{cN::answer}} / {{cN::answer::hint}}. Braces inside a gap are
    counted, so LaTeX such as {{c1::$\\frac{a}{b}$}} closes where it should."""
    gaps: list[Gap] = []
    pos = 0
    while (m := CLOZE_OPEN.search(text, pos)) is not None:
        depth, i, split = 0, m.end(), None
        while i < len(text):
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                if depth == 0:
                    if text.startswith("}}", i):
                        break
                    raise ClozeError(f"c{m.group(1)} has an unmatched }}")
                depth -= 1
            elif depth == 0 and split is None and text.startswith("::", i):
                split = i
            i += 1
        else:
            raise ClozeError(f"c{m.group(1)} is never closed by }}}}")
        body_end = split if split is not None else i
        hint = text[split + 2:i] if split is not None else ""
        digits = m.group(1)
        if len(digits) > len(str(MAX_CLOZE_NUMBER)) or not 1 <= int(digits) <= MAX_CLOZE_NUMBER:
            raise ClozeError(f"c{digits[:12]}{'…' if len(digits) > 12 else ''} is not a gap "
                             f"number from c1 to c{MAX_CLOZE_NUMBER}")
        gaps.append(Gap(m.start(), i + 2, int(digits), text[m.end():body_end], hint))
        if len(gaps) > MAX_GAPS_PER_NOTE:
            raise ClozeError(f"more than {MAX_GAPS_PER_NOTE} gaps in one note; split it")
        pos = i + 2
    return gaps


@dataclass(frozen=True)
class DeckError:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class CardDef:
    id: str  # "<deck>/<note>", "<deck>/<note>.c<N>" for a cloze gap, "<deck>/<note>.<label>"
    deck_id: str
    note_id: str
    kind: str  # "basic", "cloze", "predict" or "diagram"
    ord: int  # cloze gap number, a diagram's label number (from 1), 0 for basic cards
    front: str
    back: str
    extra: str
    source: str
    tags: list[str]
    lab: str
    lab_params: dict[str, str]
    line: int
    position: int
    choices: list[str] = field(default_factory=list)  # predict cards
    reveal: str = ""  # predict cards: where the lab's result holds the answer
    raw: str = ""  # cloze cards: the note's whole Cloze: text, every {{cN::...}} in it
    # `Type: yes`: the answer the learner types, as the deck writes it (a Q/A
    # card's A:, a cloze card's gap); "" when the card is not typed
    type_answer: str = ""
    path: Path | None = None  # the file it was read from (a shipped deck's or an edits file)
    # `Keys:`: the note's key ideas for the free-recall exercise, each a tuple
    # of the variants that count as naming it (companion.recall); () when none
    keys: tuple[tuple[str, ...], ...] = ()
    # `Exercise: NAME`: the implement-it-yourself exercise the card belongs to
    # (labs.catalog.EXERCISES); "" when none
    exercise: str = ""


@dataclass
class Deck:
    id: str
    name: str
    description: str
    path: Path
    cards: list[CardDef] = field(default_factory=list)
    parent: str | None = None  # the deck this one is a subdeck of (front matter `parent:`)
    # An edits file (front matter `overrides: ID`): its notes replace the
    # same-named notes of deck ID, or add to it; the learner's edits of a
    # shipped deck, which is never changed in place.
    overrides: bool = False
    sources: list[Path] = field(default_factory=list)  # every file its cards come from


@dataclass
class _Note:
    note_id: str
    line: int
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)
    broken: bool = False  # a line of it was refused (and reported): it makes no card


# A sibling gap on a cloze card's front: hidden, and marked apart from the
# asked gap's [...] so that a pipe, which shows no bold, still tells them apart.
SIBLING_GAP = "(…)"


def cloze_sides(text: str, gap: int) -> tuple[str, str]:
    """Front and back of gap `gap`: the gap hidden as [...] (or [hint]) on the
    front and shown in bold on the back. The other gaps (siblings) are hidden
    on the front as SIBLING_GAP, answer and hint alike, so no sibling gives
    this gap away; the back shows the whole note, the siblings as plain text.
    Every face (the app, line mode, the Anki export's per-gap cards) takes
    its cloze text from here."""

    front, back, last = [], [], 0
    for g in cloze_gaps(text):
        front.append(text[last:g.start])
        back.append(text[last:g.start])
        if g.number == gap:
            front.append(f"**[{g.hint or '...'}]**")
            back.append(f"**{g.answer}**")
        else:
            front.append(SIBLING_GAP)
            back.append(g.answer)
        last = g.end
    front.append(text[last:])
    back.append(text[last:])
    return "".join(front), "".join(back)


def cloze_typing_answer(text: str, gap: int) -> str:
    """What a learner types for gap `gap`: its answer, or the answers of every
    gap with that number joined by ", " (one when they are all the same), as
    Anki's `extract_cloze_for_typing` does."""
    answers = [g.answer for g in cloze_gaps(text) if g.number == gap]
    if answers and min(answers) == max(answers):
        return answers[0]
    return ", ".join(answers)


def _front_matter(lines: list[str], path: Path, errors: list[DeckError]) -> tuple[dict, int]:
    """Parse the YAML between the leading `---` lines; returns (data, first body line index)."""
    if not lines or lines[0].strip() != "---":
        errors.append(DeckError(path, 1, "missing front matter: the file must start with ---"))
        return {}, 0
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        errors.append(DeckError(path, 1, "front matter is not closed by a --- line"))
        # The cards still get checked: they start at the first `## id` heading.
        first_card = next((i for i in range(1, len(lines)) if card_heading(lines[i]) is not None),
                          len(lines))
        return {}, first_card
    text = "\n".join(lines[1:end])
    if len(text) > MAX_FRONT_MATTER_CHARS:
        errors.append(DeckError(path, 2, f"front matter is {len(text):,} characters long; "
                                f"the most is {MAX_FRONT_MATTER_CHARS:,} (id, name, description)"))
        return {}, end + 1
    import yaml

    try:
        data = yaml.load(text, Loader=_no_alias_loader()) or {}
    except RecursionError:
        errors.append(DeckError(path, 2, "bad front matter: nested too deeply"))
        return {}, end + 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 2) if mark is not None else 1
        problem = (getattr(exc, "problem", None) or str(exc).splitlines()[0]).rstrip(" :")
        errors.append(DeckError(path, line, f"bad front matter: {problem}"))
        return {}, end + 1
    if not isinstance(data, dict):
        errors.append(DeckError(path, 2, "bad front matter: expected key: value lines"))
        return {}, end + 1
    return data, end + 1


@cache
def _no_alias_loader() -> type:
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """Safe YAML without anchors and aliases: front matter is a few plain
        keys, and aliases are how a 'billion laughs' file grows without bound."""

        def compose_node(self, parent: object, index: object) -> object:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in front matter",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)

    return NoAliasLoader


def _split_notes(lines: list[str], start: int, path: Path, errors: list[DeckError]) -> list[_Note]:
    notes: list[_Note] = []
    current: _Note | None = None
    field_name: str | None = None
    in_fence = False
    more: dict[tuple[int, str], list[str]] = {}  # (note number, field) -> its further lines
    for index in range(start, len(lines)):
        number = index + 1
        line = lines[index]
        if FENCE_RE.match(line):
            in_fence = not in_fence
        if len(line) > MAX_LINE_CHARS:
            errors.append(DeckError(path, number, f"line is {len(line):,} characters long; "
                                    f"the most is {MAX_LINE_CHARS:,}"))
            if current is not None:
                current.broken = True
            continue
        heading = None if in_fence else card_heading(line)
        if heading is not None:
            current = _Note(heading, number)
            notes.append(current)
            field_name = None
            continue
        if current is None:
            continue  # the deck's introduction
        match = None if in_fence else FIELD_RE.match(line)
        if match:
            field_name = match.group(1)
            if field_name in current.fields:
                errors.append(DeckError(
                    path, number,
                    f"card {current.note_id!r}: second {field_name}: field "
                    f"(the first is on line {current.fields[field_name][0]})"))
                field_name = None
                continue
            current.fields[field_name] = (number, match.group(2))
        elif field_name is not None:
            # a field's lines are gathered and joined once, below: adding each
            # to the text so far copies it every time (50,000 lines: 20 s; bench_deck_parse)
            more.setdefault((len(notes), field_name), []).append(line)
        elif line.strip():
            errors.append(DeckError(
                path, number,
                f"card {current.note_id!r}: text before the first field "
                "(start it with Q:, A:, Cloze:, Predict:, Diagram:, Type:, Extra:, Source:, "
                "Tags:, Lab:, Keys: or Exercise:)"))
    if in_fence:
        errors.append(DeckError(path, len(lines), "a ``` code fence is never closed"))
    for (note_number, name), rest in more.items():
        note = notes[note_number - 1]
        first, text = note.fields[name]
        note.fields[name] = (first, "\n".join([text, *rest]))
    return notes


def _check_lab(value: str, where: tuple[Path, int], note: str,
               errors: list[DeckError]) -> tuple[str, dict[str, str]] | None:
    from labs.catalog import ParamError, get, parse_assignments

    parts = value.split()
    if not parts:
        errors.append(DeckError(*where, f"card {note!r}: Lab: names no lab"))
        return None
    try:
        spec = get(parts[0])
        raw = parse_assignments(parts[1:])
        spec.resolve(raw)
    except ParamError as exc:
        errors.append(DeckError(*where, f"card {note!r}: Lab: {exc}"))
        return None
    return spec.name, raw


def _check_predict(f: dict[str, tuple[int, str]], path: Path, name: str,
                   errors: list[DeckError]) -> bool:
    """A Predict: card needs a lab to run and a Reveal: that says where its answer is."""
    from companion.predict import parse_reveal

    line = f["Predict"][0]
    ok = True
    if "Lab" not in f:
        errors.append(DeckError(path, line, f"card {name!r}: Predict: needs a Lab: to run"))
        ok = False
    if "Reveal" not in f:
        errors.append(DeckError(path, line, f"card {name!r}: Predict: needs a Reveal: "
                                "(where the lab's result holds the answer)"))
        return False
    try:
        parse_reveal(f["Reveal"][1])
    except ValueError as exc:
        errors.append(DeckError(path, f["Reveal"][0], f"card {name!r}: Reveal: {exc}"))
        ok = False
    if "Choices" in f and len([c for c in f["Choices"][1].split("|") if c.strip()]) < 2:
        errors.append(DeckError(path, f["Choices"][0],
                                f"card {name!r}: Choices: needs two or more, separated by |"))
        ok = False
    return ok


def _check_type(f: dict[str, tuple[int, str]], path: Path, name: str,
                errors: list[DeckError]) -> bool:
    """`Type: yes` asks the learner to type the answer (Anki's "type in the
    answer"): a Q/A card's A:, or a cloze card's gap. Nothing else is a value."""
    line, value = f["Type"]
    if "Predict" in f:
        errors.append(DeckError(path, line, f"card {name!r}: Type: belongs to a Q/A or Cloze: "
                                "card (a Predict: card takes a guess already)"))
        return False
    if value.lower() != "yes":
        shown = value if len(value) <= 40 else value[:40] + "…"
        errors.append(DeckError(path, line, f"card {name!r}: Type: takes yes (the learner types "
                                f"the A: or the cloze's answer), not {shown!r}"))
        return False
    return True


def _typeable(answer: str, where: tuple[Path, int], name: str, what: str,
              errors: list[DeckError]) -> bool:
    """The answer to type has text in it, and not a paragraph's worth."""
    from companion.typeanswer import MAX_COMPARED_CHARS, expected_text

    plain = expected_text(answer)
    if not plain:
        errors.append(DeckError(*where, f"card {name!r}: Type: yes, but {what} has no text to "
                                "type (only an image or marks)"))
        return False
    if len(plain) > MAX_COMPARED_CHARS:
        errors.append(DeckError(*where, f"card {name!r}: Type: yes, but {what} is "
                                f"{len(plain):,} characters long; the most to type is "
                                f"{MAX_COMPARED_CHARS:,} (put the explanation in Extra:)"))
        return False
    return True


MAX_KEYS = 12  # key ideas of one note
MAX_KEY_CHARS = 80  # one variant


def _exercise_problem(name: str, predict: bool) -> str:
    """Why `Exercise: name` can't be, or ''. A deck names an exercise only by
    its registered name (labs.catalog, torch-free), as it names a lab."""
    from labs.catalog import EXERCISES

    if predict:
        return "belongs to a Q/A or Cloze: card (a Predict: card runs a lab)"
    if name not in EXERCISES:
        import difflib

        close = difflib.get_close_matches(name, EXERCISES, n=1)
        shown = name if len(name) <= 40 else name[:40] + "…"
        return (f"unknown exercise {shown!r}" + (f" (did you mean {close[0]!r}?)" if close
                                                  else "")
                + f"; exercises: {', '.join(sorted(EXERCISES))}")
    return ""


def parse_keys(value: str) -> tuple[tuple[str, ...], ...]:
    """A `Keys:` field: key ideas separated by `;`, each one or more variants
    separated by `|` (`noise scale | B_simple; critical batch size`): the
    note is recalled when the learner's text names every idea, by any of its
    variants. ValueError, in words, for a field that names no idea, an empty
    idea or variant, a variant with a control character, or one with no
    letter or digit to match."""
    from companion.recall import match_words

    ideas = []
    parts = value.split(";")
    if len(parts) > MAX_KEYS:
        raise ValueError(f"{len(parts)} key ideas; the most is {MAX_KEYS}")
    for number, part in enumerate(parts, 1):
        variants = tuple(v.strip() for v in part.split("|"))
        if not any(variants) and len(parts) == 1:
            raise ValueError("names no key idea (write `Keys: term | variant; other term`)")
        if not any(variants):
            raise ValueError(f"key idea {number} is empty (two ; in a row, or one at the end?)")
        if not all(variants):
            raise ValueError(f"key idea {number} has an empty variant (a | with nothing "
                             "beside it)")
        for variant in variants:
            if len(variant) > MAX_KEY_CHARS:
                raise ValueError(f"key {variant[:30]!r}… is longer than {MAX_KEY_CHARS} "
                                 "characters: name the idea in a few words")
            control = next((ch for ch in variant if ch != "\n" and (
                ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f)), None)
            if control is not None:  # never typed by a learner; an escape would act when shown
                raise ValueError(f"key {variant!r} has the control character "
                                 f"U+{ord(control):04X}; a key is plain text")
            if not match_words(variant):
                raise ValueError(f"key {variant!r} has no letter or digit to look for")
        ideas.append(variants)
    return tuple(ideas)


def _cards_of(note: _Note, deck_id: str, path: Path, position: int,
              errors: list[DeckError]) -> list[CardDef]:
    if note.broken:
        return []
    f = {name: (line, text.strip()) for name, (line, text) in note.fields.items()}
    at = (path, note.line)
    name = note.note_id
    if not ID_RE.match(name):
        errors.append(DeckError(*at, f"card id {name!r} must be lowercase letters, digits and -"))
        return []
    kinds = [k for k in ("Cloze", "Predict", "Q", "Diagram") if k in f]
    if len(kinds) > 1:
        errors.append(DeckError(*at, f"card {name!r} has both {kinds[0]}: and {kinds[1]}:; "
                                "use one of Q:/A:, Cloze:, Predict: or Diagram:"))
        return []
    if not kinds and "A" not in f:
        errors.append(DeckError(*at, f"card {name!r} has no Q:/A:, Cloze:, Predict: or "
                                "Diagram: field"))
        return []
    if "Diagram" in f or "Labels" in f:
        return _diagram_cards(note, deck_id, path, position, errors)
    ok = True
    for side in ("Q", "A", "Cloze", "Predict"):
        if side in f and not f[side][1]:
            errors.append(DeckError(path, f[side][0], f"card {name!r}: empty {side}: field"))
            ok = False
    for extra_field in ("Choices", "Reveal"):
        if extra_field in f and "Predict" not in f:
            errors.append(DeckError(path, f[extra_field][0],
                                    f"card {name!r}: {extra_field}: belongs to a Predict: card"))
            ok = False
    if "Predict" in f:
        ok = _check_predict(f, path, name, errors) and ok
    elif "Cloze" not in f:
        for side, other in (("Q", "A"), ("A", "Q")):
            if side in f and other not in f:
                errors.append(DeckError(*at, f"card {name!r} has {side}: but no {other}: field"))
                ok = False
    typed = False
    if "Type" in f:
        typed = _check_type(f, path, name, errors)
        ok = typed and ok
    lab, lab_params = "", dict[str, str]()
    if "Lab" in f:
        checked = _check_lab(f["Lab"][1], (path, f["Lab"][0]), name, errors)
        if checked is None:
            ok = False
        else:
            lab, lab_params = checked
    keys: tuple[tuple[str, ...], ...] = ()
    if "Keys" in f:
        try:
            keys = parse_keys(f["Keys"][1])
        except ValueError as exc:
            errors.append(DeckError(path, f["Keys"][0], f"card {name!r}: Keys: {exc}"))
            ok = False
    exercise = ""
    if "Exercise" in f:
        exercise = f["Exercise"][1].strip()
        problem = _exercise_problem(exercise, "Predict" in f)
        if problem:
            errors.append(DeckError(path, f["Exercise"][0], f"card {name!r}: Exercise: {problem}"))
            ok = False
    if not ok:
        return []
    common: dict[str, Any] = dict(
        deck_id=deck_id, note_id=name, extra=f.get("Extra", (0, ""))[1],
        source=f.get("Source", (0, ""))[1], tags=f.get("Tags", (0, ""))[1].split(),
        lab=lab, lab_params=lab_params, line=note.line, keys=keys, exercise=exercise,
    )
    if "Predict" in f:
        choices = [c.strip() for c in f.get("Choices", (0, ""))[1].split("|") if c.strip()]
        return [CardDef(id=f"{deck_id}/{name}", kind="predict", ord=0, front=f["Predict"][1],
                        back=f.get("A", (0, ""))[1], position=position, choices=choices,
                        reveal=f["Reveal"][1], **common)]
    if "Cloze" not in f:
        answer = f["A"][1] if typed else ""
        if typed and not _typeable(answer, (path, f["Type"][0]), name, "A:", errors):
            return []
        return [CardDef(id=f"{deck_id}/{name}", kind="basic", ord=0, front=f["Q"][1],
                        back=f["A"][1], position=position, type_answer=answer, **common)]
    line, text = f["Cloze"]
    try:
        found = cloze_gaps(text)
    except ClozeError as exc:
        errors.append(DeckError(path, line, f"card {name!r}: unclosed or malformed cloze: {exc} "
                                "(write {{c1::answer}} or {{c1::answer::hint}})"))
        return []
    if not found:
        errors.append(DeckError(path, line, f"card {name!r}: Cloze: has no {{{{c1::...}}}} gap"))
        return []
    for g in found:
        if not g.answer.strip():
            errors.append(DeckError(path, line, f"card {name!r}: cloze c{g.number} is empty"))
            return []
    gaps = sorted({g.number for g in found})
    cards = []
    for offset, gap in enumerate(gaps):
        front, back = cloze_sides(text, gap)
        answer = cloze_typing_answer(text, gap) if typed else ""
        if typed and not _typeable(answer, (path, f["Type"][0]), name, f"cloze c{gap}", errors):
            return []
        cards.append(CardDef(id=f"{deck_id}/{name}.c{gap}", kind="cloze", ord=gap, front=front,
                             back=back, position=position + offset, raw=text,
                             type_answer=answer, **common))
    return cards


# -- diagrams ------------------------------------------------------------------

LABEL_RE = re.compile(r"^\s*(?:[-*]\s+)?([^\s:]+)\s*:\s*(.*?)\s*$")
OCCURRENCE_RE = re.compile(r"^(.*\S)\s+#(\d{1,3})$")


@dataclass
class _Label:
    name: str
    text: str
    line: int
    occurrence: int  # 0: every occurrence of its text, N: only the Nth
    marks: list[Any] = field(default_factory=list)


def _cell_problem(text: str) -> str | None:
    """Why `text` can't stand in a drawing whose columns must hold: a control
    character (an escape sequence would act, not show), a tab, or a character
    that is not one column wide (wide, combining, invisible)."""
    import unicodedata

    for ch in text:
        code = ord(ch)
        if ch == "\t":
            return "has a tab; draw with spaces, so the columns hold"
        if code < 0x20 or 0x7f <= code <= 0x9f:
            return f"has the control character U+{code:04X}; a drawing is plain text"
        if (unicodedata.east_asian_width(ch) in ("W", "F") or unicodedata.combining(ch)
                or unicodedata.category(ch) in ("Mn", "Me", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")):
            what = unicodedata.name(ch, "unnamed")
            return (f"has U+{code:04X} ({what}), which is not one column wide; draw with "
                    "characters one column wide (box drawing, letters, digits)")
    return None


def _drawing(line: int, text: str, path: Path, name: str,
             errors: list[DeckError]) -> tuple[str, list[str]] | None:
    """A Diagram: field's caption and its drawing: the lines of the fenced
    block under it, trailing spaces dropped. One error and None if unusable."""
    lines = text.split("\n")
    opening = next((i for i, ln in enumerate(lines) if FENCE_RE.match(ln)), None)
    if opening is None:
        errors.append(DeckError(path, line, f"card {name!r}: Diagram: needs its drawing in a "
                                "``` fence on the lines under it"))
        return None
    closing = next((i for i in range(opening + 1, len(lines)) if FENCE_RE.match(lines[i])),
                   len(lines))
    after = next((i for i in range(closing + 1, len(lines)) if lines[i].strip()), None)
    if after is not None:
        errors.append(DeckError(path, line + after, f"card {name!r}: text after the drawing; "
                                "put it in Extra:"))
        return None
    caption = "\n".join(lines[:opening]).strip()  # Markdown, neutralised as any field is
    drawing = [ln.rstrip(" ") for ln in lines[opening + 1:closing]]
    while drawing and not drawing[-1].strip():
        drawing.pop()
    if not any(ln.strip() for ln in drawing):
        errors.append(DeckError(path, line + opening, f"card {name!r}: the drawing is empty"))
        return None
    if len(drawing) > MAX_DIAGRAM_LINES:
        errors.append(DeckError(path, line + opening, f"card {name!r}: the drawing is "
                                f"{len(drawing):,} lines long; the most is {MAX_DIAGRAM_LINES}"))
        return None
    for row, text_line in enumerate(drawing):
        at = line + opening + 1 + row
        problem = _cell_problem(text_line)
        if problem is not None:
            errors.append(DeckError(path, at, f"card {name!r}: the drawing {problem}"))
            return None
        if len(text_line) > MAX_DIAGRAM_COLUMNS:
            errors.append(DeckError(path, at, f"card {name!r}: the drawing is "
                                    f"{len(text_line):,} columns wide here; the most is "
                                    f"{MAX_DIAGRAM_COLUMNS}"))
            return None
    return caption, drawing


def _labels(line: int, text: str, path: Path, name: str,
            errors: list[DeckError]) -> list[_Label] | None:
    """The Labels: field: one `name: text` a line (`- name: text` too), the
    text optionally ending ` #N` for only its Nth occurrence in the drawing."""
    labels: list[_Label] = []
    seen: dict[str, int] = {}
    ok = True
    for offset, raw in enumerate(text.split("\n")):
        if not raw.strip():
            continue
        at = line + offset
        m = LABEL_RE.match(raw)
        if m is None or not m.group(2):
            errors.append(DeckError(path, at, f"card {name!r}: a label is written "
                                    "`name: text as drawn`"))
            ok = False
            continue
        label, shown = m.group(1), m.group(2)
        if not ID_RE.match(label):
            errors.append(DeckError(path, at, f"card {name!r}: label name {label[:40]!r} must be "
                                    "lowercase letters, digits and - (it is the card's id)"))
            ok = False
            continue
        if label in seen:
            errors.append(DeckError(path, at, f"card {name!r}: second label {label!r} (the "
                                    f"first is on line {seen[label]})"))
            ok = False
            continue
        seen[label] = at
        problem = _cell_problem(shown)
        if problem is not None:
            errors.append(DeckError(path, at, f"card {name!r}: label {label!r} {problem}"))
            ok = False
            continue
        occurrence = 0
        if (picked := OCCURRENCE_RE.match(shown)) is not None and int(picked.group(2)) >= 1:
            shown, occurrence = picked.group(1), int(picked.group(2))
        labels.append(_Label(label, shown, at, occurrence))
    if ok and not labels:
        errors.append(DeckError(path, line, f"card {name!r}: Labels: names no label"))
        return None
    if ok and len(labels) > MAX_LABELS:
        errors.append(DeckError(path, line, f"card {name!r}: {len(labels)} labels; the most "
                                f"is {MAX_LABELS} (split the drawing)"))
        return None
    return labels if ok else None


def _place_labels(labels: list[_Label], drawing: list[str], path: Path, name: str,
                  errors: list[DeckError]) -> bool:
    """Find each label's text in the drawing. The longest texts are placed
    first, and a shorter one never covers part of a longer one ("Multi-Head
    Attention" is not found inside "Masked Multi-Head Attention")."""
    from companion.cardtext import Mark

    # each column of each row: the label covering it and that label's length
    # (a grid, so that 50 labels over 4,800 cells stay linear)
    taken: list[list[tuple[str, int] | None]] = [[None] * len(line) for line in drawing]
    ok = True
    for label in sorted(labels, key=lambda lb: -len(lb.text)):
        found, inside = [], set()
        width = len(label.text)
        for row, line in enumerate(drawing):
            start = line.find(label.text)
            while start >= 0:
                end = start + width
                owner = next((cell[0] for cell in taken[row][start:end]
                              if cell is not None and cell[1] > width), None)
                if owner is None:
                    found.append(Mark(row, start, len(label.text)))
                else:
                    inside.add(owner)
                start = line.find(label.text, end)
        if label.occurrence and found:
            if label.occurrence > len(found):
                errors.append(DeckError(path, label.line, f"card {name!r}: label {label.name!r}: "
                                        f"{label.text!r} is in the drawing {len(found)} "
                                        f"time(s), so it has no #{label.occurrence}"))
                ok = False
                continue
            found = [found[label.occurrence - 1]]
        if not found:
            where = (f" only inside label {sorted(inside)[0]!r}'s text" if inside
                     else " not")
            errors.append(DeckError(path, label.line, f"card {name!r}: label {label.name!r}: "
                                    f"{label.text!r} is{where} in the drawing"))
            ok = False
            continue
        same = next((cell[0] for m in found for cell in taken[m.row][m.col:m.col + m.width]
                     if cell is not None), None)
        if same is not None:
            errors.append(DeckError(path, label.line, f"card {name!r}: label {label.name!r} "
                                    f"covers the same {label.text!r} as label {same!r} (pick "
                                    "one occurrence each with #1, #2, ...)"))
            ok = False
            continue
        label.marks = found
        for m in found:
            taken[m.row][m.col:m.col + m.width] = [(label.name, width)] * width
    return ok


def _diagram_cards(note: _Note, deck_id: str, path: Path, position: int,
                   errors: list[DeckError]) -> list[CardDef]:
    """A Diagram: note: one card per label, each showing the drawing with
    that label masked (image occlusion, in text), its answer the drawing
    uncovered; siblings, buried as a cloze's are."""
    from companion.cardtext import diagram_sides

    name = note.note_id
    raw = note.fields  # unstripped: a label's line number is its field's line plus its row
    ok = True
    for alone, needs in (("Diagram", "Labels"), ("Labels", "Diagram")):
        if alone in raw and needs not in raw:
            errors.append(DeckError(path, raw[alone][0], f"card {name!r}: {alone}: needs a "
                                    f"{needs}: field" + (" (one `name: text` a line)"
                                                         if needs == "Labels" else "")))
            ok = False
    for other in ("A", "Choices", "Reveal", "Type"):
        if other in raw and "Diagram" in raw:
            errors.append(DeckError(path, raw[other][0], f"card {name!r}: {other}: does not go "
                                    "on a Diagram: card (each label is an answer; explain in "
                                    "Extra:)"))
            ok = False
    if not ok:
        return []
    drawn = _drawing(*raw["Diagram"], path, name, errors)
    labels = _labels(*raw["Labels"], path, name, errors)
    lab, lab_params = "", dict[str, str]()
    if "Lab" in raw:
        checked = _check_lab(raw["Lab"][1].strip(), (path, raw["Lab"][0]), name, errors)
        if checked is None:
            return []
        lab, lab_params = checked
    keys: tuple[tuple[str, ...], ...] = ()
    if "Keys" in raw:
        try:
            keys = parse_keys(raw["Keys"][1])
        except ValueError as exc:
            errors.append(DeckError(path, raw["Keys"][0], f"card {name!r}: Keys: {exc}"))
            return []
    if drawn is None or labels is None:
        return []
    caption, drawing = drawn
    if not _place_labels(labels, drawing, path, name, errors):
        return []
    f = {key: text.strip() for key, (_, text) in raw.items()}
    cards = []
    for offset, label in enumerate(labels):
        front, back = diagram_sides(caption or "What is covered?", drawing, label.marks,
                                    label.text)
        cards.append(CardDef(
            id=f"{deck_id}/{name}.{label.name}", deck_id=deck_id, note_id=name, kind="diagram",
            ord=offset + 1, front=front, back=back, extra=f.get("Extra", ""),
            source=f.get("Source", ""), tags=f.get("Tags", "").split(), lab=lab,
            lab_params=lab_params, line=note.line, position=position + offset, keys=keys))
    return cards


def parse_deck(path: Path) -> tuple[Deck | None, list[DeckError]]:
    """One deck file -> (deck with its good cards, errors). A deck is None only
    when its front matter is unusable; bad cards are skipped, good ones kept.
    Its cards are checked either way, so one run reports every problem in the file."""
    errors: list[DeckError] = []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [DeckError(path, 1, f"{size:,} bytes: a deck file may hold at most "
                                    f"{MAX_FILE_BYTES:,}")]
        # a pipe named x.md, or a link to /dev/zero, is an error, not a wait
        text = read_regular(path, MAX_FILE_BYTES).decode("utf-8-sig")  # a BOM is not text
    except UnicodeDecodeError as exc:
        return None, [DeckError(path, 1, f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
    except OSError as exc:
        return None, [DeckError(path, 0, f"cannot read: {exc.strerror or exc}")]
    lines = deck_lines(text)
    meta, body = _front_matter(lines, path, errors)
    deck_id, deck_name = meta.get("id"), meta.get("name")
    overrides = "overrides" in meta
    if overrides:
        if "id" in meta:
            errors.append(DeckError(path, _key_line(lines, body, "overrides"),
                                    "a file has either id: (a deck) or overrides: (edits of "
                                    "a deck), not both"))
        deck_id, deck_name = meta.get("overrides"), meta.get("name") or "edits"
    # Front matter that read cleanly (its own errors are reported already).
    read_cleanly = body > 0 and bool(lines) and lines[0].strip() == "---" and not errors
    for key in (("overrides",) if overrides else ("id", "name")):
        if read_cleanly and not meta.get(key):
            errors.append(DeckError(path, 2, f"front matter has no {key} key"))
    for key in ("name", "description"):
        if meta.get(key) is not None and not isinstance(meta[key], (str, int, float)):
            errors.append(DeckError(path, _key_line(lines, body, key),
                                    f"deck {key} must be text, not {type(meta[key]).__name__}"))
            if key == "name":
                deck_name = None
    unknown = set(meta) - {"id", "name", "description", "parent", "overrides"}
    if unknown:
        keys = ", ".join(sorted(map(str, unknown)))
        errors.append(DeckError(path, min(_key_line(lines, body, k) for k in unknown),
                                f"unknown front matter keys: {keys}"))
    if deck_id is not None and not (isinstance(deck_id, str) and ID_RE.match(deck_id)):
        errors.append(DeckError(path, _key_line(lines, body, "overrides" if overrides else "id"),
                                f"deck id {deck_id!r} must be lowercase letters, digits and -"))
        deck_id = None
    elif deck_id in RESERVED_DECK_IDS:
        errors.append(DeckError(path, _key_line(lines, body, "id"),
                                f"deck id {deck_id!r} is companion's own (cards of imported "
                                "review logs); choose another"))
        deck_id = None
    parent = meta.get("parent")
    if parent is not None and not (isinstance(parent, str) and ID_RE.match(parent)):
        errors.append(DeckError(path, _key_line(lines, body, "parent"),
                                f"parent {str(parent)[:60]!r} must be a deck id: lowercase "
                                "letters, digits and -"))
        parent = None
    elif parent is not None and parent == deck_id:
        errors.append(DeckError(path, _key_line(lines, body, "parent"),
                                "a deck cannot be its own parent"))
        parent = None
    notes = _split_notes(lines, body, path, errors)
    usable = bool(deck_id and deck_name)
    # A deck whose front matter is unusable is refused as a whole, but its cards
    # are still checked (under a stand-in id) so their problems show in this run.
    deck = Deck(str(deck_id) if usable else "?", str(deck_name), str(meta.get("description") or ""),
                path, parent=parent, overrides=overrides, sources=[path])
    seen: dict[str, int] = {}
    position = 0
    for note in notes:
        if note.note_id in seen:
            errors.append(DeckError(path, note.line, f"duplicate card id {note.note_id!r} "
                                    f"(first on line {seen[note.note_id]})"))
            continue
        seen[note.note_id] = note.line
        cards = _cards_of(note, deck.id, path, position, errors)
        for card in cards:
            card.path = path
        deck.cards.extend(cards)
        position += max(1, len(cards))
    errors.sort(key=lambda e: e.line)  # stable: one line's problems keep their order
    return (deck if usable else None), errors


def _key_line(lines: list[str], body: int, key: object) -> int:
    """The line number of `key:` in the front matter (lines 2 .. body-1), else 2."""
    pattern = re.compile(rf"^\s*{re.escape(str(key))}\s*:")
    for index in range(1, body):
        if pattern.match(lines[index]):
            return index + 1
    return 2


def load_decks(paths: list[Path]) -> tuple[list[Deck], list[DeckError]]:
    """Every file on its own: one bad file never stops the good ones."""
    decks: list[Deck] = []
    errors: list[DeckError] = []
    owners: dict[str, Path] = {}
    edits: list[Deck] = []
    for path in paths:
        deck, errs = parse_deck(path)
        errors.extend(errs)
        if deck is None:
            continue
        if deck.overrides:
            edits.append(deck)
            continue
        if deck.id in owners:
            errors.append(DeckError(path, 2,
                                    f"deck id {deck.id!r} is already used by {owners[deck.id]}"))
            continue
        owners[deck.id] = path
        decks.append(deck)
    errors.extend(_apply_edits(decks, edits))
    errors.extend(_check_parents(decks))
    return decks, errors


def _apply_edits(decks: list[Deck], edits: list[Deck]) -> list[DeckError]:
    """Each edits file's notes in place of the same-named notes of its deck
    (keeping their place in it, so the card ids and histories stay), and its
    other notes after the deck's own."""
    errors = []
    by_id = {deck.id: deck for deck in decks}
    for edit in edits:
        deck = by_id.get(edit.id)
        if deck is None:
            errors.append(DeckError(edit.path, 2, f"overrides deck {edit.id!r}, which is not a "
                                                  "deck"))
            continue
        replaced: dict[str, list[CardDef]] = {}
        for card in edit.cards:
            replaced.setdefault(card.note_id, []).append(card)
        kept: list[CardDef] = []
        done: set[str] = set()
        for card in deck.cards:
            if card.note_id not in replaced:
                kept.append(card)
            elif card.note_id not in done:
                done.add(card.note_id)
                for offset, new in enumerate(replaced[card.note_id]):
                    kept.append(_at(new, card.position + offset))
        position = max((c.position for c in deck.cards), default=-1) + 1
        for note_id, cards in replaced.items():
            if note_id not in done:
                for card in cards:
                    kept.append(_at(card, position))
                    position += 1
        deck.cards = kept
        deck.sources.append(edit.path)
    return errors


def _at(card: CardDef, position: int) -> CardDef:
    from dataclasses import replace

    return replace(card, position=position)


def _check_parents(decks: list[Deck]) -> list[DeckError]:
    """A parent must be one of the decks, and no chain of parents may loop;
    a deck whose parent fails is put at the top (its cards still load)."""
    errors = []
    by_id = {deck.id: deck for deck in decks}
    for deck in decks:
        if deck.parent is not None and deck.parent not in by_id:
            from difflib import get_close_matches

            close = get_close_matches(deck.parent, list(by_id), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(DeckError(deck.path, _parent_line(deck.path),
                                    f"parent deck {deck.parent!r} is not a deck{hint}"))
            deck.parent = None
    for deck in decks:
        seen, parent = [deck.id], deck.parent
        while parent is not None and parent not in seen:
            seen.append(parent)
            parent = by_id[parent].parent
        if parent is not None:  # back at a deck already on the chain: a loop
            loop = " -> ".join(seen[seen.index(parent):] + [parent])
            errors.append(DeckError(deck.path, _parent_line(deck.path),
                                    f"parents loop: {loop}"))
            deck.parent = None
    return errors


def _parent_line(path: Path) -> int:
    try:
        lines = deck_lines(read_regular(path, MAX_FILE_BYTES).decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        return 2
    body = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), len(lines))
    return _key_line(lines, body, "parent")
