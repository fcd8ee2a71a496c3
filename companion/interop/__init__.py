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

from dataclasses import dataclass
from pathlib import Path

from companion.settings import Settings
from companion.store import Store

FORMATS = ("json", "csv", "html", "apkg")
IMPORTED_DECK = "imported"


class ImportError_(ValueError):
    """A file that can't be imported; the message is `file:line: what`."""


@dataclass
class ImportResult:
    added: dict[str, int]
    settings: Settings | None = None  # the export's settings, when adopted


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

        write_apkg(store, path)
    path.chmod(0o600)  # a writer that renamed a temp file into place brought its mode


def import_file(store: Store, settings: Settings, path: Path,
                adopt_settings: bool = False) -> ImportResult:
    if not path.exists():
        raise ImportError_(f"{path}: no such file")
    if path.suffix.lower() == ".json":
        from companion.interop.json_export import import_json

        return import_json(store, settings, path, adopt_settings)
    if path.suffix.lower() == ".csv":
        from companion.interop.csv_log import import_csv

        return import_csv(store, settings, path)
    raise ImportError_(f"{path}: expected a .json export or a .csv review log")

