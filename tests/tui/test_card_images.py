"""A card's images in the app: drawn by textual-image where the terminal can
draw them, the alt text and file name elsewhere (the headless tests), and a
file outside the deck's folder, missing, or too large always the alt text
with the reason."""

from __future__ import annotations

import struct
import zlib

import pytest

from companion.tui.widgets.cardtext import CardText

from ..conftest import write_deck
from .conftest import make_app, ready, run, settle

IMAGE_DECK = """
## map
Q: Where is this? ![a map of France](map.png) ![gone](gone.png)
A: France. ![huge](huge.png) ![secret](../../secret.png)

## plain
Q: No image here
A: None
"""


def png(path, width: int = 4, height: int = 3) -> None:
    """A PNG header that says `width` × `height` (the pixels need not follow:
    an image is sized by its header before anything is decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\0" + b"\x80\x40\x20" * width for _ in range(height))
    data = zlib.compress(raw) if width * height < 10_000 else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))


@pytest.fixture
def image_home(tui_home):
    decks = tui_home / "decks"
    write_deck(decks, "images.md", IMAGE_DECK, deck_id="aaa", deck_name="AAA")
    png(decks / "map.png")
    png(decks / "huge.png", 10_000, 5_000)
    png(tui_home.parent / "secret.png")
    return tui_home


async def first_card(pilot):
    await ready(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert screen.card.id == "aaa/map"
    return screen


@run
async def test_headless_the_images_read_as_alt_text_and_file_name(image_home):
    app = make_app(image_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_card(pilot)
        front = screen.query_one("#front", CardText)
        assert "Where is this? \\[image: a map of France — map.png\\]" in front.source
        assert "\\[image: gone — gone.png: not found\\]" in front.source
        assert front.drawn == [] and not front.query(".card-image")
        await pilot.press("space")
        await settle(pilot)
        back = screen.query_one("#back", CardText)
        assert "\\[image: secret — ../../secret.png: outside the deck's folder\\]" in back.source
        # huge.png is a file in the folder; only a terminal that draws finds it too large
        assert "\\[image: huge — huge.png\\]" in back.source


@run
async def test_where_the_terminal_draws_images_the_image_widget_is_chosen(image_home,
                                                                          monkeypatch):
    pytest.importorskip("textual_image")
    from companion.tui.widgets import cardtext

    monkeypatch.setattr(cardtext, "terminal_protocol", lambda app: "sixel")
    app = make_app(image_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_card(pilot)
        front = screen.query_one("#front", CardText)
        [image] = front.query(".card-image")
        from textual_image.widget import SixelImage

        assert isinstance(image, SixelImage)
        assert [i.src for i in front.drawn] == ["map.png"]
        # the text around it, and the missing one as its alt text with the reason
        parts = [str(p.render()) for p in front.query(".card-part")]
        assert len(parts) == 2 and "gone — gone.png: not found" in front.source
        await pilot.press("space")
        await settle(pilot)
        back = screen.query_one("#back", CardText)
        assert back.drawn == [] and not back.query(".card-image")
        assert "huge.png: too large (10,000×5,000 pixels)" in back.source
        await pilot.press("1")
        await settle(pilot)
        assert screen.card.id == "aaa/plain"  # no image: the widget is gone
        assert not front.query(".card-image") and front.drawn == []


@run
async def test_kitty_graphics_get_their_own_widget(image_home, monkeypatch):
    pytest.importorskip("textual_image")
    from companion.tui.widgets import cardtext

    monkeypatch.setattr(cardtext, "terminal_protocol", lambda app: "kitty")
    app = make_app(image_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await first_card(pilot)
        [image] = screen.query_one("#front", CardText).query(".card-image")
        from textual_image.widget import TGPImage

        assert isinstance(image, TGPImage)


def test_an_image_keeps_its_shape_and_is_never_blown_up():
    from companion.tui.widgets.cardimage import fitted_cells

    assert fitted_cells(200, 100, (10, 20), 76, 8) == (20, 5)  # its own size
    assert fitted_cells(2000, 1000, (10, 20), 76, 8) == (32, 8)  # shrunk to 8 rows
    assert fitted_cells(4000, 200, (10, 20), 76, 8) == (76, 2)  # shrunk to the width


def _app_in_a_pty(home, protocol: str, wanted: bytes, timeout: float = 30.0) -> bytes:
    """The installed app on a pseudo-terminal of 80×24, told the terminal
    draws `protocol`: what it writes until `wanted` has come after the first
    card is opened (Down, Enter on Home), then quit."""
    import os
    import pty
    import select
    import sys
    import time
    from pathlib import Path

    script = Path(sys.executable).with_name("companion")
    if not script.exists():
        pytest.skip(f"the `companion` console script is not installed next to {sys.executable}")
    env = {**os.environ, "COMPANION_HOME": str(home), "COMPANION_IMAGES": protocol,
           "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(str(script), [str(script)], env)
    import fcntl
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out, opened, end = b"", None, time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready_fds, _, _ = select.select([fd], [], [], 0.1)
            if ready_fds:
                try:
                    out += os.read(fd, 1 << 16)
                except OSError:
                    break
            if opened is None and b"Enter study" in out:
                time.sleep(0.3)
                os.write(fd, b"\x1b[B")
                time.sleep(0.3)
                os.write(fd, b"\r")
                opened = len(out)
            if opened is not None and wanted in out[opened:] and out.endswith((b"\x1b\\", b"m")):
                time.sleep(0.5)
                break
        os.write(fd, b"\x11")  # ctrl+q
        time.sleep(0.5)
    finally:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    assert opened is not None, out[-500:]
    return out[opened:]


@pytest.fixture
def drawn_home(image_home):
    (image_home / "settings.toml").write_text('timezone = "UTC"\n')
    return image_home


def test_on_a_sixel_terminal_the_cards_image_is_drawn_in_sixels(drawn_home):
    """What a sixel terminal (foot, WezTerm, xterm -ti vt340) is sent: a DCS
    sixel image whose one colour is the PNG's (0x80 0x40 0x20 as percents)."""
    pytest.importorskip("textual_image")
    out = _app_in_a_pty(drawn_home, "sixel", b"\x1bP")
    start = out.index(b"\x1bP")
    sixel = out[start:out.index(b"\x1b\\", start)]
    assert b"q\"1;1;" in sixel[:20]  # sixel data with its raster size
    assert b"#0;2;50;25;13" in sixel


def test_on_a_kitty_terminal_the_cards_image_is_sent_as_a_png(drawn_home):
    """What kitty (or Ghostty, WezTerm with the kitty protocol) is sent: the
    graphics protocol's APC commands carrying the image as a PNG."""
    pytest.importorskip("textual_image")
    import base64
    import re

    out = _app_in_a_pty(drawn_home, "kitty", b"\x1b_G")
    chunks = re.findall(rb"\x1b_G([^;\x1b]*);([A-Za-z0-9+/=]*)\x1b\\", out)
    first = next(i for i, (keys, _) in enumerate(chunks) if b"f=100" in keys)
    data = b""
    for keys, payload in chunks[first:]:
        data += payload
        if b"m=1" not in keys:
            break
    image = base64.b64decode(data)
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    import io

    from PIL import Image

    with Image.open(io.BytesIO(image)) as drawn:  # the card's map.png, its colour kept
        assert drawn.width > 0 and drawn.height > 0
        assert drawn.convert("RGB").getpixel((0, 0)) == (0x80, 0x40, 0x20)
