"""Card text: Markdown with its `$...$` math as Unicode, drawn in one widget.

Rich's Markdown renderer in a single Static, rather than Textual's Markdown
widget: that one mounts a widget per block on every update, which alone took
the grade key to the next card past 50 ms; this redraws in one pass.

A card's images (`![alt](file.png)`) are drawn where they stand, between
parts of its text, in a terminal that draws images; anywhere else (and in
the headless tests) each reads as its alt text and file name. A card with no
image never mounts a widget nor imports the image library.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from rich.markdown import Markdown
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from companion.cardimages import CardImage, find_images, image_protocol, with_fallbacks
from companion.cardtext import diagram_group, math_to_unicode, neutralise, plain_diagrams


@cache
def _environment_protocol() -> str | None:
    stream = sys.__stdout__
    return image_protocol(os.environ, is_tty=bool(stream is not None and stream.isatty()))


def terminal_protocol(app: App[Any]) -> str | None:
    """How the app's terminal draws images (None: it draws none, or the app
    runs headless)."""
    return None if app.is_headless else _environment_protocol()


def _markdown(source: str) -> Any:
    return Markdown(source, code_theme="ansi_dark", hyperlinks=True) if source else ""


class CardText(Widget):
    DEFAULT_CSS = """
    CardText { height: auto; layout: vertical; }
    CardText > .card-part { height: auto; }
    CardText > .card-image { margin: 1 0 0 0; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.source = ""  # the Markdown shown, math converted, each image as its alt text
        self.images: list[CardImage] = []  # the images in it, each found or not
        self.drawn: list[CardImage] = []  # those drawn as images
        self._text = Static("", classes="card-part")
        self._parts: list[Widget] = []  # after the first text: images and the text between
        self._diagram: Any = None  # a diagram card's text, drawn by diagram_group

    def compose(self) -> ComposeResult:
        yield self._text

    @property
    def content(self) -> Any:
        """What the text shows, as Static.content (its images as alt text)."""
        return self._diagram if self._diagram is not None else _markdown(self.source)

    def show(self, text: str, image_roots: Sequence[Path] | None = None) -> None:
        """Show `text`; its images are looked for in `image_roots` (None: not
        looked for, each shows as its alt text)."""
        self._diagram = diagram_group(text) if "```diagram" in text else None
        if self._diagram is not None:  # drawn as it is: no Markdown, no images in the drawing
            self.source = math_to_unicode(neutralise(plain_diagrams(text)))
            self.images, self.drawn = [], []
            self._clear_parts()
            self._text.update(self._diagram)
            return
        # A shared deck's text reaches the terminal only through the neutraliser.
        source = math_to_unicode(neutralise(text), markdown=True) if text else ""
        self.images = find_images(source, image_roots) if "![" in source else []
        self.source = with_fallbacks(source, self.images) if self.images else source
        self.drawn = []
        protocol = terminal_protocol(self.app) if self.images else None
        if protocol is None or not any(image.path for image in self.images):
            self._clear_parts()
            self._text.update(_markdown(self.source))
            return
        self._show_with_images(source, protocol)

    def _show_with_images(self, source: str, protocol: str) -> None:
        from companion.tui.widgets.cardimage import image_widget

        # an image takes at most the width and a third of the height of the screen
        max_cols = max(8, (self.size.width or self.app.size.width - 6))
        max_rows = max(4, self.app.size.height // 3)
        chunks: list[str | Widget] = []  # text, image, text, image, ..., text
        text, last, shown = "", 0, ""
        for image in self.images:
            text += source[last:image.start]
            shown += source[last:image.start]
            last = image.end
            widget, reason = (image_widget(protocol, image.path, max_cols, max_rows)
                              if image.path is not None else (None, image.reason))
            fallback = with_fallbacks(source[image.start:image.end], [_moved(image, reason)])
            shown += fallback
            if widget is None:
                text += fallback
                continue
            self.drawn.append(image)
            chunks.extend([text, widget])
            text = ""
        chunks.append(text + source[last:])
        self.source = shown + source[last:]  # what a reason not to draw one says
        self._clear_parts()
        first, rest = chunks[0], chunks[1:]
        self._text.update(_markdown(str(first).strip()))
        self._text.display = bool(str(first).strip())
        parts: list[Widget] = []
        for chunk in rest:
            if isinstance(chunk, Widget):
                parts.append(chunk)
            elif chunk.strip():
                parts.append(Static(_markdown(chunk.strip()), classes="card-part"))
        self._parts = parts
        if parts:
            self.mount_all(parts)

    def _clear_parts(self) -> None:
        self._text.display = True
        if not self._parts:
            return
        from companion.tui.widgets.cardimage import forget_image

        for part in self._parts:
            if "card-image" in part.classes:
                forget_image(part)
            part.remove()
        self._parts = []


def _moved(image: CardImage, reason: str) -> CardImage:
    """`image` as found at the start of its own text, with the reason it isn't drawn."""
    from dataclasses import replace

    return replace(image, start=0, end=image.end - image.start, path=None, reason=reason)
