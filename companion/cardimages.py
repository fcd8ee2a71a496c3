"""Images in a card: `![alt](file.png)` in its Markdown.

A terminal that draws images (kitty's graphics protocol, sixel: iTerm2,
WezTerm, foot, Konsole...) shows the image; anywhere else, and always in line
mode, the card reads `[image: alt — file.png]`. An image file is looked for
in the deck file's folder, then in the `media/` folder of the data dir (where
imported Anki media go), and nowhere else: a path that leaves those folders
(`../`, an absolute path, a link pointing out), a URL, a missing file, one too
large or not an image all show the alt text with a short reason, and no file
outside those folders is ever opened.

Deciding whether the terminal can draw is done from the environment alone
(`image_protocol`): asking the terminal means reading its answer from stdin,
which a running Textual app owns.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# ![alt](src) or ![alt](<src with spaces> "title")
IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\(\s*(<[^>\n]*>|[^\s)]*)(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?"
                      r"\s*\)")
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)
_FENCE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.DOTALL | re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
MAX_IMAGE_BYTES = 10_000_000
MAX_IMAGE_PIXELS = 40_000_000  # a face checks it when it opens the image
MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"),
         (b"GIF89a", "GIF"), (b"BM", "BMP"))
FORMATS = "a PNG, JPEG, GIF, WebP or BMP image"

OUTSIDE = "outside the deck's folder"
NOT_FOUND = "not found"


@dataclass(frozen=True)
class CardImage:
    alt: str
    src: str  # as the card writes it
    start: int  # where `![alt](src)` is in the card's text
    end: int
    path: Path | None = None  # the file to draw, when one may be drawn
    reason: str = ""  # why there is none ("" when there is)

    def fallback(self, reason: str | None = None) -> str:
        """What a terminal that draws no image shows: `[image: alt — file.png]`,
        with the reason when the file can't be shown anywhere."""
        why = self.reason if reason is None else reason
        where = f"{self.src}: {why}" if why else self.src
        return f"[image: {self.alt} — {where}]" if self.alt.strip() else f"[image: {where}]"


def media_dir() -> Path:
    """Where imported Anki media go: `media/` in the data dir."""
    from companion.paths import home

    return home() / "media"


def image_roots(deck_path: str | Path | None, media: Path | None = None) -> tuple[Path, ...]:
    """The folders a card's images may come from: its deck file's, then media/."""
    roots = []
    if deck_path:
        roots.append(Path(deck_path).parent)
    roots.append(media if media is not None else media_dir())
    return tuple(roots)


def _code_ranges(text: str) -> list[tuple[int, int]]:
    return [m.span() for pattern in (_FENCE, _CODE_SPAN) for m in pattern.finditer(text)]


def find_images(text: str, roots: Sequence[Path] | None = None) -> list[CardImage]:
    """Every `![alt](src)` outside code, each resolved against `roots` (None:
    not looked for, so none is drawn and none gives a reason)."""
    if "![" not in text:
        return []
    code = _code_ranges(text)
    found = []
    for m in IMAGE_RE.finditer(text):
        if any(a <= m.start() < b for a, b in code):
            continue
        src = m.group(2)
        if src.startswith("<") and src.endswith(">"):
            src = src[1:-1].strip()
        path, reason = resolve_image(src, roots) if roots is not None else (None, "")
        found.append(CardImage(m.group(1).strip(), src, m.start(), m.end(), path, reason))
    return found


def resolve_image(src: str, roots: Sequence[Path]) -> tuple[Path | None, str]:
    """(the image file, "") or (None, why not). A path is taken inside each
    root in turn; one that leaves it, by `..`, an absolute path or a link
    pointing out, is refused before anything outside is opened."""
    if not src:
        return None, "no file named"
    if _SCHEME.match(src) and not re.match(r"^[A-Za-z]:[\\/]", src):
        return None, "not a local file"
    if os.path.isabs(src) or src.startswith("~") or "\x00" in src or "\u2400" in src:
        return None, OUTSIDE
    if not roots:
        return None, NOT_FOUND
    from urllib.parse import unquote

    names = [src] + ([unquote(src)] if unquote(src) != src else [])
    outside = False  # it, or a link it names, is outside a folder it was looked for in
    for root in roots:
        for name in names:
            try:
                base = os.path.realpath(root)
                # Lexically first: `..` that climbs out is refused unread.
                lexical = os.path.normpath(os.path.join(base, name))
                real = os.path.realpath(lexical) if _within(base, lexical) else None
                if real is None or not _within(base, real):  # a link inside may point out
                    outside = True
                    continue
                if os.path.isfile(real):
                    return _checked(Path(real))
            except (OSError, ValueError):
                continue
    return None, OUTSIDE if outside else NOT_FOUND


def _within(base: str, path: str) -> bool:
    return os.path.commonpath([base, path]) == base


def _checked(path: Path) -> tuple[Path | None, str]:
    """The file if it is an image of a size to show, else why not."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return None, (f"too large ({size / 1e6:.1f} MB; the most is "
                          f"{MAX_IMAGE_BYTES // 1_000_000} MB)")
        with path.open("rb") as file:
            head = file.read(16)
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or 'error'})"
    if any(head.startswith(magic) for magic, _ in MAGIC) or (
            head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return path, ""
    return None, f"not {FORMATS}"


_MARKDOWN_SPECIAL = re.compile(r"([\\*_`\[\]<>!#|~])")


def with_fallbacks(text: str, images: Sequence[CardImage], markdown: bool = True,
                   reason: str | None = None) -> str:
    """`text` with each of `images` (found in it) read as its fallback. With
    `markdown`, the fallback is escaped so Markdown shows it as written."""
    out, last = [], 0
    for image in images:
        out.append(text[last:image.start])
        fallback = image.fallback(reason if image.path is not None else None)
        out.append(_MARKDOWN_SPECIAL.sub(r"\\\1", fallback) if markdown else fallback)
        last = image.end
    out.append(text[last:])
    return "".join(out)


TGP, SIXEL = "kitty", "sixel"


def image_protocol(environ: Mapping[str, str], is_tty: bool) -> str | None:
    """How this terminal draws images, from its environment: "kitty" (the
    kitty graphics protocol), "sixel", or None (it draws none, or can't be
    told to: then the alt text shows). COMPANION_IMAGES=kitty, sixel or off
    says it outright, for a terminal not recognised here (xterm -ti vt340, a
    tmux built with sixel)."""
    if not is_tty:
        return None
    chosen = environ.get("COMPANION_IMAGES", "").strip().lower()
    if chosen in ("off", "none", "no", "0", "false"):
        return None
    if chosen in ("kitty", "tgp"):
        return TGP
    if chosen == "sixel":
        return SIXEL
    term = environ.get("TERM", "")
    program = environ.get("TERM_PROGRAM", "")
    if environ.get("TMUX") or term.startswith(("screen", "tmux")):
        return None  # a multiplexer passes neither protocol through by default
    if environ.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return TGP
    if term == "xterm-ghostty" or program.lower() == "ghostty":
        return TGP
    if program in ("iTerm.app", "WezTerm") or environ.get("WEZTERM_EXECUTABLE"):
        return SIXEL
    if term.startswith(("foot", "mlterm", "contour")) or environ.get("KONSOLE_VERSION"):
        return SIXEL
    return None
