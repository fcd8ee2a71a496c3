"""Text bound for a terminal: Markdown with its `$...$` math turned into Unicode,
and the terminal-safety wall, `neutralise`, that every string from outside
(decks, imports, settings, lab output, file names) passes before a face
prints it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TextIO

# Everything a terminal would act on rather than show: C0 controls but tab and
# newline (ESC among them, which starts every escape sequence: OSC 52 writes the
# clipboard, OSC 0 the window title, CSI 2J clears the screen), DEL, and the C1
# controls (0x9b is a one-byte CSI).
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _placeholder(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode's control pictures: ␛ for ESC, ␍ for CR
    if code == 0x7f:
        return "\u2421"  # ␡
    return "\ufffd"  # a C1 control: the replacement character


# Letters NFKD leaves whole that Anki's `nc:` search reads as others
# (rslib/src/text.rs EXTRA_NO_COMBINING_REPLACEMENTS).
NO_COMBINING_EXTRA = str.maketrans({
    "€": "E", "Æ": "AE", "Ð": "D", "Ø": "O", "Þ": "TH", "ß": "s", "æ": "ae", "ð": "d",
    "ø": "o", "þ": "th", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "ĸ": "k",
    "Ł": "L", "ł": "l", "Ŋ": "N", "ŋ": "n", "Œ": "OE", "œ": "oe", "Ŧ": "T", "ŧ": "t",
    "Ə": "E", "ǝ": "e", "ɑ": "a"})


def without_combining(text: str | None) -> str | None:
    """`text` as Anki's `nc:` search reads it (rslib/src/text.rs
    without_combining): NFKD, combining marks dropped, a few letters spelled
    out (ß as s, æ as ae); über, Über and uber then match alike."""
    import unicodedata

    if text is None or (text.isascii()):
        return text
    kept = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.category(ch).startswith("M"))
    return kept.translate(NO_COMBINING_EXTRA)


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 idea", "2 ideas": a count with its noun (`many` for an irregular plural)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def neutralise(text: Any) -> str:
    """`text` safe to print: every control character shown as a visible
    placeholder (ESC as ␛), never emitted. Newlines and tabs stay."""
    text = "" if text is None else str(text)
    return CONTROL_RE.sub(_placeholder, text) if CONTROL_RE.search(text) else text


def neutralise_all(value: Any) -> Any:
    """`value` with every text in it (inside lists and dicts too) neutralised."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, list):
        return [neutralise_all(v) for v in value]
    if isinstance(value, dict):
        return {neutralise_all(k): neutralise_all(v) for k, v in value.items()}
    return value


_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def terminal_json(value: Any, indent: int | None = 1) -> str:
    """JSON that is safe to print and still lossless: json escapes C0 controls
    itself; DEL, the C1 controls (and U+2028/9, for JavaScript readers) are
    written as \\u escapes too, which any JSON reader turns back."""
    import json

    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shown(text: object, style: str = "") -> Any:
    """Outside text (a deck's name, a card's id or tags, a path) as a rich Text
    for a table cell or a line of a face: neutralised, and never read as rich
    markup. Rich is imported here, when a face calls it, never by the core."""
    from rich.text import Text

    return Text(neutralise(text), style=style)


