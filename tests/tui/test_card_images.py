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
