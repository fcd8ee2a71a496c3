"""Reading an Anki package (.apkg, .colpkg) into plain rows, checked first.

A package is a zip: `meta` (the package version, absent before Anki 2.1.50),
the collection (`collection.anki21b`, zstd-compressed, from Anki 2.1.50 on;
`collection.anki21` or `collection.anki2` before), `media` (a map of the
numbered members to file names: zstd-compressed protobuf from 2.1.50 on, JSON
before) and the media files as `0`, `1`, ... (each zstd-compressed in the new
format). See rslib/src/import_export/package/.

Everything a stranger's file could do wrong is refused here with one line,
`file: what`, before anything is stored: not a zip, more members or more bytes
unpacked than any real collection needs (a zip bomb: the zip's own sizes are
checked before reading, and each zstd stream is cut off at the bound), a
package or collection schema newer than this reader knows, a media name that
is not a plain file name (`../x` would write outside the media folder).

The collection itself is read with the official `anki` package (an optional
extra, imported only here, when such a file is read): its Rust backend opens
every schema Anki has written, upgrading old ones in a temporary copy.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from companion.interop import ImportError_

# Bounds on what a package may unpack to. A real collection with its media is
# well under them; past them the file is refused before it fills the disk.
MAX_MEMBERS = 200_000
MAX_UNPACKED_BYTES = 8 << 30  # the zip's members together, as the zip declares them
MAX_COLLECTION_BYTES = 2 << 30  # the collection database, unpacked
MAX_MEDIA_FILE_BYTES = 1 << 30
MAX_MEDIA_MAP_BYTES = 64 << 20

PACKAGE_VERSIONS = {1: "collection.anki2", 2: "collection.anki21", 3: "collection.anki21b"}
NEWEST_SCHEMA = 18  # Anki's SCHEMA_MAX_VERSION (rslib/src/storage/upgrades/mod.rs)
LATEST_SECONDS = 32_503_680_000  # 3000-01-01: no real collection's time is later
INSTALL_HINT = ("reading Anki packages needs the anki extra: pip install 'companion[anki]' "
                "(with pipx: pipx inject companion anki zstandard)")


@dataclass
class DeckRow:
    id: int
    name: str  # Anki's full name, "Parent::Child"
    description: str
    config_id: int | None  # None: a filtered deck
    filtered: bool


@dataclass
class NotetypeRow:
    id: int
    name: str
    cloze: bool
    fields: list[str]
    templates: list[tuple[str, str, str]]  # (name, question format, answer format) by ord
    stock_kind: int  # Anki's originalStockKind: 6 is image occlusion


@dataclass
class NoteRow:
    id: int
    guid: str
    notetype_id: int
    modified: int  # seconds
    tags: list[str]
    fields: list[str]


@dataclass
class CardRow:
    id: int
    note_id: int
    deck_id: int
    ord: int
    type: int
    queue: int
    due: int
    interval: int
    ease: int
    reps: int
    lapses: int
    left: int
    original_due: int
    original_deck_id: int
    data: dict[str, Any]


@dataclass
class RevlogRow:
    id: int  # ms
    card_id: int
    ease: int  # 0: not an answer (a reset, a set due date, a reschedule)
    interval: int  # days, or -seconds
    last_interval: int
    factor: int
    time_ms: int
    kind: int  # 0 learn, 1 review, 2 relearn, 3 filtered, 4 manual, 5 rescheduled


@dataclass
class MediaMember:
    member: str  # the zip member that holds it
    name: str  # the file name the notes refer to
    compressed: bool


@dataclass
class Package:
    path: Path
    version: int
    crt: int  # the collection's creation, seconds
    creation_offset: int | None  # minutes west of UTC at creation, when the collection says
    rollover: int | None
    fsrs: bool
    decks: dict[int, DeckRow] = field(default_factory=dict)
    configs: dict[int, dict[str, Any]] = field(default_factory=dict)  # Anki's legacy dicts
    notetypes: dict[int, NotetypeRow] = field(default_factory=dict)
    notes: dict[int, NoteRow] = field(default_factory=dict)
    cards: list[CardRow] = field(default_factory=list)
    revlog: list[RevlogRow] = field(default_factory=list)
    media: dict[str, MediaMember] = field(default_factory=dict)


def fail(path: Path, what: str) -> ImportError_:
    return ImportError_(f"{path}: {what}")


def _meta_version(path: Path, data: bytes) -> int:
    """PackageMetadata (one field: 1, the version, a varint), read by hand."""
    version, pos = 0, 0
    while pos < len(data):
        key = data[pos]
        pos += 1
        if key & 7 != 0:  # only varints are expected; anything else is a newer format
            raise fail(path, "its meta is of a newer Anki than this import understands")
        value, shift = 0, 0
        while pos < len(data):
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80 or shift > 63:
                break
        if key >> 3 == 1:
            version = value
    return version


def safe_media_name(name: str) -> bool:
    """One plain file name, as Anki's filename_is_safe: no folder, no `..`,
    no absolute path or drive, nothing a file system would take specially."""
    if not name or name in (".", "..") or len(name.encode("utf-8", "replace")) > 255:
        return False
    if any(ch in name for ch in "/\\\x00") or re.search(r"[\x00-\x1f\x7f]", name):
        return False
    if re.match(r"^[A-Za-z]:", name):
        return False
    return True


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError:
        return None
    return zstandard


def copy_bounded(source: IO[bytes], target: IO[bytes], compressed: bool, limit: int,
                 path: Path, what: str) -> int:
    """Copy (and zstd-decompress) `source` into `target`, refusing past `limit` bytes."""
    total = 0
    if compressed:
        zstd = _zstd()
        if zstd is None:
            raise ImportError_(f"{path}: {INSTALL_HINT}")
        try:
            reader = zstd.ZstdDecompressor().stream_reader(source, read_across_frames=True)
            while chunk := reader.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise fail(path, f"{what} unpacks to more than {limit >> 20:,} MiB; "
                                     "refused (a zip bomb?)")
                target.write(chunk)
        except zstd.ZstdError as exc:
            raise fail(path, f"{what} is not valid zstd data ({exc})") from None
        return total
    while chunk := source.read(1 << 20):
        total += len(chunk)
        if total > limit:
            raise fail(path, f"{what} unpacks to more than {limit >> 20:,} MiB; refused")
        target.write(chunk)
    return total


def open_archive(path: Path) -> zipfile.ZipFile:
    """The package's zip, its members' count and declared sizes checked."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise fail(path, "not an Anki package (an .apkg or .colpkg is a zip archive)") from None
    except OSError as exc:
        raise fail(path, f"cannot read: {exc.strerror or exc}") from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        archive.close()
        raise fail(path, f"{len(members):,} files in the archive; at most {MAX_MEMBERS:,} "
                         "are read (a zip bomb?)")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        archive.close()
        raise fail(path, f"unpacks to {unpacked / (1 << 30):,.1f} GiB, more than the "
                         f"{MAX_UNPACKED_BYTES >> 30} GiB an import allows (a zip bomb?)")
    return archive


