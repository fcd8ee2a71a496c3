"""Adding and editing cards from the command line: companion add, edit, decks
new; the editor is a script, as the learner's would be a program."""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest

from .test_cli import cli_home, run  # noqa: F401 - cli_home is a fixture

SHIPPED = Path(__file__).resolve().parent.parent / "decks" / "dl-week-one.md"


def editor(tmp_path: Path, body: str) -> dict[str, str]:
    """An $EDITOR that runs `body` (Python) on the file it is given: `text`
    holds the file, `line` the +N it was asked to open at."""
    script = tmp_path / "editor.py"
    script.write_text(textwrap.dedent("""
        import sys
        from pathlib import Path
        args = sys.argv[1:]
        line = int(args[0][1:]) if args[0].startswith("+") else None
        path = Path(args[-1])
        text = path.read_text(encoding="utf-8")
    """) + textwrap.dedent(body) + "\npath.write_text(text, encoding='utf-8')\n")
    return {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}


def db(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "companion.db")


@pytest.fixture
def mine(cli_home):  # noqa: F811 - the fixture imported above
    return cli_home  # a home with deck "mine" (SMALL_DECK)


def test_decks_new_creates_a_deck_file_of_your_own(tmp_path):
    home = tmp_path / "home"
    made = run(["decks", "new", "rl", "--name", "Reinforcement learning"], home)
    assert made.returncode == 0, made.stderr
    path = home / "decks" / "rl.md"
    assert path.read_text().startswith("---\nid: rl\nname: Reinforcement learning\n---")
    sub = run(["decks", "new", "rl-bandits", "--name", "Bandits", "--parent", "rl"], home)
    assert sub.returncode == 0, sub.stderr
    for args, message in ((["decks", "new", "rl", "--name", "Again"], "exists already"),
                          (["decks", "new", "Bad Id", "--name", "X"], "a deck id is lowercase"),
                          (["decks", "new", "x", "--name", "X", "--parent", "nope"],
                           "--parent nope: no such deck"),
                          (["decks", "new", "x", "--name", "  "], "give the deck a name"),
                          (["decks", "new", "x", "--name", "Bell\x07"],
                           "--name: a control character (U+0007) at column 5")):
        result = run(args, home)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    listed = run(["decks", "list"], home).stdout
    assert "rl-bandits" in listed and "Bandits" in listed


def test_add_from_the_command_line_writes_the_deck_file_and_the_card_is_studied(mine):
    added = run(["add", "--deck", "mine", "--front", "What is epsilon?", "--back",
                 "The fifth letter.", "--tags", "letters greek"], mine)
    assert added.returncode == 0, added.stderr
    text = (mine / "decks" / "mine.md").read_text()
    assert "Q: What is epsilon?\nA: The fifth letter.\nTags: letters greek" in text
    (card_id,) = [r[0] for r in db(mine).execute(
        "SELECT id FROM cards WHERE front = 'What is epsilon?'")]
    assert card_id.startswith("mine/what-is-epsilon-") and card_id in added.stdout
    cloze = run(["add", "--deck", "mine", "--cloze", "{{c1::Zeta}} is {{c2::sixth::a rank}}."],
                mine)
    assert cloze.returncode == 0, cloze.stderr
    ids = sorted(r[0] for r in db(mine).execute(
        "SELECT id FROM cards WHERE kind = 'cloze' AND back LIKE '%Zeta%is%sixth%'"))
    assert len(ids) == 2 and ids[0].endswith(".c1") and ids[1].endswith(".c2")
    # the deck file still reads cleanly: nothing else in it moved
    assert run(["decks", "check"], mine).returncode == 0


