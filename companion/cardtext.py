"""Text bound for a terminal: Markdown with its `$...$` math turned into Unicode,
and the terminal-safety wall, `neutralise`, that every string from outside
(decks, imports, settings, lab output, file names) passes before a face
prints it."""

from __future__ import annotations

import re
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