class NeutralisingWriter:
    """A text stream that neutralises everything written through it (line mode
    writes card text, deck ids and lab messages this way)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(neutralise(text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

# $$display$$ or $inline$; a backslash-escaped \$ is a dollar sign, and a $
# followed by a digit with no closing $ on the line stays money ("$5").
MATH_RE = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\d)",
                     re.DOTALL)
CODE_RE = re.compile(r"(`+)(.+?)\1", re.DOTALL)


@lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


# Norm and absolute-value bars, read before pylatexenc sees them: it drops \|
# altogether, and as macros they would swallow the space after them ("‖x ‖= ρ").
# An opening bar hugs what follows it, a closing bar what precedes it.
BARS = {"lVert": "‖", "rVert": "‖", "Vert": "‖", "|": "‖", "lvert": "|", "rvert": "|"}
BARS_RE = re.compile(r"\\(lVert|lvert)(?![A-Za-z])\s*|\s*\\(rVert|rvert)(?![A-Za-z])"
                     r"|\\(Vert)(?![A-Za-z])|\\(\|)")


def latex_to_unicode(latex: str) -> str:
    latex = BARS_RE.sub(lambda m: BARS[next(g for g in m.groups() if g)], latex)
    try:
        text = _converter().latex_to_text(latex)
    except Exception:  # pylatexenc is lenient, but a learner's deck may be anything
        return latex
    return re.sub(r"\s+", " ", text).strip()


BOLD_RE = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def without_bold(text: str) -> str:
    """Text with Markdown's **bold** markers dropped (a cloze gap is shown as
    **[...]**), for places that show it as plain text: a pipe, a table cell."""
    return BOLD_RE.sub(r"\1", text)


MARKDOWN_SPECIAL = re.compile(r"([\\*_`\[\]<>])")


def math_to_unicode(text: str, markdown: bool = False) -> str:
    """Replace every math span outside code spans with its Unicode reading.
    With `markdown`, characters Markdown would take as markup (the * of b^*,
    the _ of x_i) are escaped in the math's reading, so it shows as written."""
    out, last = [], 0
    for code in CODE_RE.finditer(text):
        out.append(_convert(text[last:code.start()], markdown))
        out.append(code.group(0))
        last = code.end()
    out.append(_convert(text[last:], markdown))
    return "".join(out)


def _convert(chunk: str, markdown: bool = False) -> str:
    def repl(m: re.Match[str]) -> str:
        reading = latex_to_unicode(m.group(1) if m.group(1) is not None else m.group(2))
        return MARKDOWN_SPECIAL.sub(r"\\\1", reading) if markdown else reading

    return MATH_RE.sub(repl, chunk).replace(r"\$", "$")


# -- diagrams ------------------------------------------------------------------
# A diagram card's drawing travels in its front and back as a fenced block,
# ```diagram ROW:COL:WIDTH ...```, whose info string names the marked spans
# (the label covered on the front, the label shown on the back). Each face
# splits it out of the Markdown with `split_diagrams` and draws it with
# `diagram_renderable` (or as its plain lines in a pipe), never as Markdown,
# so it keeps its columns. A reader that doesn't know the kind (an Anki
# export) sees an ordinary code block, the mask in place.

DIAGRAM_INFO = "diagram"
MASK_FILL = "▒"
MARK_STYLE = "bold reverse"  # the mask on the front, the uncovered label on the back
_DIAGRAM_OPEN = re.compile(r"^```diagram((?: \d{1,3}:\d{1,3}:\d{1,3})*)$")
_DIAGRAM_CLOSE = "```"


@dataclass(frozen=True)
class Mark:
    """A span of one line of a drawing: `row` and `col` from 0, `width` in
    characters (every character of a drawing is one column wide)."""

    row: int
    col: int
    width: int


