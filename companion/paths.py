"""Where the learner's data lives: platformdirs' user data dir, or COMPANION_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The data dir, created readable by the learner only."""
    override = os.environ.get("COMPANION_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        from platformdirs import user_data_path

        path = user_data_path("companion", appauthor=False)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def database_path() -> Path:
    return home() / "companion.db"


def settings_path() -> Path:
    return home() / "settings.toml"


def user_decks_dir() -> Path:
    return home() / "decks"


def shipped_decks_dir() -> Path:
    """The decks that ship with the app: in the wheel, or the checkout's decks/."""
    here = Path(__file__).resolve().parent
    packaged = here / "shipped_decks"
    if packaged.is_dir():
        return packaged
    return here.parent / "decks"


def deck_files(dirs: list[Path]) -> list[Path]:
    """The deck files in `dirs`, in order (here, not in `companion.decks`: the
    start compares their sizes and times without loading the deck parser)."""
    files: list[Path] = []
    for folder in dirs:
        if folder.is_dir():
            files.extend(p for p in sorted(folder.glob("*.md")) if p.name.lower() != "readme.md")
    return files