def read_package(path: Path, workdir: Path) -> Package:
    """The package at `path`, its collection unpacked into `workdir`."""
    archive = open_archive(path)
    try:
        return _read(path, archive, workdir)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise fail(path, f"damaged archive ({exc})") from None
    finally:
        archive.close()


def _read(path: Path, archive: zipfile.ZipFile, workdir: Path) -> Package:
    names = set(archive.namelist())
    if "meta" in names:
        version = _meta_version(path, archive.read("meta")[:64])
        if version == 0:  # protobuf's default: the field is missing
            raise fail(path, "its meta member names no package version (a damaged package)")
        if version not in PACKAGE_VERSIONS:
            raise fail(path, f"written by a newer Anki than this import understands (package "
                             f"version {version}; known: 1 to {max(PACKAGE_VERSIONS)})")
    else:
        version = 2 if "collection.anki21" in names else 1
    member = PACKAGE_VERSIONS[version]
    if member not in names:
        raise fail(path, f"no {member} in the archive: not an Anki package")
    media = _media_map(path, archive, names, version)
    database = workdir / "collection.anki2"
    with archive.open(member) as source, database.open("wb") as target:
        copy_bounded(source, target, version == 3, MAX_COLLECTION_BYTES, path, member)
    _check_schema(path, database)
    package = _read_collection(path, database, version)
    package.media = media
    return package


