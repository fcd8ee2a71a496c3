"""Typed answers in the app: the box on the front, Enter checks, the
comparison over the answer, Enter takes the proposed grade (1-4 another),
and `companion review --plain` compares and proposes the same."""

from __future__ import annotations

import io

import pytest
from textual.widgets import Button, Input

from companion.settings import Settings
from companion.typeanswer import BAD, MISSING, compare_answer, comparison_lines

from ..conftest import write_deck
from .conftest import db_reviews, make_app, ready, run, settle, text_of

TYPED_DECK = """
## capital
Q: The capital of France?
A: **Paris**
Type: yes
Extra: Since 987.

## gaps
Cloze: {{c1::Softmax}} turns scores into a {{c2::probability distribution}}.
Type: yes
"""


@pytest.fixture
def typed_home(tui_home):
    # "AAA" sorts first: Home's list is All decks, then AAA.
    write_deck(tui_home / "decks", "typed.md", TYPED_DECK, deck_id="aaa", deck_name="AAA")
    return tui_home


async def open_typed(pilot):
    await ready(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert screen.card.id == "aaa/capital"
    return screen


@run
async def test_enter_checks_the_typed_answer_and_enter_again_takes_the_proposed_grade(
        typed_home):
    app = make_app(typed_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_typed(pilot)
        box = screen.query_one("#typed", Input)
        assert screen.query_one("#type-box").display and screen.focused is box
        assert not screen.revealed
        assert "type the answer" in text_of(screen.query_one("#card-where"))
        await pilot.press(*"paris")  # letters go into the box, not to the keys
        assert box.value == "paris" and db_reviews(typed_home) == []
        await pilot.press("enter")
        await settle(pilot)
        assert screen.revealed and not screen.query_one("#type-box").display
        verdict = text_of(screen.query_one("#verdict"))
        assert verdict.splitlines()[:2] == ["You typed: paris", "Answer:    Paris"]
        assert "Not exact, so Again is proposed: space takes it" in verdict
        assert str(screen.query_one("#grade-1", Button).label).startswith("▸ 1 Again")
        assert not str(screen.query_one("#grade-3", Button).label).startswith("▸")
        assert "Since 987." in screen.query_one("#extra").source
        await pilot.press("enter")  # the proposed grade: Again
        await settle(pilot)
        assert db_reviews(typed_home) == [("aaa/capital", 1)]
        # The cloze gap, typed exactly: Good is proposed, and 4 overrides it.
        assert screen.card.id == "aaa/gaps.c1" and screen.focused is box and box.value == ""
        await pilot.press(*"Softmax", "enter")
        await settle(pilot)
        assert "You typed: Softmax  ✓ exact" in text_of(screen.query_one("#verdict"))
        assert screen.default_rating == 3
        assert str(screen.query_one("#grade-3", Button).label).startswith("▸ 3 Good")
        await pilot.press("4")
        assert db_reviews(typed_home)[-1] == ("aaa/gaps.c1", 4)


@run
async def test_esc_leaves_the_box_for_the_keys_and_space_checks_what_is_typed(typed_home):
    app = make_app(typed_home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_typed(pilot)
        # the footer says what esc does: in the box it leaves the box, not the review
        assert screen.focused is screen.query_one("#typed")
        # and the button the key that checks there (space types a space)
        assert str(screen.query_one("#reveal", Button).label) == "Check answer  enter"
        assert screen.active_bindings["escape"].binding.description == "Leave the box"
        await pilot.press("escape")
        assert screen.focused is not screen.query_one("#typed") and not screen.revealed
        assert screen.active_bindings["escape"].binding.description == "Home"
        assert "Keys work now" in text_of(screen.query_one("#type-status"))
        await pilot.press("space")  # nothing typed: the answer, and Again proposed
        await settle(pilot)
        assert screen.revealed
        verdict = text_of(screen.query_one("#verdict"))
        assert verdict.startswith("Nothing typed. Answer: Paris")
        await pilot.press("u")  # nothing answered yet: undo has nothing to take back
        await pilot.press("space")
        assert db_reviews(typed_home) == [("aaa/capital", 1)]


# -- both faces: one comparison ------------------------------------------------

TYPINGS = [("Paris", 3), ("paris", 1), ("", 1), ("Pari", 1), ("Parris", 1), ("  Paris ", 3)]


def line_mode(home, typed: str) -> tuple[list[str], int]:
    from companion.cli.line_review import run_plain_review
    from companion.deck_sync import sync_decks
    from companion.settings import Settings
    from companion.store import Store

    store = Store(home / "companion.db")
    try:
        sync_decks(store, [home / "decks"])
        out = io.StringIO()
        run_plain_review(store, Settings(timezone="UTC"), deck_id="aaa", limit=1,
                         stdin=io.StringIO(f"{typed}\n\n"), stdout=out)
        rating = store.conn.execute("SELECT rating FROM reviews").fetchone()[0]
    finally:
        store.close()
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "You typed:" in line or "Nothing" in line)
    shown = [lines[start].split("> ", 1)[-1]]
    for line in lines[start + 1:]:
        if line.startswith(("A:", "Exact", "Not exact", "Nothing typed,")):
            break
        shown.append(line)
    return shown, rating


async def in_the_app(home, typed: str):
    app = make_app(home)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_typed(pilot)
        screen.query_one("#typed", Input).value = typed
        await pilot.press("enter")
        await settle(pilot)
        comparison = screen.comparison
        marks = [(span.style, str(screen.verdict)[span.start:span.end])
                 for span in screen.verdict.spans]
        await pilot.press("enter")
        await settle(pilot)
        return comparison, marks, db_reviews(home)[-1][1]


@pytest.mark.parametrize("typed, rating", TYPINGS)
def test_the_app_and_line_mode_compare_and_propose_the_same(typed_home, typed, rating,
                                                            monkeypatch):
    import companion.typeanswer as typeanswer

    calls = []
    real = typeanswer.compare_answer

    def spy(expected, given):
        calls.append((expected, given))
        return real(expected, given)

    monkeypatch.setattr(typeanswer, "compare_answer", spy)
    comparison, marks, app_rating = run(in_the_app)(typed_home, typed)
    assert calls == [("**Paris**", typed)]
    assert comparison == compare_answer("**Paris**", typed)
    # the app strikes what the learner got wrong and underlines what was missed
    struck = [text for style, text in marks if "strike" in str(style)]
    underlined = [text for style, text in marks if "underline" in str(style)]
    assert struck == [p.text for p in comparison.typed_pieces if p.kind == BAD]
    assert underlined == ([p.text for p in comparison.expected_pieces if p.kind == MISSING]
                          if typed.strip() else [])
    # line mode (a fresh copy of the card: the app's answer is in the other database)
    for name in ("companion.db", "companion.db-wal", "companion.db-shm"):
        (typed_home / name).unlink(missing_ok=True)
    shown, line_rating = line_mode(typed_home, typed)
    assert len(calls) == 2 and calls[1] == ("**Paris**", typed.strip())  # a line, stripped
    assert shown == comparison_lines(comparison)
    assert app_rating == line_rating == rating == comparison.proposed_rating


def test_snapshot_of_a_typed_answer_compared(snap_compare, typed_home):
    pytest.importorskip("pytest_textual_snapshot")
    from .test_snapshots import SETTINGS

    async def type_and_check(pilot):
        await ready(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press(*"paaris", "enter")
        await settle(pilot)
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(make_app(typed_home, settings_path=SETTINGS), run_before=type_and_check)


@run
async def test_the_check_button_names_the_rebound_key_that_checks_out_of_the_box(typed_home):
    settings = Settings(timezone="UTC", theme="textual-dark", keymap={"review.reveal": "v"})
    app = make_app(typed_home, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_typed(pilot)
        button = screen.query_one("#reveal", Button)
        assert str(button.label) == "Check answer  enter · v out of the box"
        await pilot.press("escape", "enter")  # out of the box Enter no longer checks
        assert not screen.revealed
        await pilot.press("v")
        assert screen.revealed
