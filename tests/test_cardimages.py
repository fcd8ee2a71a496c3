"""A card's images: found in its Markdown, looked for only in the deck's folder
and the data dir's media/, refused with a short reason otherwise (never
opening a file outside), and drawn only in a terminal known to draw them."""

from __future__ import annotations

import os

import pytest

from companion.cardimages import (
    MAX_IMAGE_BYTES,
    NOT_FOUND,
    OUTSIDE,
    SIXEL,
    TGP,
    find_images,
    image_protocol,
    image_roots,
    resolve_image,
    with_fallbacks,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


@pytest.fixture
def folders(tmp_path):
    deck = tmp_path / "decks"
    media = tmp_path / "home" / "media"
    deck.mkdir()
    media.mkdir(parents=True)
    (deck / "fig.png").write_bytes(PNG)
    (deck / "sub").mkdir()
    (deck / "sub" / "b.png").write_bytes(PNG)
    (media / "anki.png").write_bytes(PNG)
    (media / "my fig.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(PNG)
    return image_roots(deck / "deck.md", media)


def test_an_image_is_found_in_the_deck_folder_then_in_media(folders):
    deck, media = folders
    assert resolve_image("fig.png", folders) == (deck / "fig.png", "")
    assert resolve_image("sub/../sub/b.png", folders) == (deck / "sub" / "b.png", "")
    assert resolve_image("anki.png", folders) == (media / "anki.png", "")
    assert resolve_image("my%20fig.png", folders) == (media / "my fig.png", "")
    [image] = find_images("See ![a figure](<my fig.png> \"title\") here.", folders)
    assert (image.alt, image.src, image.path) == ("a figure", "my fig.png", media / "my fig.png")


def test_paths_that_leave_the_folders_are_refused_unread(folders, tmp_path):
    deck, _ = folders
    (deck / "link.png").symlink_to(tmp_path / "secret.png")
    for src in ("../secret.png", "sub/../../secret.png", str(tmp_path / "secret.png"),
                "/etc/passwd", "~/secret.png", "link.png"):
        assert resolve_image(src, folders) == (None, OUTSIDE), src
    assert resolve_image("https://example.com/x.png", folders) == (None, "not a local file")
    assert resolve_image("data:image/png;base64,AAAA", folders) == (None, "not a local file")
    assert resolve_image("fig\x00.png", folders) == (None, OUTSIDE)


def test_a_missing_a_large_and_a_non_image_file_say_why(folders):
    deck, _ = folders
    assert resolve_image("nope.png", folders) == (None, NOT_FOUND)
    (deck / "notes.png").write_text("not an image")
    assert resolve_image("notes.png", folders) == (
        None, "not a PNG, JPEG, GIF, WebP or BMP image")
    with open(deck / "huge.png", "wb") as file:
        file.write(PNG)
        file.truncate(MAX_IMAGE_BYTES + 1)
    path, reason = resolve_image("huge.png", folders)
    assert path is None and reason == "too large (10.0 MB; the most is 10 MB)"
    assert resolve_image("sub", folders) == (None, NOT_FOUND)  # a folder is no image


def test_the_fallback_names_the_alt_text_and_file_with_a_reason_when_it_fails(folders):
    text = ("A ![map of France](fig.png), ![](nope.png), ![x](../secret.png) and "
            "`![code](not-an-image.png)`.")
    images = find_images(text, folders)
    assert [i.src for i in images] == ["fig.png", "nope.png", "../secret.png"]
    assert with_fallbacks(text, images, markdown=False) == (
        "A [image: map of France — fig.png], [image: nope.png: not found], "
        "[image: x — ../secret.png: outside the deck's folder] and "
        "`![code](not-an-image.png)`.")
    # escaped for Markdown, so it shows as written
    assert with_fallbacks("![a_b](fig.png)", find_images("![a_b](fig.png)", folders)) == \
        "\\[image: a\\_b — fig.png\\]"
    # not looked for: no reason given
    assert with_fallbacks("![m](nope.png)", find_images("![m](nope.png)")) == \
        "\\[image: m — nope.png\\]"


def test_images_in_a_code_fence_are_code():
    assert find_images("```\n![x](y.png)\n```\n") == []


@pytest.mark.parametrize("env, tty, expected", [
    ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, True, TGP),
    ({"TERM": "xterm-ghostty"}, True, TGP),
    ({"TERM_PROGRAM": "iTerm.app", "TERM": "xterm-256color"}, True, SIXEL),
    ({"TERM_PROGRAM": "WezTerm"}, True, SIXEL),
    ({"TERM": "foot"}, True, SIXEL),
    ({"KONSOLE_VERSION": "230804", "TERM": "xterm-256color"}, True, SIXEL),
    ({"TERM": "xterm-256color"}, True, None),  # can't tell: the alt text
    ({"TERM": "xterm-256color", "TERM_PROGRAM": "Apple_Terminal"}, True, None),
    ({"TERM": "xterm-kitty", "KITTY_WINDOW_ID": "1"}, False, None),  # not a terminal
    ({"TERM": "tmux-256color", "TMUX": "/tmp/t,1,0", "KITTY_WINDOW_ID": "1"}, True, None),
    ({"TERM": "screen", "TERM_PROGRAM": "iTerm.app"}, True, None),
    ({"TERM": "xterm-kitty", "COMPANION_IMAGES": "off"}, True, None),
    ({"TERM": "xterm", "COMPANION_IMAGES": "sixel"}, True, SIXEL),
    ({"TMUX": "x", "COMPANION_IMAGES": "Kitty"}, True, TGP),
    ({"COMPANION_IMAGES": "sixel"}, False, None),
])
def test_images_are_drawn_only_where_the_terminal_is_known_to_draw_them(env, tty, expected):
    assert image_protocol(env, is_tty=tty) == expected


def test_the_media_folder_is_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_HOME", str(tmp_path / "h"))
    deck_folder, media = image_roots(os.fspath(tmp_path / "d" / "deck.md"))
    assert deck_folder == tmp_path / "d" and media == tmp_path / "h" / "media"