def _media_map(path: Path, archive: zipfile.ZipFile, names: set[str],
               version: int) -> dict[str, MediaMember]:
    if "media" not in names:
        return {}
    import io

    buffer = io.BytesIO()
    with archive.open("media") as source:
        copy_bounded(source, buffer, version == 3, MAX_MEDIA_MAP_BYTES, path, "the media map")
    data = buffer.getvalue()
    entries: list[tuple[str, str]] = []
    if version == 3:
        from anki.import_export_pb2 import MediaEntries
        from google.protobuf.message import DecodeError

        try:
            parsed = MediaEntries.FromString(data)
        except DecodeError:
            raise fail(path, "its media map is damaged") from None
        entries = [(str(index), entry.name) for index, entry in enumerate(parsed.entries)]
    else:
        try:
            mapping = json.loads(data.decode("utf-8") or "{}")
        except (UnicodeDecodeError, ValueError):
            raise fail(path, "its media map is damaged (not JSON)") from None
        if not isinstance(mapping, dict):
            raise fail(path, "its media map is damaged (not a JSON object)")
        entries = [(str(k), v) for k, v in mapping.items()]
    out: dict[str, MediaMember] = {}
    for member, name in entries:
        if not isinstance(name, str) or not safe_media_name(name):
            raise fail(path, f"media file name {str(name)[:80]!r} is not a plain file name "
                             "(it would be written outside the media folder); refused")
        if member not in names:
            continue  # Anki leaves a missing media file out, too
        out[name] = MediaMember(member, name, version == 3)
    return out


