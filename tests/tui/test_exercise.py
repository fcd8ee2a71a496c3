"""An exercise from its card in the app: `x` opens the attempt (the starter the
first time) in the editor, `c` checks it in a worker and shows the result
over the answer, and Enter takes the grade the check proposes."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from textual.widgets import Button

from ..conftest import write_deck
from .conftest import browse_search, db_reviews, make_app, ready, run, settle, text_of, wait_for

SOLUTIONS = Path(__file__).parent.parent / "labs" / "exercise_files"
DECK = """
## attn
Q: Scaled dot-product attention, in one line?
A: softmax(QKᵀ/√d_k) V
Exercise: attention
"""


@pytest.fixture
def exercise_home(tui_home, monkeypatch, tmp_path):
    write_deck(tui_home / "decks", "ex.md", DECK, deck_id="aaa", deck_name="AAA")
    # the editor: a script that appends a line, as a learner's save would
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[-1], 'a').write('# opened\\n')\n")
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    monkeypatch.delenv("VISUAL", raising=False)
    return tui_home


async def open_card(pilot):
    await ready(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert screen.card.id == "aaa/attn"
    return screen


@run
async def test_x_writes_the_starter_and_opens_it(exercise_home):
    app = make_app(exercise_home)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_card(pilot)
        await pilot.press("x")
        await settle(pilot)
        attempt = exercise_home / "exercises" / "attention.py"
        text = attempt.read_text()
        assert "def attention(q: torch.Tensor" in text and text.endswith("# opened\n")
        await pilot.press("x")  # the attempt is kept, opened again
        await settle(pilot)
        assert attempt.read_text().count("# opened") == 2


@run
async def test_c_checks_the_attempt_and_enter_takes_the_proposed_grade(exercise_home):
    attempt = exercise_home / "exercises" / "attention.py"
    attempt.parent.mkdir(parents=True)
    shutil.copy(SOLUTIONS / "attention.py", attempt)
    app = make_app(exercise_home)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_card(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.revealed, timeout=60)
        await settle(pilot)
        verdict = text_of(screen.query_one("#verdict"))
        assert "Exercise attention: 7 of 7 checks passed" in verdict
        assert "Good proposed" in verdict
        assert str(screen.query_one("#grade-3", Button).label).startswith("▸ ")
        assert "Exercise: attention" in text_of(screen.query_one("#lab-hint"))
        await pilot.press("enter")
        await settle(pilot)
        assert db_reviews(exercise_home) == [("aaa/attn", 3)]


@run
async def test_a_failing_check_names_what_differs_and_proposes_again(exercise_home):
    attempt = exercise_home / "exercises" / "attention.py"
    attempt.parent.mkdir(parents=True)
    attempt.write_text((SOLUTIONS / "attention.py").read_text().replace(
        " / math.sqrt(q.shape[-1])", ""))
    app = make_app(exercise_home)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await open_card(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: screen.revealed, timeout=60)
        await settle(pilot)
        verdict = text_of(screen.query_one("#verdict"))
        assert "of 7 checks passed" in verdict and "hint: the scores are divided by √d_k" in \
            verdict
        assert "Again proposed" in verdict and screen.default_rating == 1


@run
async def test_browse_finds_the_cards_with_an_exercise(exercise_home):
    app = make_app(exercise_home)
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(pilot)
        await pilot.press("b")
        await settle(pilot)

        def search(text):
            return browse_search(pilot, text)

        assert await search("has:exercise") == ["aaa/attn"]
        assert await search("exercise:attention") == ["aaa/attn"]
        assert await search("exercise:fgsm") == []
        everything = await search("")
        assert await search("-has:exercise") == [c for c in everything if c != "aaa/attn"]
        await search("has:exercise")
        await pilot.press("down", "x")  # from the results: the attempt in the editor
        await settle(pilot)
        assert (exercise_home / "exercises" / "attention.py").read_text().endswith("# opened\n")
