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
    def __init__(self, home: Path, width: int = 80, height: int = 24, args: str = ""):
        self.name = f"companion-test-{uuid.uuid4().hex[:8]}"
        env = f"env COMPANION_HOME={home} TERM=xterm-256color"
        subprocess.run([TMUX, "new-session", "-d", "-s", self.name, "-x", str(width), "-y",
                        str(height), f"{env} {companion_command()} {args}; sleep 30"],
                       check=True)
        # What an OSC 52 from the app would reach: tmux's own paste buffers.
        subprocess.run([TMUX, "set-option", "-t", self.name, "set-clipboard", "on"],
                       capture_output=True)

    def title(self) -> str:
        return subprocess.run([TMUX, "display-message", "-p", "-t", self.name,
                               "#{pane_title}"], capture_output=True, text=True).stdout.strip()

    def buffers(self) -> str:
        return subprocess.run([TMUX, "list-buffers"], capture_output=True, text=True).stdout

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
        assert "Deep learning, week one" in shown and "Enter study" in shown
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


def test_a_deck_that_sends_escape_sequences_leaves_clipboard_and_title_alone(tmp_path):
    """The card's OSC 52 (clipboard) and OSC 0 (title) show as ␛ text on screen;
    the terminal never receives them."""
    from ..test_terminal_safety import HOSTILE_DECK

    home = tmp_path / "home"
    (home / "decks").mkdir(parents=True)
    (home / "decks" / "evil.md").write_text(HOSTILE_DECK, encoding="utf-8")
    buffers_before = subprocess.run([TMUX, "list-buffers"], capture_output=True,
                                    text=True).stdout
    terminal = Terminal(home, args="review --deck evil")
    try:
        title_before = terminal.title()
        shown = terminal.wait_for("Show answer")
        assert "␛]52;c;" in shown and "Copy" in shown
        terminal.keys("Space")
        shown = terminal.wait_for("3 Good")
        assert "␛]0;pwned" in shown
        time.sleep(0.3)
        assert "pwned" not in terminal.title() and terminal.title() == title_before
        assert terminal.buffers() == buffers_before
        terminal.keys("Escape")
    finally:
        terminal.close()