def _check_schema(path: Path, database: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT ver FROM col").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise fail(path, f"its collection is not an Anki database ({exc})") from None
    if row is None or not isinstance(row[0], int):
        raise fail(path, "its collection is not an Anki database (no col row)")
    if row[0] > NEWEST_SCHEMA:
        raise fail(path, f"written by a newer Anki than this import understands (collection "
                         f"schema {row[0]}; known: up to {NEWEST_SCHEMA})")


def _anki_collection(path: Path) -> Any:
    try:
        from anki.collection import Collection
    except ImportError:
        raise ImportError_(f"{path}: {INSTALL_HINT}") from None
    return Collection


def _read_collection(path: Path, database: Path, version: int) -> Package:
    collection_class = _anki_collection(path)
    try:
        col = collection_class(str(database))
    except Exception as exc:  # the backend's errors: DBError, a newer schema, ...
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(path, f"Anki cannot open its collection: {text[:200]}") from None
    try:
        package = Package(
            path=path, version=version, crt=int(col.db.scalar("SELECT crt FROM col") or 0),
            creation_offset=_int_or_none(col.get_config("creationOffset", None)),
            rollover=_int_or_none(col.get_config("rollover", None)),
            fsrs=bool(col.get_config("fsrs", False)))
        for deck in col.decks.all():
            filtered = bool(deck.get("dyn"))
            package.decks[int(deck["id"])] = DeckRow(
                int(deck["id"]), str(deck["name"]), str(deck.get("desc") or ""),
                None if filtered else int(deck.get("conf") or 1), filtered)
        for conf in col.decks.all_config():
            package.configs[int(conf["id"])] = dict(conf)
        for model in col.models.all():
            package.notetypes[int(model["id"])] = NotetypeRow(
                int(model["id"]), str(model["name"]), int(model.get("type") or 0) == 1,
                [str(f["name"]) for f in sorted(model["flds"], key=lambda f: f["ord"])],
                [(str(t["name"]), str(t.get("qfmt") or ""), str(t.get("afmt") or ""))
                 for t in sorted(model["tmpls"], key=lambda t: t["ord"])],
                int(model.get("originalStockKind") or 0))
        for nid, guid, mid, mod, tags, flds in col.db.all(
                "SELECT id, guid, mid, mod, tags, flds FROM notes ORDER BY id"):
            package.notes[nid] = NoteRow(nid, str(guid), mid, int(mod), str(tags).split(),
                                         str(flds).split("\x1f"))
        for row in col.db.all("SELECT id, nid, did, ord, type, queue, due, ivl, factor, reps, "
                              "lapses, left, odue, odid, data FROM cards ORDER BY nid, ord, id"):
            try:
                data = json.loads(row[14]) if row[14] else {}
            except ValueError:
                data = {}
            (cid, nid, did, ord_, ctype, queue, due, ivl, factor, reps, lapses, left, odue,
             odid) = (int(v or 0) for v in row[:14])
            if (ctype not in (0, 1, 2, 3) or not -3 <= queue <= 4 or abs(ivl) > MAX_CARD_DAYS
                    or not 0 <= reps <= MAX_CARD_COUNT or not 0 <= lapses <= MAX_CARD_COUNT):
                # a state no Anki writes: a type past review/relearning, an interval of
                # centuries, counts a lifetime can't make (each would be stored as it is)
                raise fail(path, f"card {cid} has a state Anki never writes (type {ctype}, "
                                 f"queue {queue}, interval {ivl} days, {reps} reviews, "
                                 f"{lapses} lapses): a damaged collection")
            package.cards.append(CardRow(cid, nid, did, ord_, ctype, queue, due, ivl, factor,
                                         reps, lapses, left, odue, odid,
                                         data if isinstance(data, dict) else {}))
        for row in col.db.all("SELECT id, cid, ease, ivl, lastIvl, factor, time, type "
                              "FROM revlog ORDER BY cid, id"):
            if (not all(isinstance(v, int) for v in row)
                    or not 0 <= row[0] < LATEST_SECONDS * 1000):
                raise fail(path, f"its review log has a row whose time or values are not "
                                 f"numbers it could hold (id {str(row[0])[:24]!r}, card "
                                 f"{str(row[1])[:24]!r}): a damaged collection")
            package.revlog.append(RevlogRow(*row))
    finally:
        col.close(downgrade=False)
    if not 0 <= package.crt < LATEST_SECONDS:
        raise fail(path, f"its collection's creation time ({package.crt}) is not a date "
                         "(a damaged collection)")
    return package


MAX_CARD_DAYS = 100_000  # an interval (Anki's longest is 36,500 days), as the json export bounds it
MAX_CARD_COUNT = 10_000_000  # reviews or lapses of one card, as a set-state event bounds them


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def extract_media(path: Path, media: list[MediaMember], folder: Path) -> dict[str, Path]:
    """Unpack these media files into `folder` (bounded); name -> the file written."""
    out: dict[str, Path] = {}
    written: list[Path] = []
    archive = open_archive(path)
    try:
        for item in media:
            handle, name = tempfile.mkstemp(dir=folder, prefix=".media-", suffix=".part")
            os.close(handle)
            target = Path(name)
            written.append(target)
            with archive.open(item.member) as source, target.open("wb") as sink:
                copy_bounded(source, sink, item.compressed, MAX_MEDIA_FILE_BYTES, path,
                             f"media file {item.name!r}")
            out[item.name] = target
    except BaseException as exc:
        for part in written:  # nothing half-unpacked stays behind
            part.unlink(missing_ok=True)
        if isinstance(exc, (zipfile.BadZipFile, EOFError)):
            raise fail(path, f"damaged archive ({exc})") from None
        raise
    finally:
        archive.close()
    return out
