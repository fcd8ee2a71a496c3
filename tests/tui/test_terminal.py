"""End to end: the installed `companion` in a real terminal (tmux), three cards
answered by keystrokes, then quit; the three reviews are in the database."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from ..conftest import write_deck
from .conftest import SMALL_DECK

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (apt-get install tmux); this test drives the "
    "app in a real terminal through it")


def companion_command() -> str:
    script = Path(sys.executable).with_name("companion")
    if not script.exists():
        pytest.skip(f"the `companion` console script is not installed next to {sys.executable}")
    return str(script)


class Terminal:
    def __init__(self, home: Path, width: int = 80, height: int = 24):
        self.name = f"companion-test-{uuid.uuid4().hex[:8]}"
        env = f"env COMPANION_HOME={home} TERM=xterm-256color"
        subprocess.run([TMUX, "new-session", "-d", "-s", self.name, "-x", str(width), "-y",
                        str(height), f"{env} {companion_command()}; sleep 30"], check=True)

    def screen(self) -> str:
        return subprocess.run([TMUX, "capture-pane", "-p", "-t", self.name], check=True,
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "send-keys", "-t", self.name, *keys], check=True)

    def close(self) -> None:
        subprocess.run([TMUX, "kill-session", "-t", self.name], capture_output=True)


def test_three_cards_answered_in_a_real_terminal_are_in_the_database(tmp_path):
    home = tmp_path / "home"
    write_deck(home / "decks", "test.md", SMALL_DECK)
    terminal = Terminal(home)
    try:
        # A first start: the shipped deck is there, ready to study, keys on one line.
        shown = terminal.wait_for("Study now ·")
        assert "Deep learning, week one" in shown and "Enter or space" in shown
        terminal.keys("s")
        for _ in range(3):
            terminal.wait_for("Show answer")
            terminal.keys("Space")
            terminal.wait_for("3 Good")
            terminal.keys("3")
        terminal.wait_for("Show answer")  # the fourth card: three are answered
        terminal.keys("Escape")
        terminal.wait_for("3 answers today")
        terminal.keys("q")
        deadline = time.monotonic() + 10
        while "Study now" in terminal.screen() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Study now" not in terminal.screen()  # the app has quit
    finally:
        terminal.close()
    conn = sqlite3.connect(home / "companion.db")
    reviews = conn.execute("SELECT card_id, rating FROM reviews ORDER BY rowid").fetchall()
    conn.close()
    assert len(reviews) == 3 and len({r[0] for r in reviews}) == 3
    assert {r[1] for r in reviews} == {3}
