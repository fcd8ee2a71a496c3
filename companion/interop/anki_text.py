"""An Anki field (HTML) as companion card text (Markdown).

What a card shows survives: bold, italics, underline dropped to plain text,
lists, line breaks (Anki's editor writes them as <br> and <div>), paragraphs,
links, code (a <pre> as a fenced block, its text as it is: a drawing keeps
its columns), images (as Markdown images of the copied media file), and every
HTML entity as the character it stands for. MathJax's \\(..\\) and \\[..\\]
become companion's $..$ and $$..$$. Scripts and styles are dropped. Text that
Markdown or the deck format would take as markup (a `*`, a `$`, a line that
starts with `Q:` or `##`) is escaped, so it reads as Anki showed it; cloze
markers {{cN::answer::hint}} pass through untouched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import quote

# Sentinels between the parser and the final text: a hard line break, a new
# line that starts a list item, a paragraph break.
# Characters of Unicode's private use area stand for them, and for the
# markers the parser writes; a field's own such characters are dropped first.
_BR, _NL, _PARA, _BLOCK = "\ue000", "\ue001", "\ue002", "\ue00a"
_OPEN, _CLOSE = "\ue003", "\ue004"  # around a marker: _OPEN kind text _CLOSE
_EM_OPEN, _EM_CLOSE = "\ue005", "\ue006"  # before an opening / a closing * or **
_ITEM = "\ue007"  # starts a list item's line
_PRIVATE = re.compile("[\ue000-\ue00f]")
_SENTINELS = re.compile("[ \t]*[\ue000-\ue002\ue00a](?:[ \t]*[\ue000-\ue002\ue00a])*[ \t]*")
_MATH = re.compile(r"\\\((.*?)\\\)|\\\[(.*?)\\\]", re.DOTALL)
_MATH_SLOT = re.compile("\ue008(\\d+)\ue009")
_TAG = re.compile(r"<[^>]*>")
# what Markdown (CommonMark) would read as markup inside a line
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<$|~])")
_ENTITY_LIKE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# what would start a block at the beginning of a line: a heading, a quote, a
# list item, a thematic break, a code fence; and the deck format's fields
_LINE_START = re.compile(r"^(\s*)(#|>|[-+*](?=\s|$)|\d{1,9}(?=[.)](?:\s|$))|=+\s*$|-+\s*$|`{3}"
                         r"|~{3})")
_DECK_FIELD = re.compile(r"^(Q|A|Cloze|Predict|Choices|Reveal|Type|Extra|Source|Tags|Lab|Keys"
                         r"|Exercise|Diagram|Labels):")

BLOCKS = {"div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table",
          "tr", "section", "article", "header", "footer", "figure", "figcaption", "dl", "dt",
          "dd", "center", "address"}
DROPPED = {"script", "style", "head", "title", "template", "noscript", "object", "iframe"}
VOID = {"br", "img", "hr", "wbr", "input", "meta", "link", "source", "col", "area", "embed"}


class _Converter(HTMLParser):
    def __init__(self, image: Callable[[str], str | None]):
        super().__init__(convert_charrefs=True)
        self.image = image
        self.out: list[str] = []
        self.dropping = 0
        self.lists: list[list[int]] = []  # per open list: [is_ordered, next number]
        self.links: list[str | None] = []
        self.pre = 0
        self.pre_start = 0  # where the outermost <pre>'s tokens start in `out`
        self.paragraph_blocks = 0  # inside <p>, <h1>..: paragraph breaks around

    # -- the parser's callbacks ------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self.dropping += 1
            return
        if self.dropping:
            return
        values = {k: v or "" for k, v in attrs}
        if tag == "br":
            self.out.append(_BR)
        elif tag in ("b", "strong"):
            self.out.append(_OPEN + "*" + _CLOSE)
        elif tag in ("i", "em"):
            self.out.append(_OPEN + "_" + _CLOSE)
        elif tag == "code" and not self.pre:
            self.out.append(_OPEN + "`" + _CLOSE)
        elif tag in ("ul", "ol"):
            self.lists.append([int(tag == "ol"), 1])
            self.out.append(_PARA if len(self.lists) == 1 else _NL)
        elif tag == "li":
            depth = max(len(self.lists), 1)
            ordered, number = self.lists[-1] if self.lists else [0, 1]
            marker = f"{number}. " if ordered else "- "
            if self.lists:
                self.lists[-1][1] += 1
            self.out.append(_NL)
            self.out.append(_OPEN + "i" + "  " * (depth - 1) + marker + _CLOSE)
        elif tag == "img":
            target = self.image(values.get("src", ""))
            if target is not None:
                alt = _escape_inline(values.get("alt", ""))
                path = quote(target, safe="/.-_~")
                self.out.append(_OPEN + f"r![{alt}]({path})" + _CLOSE)
        elif tag == "a":
            self.links.append(values.get("href") or None)
            self.out.append(_OPEN + "[" + _CLOSE)
        elif tag == "hr":
            self.out.append(_PARA + _OPEN + "r---" + _CLOSE + _PARA)
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "pre":
            self.pre += 1
            self.out.append(_PARA)
            if self.pre == 1:
                self.pre_start = len(self.out)
        elif tag in BLOCKS:
            self.out.append(_PARA if tag in ("p", "blockquote") or tag[0] == "h" and len(tag) == 2
                            else _BLOCK)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.dropping = max(0, self.dropping - 1)
            return
        if self.dropping:
            return
        if tag in ("b", "strong"):
            self.out.append(_OPEN + "/*" + _CLOSE)
        elif tag in ("i", "em"):
            self.out.append(_OPEN + "/_" + _CLOSE)
        elif tag == "code" and not self.pre:
            self.out.append(_OPEN + "/`" + _CLOSE)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self.out.append(_PARA if not self.lists else _NL)
        elif tag == "a":
            href = self.links.pop() if self.links else None
            self.out.append(_OPEN + "]" + (href or "") + _CLOSE)
        elif tag in ("td", "th"):
            self.out.append(" |")
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
            if not self.pre:
                self._fence_pre()
            self.out.append(_PARA)
        elif tag in BLOCKS:
            self.out.append(_PARA if tag in ("p", "blockquote") or tag[0] == "h" and len(tag) == 2
                            else _BLOCK)

    def _fence_pre(self) -> None:
        """The <pre> just closed as a fenced code block: its text as it is
        (a drawing's columns, a code's indentation), nothing in it escaped or
        read as markup, each line marked so no line-start escape touches it."""
        tokens, self.out = self.out[self.pre_start:], self.out[:self.pre_start]
        code = "".join("\n" if t == _BR else t for t in tokens
                       if t == _BR or not (t.startswith(_OPEN) or t in (_NL, _PARA, _BLOCK)))
        code = code.strip("\n")
        if not code.strip():
            return
        longest = max((len(run) for run in re.findall("`+", code)), default=0)
        fence = "`" * max(3, longest + 1)
        lines = [fence, *code.split("\n"), fence]
        self.out.append(_OPEN + "r" + "\n".join(_ITEM + line for line in lines) + _CLOSE)

    def handle_data(self, data: str) -> None:
        if self.dropping:
            return
        data = data.replace("\xa0", " ")
        if not self.pre:
            data = re.sub(r"[ \t\r\n\f]+", " ", data)
        self.out.append(data)


def _escape_inline(text: str) -> str:
    text = _INLINE_SPECIAL.sub(r"\\\1", text)
    return _ENTITY_LIKE.sub(r"\\&", text)


def _escape_text(text: str) -> str:
    """Plain text (never a marker) escaped for Markdown, math slots kept."""
    pieces, last = [], 0
    for slot in _MATH_SLOT.finditer(text):
        pieces.append(_escape_inline(text[last:slot.start()]))
        pieces.append(slot.group(0))
        last = slot.end()
    pieces.append(_escape_inline(text[last:]))
    return "".join(pieces)


def _math(latex: str, display: bool) -> str:
    body = html.unescape(_TAG.sub("", latex)).replace("\xa0", " ")
    body = re.sub(r"\s+", " ", body).strip()
    if not body:
        return ""
    return f"$${body}$$" if display else f"${body}$"


def html_to_markdown(field: str, image: Callable[[str], str | None] = lambda src: None) -> str:
    """An Anki field's HTML as companion's Markdown. `image` maps an <img src>
    to the path the Markdown image should name (None: leave the image out)."""
    field = _PRIVATE.sub("", field.replace("\x00", ""))
    maths: list[str] = []

    def stash(match: re.Match[str]) -> str:
        display = match.group(2) is not None
        maths.append(_math(match.group(2) if display else match.group(1), display))
        return f"\ue008{len(maths) - 1}\ue009"

    field = _MATH.sub(stash, field)
    parser = _Converter(image)
    parser.feed(field)
    parser.close()
    return _render(parser.out, maths)


def _render(tokens: list[str], maths: list[str]) -> str:
    """Parser tokens -> Markdown text: plain text escaped, markers written,
    breaks collapsed (a paragraph break wins over a line break)."""
    out: list[str] = []
    for token in tokens:
        if token in (_BR, _NL, _PARA, _BLOCK):
            out.append(token)
        elif token.startswith(_OPEN) and token.endswith(_CLOSE):
            out.append(_marker(token[1:-1]))
        else:
            out.append(_escape_text(token))
    text = "".join(out)
    # emphasis markers hug their text: "** x**" is not bold in Markdown
    text = re.sub("\ue005(\\*\\*|\\*)(\\s+)", lambda m: m.group(2) + _EM_OPEN + m.group(1), text)
    text = re.sub("(\\s+)\ue006(\\*\\*|\\*)", lambda m: _EM_CLOSE + m.group(2) + m.group(1), text)
    text = re.sub("\ue005(\\*\\*|\\*)\ue006(\\*\\*|\\*)", "", text)  # an empty <b></b>
    text = text.replace(_EM_OPEN, "").replace(_EM_CLOSE, "")

    def collapse(match: re.Match[str]) -> str:
        run = match.group(0)
        if match.start() == 0 or match.end() == len(text):
            return ""
        if _PARA in run:
            return "\n\n"
        # the lines a browser would end: each <br>, and a block's edge after text
        lines, after_text = 0, True
        for mark in run:
            if mark == _BR or (mark == _BLOCK and after_text):
                lines += 1
                after_text = False
        if lines > 1:
            return "\n\n"
        if _NL in run:
            return "\n"
        return "\\\n" if lines else " "

    text = _SENTINELS.sub(collapse, text)
    lines = [_escape_line_start(line.rstrip()) for line in text.split("\n")]
    text = "\n".join(lines)
    text = _MATH_SLOT.sub(lambda m: maths[int(m.group(1))], text)
    return _PRIVATE.sub("", text).strip()


def _marker(body: str) -> str:
    if body in ("*", "/*"):
        return _EM_OPEN + "**" if body == "*" else _EM_CLOSE + "**"
    if body in ("_", "/_"):
        return _EM_OPEN + "*" if body == "_" else _EM_CLOSE + "*"
    if body in ("`", "/`"):
        return "`"
    if body == "[":
        return "["
    if body.startswith("]"):
        href = body[1:]
        return f"]({href.replace(' ', '%20').replace(')', '%29')})" if href else "]"
    if body.startswith("r"):
        return body[1:]
    if body.startswith("i"):
        return _ITEM + body[1:]  # a list item's marker: not escaped
    return ""


def _escape_line_start(line: str) -> str:
    """A line that would start a block or a deck field reads as text."""
    if line.startswith(_ITEM):
        return line[1:]
    if _DECK_FIELD.match(line):
        return line.replace(":", "\\:", 1)
    match = _LINE_START.match(line)
    if match:
        at = match.end(2) if match.group(2)[0].isdigit() else match.end(1)
        return line[:at] + "\\" + line[at:]
    return line
