"""`companion export -o` writes only regular files: never a device, a folder or a
pipe, never replaces a symlink with a file, and `-` is standard output."""

from __future__ import annotations

import json
import os
import stat

import pytest

from .conftest import SMALL_DECK, write_deck
from .test_cli import run


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    run(["review", "--plain"], home, stdin="\n3\nq\n")
    return home


def one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    return result.stderr


@pytest.mark.parametrize("target", ["", ".", "/dev/null", "/dev/stdout"])
def test_devices_folders_and_empty_names_are_refused(home, target):
    before = os.stat("/dev/null").st_mode
    error = one_line_error(run(["export", "--format", "json", "-o", target], home))
    assert "-o " in error
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and os.stat("/dev/null").st_mode == before


def test_a_folder_is_refused(home, tmp_path):
    error = one_line_error(run(["export", "--format", "csv", "-o", str(tmp_path)], home))
    assert "is a folder" in error


def test_a_pipe_is_refused_without_hanging(home, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    error = one_line_error(run(["export", "--format", "json", "-o", str(fifo)], home))
    assert "a pipe" in error and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlink_is_written_through_and_stays_a_link(home, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = run(["export", "--format", "json", "-o", str(link)], home)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["format"] == "companion-export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real.json"]


def test_a_symlink_to_a_device_is_refused(home, tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to("/dev/null")
    one_line_error(run(["export", "--format", "json", "-o", str(link)], home))
    assert link.is_symlink() and os.readlink(link) == "/dev/null"


def test_dash_writes_to_standard_output(home):
    result = run(["export", "--format", "json", "-o", "-"], home)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["format"] == "companion-export" and len(document["reviews"]) == 1


def test_an_existing_file_is_replaced_whole_and_nothing_is_left_beside_it(home, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    out = tmp_path / "log.csv"
    out.write_text("x" * 100_000)
    result = run(["export", "--format", "csv", "-o", str(out)], home)
    assert result.returncode == 0 and result.stdout.startswith(f"wrote {out}")
    assert out.read_text().startswith("card_id,") and len(out.read_text()) < 1000
    assert [p.name for p in tmp_path.iterdir()] == ["log.csv"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
