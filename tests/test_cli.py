"""The command line end to end: the installed `companion` on a temporary home."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from .conftest import SMALL_DECK, write_deck

EXE = shutil.which("companion") or ""


def run(args, home, stdin="", env_extra=None):
    env = {**os.environ, "COMPANION_HOME": str(home), "NO_COLOR": "1", "COLUMNS": "100"}
    env.update(env_extra or {})
    cmd = [EXE, *args] if EXE else [sys.executable, "-m", "companion.cli", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def cli_home(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine", deck_name="My deck")
    return home


def test_version(cli_home):
    from companion import __version__

    result = run(["--version"], cli_home)
    assert result.returncode == 0 and result.stdout.strip() == f"companion {__version__}"


def test_plain_review_driven_by_a_pipe(cli_home):
    # The learner's day starts far from now: a 10-minute step that crossed the
    # rollover would show as "1d", as Anki's buttons show it.
    from datetime import datetime

    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "settings.toml").write_text(
        f"day_starts_at = {(datetime.now().hour + 12) % 24}\n")
    # reveal + Good, reveal + Again, reveal + undo (takes back the Again), then quit
    result = run(["review", "--plain", "--deck", "mine"], cli_home, stdin="\n3\n\n1\n\nu\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Q: What is alpha?" in out and "A: The first letter." in out
    assert "saved: mine/alpha Good" in out and "saved: mine/beta Again" in out
    assert "undone answer: mine/beta" in out
    assert "1 Again (1m)" in out and "3 Good (10m)" in out
    db = sqlite3.connect(cli_home / "companion.db")
    assert db.execute("SELECT card_id, rating FROM reviews").fetchall() == [("mine/alpha", 3)]


def test_forget_and_reschedule_from_the_command_line(cli_home):
    result = run(["review", "--plain", "--deck", "mine"], cli_home, stdin="\n4\nq\n")
    assert "saved: mine/alpha Easy" in result.stdout, result.stderr
    db = sqlite3.connect(cli_home / "companion.db")
    due = db.execute("SELECT due FROM cards WHERE id = 'mine/alpha'").fetchone()[0]
    (cli_home / "settings.toml").write_text("desired_retention = 0.75\n")
    result = run(["reschedule"], cli_home)
    assert result.returncode == 0 and result.stdout.strip() == "Rescheduled 1 card(s).", \
        result.stderr
    assert db.execute("SELECT due FROM cards WHERE id = 'mine/alpha'").fetchone()[0] > due
    result = run(["forget", "mine/alpha", "mine/beta"], cli_home)
    assert result.returncode == 0 and "Forgot 1 card(s); 1 already new." in result.stdout
    assert db.execute("SELECT state, reps FROM cards WHERE id = 'mine/alpha'").fetchone() \
        == (0, 1)
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1  # history kept
    result = run(["forget", "mine/nosuch"], cli_home)
    assert result.returncode == 2 and result.stderr.strip() == \
        "companion: error: no card 'mine/nosuch'"
    assert run(["doctor"], cli_home).returncode == 0


def test_plain_review_enter_is_good_and_s_b_set_cards_aside_until_undone(cli_home):
    # alpha: reveal, Enter (Good); beta: suspend; gamma.c1: bury, undo (back), reveal, 4
    result = run(["review", "--plain", "--deck", "mine"], cli_home,
                 stdin="\n\ns\nb\nu\n\n4\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "saved: mine/alpha Good" in out
    assert "suspended: mine/beta (u undoes)" in out
    assert "buried until tomorrow: mine/gamma.c1" in out and "undone bury: mine/gamma.c1" in out
    assert "Q: [...] comes after (…)." in out and "**" not in out  # a cloze, piped
    db = sqlite3.connect(cli_home / "companion.db")
    assert db.execute("SELECT card_id, rating FROM reviews").fetchall() == [
        ("mine/alpha", 3), ("mine/gamma.c1", 4)]
    assert db.execute("SELECT id FROM cards WHERE suspended = 1").fetchall() == [("mine/beta",)]
    assert db.execute("SELECT count(*) FROM cards WHERE buried_until > 0 "
                      "AND id = 'mine/gamma.c1'").fetchone()[0] == 0


def test_plain_review_renders_math_and_shows_the_lab(cli_home):
    result = run(["review", "--plain", "--deck", "mine"], cli_home,
                 stdin="\n4\n\n4\n\n4\n\n4\n\nq\n")
    assert "Δ" in result.stdout
    assert "Lab: companion lab run batch-size batch_sizes=16,256" in result.stdout


def test_plain_review_ends_when_nothing_is_left(cli_home):
    result = run(["review", "--plain", "--deck", "mine"], cli_home, stdin="\n4\n" * 5)
    assert "Nothing left to study today" in result.stdout
    # gamma's second gap is buried for the day once its sibling is answered
    assert "Session: 4 card(s)" in result.stdout and "gamma.c2" not in result.stdout


def test_custom_study_from_the_command_line(cli_home):
    """--tag studies only the tag's cards; --extra-new raises today's limit, and
    the raise holds for a later session the same day; --ahead then offers the
    cards learnt, answered early through the scheduler."""
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "settings.toml").write_text("new_per_day = 1\n")
    result = run(["review", "--plain", "--tag", "letters"], cli_home, stdin="\n4\n")
    assert result.returncode == 0, result.stderr
    assert "Custom study: tag letters" in result.stdout
    assert "saved: mine/alpha Easy" in result.stdout
    assert "Nothing left in this custom study." in result.stdout  # the day's one new card
    result = run(["review", "--plain", "--tag", "letters", "--extra-new", "1"], cli_home,
                 stdin="\n4\n")
    assert "Today's limits: 2 new, 200 reviews" in result.stderr
    assert "saved: mine/gamma.c1 Easy" in result.stdout  # beta is not tagged letters
    mine = next(line for line in run(["due"], cli_home).stdout.splitlines()
                if "My deck (mine)" in line)
    assert mine.split("│")[2].strip() == "0"  # both of the deck's two new cards are spent
    result = run(["review", "--plain", "--ahead", "365"], cli_home, stdin="\n3\n\n3\nq\n")
    assert result.returncode == 0, result.stderr
    assert "Custom study: review ahead 365 days" in result.stdout
    saved = [line.split("> ")[-1] for line in result.stdout.splitlines() if "saved:" in line]
    assert sorted(saved) == ["saved: mine/alpha Good", "saved: mine/gamma.c1 Good"]
    db = sqlite3.connect(cli_home / "companion.db")
    assert db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM reviews WHERE card_id NOT IN "
                      "('mine/alpha', 'mine/gamma.c1')").fetchone()[0] == 0
    assert run(["doctor"], cli_home).returncode == 0  # the log replays to the same states


def test_due_counts_per_deck(cli_home):
    run(["review", "--plain", "--deck", "mine", "--limit", "1"], cli_home, stdin="\n1\n")
    result = run(["due"], cli_home)
    assert result.returncode == 0
    line = next(row for row in result.stdout.splitlines() if "My deck (mine)" in row)
    assert [int(x) for x in line.replace("│", " ").split()[-3:]] == [4, 1, 0]


def test_decks_check_reports_file_line_and_exit_2(cli_home, tmp_path):
    bad = write_deck(tmp_path / "bad", "bad.md", "## x\nQ: \nA: b\n\n## y\nLab: nope\nQ: a\nA: b\n")
    result = run(["decks", "check", str(bad)], cli_home)
    assert result.returncode == 2
    assert result.stdout.splitlines() == [f"{bad}:7: card 'x': empty Q: field",
                                          f"{bad}:11: card 'y': Lab: unknown lab 'nope' "
                                          "(labs: batch-size, family-trees, input-gradient, "
                                          "language-model, positional-encoding, "
                                          "transformer-trace)"]
    good = run(["decks", "check", str(cli_home / "decks")], cli_home)
    assert good.returncode == 0 and "5 card(s), 0 problem(s)" in good.stderr


@pytest.mark.parametrize("args, message", [
    (["--bogus"], "No such option '--bogus'"),
    (["review", "--limit", "x"], "Invalid value for '--limit'"),
    (["review", "--deck", "nope"], "--deck nope: no such deck"),
    (["review", "--ahead", "-1"], "--ahead -1: give a number of days of 1 or more"),
    (["review", "--forgotten", "0"], "--forgotten 0: give a number of days of 1 or more"),
    (["review", "--forgotten", "31"], "--forgotten: 31 days: give a number of days from 1 to 30"),
    (["review", "--ahead", "2", "--forgotten", "2"], "--ahead and --forgotten are two"),
    (["review", "--tag", "leters"], "--tag: 'leters': no card has this tag (did you mean "
                                    "'letters'?"),
    (["review", "--extra-new", "-3"], "--extra-new -3: give a number of cards of 0 or more"),
    (["review", "--ahead", "x"], "Invalid value for '--ahead'"),
    (["decks", "check", "/no/such/file.md"], "/no/such/file.md: no such file or folder"),
    (["nosuchcommand"], "No such command"),
])
def test_bad_input_is_one_line_and_exit_2(cli_home, args, message):
    result = run(args, cli_home)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("companion: error:") and message in lines[0]


def test_bad_settings_and_database_are_one_line(cli_home):
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "settings.toml").write_text("desired_retention = 2\n")
    result = run(["due"], cli_home)
    assert result.returncode == 2 and "desired_retention" in result.stderr
    (cli_home / "settings.toml").unlink()
    (cli_home / "companion.db").write_bytes(b"garbage" * 200)
    result = run(["due"], cli_home)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert (cli_home / "companion.db").read_bytes() == b"garbage" * 200


def test_the_full_screen_app_says_a_bad_setting_in_one_line(cli_home):
    # `companion` alone starts the app without the click group: its errors
    # read as every command's.
    cli_home.mkdir(parents=True, exist_ok=True)
    (cli_home / "settings.toml").write_text("desired_retention = 2\n")
    result = run([], cli_home)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert lines[0].startswith("companion: error:") and "desired_retention" in lines[0]


def test_doctor_checks_and_rebuilds(cli_home):
    run(["review", "--plain", "--deck", "mine"], cli_home, stdin="\n3\n\n4\n\n1\nq\n")
    result = run(["doctor"], cli_home)
    assert result.returncode == 0 and "integrity: ok" in result.stdout
    assert "equal to a replay" in result.stdout
    db = sqlite3.connect(cli_home / "companion.db")
    db.execute("UPDATE cards SET stability = 99 WHERE reps > 0")
    db.commit()
    broken = run(["doctor"], cli_home)
    assert broken.returncode == 1 and "differ from a replay: 3" in broken.stdout
    fixed = run(["doctor", "--rebuild"], cli_home)
    assert fixed.returncode == 0 and "rebuilt card states from 3 reviews" in fixed.stdout


def all_commands(group=None, path=()):
    """Every command of the click group, nested groups included, as argv paths."""
    import click

    from companion.cli import app

    group = group or app
    yield path, group
    if isinstance(group, click.Group):
        for name, command in sorted(group.commands.items()):
            yield from all_commands(command, (*path, name))


def test_every_command_has_help(cli_home):
    """Walks the click group, so a command added later is covered too: each one
    and each of its options has help, and `--help` prints its usage."""
    commands = list(all_commands())
    assert {p for p, _ in commands} >= {("review",), ("decks", "check"), ("lab", "run"),
                                        ("stats",), ("export",), ("doctor",)}
    for path, command in commands:
        assert (command.help or "").strip(), path
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert (param.help or "").strip(), (path, param.name)
        result = run([*path, "--help"], cli_home)
        assert result.returncode == 0 and "Usage" in result.stdout, path


def test_the_decks_group_says_it_creates_decks_too(cli_home):
    # `companion --help` is where a learner looks for how to make a deck
    result = run(["--help"], cli_home)
    (line,) = [line for line in result.stdout.splitlines() if line.strip().startswith("decks ")]
    assert "create" in line


def test_a_lab_run_into_a_file_reads_as_plain_lines(cli_home):
    # Piped, the rendered run has no ANSI codes and no line padded with spaces
    # out to the width; its tables keep their decimal points in one column.
    result = run(["lab", "run", "positional-encoding", "--device", "cpu"], cli_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "\x1b" not in result.stdout and len(lines) > 50
    assert [line for line in lines if line != line.rstrip()] == []
    clock = lines.index(next(line for line in lines if line.startswith("each pair's clock")))
    rows = [line for line in lines[clock:clock + 20] if line.startswith("│")]
    turns = [line.split("│")[3] for line in rows]
    assert turns[0].strip() == "6.283" and turns[-1].strip() == "19869"
    points = {cell.index(".") if "." in cell else len(cell.rstrip()) for cell in turns}
    assert len(points) == 1


def test_lab_list_and_a_recorded_run(cli_home):
    listing = run(["lab", "list"], cli_home)
    assert listing.returncode == 0
    for name in ("batch-size", "input-gradient", "transformer-trace"):
        assert name in listing.stdout
    result = run(["lab", "run", "transformer-trace", "--json", "-p", "causal=false",
                  "--device", "cpu", "--card", "mine/alpha"], cli_home)
    assert result.returncode == 0, result.stderr
    from labs.events import from_json

    events = [from_json(line) for line in result.stdout.splitlines()]
    assert events[0].type == "started" and events[-1].type == "result"
    db = sqlite3.connect(cli_home / "companion.db")
    assert db.execute("SELECT lab, status, card_id FROM lab_runs").fetchall() == [
        ("transformer-trace", "ok", "mine/alpha")]


@pytest.mark.parametrize("args, message", [
    (["lab", "run", "nope"], "lab nope: unknown lab 'nope'"),
    (["lab", "run", "batch-size", "-p", "lr=fast"], "lab batch-size: lr='fast': expected a number"),
    (["lab", "run", "transformer-trace", "-p", "heads=3", "--json"], "heads=3 must divide"),
    (["lab", "run", "transformer-trace", "--device", "tpu"], "Invalid value for '--device'"),
    (["lab", "run", "transformer-trace", "--nproc", "2"], "transformer-trace runs in one process"),
    (["lab", "run", "batch-size", "--nproc", "0"], "Invalid value for '--nproc'"),
])
def test_lab_bad_input_is_one_line_and_exit_2(cli_home, args, message):
    result = run(args, cli_home)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_lab_run_in_two_processes_records_one_run(cli_home):
    result = run(["lab", "run", "batch-size", "--nproc", "2", "--device", "cpu", "--json",
                  "-p", "batch_sizes=64", "-p", "examples=300", "-p", "noise_draws=2",
                  "-p", "noise_batches=4,16", "-p", "hidden=8"], cli_home)
    assert result.returncode == 0, result.stderr
    from labs.events import from_json

    events = [from_json(line) for line in result.stdout.splitlines()]
    assert [e.type for e in events].count("started") == 1 and events[-1].type == "result"
    assert events[-1].summary["world_size"] == 2 and events[-1].summary["backend"] == "gloo"
    db = sqlite3.connect(cli_home / "companion.db")
    [(lab, status, summary)] = db.execute("SELECT lab, status, summary FROM lab_runs").fetchall()
    assert (lab, status) == ("batch-size", "ok")
    assert json.loads(summary) == events[-1].summary


PREDICT_DECK = """
## trace-steps
Predict: How many steps does the post-norm trace of one encoder layer show?
Choices: 12 | 14 | 17
Lab: transformer-trace norm=post
Reveal: steps
A: Fourteen, from token ids to next-token probabilities.
"""


def test_predict_then_run_in_plain_review(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "p.md", PREDICT_DECK, deck_id="pred", deck_name="Predict")
    result = run(["review", "--plain", "--deck", "pred"], home, stdin="12\n3\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Predict: How many steps" in out and "Running the transformer-trace lab" in out
    assert "You predicted: 12 · measured: 14 — not this time" in out
    assert "A: Fourteen" in out and "saved: pred/trace-steps Good" in out
    db = sqlite3.connect(home / "companion.db")
    assert db.execute("SELECT lab, status, card_id, prediction FROM lab_runs").fetchall() == [
        ("transformer-trace", "ok", "pred/trace-steps", "12")]


def test_a_corrupt_database_is_kept_and_doctor_restores_the_newest_backup(cli_home):
    run(["review", "--plain", "--deck", "mine"], cli_home, stdin="\n3\nq\n")
    run(["due"], cli_home)  # the first command of the day with history makes a backup
    run(["due"], cli_home)  # and only the first
    backups = list((cli_home / "backups").glob("companion-*-daily.db"))
    assert len(backups) == 1
    db = cli_home / "companion.db"
    for extra in ("companion.db-wal", "companion.db-shm"):
        (cli_home / extra).unlink(missing_ok=True)
    db.write_bytes(b"\x00garbage" * 500)
    result = run(["due"], cli_home)
    assert result.returncode == 2 and "companion doctor" in result.stderr
    diagnosis = run(["doctor"], cli_home)
    assert diagnosis.returncode == 1 and "companion doctor --restore newest" in diagnosis.stdout
    assert db.read_bytes() == b"\x00garbage" * 500  # nothing overwritten by looking
    restored = run(["doctor", "--restore", "newest"], cli_home)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "integrity: ok" in restored.stdout
    kept = list(cli_home.glob("companion.db.broken-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"\x00garbage" * 500
    reviews = sqlite3.connect(db).execute("SELECT card_id, rating FROM reviews").fetchall()
    assert reviews == [("mine/alpha", 3)]


@pytest.mark.parametrize("args,stdin", [(["due"], ""), (["stats"], ""), (["stats", "--json"], ""),
                                        (["review", "--plain"], "\n3\nq\n")])
def test_standard_output_on_a_full_disk_is_one_line_not_a_traceback(cli_home, args, stdin):
    env = {**os.environ, "COMPANION_HOME": str(cli_home), "NO_COLOR": "1"}
    cmd = [EXE, *args] if EXE else [sys.executable, "-m", "companion.cli", *args]
    with open("/dev/full", "w") as full:
        result = subprocess.run(cmd, input=stdin, stdout=full, stderr=subprocess.PIPE,
                                text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "companion: error: standard output: cannot write: No space left on device"]


def test_review_with_standard_input_closed_says_so(cli_home):
    env = {**os.environ, "COMPANION_HOME": str(cli_home), "NO_COLOR": "1"}
    cmd = [EXE, "review"] if EXE else [sys.executable, "-m", "companion.cli", "review"]
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            env=env, timeout=60, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "standard input or output is closed" in result.stderr


TYPED_DECK = """
## capital
Q: The capital of France? ![a map](map.png)
A: Paris
Type: yes
Extra: ![gone](gone.png) ![secret](../../secret.png)

