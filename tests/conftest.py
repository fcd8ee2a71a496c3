"""Shared fixtures: every test gets its own COMPANION_HOME."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import pytest

from companion.settings import Settings
from companion.store import Store

# A fixed, non-UTC zone with DST, so day boundaries are tested where they bite.
TZ = "America/New_York"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("COMPANION_HOME", str(path))
    return path


@pytest.fixture
def settings() -> Settings:
    return Settings(timezone=TZ)


@pytest.fixture
def store(home) -> Store:
    from companion.store import open_store

    s = open_store()
    yield s
    s.close()


def database_at(path: Path, version: int) -> sqlite3.Connection:
    """A database as companion's schema `version` left it (migrations 1 to
    `version`, and its user_version), open for a test to fill before a
    Store migrates it."""
    import sqlite_utils

    from companion.store import MIGRATIONS

    conn = sqlite3.connect(path)
    db = sqlite_utils.Database(conn)
    for step in range(1, version + 1):
        MIGRATIONS[step](db)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def write_deck(folder: Path, name: str, body: str, deck_id: str = "test",
               deck_name: str = "Test deck", parent: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    parent_line = f"parent: {parent}\n" if parent else ""
    path.write_text(f"---\nid: {deck_id}\nname: {deck_name}\n{parent_line}---\n\n"
                    + textwrap.dedent(body).lstrip("\n"), encoding="utf-8")
    return path


SMALL_DECK = """
## alpha
Q: What is alpha?
A: The first letter.
Source: The alphabet
Tags: letters

## beta
Q: What is beta?
A: The second letter.
Lab: batch-size batch_sizes=16,256

## gamma
Cloze: {{c1::Gamma}} comes after {{c2::beta::a letter}}.
Tags: letters

## delta
Q: What is delta?
A: The fourth letter, $\\Delta$.
"""


@pytest.fixture
def deck_dir(tmp_path) -> Path:
    folder = tmp_path / "decks"
    write_deck(folder, "test.md", SMALL_DECK)
    return folder
