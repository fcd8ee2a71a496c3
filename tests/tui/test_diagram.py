"""Diagram cards in the app: the drawing with one label masked, space shows
it uncovered in its place, the label marked; a grade buries the siblings;
and the app draws the very lines line mode prints."""

from __future__ import annotations

import io

import pytest

from companion.cardtext import MARK_STYLE

from ..conftest import write_deck
from .conftest import db_reviews, make_app, ready, run, settle, text_of

DRAWING = [
    "        ┌──────────────┐",
    "        │   Softmax    │",
    "        └──────▲───────┘",
    "        ┌──────┴───────┐",
    "        │    Linear    │",
    "        └──────▲───────┘",
    "   N×   ┌──────┴───────┐",
    "        │ Feed Forward │",
    "        └──────────────┘",
]
COVERED_SOFTMAX = DRAWING[1].replace("Softmax", "[▒▒▒▒▒]")

DIAGRAM_DECK = """
## stack
Diagram: The top of a decoder. What is covered?
```
{drawing}
```
Labels:
- softmax: Softmax
- linear: Linear
- feed-forward: Feed Forward
- repeats: N×
Source: Vaswani et al. (2017), Fig. 1

## after
Q: The card after the diagram?
A: This one.
""".replace("{drawing}", "\n".join(DRAWING))


@pytest.fixture
def diagram_home(tui_home):
    # "AAA" sorts first: Home's list is All decks, then AAA.
    write_deck(tui_home / "decks", "aaa.md", DIAGRAM_DECK, deck_id="aaa", deck_name="AAA")
    return tui_home


