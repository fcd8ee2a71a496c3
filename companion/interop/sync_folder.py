"""The sync folder: `companion sync DIR`, where DIR is any folder that a file
sync tool (Syncthing, Dropbox, ...) or a git repository shares between the
learner's machines.

Each machine writes one file there, `companion-<machine id>.jsonl`, and
only ever adds to it: JSON Lines, a header first, then one record a line
(a deck or a card the other machines may lack, a review, a reschedule or
forget, a suspend/unsuspend/bury/leech change, a settings change), each with
its own id. A sync reads every other machine's file, merges what it has
not got (the union of each kind of record by id, then a replay of the cards
they touch, the later flag change winning), and adds to its own file what
this machine has that no file there holds yet. So machines that studied
offline converge on the same log, and so on the same card states, once each
has synced after the others' changes reached the folder; a record is never
stored twice, and nothing is lost as long as one file holds it.

What could go wrong in a shared folder is told apart and left alone, each
with a one-line warning naming the file, and nothing stored changes because
of it: a half-written file of a killed sync (files are written whole to a
hidden temporary file and renamed into place; a stale one of this machine's
is removed), a last record cut short (a copy still under way: the rest is
read), a conflict copy made by the sync tool, a file that is not companion's,
damaged, written by a newer companion, or another learner's (each file names
its collection: the machines that share a learner's log).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from companion.interop import schema
from companion.interop.merge import add_missing, merge_log, rebuild_cards
from companion.paths import read_regular
from companion.scheduler import PresetModels
from companion.settings import Settings, SettingsError, from_mapping
from companion.store import CardFlags, Store, StoreError, now_ms

FORMAT = "companion-sync"
FORMAT_VERSION = 2  # 2: set-state events (a card's state as an Anki package held it)
FILE_NAME = re.compile(r"companion-([0-9a-f]{32})\.jsonl")
# How a sync tool names the copy it keeps when a file changed in two places:
# Syncthing's ".sync-conflict-...", Dropbox's "(... conflicted copy ...)",
# Nextcloud's "(conflicted copy ...)", "file (1)" from Google Drive and others.
CONFLICT_COPY = re.compile(r"conflict|\(\d+\)|copy", re.IGNORECASE)
MAX_FILE_BYTES = 1 << 30  # a file bigger than this is no machine's log of study
STALE_PART_SECONDS = 3600  # an own temporary file older than this was left by a killed sync

# meta keys: this machine's id and its collection's, once made; the settings
# last synced (what a later change is told from)
MACHINE_KEY = "sync_machine"
COLLECTION_KEY = "sync_collection"
SETTINGS_KEY = "sync_settings"
# Settings that are the machine's, not the collection's: where things are on
# it, how its terminal looks. Every other setting is synced.
LOCAL_SETTINGS = frozenset({"timezone", "theme", "keymap", "sync_dir"})
SYNCED_SETTINGS = tuple(f.name for f in fields(Settings) if f.name not in LOCAL_SETTINGS)

HEX_ID = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]


class SyncError(ValueError):
    """A sync that can't be done at all (no such folder, one that can't be
    written); the message names the folder and says why."""


class _Bad(ValueError):
    """A file in the folder that is left alone; the message says why."""


# -- the records ---------------------------------------------------------------
# Each is the json export's record of the same thing (companion.interop.schema,
# one set of checks for both) with its kind in "type".


class Header(msgspec.Struct, tag="header", tag_field="type", forbid_unknown_fields=True):
    format: str
    version: int
    machine: HEX_ID
    collection: HEX_ID
    name: schema.SHORT = ""  # the machine's host name when it made the file
    app_version: schema.SHORT | None = None
    created_at: schema.MS | None = None


class DeckRecord(schema.Deck, tag="deck", tag_field="type"):
    pass


class CardRecord(schema.Card, tag="card", tag_field="type"):
    pass


class ReviewRecord(schema.Review, tag="review", tag_field="type"):
    pass


class EventRecord(schema.CardEvent, tag="event", tag_field="type"):
    pass


class FlagRecord(msgspec.Struct, tag="flag", tag_field="type", forbid_unknown_fields=True):
    id: schema.ID
    card_id: schema.ID
    at: schema.MS
    kind: Literal["suspend", "unsuspend", "bury", "leech", "unleech"]
    until: schema.MS | None = None  # a burial's end; none: unburied


class SettingsRecord(msgspec.Struct, tag="settings", tag_field="type",
                     forbid_unknown_fields=True):
    id: schema.ID
    at: schema.MS
    values: dict[str, Any]  # SYNCED_SETTINGS (a name this companion doesn't know is ignored)


class UndoRecord(msgspec.Struct, tag="undo", tag_field="type", forbid_unknown_fields=True):
    """An answer taken back: the review's id (a review record of it, in any
    file, no longer counts)."""

    id: schema.ID
    card_id: schema.ID
    at: schema.MS


Record = (DeckRecord | CardRecord | ReviewRecord | EventRecord | FlagRecord | SettingsRecord
          | UndoRecord)
KINDS = ("deck", "card", "review", "event", "flag", "settings", "undo")
HEADER_START = b'{"type": "header", "format": "companion-sync"'  # as this module writes it


@dataclass
class SyncFile:
    """One machine's file, read and checked."""

    path: Path
    header: Header
    records: dict[str, list[Any]]  # kind -> its records in file order
    end: int  # bytes of whole, good records (what a rewrite of one's own file keeps)
    cut: bool = False  # its last record was cut short
    data: bytes = b""

    def ids(self, kind: str) -> set[Any]:
        return {record_key(kind, r) for r in self.records[kind]}