def test_a_bad_card_is_refused_in_one_line_and_nothing_is_written(mine):
    before = (mine / "decks" / "mine.md").read_bytes()
    for args, message in (
            (["add", "--deck", "mine", "--front", "Q?", "--back", " "], "empty A: field"),
            (["add", "--deck", "mine", "--cloze", "no gap here"], "has no {{c1::...}} gap"),
            (["add", "--deck", "mine", "--cloze", "{{c1::open"], "unclosed or malformed cloze"),
            (["add", "--deck", "nope", "--front", "Q", "--back", "A"], "no such deck"),
            (["add", "--front", "Q"], "--front and --back go together"),
            (["add", "--deck", "mine", "--front", "Q", "--back", "A\n## sneaky\nQ: x"],
             "expected one card"),
            # a shared deck file never gets a terminal's controls (a clipboard write)
            (["add", "--deck", "mine", "--front", "Q\x1b]52;c;eA==\x07", "--back", "A"],
             "the card: a control character (U+001B) at line 2, column 5; nothing was written"),
            (["add", "--deck", "mine", "--cloze", "{{c1::x}}\x9b2J"],
             "a control character (U+009B)")):
        result = run(args, mine)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    assert (mine / "decks" / "mine.md").read_bytes() == before


def test_a_card_for_the_shipped_deck_goes_into_your_edits_file(tmp_path):
    home = tmp_path / "home"
    shipped = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    added = run(["add", "--front", "What does SGD stand for?", "--back",
                 "Stochastic gradient descent."], home)  # the only deck: the shipped one
    assert added.returncode == 0, added.stderr
    edits = home / "decks" / "dl-week-one.edits.md"
    assert "overrides: dl-week-one" in edits.read_text()
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == shipped
    (deck,) = db(home).execute("SELECT deck_id FROM cards WHERE front LIKE 'What does SGD%'")
    assert deck == ("dl-week-one",)


def test_editing_a_shipped_card_keeps_its_id_and_history(tmp_path):
    home = tmp_path / "home"
    # answer the shipped deck's first card, then fix its answer
    first = run(["review", "--plain", "--limit", "1"], home, stdin="\n3\nq\n")
    assert first.returncode == 0, first.stderr
    (card_id,) = db(home).execute("SELECT card_id FROM reviews").fetchone()
    env = editor(tmp_path, """
        lines = text.split("\\n")
        assert lines[line - 1].startswith("## "), lines[line - 1]
        at = next(i for i in range(line, len(lines)) if lines[i].startswith(("A:", "Cloze:")))
        lines[at] = lines[at] + " EDITED"
        text = "\\n".join(lines)
    """)
    shipped = SHIPPED.read_bytes()
    edited = run(["edit", card_id], home, env_extra=env)
    assert edited.returncode == 0, edited.stderr
    assert SHIPPED.read_bytes() == shipped
    row = db(home).execute("SELECT back, retired, reps FROM cards WHERE id = ?",
                           (card_id,)).fetchone()
    assert "EDITED" in row[0] and row[1] == 0 and row[2] == 1
    assert db(home).execute("SELECT count(*) FROM reviews WHERE card_id = ?",
                            (card_id,)).fetchone()[0] == 1
    # a second edit opens the edits file's copy, not the shipped one again
    again = run(["edit", card_id], home, env_extra=env)
    assert again.returncode == 0, again.stderr
    edits = (home / "decks" / "dl-week-one.edits.md").read_text()
    assert edits.count(f"## {card_id.split('/')[1].split('.')[0]}\n") == 1
    assert "EDITED EDITED" in edits
    assert run(["doctor"], home).returncode == 0


def test_an_edit_that_changes_nothing_leaves_no_copy_of_the_shipped_note(tmp_path):
    # A copy left behind would hold the card to today's shipped text: a fix
    # to the shipped deck would never reach it.
    home = tmp_path / "home"
    card_id = "dl-week-one/backprop-cost"
    edits = home / "decks" / "dl-week-one.edits.md"
    untouched = run(["edit", card_id], home, env_extra=editor(tmp_path, "pass"))
    assert untouched.returncode == 0, untouched.stderr
    assert untouched.stdout.strip() == f"Nothing changed: {card_id} is as it was"
    assert not edits.exists()
    # an edits file that was there already is left exactly as it was
    assert run(["add", "--front", "What does SGD stand for?", "--back", "Stochastic "
                "gradient descent."], home).returncode == 0
    before = edits.read_bytes()
    again = run(["edit", card_id], home, env_extra=editor(tmp_path, "pass"))
    assert again.returncode == 0 and "Nothing changed" in again.stdout
    assert edits.read_bytes() == before
    # so is it when the editor fails
    failing = run(["edit", card_id], home, env_extra={"EDITOR": "false", "VISUAL": ""})
    assert failing.returncode == 2 and "exited with status 1" in failing.stderr
    assert edits.read_bytes() == before
    assert f"## {card_id.split('/')[1]}\n" not in edits.read_text()