async def open_deck(pilot):
    await ready(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert screen.card.id == "aaa/stack.softmax"
    return screen


def shown_lines(widget) -> list[str]:
    return [line.rstrip() for line in text_of(widget).split("\n")]


@run
async def test_the_card_shows_the_label_masked_then_uncovered_in_its_place(diagram_home):
    app = make_app(diagram_home)
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_deck(pilot)
        front = screen.query_one("#front")
        lines = shown_lines(front)
        assert lines[0] == "The top of a decoder. What is covered?"
        start = lines.index(DRAWING[0])
        assert lines[start:start + len(DRAWING)] == [DRAWING[0], COVERED_SOFTMAX, *DRAWING[2:]]
        assert "Softmax" not in text_of(front)
        assert "name what is covered" in text_of(screen.query_one("#card-where"))
        await pilot.press("space")
        await settle(pilot)
        assert screen.revealed and not front.display  # the answer takes the drawing's place
        back = screen.query_one("#back")
        lines = shown_lines(back)
        assert lines[0] == "Softmax"
        start = lines.index(DRAWING[0])
        assert lines[start:start + len(DRAWING)] == DRAWING
        # the uncovered label is marked, and only it
        [drawing] = [part for part in back.content.renderables
                     if getattr(part, "plain", "").startswith(DRAWING[0])]
        marked = [drawing.plain[s.start:s.end] for s in drawing.spans if s.style == MARK_STYLE]
        assert marked == ["Softmax"]
        await pilot.press("3")
        await settle(pilot)
        assert db_reviews(diagram_home) == [("aaa/stack.softmax", 3)]
        # its three siblings are buried for the day: the deck's next card comes
        assert screen.card.id == "aaa/after"
        assert front.display and "The card after the diagram?" in text_of(front)


@run
async def test_a_narrow_screen_crops_the_drawing_and_never_wraps_it(diagram_home):
    app = make_app(diagram_home)
    async with app.run_test(size=(20, 30)) as pilot:  # narrower than the drawing
        screen = await open_deck(pilot)
        await settle(pilot)
        # the drawing is cropped at the edge, never wrapped: its rows stay its rows
        region = screen.query_one("#front").content_region
        assert region.width < len(DRAWING[0])
        drawing = [part for part in screen.query_one("#front").content.renderables
                   if hasattr(part, "no_wrap")][-1]
        assert drawing.no_wrap and drawing.overflow == "crop"


def line_mode(home) -> list[str]:
    from companion.cli.line_review import run_plain_review
    from companion.deck_sync import sync_decks
    from companion.settings import Settings
    from companion.store import Store

    store = Store(home / "companion.db")
    try:
        sync_decks(store, [home / "decks"])
        out = io.StringIO()
        run_plain_review(store, Settings(timezone="UTC"), deck_id="aaa", limit=1,
                         stdin=io.StringIO("\n3\n"), stdout=out)
    finally:
        store.close()
    return out.getvalue().split("\n")


@run
async def test_the_app_and_line_mode_show_the_same_drawing(diagram_home):
    app = make_app(diagram_home)
    async with app.run_test(size=(80, 30)) as pilot:
        screen = await open_deck(pilot)
        in_app_front = shown_lines(screen.query_one("#front"))
        await pilot.press("space")
        await settle(pilot)
        in_app_back = shown_lines(screen.query_one("#back"))
    printed = line_mode(diagram_home)
    q = printed.index("Q: The top of a decoder. What is covered?")
    a = next(i for i, line in enumerate(printed) if line.endswith("A: Softmax"))
    in_app = in_app_front[in_app_front.index(DRAWING[0]):][:len(DRAWING)]
    assert printed[q + 1:q + 1 + len(DRAWING)] == in_app
    assert printed[a + 1:a + 1 + len(DRAWING)] == \
        in_app_back[in_app_back.index(DRAWING[0]):][:len(DRAWING)] == DRAWING


def snapshot_after(*keys):
    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        pilot.app.clear_notifications()
        await settle(pilot)

    return run_before


def test_snapshot_of_a_diagram_card_covered(snap_compare, diagram_home):
    pytest.importorskip("pytest_textual_snapshot")
    from .test_snapshots import SETTINGS

    assert snap_compare(make_app(diagram_home, settings_path=SETTINGS),
                        run_before=snapshot_after())


def test_snapshot_of_a_diagram_card_uncovered(snap_compare, diagram_home):
    pytest.importorskip("pytest_textual_snapshot")
    from .test_snapshots import SETTINGS

    assert snap_compare(make_app(diagram_home, settings_path=SETTINGS),
                        run_before=snapshot_after("space"))


def screen_text(app) -> str:
    """What the terminal shows, as the SVG screenshot holds its characters."""
    import html

    return html.unescape(app.export_screenshot()).replace("\xa0", " ")


@run
async def test_the_drawings_last_line_is_drawn_on_both_sides(diagram_home):
    # The drawing's last line was measured out of the card's height: the
    # Feed Forward box stood open at the bottom, on the front and the back.
    app = make_app(diagram_home)
    async with app.run_test(size=(80, 40)) as pilot:
        await open_deck(pilot)
        assert DRAWING[-1].strip() in screen_text(app)
        await pilot.press("space")
        await settle(pilot)
        assert DRAWING[-1].strip() in screen_text(app)


TALL = [*DRAWING[:-1], *["        │              │"] * 14, "        │    Output    │",
        DRAWING[-1]]


@run
async def test_a_short_screen_scrolls_the_front_to_the_mask(tui_home):
    # On 80x24 a label low in a tall drawing was below the fold: "What is
    # covered?" over a drawing with no cover in sight.
    deck = (DIAGRAM_DECK.replace("\n".join(DRAWING), "\n".join(TALL))
            .replace("- softmax: Softmax\n", "").replace("- linear: Linear\n", "")
            .replace("- feed-forward: Feed Forward\n", "").replace("- repeats: N×\n",
                                                                   "- output: Output\n"))
    write_deck(tui_home / "decks", "aaa.md", deck, deck_id="aaa", deck_name="AAA")
    app = make_app(tui_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        assert app.screen.card.id == "aaa/stack.output"
        assert "[▒▒▒▒]" in screen_text(app)
