"""A card's image, drawn by textual-image in a terminal that can (kitty's
graphics protocol, sixel), imported only when the first card with an image
is shown, so the app starts without it.

textual-image asks the terminal what it supports when it is imported, and
reads the answer from stdin; once Textual runs, its input thread owns stdin
and would take the answer (and the query's bytes would reach the screen). So
the protocol is chosen from the environment (companion.cardimages), and the
import is made to skip its queries: for that moment sys.__stdout__ reads as no
terminal, and the cell size in pixels, which it would otherwise ask for, is
given through its own TEXTUAL_CELL_WIDTH/HEIGHT (read by ioctl, which asks
nothing). Any failure here shows the alt text, never a crash.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

from textual.widget import Widget

from companion.cardimages import MAX_IMAGE_PIXELS, SIXEL, TGP

_DEFAULT_CELL = (10, 20)  # a cell's pixels when the terminal doesn't say (textual-image's too)
_lock = threading.Lock()
_classes: dict[str, Any] = {}


class _NotATerminal:
    """sys.__stdout__ as textual-image's import sees it: the same stream, no tty."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _cell_pixels() -> tuple[int, int] | None:
    """A terminal cell's width and height in pixels, as the kernel knows them."""
    try:
        import fcntl
        import struct
        import termios

        stream = sys.__stdout__
        if stream is None or not stream.isatty():
            return None
        rows, cols, width, height = struct.unpack(
            "HHHH", fcntl.ioctl(stream.fileno(), termios.TIOCGWINSZ, b"\0" * 8))
    except (ImportError, OSError, ValueError):
        return None
    if rows and cols and width and height:
        return width // cols, height // rows
    return None


def image_widget_class(protocol: str) -> Any:
    """textual-image's widget class for `protocol` (TGP or SIXEL)."""
    with _lock:
        if protocol not in _classes:
            saved_env = {k: os.environ.get(k) for k in ("TEXTUAL_CELL_WIDTH",
                                                          "TEXTUAL_CELL_HEIGHT")}
            cell = _cell_pixels()
            if cell is not None and not all(saved_env.values()):
                os.environ["TEXTUAL_CELL_WIDTH"], os.environ["TEXTUAL_CELL_HEIGHT"] = map(str, cell)
            stdout = sys.__stdout__
            setattr(sys, "__stdout__", _NotATerminal(stdout))
            try:
                from textual_image.widget import SixelImage, TGPImage
            finally:
                setattr(sys, "__stdout__", stdout)
                for key, value in saved_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            _classes.update({TGP: TGPImage, SIXEL: SixelImage})
        return _classes[protocol]


def fitted_cells(width: int, height: int, cell: tuple[int, int], max_cols: int,
                 max_rows: int) -> tuple[int, int]:
    """The image's size in cells: its own size at the terminal's cell size,
    shrunk (never grown) to fit `max_cols` × `max_rows`, its shape kept."""
    cols, rows = width / cell[0], height / cell[1]
    scale = min(1.0, max_cols / cols, max_rows / rows)
    return max(1, round(cols * scale)), max(1, round(rows * scale))


def image_widget(protocol: str, path: Path, max_cols: int = 76,
                 max_rows: int = 8) -> tuple[Widget | None, str]:
    """(a widget drawing the image at `path` in at most `max_cols` × `max_rows`
    cells, "") or (None, why it can't)."""
    try:
        cls = image_widget_class(protocol)
        import warnings

        from PIL import Image as PILImage

        with warnings.catch_warnings():  # a warning on stderr would land on the screen
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            try:
                with PILImage.open(path) as image:
                    width, height = image.size
            except PILImage.DecompressionBombError:
                return None, f"too large (over {MAX_IMAGE_PIXELS:,} pixels)"
        if width * height > MAX_IMAGE_PIXELS:
            return None, f"too large ({width:,}×{height:,} pixels)"
        widget: Widget = cls(str(path), classes="card-image")
        cols, rows = fitted_cells(width, height, _cell_pixels() or _DEFAULT_CELL, max_cols,
                                  max_rows)
        widget.styles.width, widget.styles.height = cols, rows
        return widget, ""
    except Exception as exc:  # a broken file or library: the alt text, never a crash
        return None, f"can't be drawn ({type(exc).__name__})"


def forget_image(widget: Widget) -> None:
    """Free what the terminal holds of a drawn image before the widget goes."""
    try:
        widget.image = None  # type: ignore[attr-defined]  # textual-image's widget
    except Exception:
        pass