def test_an_edit_of_your_own_card_that_changes_nothing_says_so(mine):
    path = mine / "decks" / "mine.md"
    before = path.read_bytes()
    untouched = run(["edit", "mine/alpha"], mine, env_extra=editor(mine, "pass"))
    assert untouched.returncode == 0, untouched.stderr
    assert "Nothing changed" in untouched.stdout and path.read_bytes() == before


def test_an_edit_that_breaks_the_card_keeps_its_history_and_names_the_line(mine):
    run(["review", "--plain", "--deck", "mine", "--limit", "1"], mine, stdin="\n3\nq\n")
    env = editor(mine, 'text = text.replace("A: The first letter.", "A:")')
    broken = run(["edit", "mine/alpha"], mine, env_extra=env)
    assert broken.returncode == 0
    assert f"{mine / 'decks' / 'mine.md'}:" in broken.stderr and "empty A: field" in broken.stderr
    row = db(mine).execute("SELECT retired, reps FROM cards WHERE id = 'mine/alpha'").fetchone()
    assert row == (0, 1)  # not retired: its history waits for the fix


def test_add_in_the_editor_and_a_template_left_alone_adds_nothing(mine):
    env = editor(mine, """
        assert text.split("\\n")[line - 1].startswith("Q:")
        text = text.replace("Q:\\nA:", "Q: Typed in the editor?\\nA: Yes.")
    """)
    added = run(["add", "--deck", "mine"], mine, env_extra=env)
    assert added.returncode == 0, added.stderr
    assert "Q: Typed in the editor?\nA: Yes." in (mine / "decks" / "mine.md").read_text()
    untouched = run(["add", "--deck", "mine"], mine, env_extra=editor(mine, "pass"))
    assert untouched.returncode == 0 and "Nothing added" in untouched.stdout
    failing = run(["add", "--deck", "mine"], mine,
                  env_extra={"EDITOR": "false", "VISUAL": ""})
    assert failing.returncode == 2 and "exited with status 1" in failing.stderr
    missing = run(["add", "--deck", "mine"], mine,
                  env_extra={"EDITOR": "/no/such/editor", "VISUAL": ""})
    assert missing.returncode == 2 and "cannot run the editor" in missing.stderr


def test_a_read_only_deck_file_is_refused_and_a_writable_one_keeps_its_mode(mine):
    path = mine / "decks" / "mine.md"
    before = path.read_bytes()
    path.chmod(0o444)
    try:
        result = run(["add", "--deck", "mine", "--front", "Q?", "--back", "A."], mine)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == (f"companion: error: {path}: the file is read-only; "
                                         "nothing was written")
        assert path.read_bytes() == before and path.stat().st_mode & 0o777 == 0o444
    finally:
        path.chmod(0o644)
    assert run(["add", "--deck", "mine", "--front", "Q?", "--back", "A."], mine).returncode == 0
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_line_of_an_option_that_looks_like_a_field_stays_in_its_field(mine):
    added = run(["add", "--deck", "mine", "--front", "What is 2+2?\nType: yes\nTags: x",
                 "--back", "four\nQ: not a question"], mine)
    assert added.returncode == 0, added.stderr
    text = (mine / "decks" / "mine.md").read_text()
    assert "Q: What is 2+2?\nType\\: yes\nTags\\: x\nA: four\nQ\\: not a question\n" in text
    row = db(mine).execute("SELECT tags, type_answer FROM cards WHERE front LIKE "
                           "'What is 2+2?%'").fetchone()
    assert row is not None and not row[0] and not row[1]


def test_an_editor_setting_with_an_unclosed_quote_is_one_line(mine, monkeypatch):
    monkeypatch.setenv("EDITOR", '"my editor')
    result = run(["add", "--deck", "mine"], mine)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == ("companion: error: $EDITOR: no closing quotation in "
                                     "'\"my editor'")