@dataclass(frozen=True)
class DiagramBlock:
    """A drawing as a face shows it: its lines, and the spans to mark."""

    lines: tuple[str, ...]
    marks: tuple[Mark, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def mask(width: int) -> str:
    """What covers a label `width` characters wide: as wide as it, so the
    drawing keeps its columns (`[▒▒▒▒]`, or `▒▒` for a label of one or two)."""
    return "[" + MASK_FILL * (width - 2) + "]" if width >= 3 else MASK_FILL * width


def covered(lines: list[str], marks: list[Mark]) -> list[str]:
    """`lines` with each marked span replaced by its mask."""
    out = list(lines)
    for m in sorted(marks, key=lambda m: (m.row, -m.col)):  # right to left: columns hold
        line = out[m.row]
        out[m.row] = line[:m.col] + mask(m.width) + line[m.col + m.width:]
    return out


def diagram_fence(lines: list[str], marks: list[Mark]) -> str:
    """The block as card text (Markdown): ```diagram ROW:COL:WIDTH ...```."""
    info = "".join(f" {m.row}:{m.col}:{m.width}" for m in marks)
    return f"```{DIAGRAM_INFO}{info}\n" + "\n".join(lines) + f"\n{_DIAGRAM_CLOSE}"


def diagram_sides(caption: str, lines: list[str], marks: list[Mark],
                  answer: str) -> tuple[str, str]:
    """Front and back of one label's card: the drawing with the label's
    `marks` masked under the caption, then the label named in bold over the
    drawing uncovered, the same spans marked."""
    front = f"{caption}\n\n{diagram_fence(covered(lines, marks), marks)}"
    back = f"**{markdown_literal(answer)}**\n\n{diagram_fence(lines, marks)}"
    return front, back


_LITERAL = re.compile(r"([\\*_`\[\]<>$#|~])")
_ESCAPED = re.compile(r"\\([\\*_`\[\]<>$#|~])")


def markdown_literal(text: str) -> str:
    """`text` as Markdown that reads as the text itself (a label drawn as
    `x_1 * y` is not italics, `$k$` not math)."""
    return _LITERAL.sub(r"\\\1", text)


def markdown_unescaped(text: str) -> str:
    """What `markdown_literal` escaped, as it was: for a pipe, which prints
    Markdown as plain text."""
    return _ESCAPED.sub(r"\1", text)


def split_diagrams(text: str) -> list[str | DiagramBlock]:
    """Card text as its Markdown pieces and the diagram blocks between them
    (a text with none is one piece). A block whose marks fall outside its
    lines (text from elsewhere than a deck) keeps only the marks that fit."""
    if "```diagram" not in text:
        return [text]
    parts: list[str | DiagramBlock] = []
    lines = text.split("\n")
    chunk: list[str] = []
    i = 0
    while i < len(lines):
        opened = _DIAGRAM_OPEN.match(lines[i])
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == _DIAGRAM_CLOSE), None)
        if opened is None or end is None:
            chunk.append(lines[i])
            i += 1
            continue
        if chunk:
            parts.append("\n".join(chunk))
            chunk = []
        body = lines[i + 1:end]
        marks = []
        for item in opened.group(1).split():
            row, col, width = (int(n) for n in item.split(":"))
            if row < len(body) and width and col + width <= len(body[row]):
                marks.append(Mark(row, col, width))
        parts.append(DiagramBlock(tuple(body), tuple(marks)))
        i = end + 1
    if chunk:
        parts.append("\n".join(chunk))
    return parts


def has_diagram(text: str) -> bool:
    return any(isinstance(p, DiagramBlock) for p in split_diagrams(text))


def plain_diagrams(text: str) -> str:
    """The text with each diagram block as its bare lines (for a pipe, a
    table cell, a search): the masks stay, the fence and marks go."""
    return "\n".join(p.text if isinstance(p, DiagramBlock) else p for p in split_diagrams(text))


def without_diagrams(text: str) -> str:
    """The text with each drawing as `[diagram]`, for one line of a table
    (Browse's Question column, the report's hardest cards)."""
    if "```diagram" not in text:
        return text
    return "\n".join("[diagram]" if isinstance(p, DiagramBlock) else p
                     for p in split_diagrams(text))


def diagram_renderable(block: DiagramBlock) -> Any:
    """The drawing as a rich Text: never wrapped (a narrow screen crops its
    right side instead of breaking its columns), its marks styled, every
    character neutralised. Rich is imported here, when a face calls it."""
    from rich.text import Text

    # its own line end: in a Group, end="" was measured a line short (the last line lost)
    text = Text(no_wrap=True, overflow="crop")
    for row, line in enumerate(block.lines):
        if row:
            text.append("\n")
        start = len(text)
        text.append(neutralise(line))
        for m in block.marks:
            if m.row == row:
                text.stylize(MARK_STYLE, start + m.col, start + m.col + m.width)
    return text


def diagram_group(text: str) -> Any:
    """A card side with a diagram as one rich renderable, the same in the app
    and in line mode: its Markdown pieces as Markdown (math as Unicode), each
    drawing as `diagram_renderable` draws it, a blank line between."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.text import Text

    pieces: list[Any] = []
    for part in split_diagrams(text):
        if isinstance(part, DiagramBlock):
            pieces.append(diagram_renderable(part))
        elif part.strip():
            source = math_to_unicode(neutralise(part), markdown=True).strip()
            pieces.append(Markdown(source, code_theme="ansi_dark", hyperlinks=True))
        else:
            continue
        pieces.append(Text(""))
    return Group(*pieces[:-1])
