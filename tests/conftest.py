"""Shared fixtures: every test gets its own COMPANION_HOME."""

from __future__ import annotations

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
