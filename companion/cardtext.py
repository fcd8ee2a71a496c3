"""Card text for a terminal: Markdown with its `$...$` math turned into Unicode."""

from __future__ import annotations

import re
from functools import lru_cache

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
