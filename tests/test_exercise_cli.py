"""`companion exercise`: the starter file, the check in a child process, each
attempt kept, and the grade a check proposes for the exercise's card."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from companion.exercises import AGAIN, GOOD, HARD, proposed_grade

from .conftest import write_deck
from .test_cli import run

SOLUTIONS = Path(__file__).parent / "labs" / "exercise_files"
DECK = """
## attn
Q: Attention in one line?
A: softmax(QKᵀ/√d_k) V
Exercise: attention
"""


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    write_deck(path / "decks", "mine.md", DECK, deck_id="mine", deck_name="Mine")
    return path


def test_the_grade_a_check_proposes():
    assert proposed_grade(True, 0) == GOOD
    assert proposed_grade(True, 2) == HARD
    assert proposed_grade(False, 0) == AGAIN and proposed_grade(False, 3) == AGAIN


def test_start_writes_the_task_once_and_force_starts_over(home, tmp_path):
    made = run(["exercise", "start", "attention"], home)
    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip())
    assert path == home / "exercises" / "attention.py"
    text = path.read_text()
    assert "def attention(q: torch.Tensor" in text and "NotImplementedError" in text
    assert "Vaswani et al. 2017, §3.2.1" in text
    path.write_text(text + "\n# my work\n")
    again = run(["exercise", "start", "attention"], home)
    assert again.returncode == 2 and "an attempt is there already" in again.stderr
    assert path.read_text().endswith("# my work\n")
    assert run(["exercise", "start", "attention", "--force"], home).returncode == 0
    assert "# my work" not in path.read_text()
    elsewhere = run(["exercise", "start", "mse-gradient", "--dir", str(tmp_path / "mine")], home)
    assert Path(elsewhere.stdout.strip()) == tmp_path / "mine" / "mse_gradient.py"


def test_a_check_exits_by_its_result_keeps_each_attempt_and_proposes_the_grade(home, tmp_path):
    run(["exercise", "start", "attention"], home)
    # the starter: nothing written yet (the shipped deck's attention card names it too)
    first = run(["exercise", "check", "attention", "--card", "mine/attn"], home)
    assert first.returncode == 1, first.stderr
    assert "0 of 7 checks passed" in first.stdout
    assert "Proposed grade for mine/attn: Again (1)." in first.stdout
    good = run(["exercise", "check", "attention", "--card", "mine/attn", "--file",
                str(SOLUTIONS / "attention.py")], home)
    assert good.returncode == 0, good.stderr
    assert "7 of 7 checks passed" in good.stdout
    # passed, after a failed attempt today: Hard, for the learner to confirm
    assert "Proposed grade for mine/attn: Hard (2)." in good.stdout
    db = sqlite3.connect(home / "companion.db")
    attempts = db.execute("SELECT exercise, card_id, passed, failed, total FROM "
                          "exercise_attempts ORDER BY at").fetchall()
    assert attempts == [("attention", "mine/attn", 0, 7, 7), ("attention", "mine/attn", 7, 0, 7)]
    # a pipe is not a terminal: nothing was graded, the card is as it was
    assert db.execute("SELECT reps, state FROM cards WHERE id = 'mine/attn'").fetchone() == (0, 0)
    assert db.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
    listed = run(["exercise", "list"], home, env_extra={"COLUMNS": "200"})
    assert "mine/attn" in listed.stdout and "7/7 passed" in listed.stdout


def test_bad_input_is_one_line_and_exit_2(home, tmp_path):
    for args, message in ((["exercise", "check", "atention"], "did you mean 'attention'"),
                          (["exercise", "check", "attention", "--card", "no/card"],
                           "--card no/card: no such card"),
                          (["exercise", "check", "attention", "--file",
                            str(tmp_path / "nope.py")], "no such file"),
                          (["exercise", "start", "nope"], "unknown exercise 'nope'")):
        result = run(args, home)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_deck_names_only_an_exercise_that_exists(tmp_path):
    from companion.decks import parse_deck

    deck = write_deck(tmp_path / "d", "d.md", "## a\nQ: q\nA: a\nExercise: atention\n\n"
                                           "## p\nPredict: p?\nLab: batch-size\nReveal: x\n"
                                           "Exercise: attention\n")
    _, errors = parse_deck(deck)
    messages = [str(e) for e in errors]
    assert any(":9: card 'a': Exercise: unknown exercise 'atention' (did you mean "
               "'attention'?)" in m for m in messages), messages
    assert any("card 'p': Exercise: belongs to a Q/A or Cloze: card" in m for m in messages)


def test_the_list_at_80_columns_keeps_each_card_id_whole(home):
    # As a four-column table at 80 columns, the ids ("dl-week-one/scale…") and
    # the concept were cut to a handful of characters a line.
    from labs.catalog import EXERCISES

    listed = run(["exercise", "list"], home, env_extra={"COLUMNS": "80"})
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines)
    for name, spec in EXERCISES.items():
        assert f"{name}  {spec.title}" in lines, name
    assert ("  cards: dl-week-one/scaled-dot-product-attention.c1, mine/attn" in lines
            and "  last check: not tried yet" in lines)