def record_key(kind: str, record: Any) -> Any:
    """What tells one record of a kind from another: its id; an undo's, its
    review's id with its card (the store keys them so: a forged record naming
    the id with another card must not stand for the true one)."""
    return (record.id, record.card_id) if kind == "undo" else record.id


_DECODER: msgspec.json.Decoder[Any] | None = None


def _decoder() -> msgspec.json.Decoder[Any]:
    global _DECODER
    if _DECODER is None:
        _DECODER = msgspec.json.Decoder(Record)
    return _DECODER


def _record_problem(record: Any, latest: int) -> str:
    if isinstance(record, ReviewRecord):
        return schema.review_problem(record, latest)
    if isinstance(record, EventRecord):
        return schema.event_problem(record, latest)
    if isinstance(record, CardRecord):
        return schema.card_problem(record)
    if isinstance(record, (FlagRecord, SettingsRecord, UndoRecord)) and record.at > latest:
        return f"at {record.at} is in the future"
    if isinstance(record, SettingsRecord):
        try:
            adopted_values(Settings(), record.values)
        except SettingsError as exc:
            return str(exc)
    return ""


def read_sync_file(path: Path) -> SyncFile:
    """A machine's file, every record checked; _Bad when it is not one, or
    is damaged (a last record cut short is left out, not a fault)."""
    try:
        # opened without waiting, then checked: a file swapped for a pipe between a
        # check and the open can't block the sync
        data = read_regular(path, MAX_FILE_BYTES)
    except OSError as exc:
        raise _Bad(f"cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    whole = lines[:-1]  # each ended by a newline; what follows the last is cut short or b""
    tail = lines[-1]
    cut = False
    if tail.strip():
        try:
            msgspec.json.decode(tail)
            whole.append(tail)  # complete, only its newline missing
        except msgspec.DecodeError:
            cut = True
    if not whole or not whole[0].strip():
        start = HEADER_START[:len(tail.strip())]
        raise _Bad("no whole header yet (a copy still under way?)"
                   if cut and tail.strip().startswith(start) and start else
                   "not a companion sync file" + ("" if tail.strip() else " (empty)"))
    header = _header(whole[0])
    records: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    decoder, latest = _decoder(), schema.latest_allowed()
    for number, line in enumerate(whole[1:], start=2):
        if not line.strip():
            continue
        try:
            record = decoder.decode(line)
        except msgspec.ValidationError as exc:
            raise _Bad(f"line {number}: {schema.invalid(exc)}") from None
        except msgspec.DecodeError as exc:
            raise _Bad(f"line {number}: not valid JSON ({exc})") from None
        if problem := _record_problem(record, latest):
            raise _Bad(f"line {number}: {record.__struct_config__.tag}: {problem}")
        records[record.__struct_config__.tag].append(record)
    end = sum(len(line) + 1 for line in whole)
    return SyncFile(path, header, records, min(end, len(data)), cut, data)


def _header(line: bytes) -> Header:
    try:
        raw = msgspec.json.decode(line)
    except msgspec.DecodeError:
        raise _Bad("not a companion sync file (its first line is not JSON)") from None
    if not isinstance(raw, dict) or raw.get("type") != "header" or raw.get("format") != FORMAT:
        raise _Bad(f"not a companion sync file (no \"format\": \"{FORMAT}\" header)")
    version = raw.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Bad("no format version in its header")
    if version > FORMAT_VERSION:
        raise _Bad(f"written by a newer companion (sync format {version}; this one reads up "
                   f"to {FORMAT_VERSION}): upgrade companion here")
    try:
        return msgspec.convert(raw, Header, strict=True)
    except msgspec.ValidationError as exc:
        raise _Bad(f"line 1: {schema.invalid(exc)}") from None


# -- settings ------------------------------------------------------------------


def synced_values(settings: Settings) -> dict[str, Any]:
    """The settings every machine of the collection shares."""
    return {k: v for k, v in asdict(settings).items() if k in SYNCED_SETTINGS}


def adopted_values(settings: Settings, values: dict[str, Any]) -> Settings:
    """`settings` with a settings record's values in place of its own (this
    machine's own settings kept); a SettingsError when they don't check."""
    known = {k: v for k, v in values.items() if k in SYNCED_SETTINGS}
    return from_mapping({**asdict(settings), **known}, where="settings")


# -- the report ----------------------------------------------------------------


@dataclass(frozen=True)
class Merged:
    """What one machine's file brought."""

    machine: str
    name: str
    path: Path
    reviews: int = 0
    card_events: int = 0
    flags: int = 0
    cards: int = 0
    own: bool = False  # this machine's own file (its records back after a restore)
    undone: int = 0  # answers it took back that this store had

    @property
    def nothing(self) -> bool:
        return not (self.reviews or self.card_events or self.flags or self.cards or self.undone)


@dataclass(frozen=True)
class SyncReport:
    folder: Path
    machine: str
    own_file: Path
    merged: tuple[Merged, ...]
    warnings: tuple[str, ...]
    written: int  # records added to this machine's file
    replayed: int  # cards replayed
    settings: Settings  # in force after the sync
    settings_note: str = ""  # what happened to the settings, if anything

    def lines(self) -> list[str]:
        """One line per machine merged, then the summary."""
        out = []
        for m in self.merged:
            who = ("this machine's own file" if m.own
                   else f"{m.name or 'a machine'} ({m.machine[:8]})")
            out.append(f"{who}: {_added(m)}")
        others = sum(1 for m in self.merged if not m.own)
        reviews = sum(m.reviews for m in self.merged)
        out.append(f"synced with {others} other machine{'s' if others != 1 else ''} in "
                   f"{self.folder}: {reviews} review{'s' if reviews != 1 else ''} added, "
                   f"{self.replayed} card{'s' if self.replayed != 1 else ''} replayed; "
                   f"{self.written} new record{'s' if self.written != 1 else ''} of this "
                   f"machine's written to {self.own_file.name}")
        if self.settings_note:
            out.append(self.settings_note)
        return out


def _added(m: Merged) -> str:
    if m.nothing:
        return "nothing new"
    parts = [f"{m.reviews} review{'s' if m.reviews != 1 else ''} added"]
    for n, what in ((m.undone, "answer taken back"), (m.card_events, "card event"),
                    (m.flags, "flag change"), (m.cards, "card")):
        if n:
            parts.append(f"{n} {what}{'s' if n != 1 else ''}")
    return ", ".join(parts)


# -- the sync ------------------------------------------------------------------


def sync_folder(store: Store, settings: Settings, folder: Path, settings_path: Path,
                join: bool = False, hostname: str | None = None,
                clock: Callable[[], int] = now_ms) -> SyncReport:
    """Merge every other machine's file in `folder` into `store`, and add this
    machine's new records to its own file there. With `join`, a store that
    synced elsewhere takes this folder's collection. Raises SyncError when
    the folder can't be used; nothing stored changes then."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise SyncError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise SyncError(f"{folder}: not a folder")
    warnings: list[str] = []
    machine = store.meta(MACHINE_KEY)
    if machine is None:  # made once, kept before any file bears it
        machine = uuid.uuid4().hex
        with store.transaction():
            store.set_meta(MACHINE_KEY, machine)
    own_path = folder / f"companion-{machine}.jsonl"
    own, foreign = _scan(folder, machine, warnings)
    collection = _collection(store, folder, own, foreign, join, warnings)
    foreign = [f for f in foreign if f.header.collection == collection]
    foreign = _without_unknown_cards(store, own, foreign, warnings)
    if own is not None and own.header.collection != collection:
        warnings.append(_aside(own, "was written for another collection"))
        own = None

    # Settings: the latest change anywhere wins; a machine's first sync joins
    # the folder's settings, unless the folder has none yet.
    records = [r for f in ([own] if own else []) + foreign for r in f.records["settings"]]
    pending = _settings_change(store, settings, settings_path, records, clock)
    winner = max(records + ([pending] if pending else []), key=lambda r: (r.at, r.id),
                 default=None)
    final = settings
    note = ""
    if winner is not None and (pending is None or winner is not pending):
        candidate = adopted_values(settings, winner.values)
        if synced_values(candidate) != synced_values(settings):
            final = candidate
            note = f"settings: took the latest change, of {_when(winner.at)}"
    elif pending is not None and store.meta(SETTINGS_KEY) is not None:
        note = "settings: your change is shared with the other machines"

    # This machine's file first: if it can't be written, nothing is merged.
    written = _write_own(store, folder, own_path, own, foreign, machine, collection,
                         pending, hostname, warnings)

    models = PresetModels(final)
    merged: list[Merged] = []
    with store.transaction():
        store.set_meta(COLLECTION_KEY, collection)
        with store.applying_sync():
            have = store.log_ids()
            replay: set[str] = set()
            flagged: set[str] = set()
            for source in ([own] if own else []) + foreign:
                m, touched, cards = _merge_file(store, source, have, machine)
                replay |= touched
                flagged |= cards
                if not (m.own and m.nothing):
                    merged.append(m)
            _apply_flags(store, flagged)
            replayed = rebuild_cards(store, models, replay)
        if winner is not None:
            store.set_meta(SETTINGS_KEY, _snapshot(final, winner))
        if final is not settings:
            from companion.settings import save

            try:
                save(final, settings_path)
            except OSError as exc:
                raise SyncError(f"{settings_path}: cannot save the synced settings: "
                                f"{exc.strerror or exc}") from None
    if final is not settings:
        from companion.replay import catch_up

        if catch_up(store, final):
            note += " (every card's memory state recomputed under them)"
    merged.sort(key=lambda m: (not m.own, m.name, m.machine))
    return SyncReport(folder, machine, own_path, tuple(merged), tuple(warnings), written,
                      replayed, final, note)


def _without_unknown_cards(store: Store, own: SyncFile | None, foreign: list[SyncFile],
                           warnings: list[str]) -> list[SyncFile]:
    """The files whose reviews, events and flag changes are all of cards this
    store or some file has: one naming a card no machine has is damaged, and
    left alone (as the json import refuses a review of a card it lacks)."""
    known = set(store.every_card_id())
    for source in ([own] if own else []) + foreign:
        known |= source.ids("card")
    kept = []
    for source in foreign:
        unknown = sorted({r.card_id for kind in ("review", "event", "flag", "undo")
                          for r in source.records[kind]} - known)
        if unknown:
            warnings.append(f"{source.path}: its records name a card no machine has "
                            f"({unknown[0][:80]!r}"
                            f"{f' and {len(unknown) - 1} more' if len(unknown) > 1 else ''}); "
                            "left alone")
        else:
            kept.append(source)
    return kept


def _when(at: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at / 1000))


def _scan(folder: Path, machine: str,
          warnings: list[str]) -> tuple[SyncFile | None, list[SyncFile]]:
    """This machine's own file and the others', read; what is left alone is
    named in `warnings`. A stale temporary file of this machine's is removed."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise SyncError(f"{folder}: cannot list: {exc.strerror or exc}") from None
    own: SyncFile | None = None
    foreign: list[SyncFile] = []
    part = f".companion-{machine}.jsonl."
    for name in names:
        path = folder / name
        if name.startswith(part) and name.endswith(".part"):
            try:
                if time.time() - path.stat().st_mtime > STALE_PART_SECONDS:
                    path.unlink()
            except OSError:
                pass
            continue
        if name.startswith(".") or not name.lower().startswith("companion"):
            continue  # not companion's by its name: a README, a .git folder, a tool's own
        match = FILE_NAME.fullmatch(name)
        if match is None:
            if path.is_dir():
                continue
            if CONFLICT_COPY.search(name):
                warnings.append(f"{path}: a conflict copy made by the sync tool; left alone "
                                "(what it holds is in its machine's own file once that "
                                "machine syncs again; delete the copy then)")
            else:
                warnings.append(f"{path}: not a name companion writes "
                                "(companion-<machine id>.jsonl); left alone")
            continue
        try:
            parsed = read_sync_file(path)
        except _Bad as exc:
            if match.group(1) == machine:
                warnings.append(_aside_path(path, str(exc)))
            else:
                warnings.append(f"{path}: {exc}; left alone")
            continue
        if parsed.header.machine != match.group(1):
            warnings.append(f"{path}: its header names another machine "
                            f"({parsed.header.machine}); left alone")
            continue
        if parsed.cut:
            warnings.append(f"{path}: its last record is cut short (a copy still under "
                            "way?); read the rest")
        if match.group(1) == machine:
            own = parsed
        else:
            parsed.data = b""  # only one's own file is copied on
            foreign.append(parsed)
    return own, foreign


def _aside(own: SyncFile, why: str) -> str:
    return _aside_path(own.path, why)


def _aside_path(path: Path, why: str) -> str:
    """This machine's own file, unreadable or not the collection's: moved
    aside (a hidden name no sync reads) and written afresh from the store."""
    aside = path.with_name(f".{path.name}.aside-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise SyncError(f"{path}: this machine's own file {why}, and it can't be moved "
                        f"aside: {exc.strerror or exc}") from None
    return f"{path}: this machine's own file {why}; moved aside to {aside.name} and written " \
           "afresh from this machine's records"


def _collection(store: Store, folder: Path, own: SyncFile | None, foreign: list[SyncFile],
                join: bool, warnings: list[str]) -> str:
    """The collection this store syncs: its own once made; a store's first
    sync takes the folder's (so a new machine joins the learner's log)."""
    ours = store.meta(COLLECTION_KEY)
    theirs = sorted({f.header.collection for f in foreign})
    if join and theirs:
        if len(theirs) > 1:
            raise SyncError(f"{folder}: --join: the folder holds {len(theirs)} collections' "
                            "files; companion can't tell which is yours")
        ours = theirs[0]
    if ours is None:
        if own is not None:
            ours = own.header.collection
        elif len(theirs) > 1:
            raise SyncError(f"{folder}: holds {len(theirs)} collections' files (machines of "
                            "different learners); sync with a folder of your own machines")
        else:
            ours = theirs[0] if theirs else uuid.uuid4().hex
    for f in foreign:
        if f.header.collection != ours:
            warnings.append(f"{f.path}: another collection's file (another learner's, or "
                            "machines this one never synced with); left alone "
                            "(`companion sync --join` makes it this machine's)")
    return ours


def _settings_change(store: Store, settings: Settings, settings_path: Path,
                     records: list[SettingsRecord],
                     clock: Callable[[], int]) -> SettingsRecord | None:
    """This machine's settings as a record to share, if they changed since the
    last sync (or the folder has none yet); stamped when the file changed."""
    import json

    snapshot = store.meta(SETTINGS_KEY)
    values = synced_values(settings)
    last_at = 0
    if snapshot is not None:
        try:
            noted = json.loads(snapshot)
            last_at = int(noted.get("at", 0))
            unchanged = noted.get("values") == json.loads(json.dumps(values))
        except (ValueError, TypeError, AttributeError):
            unchanged = False
        if unchanged and records:
            return None
    elif records:
        return None  # a machine's first sync joins the folder's settings
    try:
        changed_at = int(settings_path.stat().st_mtime * 1000)
    except OSError:
        changed_at = clock()
    at = min(max(changed_at, last_at + 1), clock())
    return SettingsRecord(id=uuid.uuid4().hex, at=max(at, last_at + 1), values=values)


def _snapshot(settings: Settings, winner: SettingsRecord) -> str:
    import json

    return json.dumps({"values": synced_values(settings), "at": winner.at, "id": winner.id})


def _write_own(store: Store, folder: Path, path: Path, own: SyncFile | None,
               foreign: list[SyncFile], machine: str, collection: str,
               pending: SettingsRecord | None, hostname: str | None,
               warnings: list[str]) -> int:
    """Add to this machine's file what the store has that no file in the
    folder holds: written whole to a hidden temporary file and renamed over
    it, so a killed sync leaves the old file as it was. Returns how many."""
    from companion.cardtext import terminal_json

    def known(kind: str) -> set[Any]:
        ids: set[Any] = set()
        for f in ([own] if own else []) + foreign:
            ids |= f.ids(kind)
        return ids

    rows: list[dict[str, Any]] = []
    if store.every_deck_id() - known("deck"):
        deck_ids = known("deck")
        rows += [{"type": "deck", **d._asdict(), "path": None} for d in store.export_decks()
                 if d.id not in deck_ids]
    if set(store.every_card_id()) - known("card"):
        card_ids = known("card")
        rows += [{"type": "card", **c._asdict()} for c in store.export_cards()
                 if c.id not in card_ids]
    # the log's rows are read only when some are new (a sync with nothing to
    # add reads their ids alone)
    stored = store.log_ids()
    for kind, read in (("review", store.export_reviews), ("event", store.export_card_events),
                       ("flag", store.export_flag_events), ("undo", store.export_undone)):
        new = stored[kind] - known(kind)
        if new:
            rows += [{"type": kind, **r._asdict()} for r in read()
                     if record_key(kind, r) in new]
    if pending is not None:
        rows.append({"type": "settings", "id": pending.id, "at": pending.at,
                     "values": pending.values})
    # Every line is checked as the other machines will read it: one they
    # would refuse would make them refuse the whole file.
    lines: list[bytes] = []
    decoder, latest = _decoder(), schema.latest_allowed()
    left_out = 0
    for row in rows:
        line = terminal_json(row, indent=None).encode("utf-8")
        try:
            problem = _record_problem(decoder.decode(line), latest)
        except msgspec.ValidationError as exc:
            problem = schema.invalid(exc)
        if problem:
            left_out += 1
            if left_out <= 3:
                warnings.append(f"{row['type']} {str(row.get('id'))[:60]}: left out of "
                                f"{path.name}: {problem}")
            continue
        lines.append(line)
    if left_out > 3:
        warnings.append(f"… and {left_out - 3} more left out of {path.name}")
    if own is not None and not lines and not own.cut and own.end == len(own.data):
        return 0  # nothing to add: the file stays as it is (no churn for the sync tool)
    if own is not None:
        head = own.data[:own.end]
        if head and not head.endswith(b"\n"):
            head += b"\n"
        if own.header.version < FORMAT_VERSION:
            # what it holds now may be more than an older companion reads:
            # the header says so, and that one asks to be upgraded
            _, _, rest = head.partition(b"\n")
            header = msgspec.structs.asdict(own.header)
            head = terminal_json({"type": "header", **header, "version": FORMAT_VERSION},
                                 indent=None).encode() + b"\n" + rest
    else:
        import socket

        from companion import __version__

        name = hostname if hostname is not None else socket.gethostname()
        head = terminal_json({"type": "header", "format": FORMAT, "version": FORMAT_VERSION,
                              "machine": machine, "collection": collection,
                              "name": name[:200], "app_version": __version__,
                              "created_at": now_ms()}, indent=None).encode() + b"\n"
    _replace(path, [head, *(line + b"\n" for line in lines)])
    return len(lines)


def _replace(path: Path, chunks: Iterable[bytes]) -> None:
    part = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with open(part, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(part, 0o600)
        os.replace(part, path)
    except OSError as exc:
        try:
            part.unlink()
        except OSError:
            pass
        raise SyncError(f"{path}: cannot write: {exc.strerror or exc} (nothing was "
                        "merged)") from None
    try:  # the rename itself survives a power cut
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _merge_file(store: Store, source: SyncFile, have: dict[str, set[Any]],
                machine: str) -> tuple[Merged, set[str], set[str]]:
    """One file's records the store lacks, merged; (its report, the cards to
    replay, the cards whose flags to decide again)."""
    records = source.records
    new_cards, _ = add_missing(store, [msgspec.to_builtins(d) for d in records["deck"]],
                               [msgspec.to_builtins(c) for c in records["card"]])

    def fresh(kind: str) -> list[dict[str, Any]]:
        seen = have[kind]
        out = []
        for record in records[kind]:
            key = record_key(kind, record)
            if key not in seen:
                seen.add(key)
                out.append(msgspec.to_builtins(record))
        return out

    reviews, events, flags = fresh("review"), fresh("event"), fresh("flag")
    # the answers taken back first: a review of one in this file stays out
    undone = store.undo_reviews([(u["id"], u["card_id"], u["at"]) for u in fresh("undo")])
    added_reviews, added_events, touched = merge_log(store, reviews, events)
    added_flags = store.insert_new_flag_events(
        [(f["id"], f["card_id"], f["at"], f["kind"], f.get("until")) for f in flags])
    header = source.header
    report = Merged(header.machine, header.name, source.path, added_reviews, added_events,
                    added_flags, len(new_cards), own=header.machine == machine,
                    undone=len(undone))
    touched |= set(undone)
    return report, touched | set(new_cards), {f["card_id"] for f in flags} | set(new_cards)


def _apply_flags(store: Store, card_ids: set[str]) -> None:
    """Each card's suspension, burial and leech tag as its whole flag log
    decides: the later change wins (ties by id, the same on every machine)."""
    if not card_ids:
        return
    events: dict[str, list[Any]] = {}
    for event in store.export_flag_events(card_ids):  # in time order
        events.setdefault(event.card_id, []).append(event)
    changed = []
    for flags in store.card_flags(sorted(card_ids)):
        words = (flags.tags or "").split()
        suspended, buried, leech = flags.suspended, flags.buried_until, "leech" in words
        for event in events.get(flags.id, []):
            if event.kind in ("suspend", "unsuspend"):
                suspended = int(event.kind == "suspend")
            elif event.kind == "bury":
                buried = event.until
            else:
                leech = event.kind == "leech"
        tags = flags.tags
        if leech != ("leech" in words):  # as a leech is tagged: at the end
            tags = " ".join([w for w in words if w != "leech"] + (["leech"] if leech else []))
        after = CardFlags(flags.id, suspended, buried, tags)
        if after != flags:
            changed.append(after)
    store.write_synced_flags(changed)


# -- automatic sync ------------------------------------------------------------


@dataclass
class AutoSync:
    """An automatic sync's outcome, for a face to show: never an exception."""

    lines: list[str] = field(default_factory=list)  # one per machine merged, then the summary
    summary: list[str] = field(default_factory=list)  # the summary (and what the settings did)
    warnings: list[str] = field(default_factory=list)
    settings: Settings | None = None  # the settings in force after it, if it ran


def sync_if_set(store: Store, settings: Settings, settings_path: Path) -> AutoSync:
    """The sync `sync_dir` asks for (on starting and quitting the app, and
    around a line-mode review). A failure is a warning: study goes on."""
    if not settings.sync_dir:
        return AutoSync()
    try:
        report = sync_folder(store, settings, Path(settings.sync_dir), settings_path)
    except (SyncError, StoreError, OSError) as exc:
        return AutoSync(warnings=[f"sync_dir: {exc}"])
    lines = report.lines()
    return AutoSync(lines, lines[len(report.merged):], list(report.warnings), report.settings)
