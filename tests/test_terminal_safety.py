"""A shared deck can't drive the learner's terminal: escape sequences and other
controls in card text, deck names, tags and sources reach no face raw (they
show as visible placeholders such as ␛), and rich markup in them is text."""

from __future__ import annotations

import pytest

from companion.cardtext import neutralise

from .test_cli import run

OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # writes the clipboard
TITLE = "\x1b]0;pwned\x07"  # retitles the window
CLEAR = "\x1b[2J\x9b2J"  # clears the screen (ESC [ and the one-byte C1 CSI)

HOSTILE_DECK = f"""---
id: evil
name: "Evil \\e]0;pwned\\a[bold red]deck[/]"
---

## clip
Q: Copy {OSC52} this {CLEAR}?
A: No {TITLE} thanks [link=https://example.com]x[/link]
Source: {OSC52}
Tags: t{CLEAR}

## broken
Q: only a question {OSC52}
"""


def test_neutralise_shows_every_control_and_keeps_text():
    assert neutralise("a\x1b[2Jb") == "a␛[2Jb"
    assert neutralise("bell\x07 del\x7f c1\x9b") == "bell␇ del␡ c1\ufffd"
    assert neutralise("tab\tand\nnewline stay, CR\r does not") == \
        "tab\tand\nnewline stay, CR␍ does not"
    assert neutralise(None) == "" and neutralise(5) == "5"


@pytest.fixture
def evil_home(tmp_path):
    home = tmp_path / "home"
    (home / "decks").mkdir(parents=True)
    (home / "decks" / "evil.md").write_text(HOSTILE_DECK, encoding="utf-8")
    return home


@pytest.mark.parametrize("args,stdin", [
    (["review", "--plain", "--deck", "evil"], "\n3\n\nq\n"),
    (["due"], ""),
    (["decks", "list"], ""),
    (["decks", "check"], ""),
    (["stats"], ""),
    (["stats", "--json"], ""),
    (["export", "--format", "csv", "-o", "-"], ""),
])
def test_no_face_of_the_command_line_emits_a_control(evil_home, args, stdin):
    result = run(args, evil_home, stdin=stdin)
    assert "Traceback" not in result.stderr
    for stream in (result.stdout, result.stderr):
        assert not any(c in stream for c in "\x1b\x07\x9b\x7f"), (args, stream)
    if args[0] in ("review", "due") or args[:2] == ["decks", "list"]:
        assert "␛" in result.stdout + result.stderr


def test_json_out_is_lossless_and_safe(evil_home):
    import json

    result = run(["export", "--format", "json", "-o", "-"], evil_home)
    assert not any(c in result.stdout for c in "\x1b\x07\x9b\x7f")
    cards = {c["id"]: c for c in json.loads(result.stdout)["cards"]}
    assert cards["evil/clip"]["front"] == f"Copy {OSC52} this {CLEAR}?"


def test_markup_in_a_deck_is_shown_as_text(evil_home):
    listing = run(["decks", "list"], evil_home, env_extra={"COLUMNS": "200"})
    assert "[bold red]deck[/]" in listing.stdout
    review = run(["review", "--plain", "--deck", "evil"], evil_home, stdin="\n3\nq\n")
    assert "[link=https://example.com]x[/link]" in review.stdout


def test_neutralise_never_lets_a_control_through_and_keeps_every_other_character():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.characters(codec=None, exclude_categories=("Cs",)), max_size=80))
    def check(text):
        out = neutralise(text)
        assert len(out) == len(text)  # one visible placeholder for each control
        for before, after in zip(text, out):
            control = ord(before) < 0x20 and before not in "\t\n" or 0x7f <= ord(before) <= 0x9f
            assert after != before if control else after == before
            assert not (ord(after) < 0x20 and after not in "\t\n" or 0x7f <= ord(after) <= 0x9f)

    check()


def test_a_strangers_lab_run_is_neutralised_wherever_runs_are_listed(evil_home):
    import sqlite3

    assert run(["due"], evil_home).returncode == 0
    db = sqlite3.connect(evil_home / "companion.db")
    db.execute("INSERT INTO lab_runs(lab, params, device, seed, started_at, ended_at, status, "
               "error, summary) VALUES ('batch-size', ?, 'cpu', 0, 1, 2, 'exception', ?, ?)",
               ('{"lr": "\\u001b]0;t\\u0007"}', f"boom {CLEAR}",
                '{"acc\\u001b[2J": "[red]x[/red]"}'))
    db.commit()
    db.close()
    from companion.store import Store

    store = Store(evil_home / "companion.db")
    [row] = store.lab_runs()
    assert row.params == {"lr": "␛]0;t␇"} and row.error == "boom ␛[2J\ufffd2J"
    assert row.summary == {"acc␛[2J": "[red]x[/red]"}
    store.close()
    stats = run(["stats"], evil_home, env_extra={"COLUMNS": "200"})
    assert not any(c in stats.stdout for c in "\x1b\x07\x9b") and "[red]x[/red]" in stats.stdout


def test_a_typed_answer_and_an_image_name_reach_no_face_raw(tmp_path):
    from companion.typeanswer import compare_answer, comparison_text

    home = tmp_path / "home"
    (home / "decks").mkdir(parents=True)
    (home / "decks" / "t.md").write_text(
        "---\nid: evil\nname: Evil\n---\n\n"
        f"## typed\nQ: Look ![a{CLEAR}](b{CLEAR}.png)\nA: No{OSC52}\nType: yes\n",
        encoding="utf-8")
    result = run(["review", "--plain", "--deck", "evil"], home, stdin=f"No{CLEAR}\n\nq\n")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    for stream in (result.stdout, result.stderr):
        assert not any(c in stream for c in "\x1b\x07\x9b\x7f"), stream
    typed = next(line for line in result.stdout.splitlines() if "You typed:" in line)
    assert typed.split("You typed: ")[1].startswith("No␛")
    assert "[image: a␛[2J\ufffd2J — b␛[2J\ufffd2J.png: not found]" in result.stdout
    # the app's comparison, drawn from the same text
    plain = comparison_text(compare_answer(f"No{OSC52}", f"No{CLEAR}")).plain
    assert not any(c in plain for c in "\x1b\x07\x9b\x7f") and "␛" in plain
