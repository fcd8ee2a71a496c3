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


def kind_of(mode: int) -> str:
    """What a path that is not a regular file is, from its `st_mode`, as an error says it."""
    import stat

    return ("a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "a folder" if stat.S_ISDIR(mode) else "not a file")


def read_regular(path: Path, limit: int) -> bytes:
    """A file's bytes, for a file the learner's data dir names (settings,
    deck files): an OSError, never a wait, when it is a pipe (opening one
    blocks until a writer comes), a device (/dev/zero never ends) or anything
    but a regular file, or holds more than `limit` bytes (grown since, too)."""
    import errno
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"not a regular file ({kind_of(info.st_mode)})",
                          str(path))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", str(path))
    return data
