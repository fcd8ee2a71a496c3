"""Formats in and out of the learner's collection, each validated at this boundary.

- json (`json_export`): lossless (decks' cards and text, every review, lab runs,
  settings) with a format version; importing it into an empty home gives the
  same state, and into a used one merges: the union of reviews by their ids,
  then a replay.
- csv (`csv_log`): the review log in the columns FSRS tools read; importing such
  a file (from Anki or FSRS tools) gives cards in an "imported" deck with their
  history replayed.
- html (`html_report`) and apkg (`apkg`): a report for a browser, the decks for Anki.

Every import checks the whole file first and writes in one transaction: a bad
file is refused with `file:line: message` and nothing is half-imported.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from companion.decks import IMPORTED_DECK
from companion.paths import kind_of
from companion.settings import Settings
from companion.store import Store

__all__ = ["FORMATS", "IMPORTED_DECK", "ImportError_", "ImportResult", "OutputError", "export",
           "import_file", "output_target", "write_export"]

FORMATS = ("json", "csv", "html", "apkg")


class ImportError_(ValueError):
    """A file that can't be imported; the message is `file:line: what`."""


@dataclass
class ImportResult:
    added: dict[str, int]
    settings: Settings | None = None  # the export's settings, when adopted
    notes: list[str] = field(default_factory=list)  # what the learner should know, a line each

    def summary(self) -> str:
        """What came, as both faces say it: "5 cards, 2 reviews, 1 lab runs" reads
        "lab runs", not the table's name "lab_runs"."""
        return ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in self.added.items())


class OutputError(ValueError):
    """A place an export can't be written to; the message names it and says why."""


def output_target(path: Path) -> Path:
    """The regular file an export named `path` goes to: a new file, or an
    existing regular one (replaced whole), reached through any symlinks so a
    link is written through, never replaced by a file. Anything else (a
    folder, a device, a pipe, a socket) is refused before anything is written."""
    if str(path) in ("", "."):
        raise OutputError(f"{str(path)!r}: name a file to write (or - for standard output)")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; name a file in it")
    real = Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"{path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{path}: not a regular file ({kind_of(mode)}); use - for standard "
                          "output")
    if not real.parent.is_dir():
        raise OutputError(f"{path}: folder {real.parent} does not exist")
    return real


def write_export(store: Store, settings: Settings, fmt: str, path: Path,
                 stdout: BinaryIO | None = None) -> Path | None:
    """Export `fmt` to `path` as `companion export -o` and the app's palette do:
    written whole to a fresh temporary file beside the target, then renamed
    over it, so a crash never leaves half a file under the name. `-` writes
    to standard output instead (returns None)."""
    import tempfile

    if str(path) == "-":
        import sys

        with tempfile.TemporaryDirectory() as folder:
            part = Path(folder) / f"export.{fmt}"
            export(store, settings, fmt, part)
            out = stdout or sys.stdout.buffer
            out.write(part.read_bytes())
            out.flush()
        return None
    target = output_target(path)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    part = Path(name)
    try:
        export(store, settings, fmt, part)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return target


def export(store: Store, settings: Settings, fmt: str, path: Path) -> None:
    """Write `fmt` to `path`, readable by the learner only, like the database."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    path.touch(mode=0o600)
    path.chmod(0o600)  # an existing file keeps its mode through touch
    if fmt == "json":
        from companion.interop.json_export import write_json

        write_json(store, settings, path)
    elif fmt == "csv":
        from companion.interop.csv_log import export_csv

        export_csv(store, path)
    elif fmt == "html":
        from companion.interop.html_report import write_html

        write_html(store, settings, path)
    elif fmt == "apkg":
        from companion.interop.apkg import write_apkg

        write_apkg(store, path, settings)
    path.chmod(0o600)  # a writer that renamed a temp file into place brought its mode


def import_file(store: Store, settings: Settings, path: Path,
                adopt_settings: bool = False) -> ImportResult:
    if not path.exists():
        raise ImportError_(f"{path}: no such file")
    mode = path.stat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        # a device or a pipe: reading it would never end
        raise ImportError_(f"{path}: not a regular file")
    if path.suffix.lower() == ".json":
        from companion.interop.json_export import import_json

        return import_json(store, settings, path, adopt_settings)
    if path.suffix.lower() == ".csv":
        from companion.interop.csv_log import import_csv

        return import_csv(store, settings, path)
    if path.suffix.lower() in (".apkg", ".colpkg"):
        from companion.interop.anki_import import import_anki

        return import_anki(store, settings, path)
    raise ImportError_(f"{path}: expected a .json export, a .csv review log or an Anki "
                       ".apkg/.colpkg")