## gaps
Cloze: {{c1::Softmax}} turns scores into a {{c2::probability distribution}}.
Type: yes
"""


def test_plain_review_of_typed_answers_through_a_pipe(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "t.md", TYPED_DECK, deck_id="typed", deck_name="Typed")
    (home / "decks" / "map.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    # a typo: Again proposed, Enter takes it; exact: Good proposed, 4 overrides it
    result = run(["review", "--plain", "--deck", "typed"], home, stdin="paris\n\nSoftmax\n4\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Q: The capital of France? [image: a map — map.png]" in out
    assert "Type the answer (Enter checks; u: undo, q: quit) > You typed: [p]aris\n" in out
    assert "Answer:    [P]aris\n[ ] marks what differs; [-] a character missing\n" in out
    assert "Not exact, so Again is proposed; Enter takes it, 1-4 choose another." in out
    assert ("Extra: [image: gone — gone.png: not found] [image: secret — ../../secret.png: "
            "outside the deck's folder]") in out
    assert "(Enter: 1)  s b u q > saved: typed/capital Again" in out
    assert "You typed: Softmax  (exact)\nExact, so Good is proposed" in out
    assert "(Enter: 3)  s b u q > saved: typed/gaps.c1 Easy" in out
    db = sqlite3.connect(home / "companion.db")
    assert db.execute("SELECT card_id, rating FROM reviews").fetchall() == [
        ("typed/capital", 1), ("typed/gaps.c1", 4)]


def test_plain_review_of_a_typed_card_takes_u_and_q_and_an_answer_that_reads_s(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "t.md", "## s\nQ: Which letter?\nA: s\nType: yes\n",
               deck_id="typed", deck_name="Typed")
    result = run(["review", "--plain", "--deck", "typed"], home, stdin="s\n\nu\nq\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "You typed: s  (exact)" in out and "saved: typed/s Good" in out
    assert "undone answer: typed/s" in out
