"""Anki collections in and out, against Anki itself: a collection studied by
Anki's own scheduler (the `anki` package, its clock moved by libfaketime) is
exported by Anki, imported here, and every card compared with Anki's: state,
steps left, stability, difficulty, due date, interval, suspended, buried. Then
companion's own export goes into a fresh Anki collection, and the cards are
compared again. And every way a package can be bad: one line, exit 2,
nothing stored changes."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from companion.doctor import cache_mismatches
from companion.interop import ImportError_, export, import_file
from companion.scheduler import LearnerDay, stored
from companion.settings import Settings, load
from companion.store import now_ms

from .anki_ref import AVAILABLE, MISSING, anki_import, build_collection
from .test_cli import run

TZ = "America/New_York"  # the zone the Anki collection was studied in
pytestmark = pytest.mark.skipif(not AVAILABLE, reason=MISSING)


@pytest.fixture(scope="module")
def anki(tmp_path_factory):
    """The studied collection's packages and the cards' states at each export."""
    folder = tmp_path_factory.mktemp("anki")
    start = (now_ms() // 86_400_000 - 90) * 86_400_000 + 15 * 3_600_000
    states = build_collection(folder, TZ, start, days=40)
    return folder, states


@pytest.fixture
def settings():
    return Settings(timezone=TZ)


def do_import(store, settings, path, home):
    result = import_file(store, settings, path)
    return result, load(home / "settings.toml")


def companion_card(store, guid, ordinal, cloze):
    from companion.interop.anki_import import note_id_for

    note = note_id_for(guid)
    rows = {r[0]: r for r in store.conn.execute(
        "SELECT id, state, remaining_steps, stability, difficulty, due, interval, suspended, "
        "buried_until FROM cards")}
    if cloze:
        [card_id] = [k for k in rows if k.endswith(f"/{note}.c{ordinal + 1}")]
    else:
        [card_id] = [k for k in rows if k.endswith(f"/{note}" if ordinal == 0
                                                   else f"/{note}-{ordinal + 1}")]
    return rows[card_id]


def agreement(store, settings, cards, at_ms):
    """(cards identical, differences) between companion's cards and Anki's."""
    day = LearnerDay(settings)
    today = day.day_of(at_ms)
    tomorrow = day.start_of(day.day_of(now_ms()) + timedelta(days=1))
    same, differ = 0, []
    for c in cards:
        row = companion_card(store, c["guid"], c["ord"], c["notetype"] == "Cloze")
        if c["due_days"] is not None:
            due = day.start_of(today + timedelta(days=c["due_days"]))
        elif c["type"] in (1, 3):
            due = c["due"] * 1000
        else:
            due = None
        learning = c["type"] in (1, 3)
        anki_side = (c["type"], c["left"] % 1000 if learning else 0,
                     None if c["stability"] is None else stored(c["stability"], 4),
                     None if c["difficulty"] is None else stored(c["difficulty"], 3),
                     due, c["ivl"] if c["type"] in (2, 3) else 0, c["queue"] == -1,
                     c["queue"] in (-2, -3))
        mine = (row[1], (row[2] or 0) if learning else 0,
                None if row[3] is None else stored(row[3], 4),
                None if row[4] is None else stored(row[4], 3),
                row[5], (row[6] or 0) if c["type"] in (2, 3) else 0, bool(row[7]),
                row[8] == tomorrow)
        if anki_side == mine:
            same += 1
        else:
            differ.append((c["guid"], c["ord"], anki_side, mine))
    return same, differ


def answers(folder, name):
    """The revlog rows of a package that are answers (ease 1-4, not cramming)."""
    import tempfile

    from companion.interop.anki_package import read_package

    with tempfile.TemporaryDirectory() as work:
        package = read_package(folder / name, Path(work))
    return sum(1 for r in package.revlog if r.ease and not (r.kind == 3 and r.factor == 0))


# -- in: Anki's own packages ---------------------------------------------------


@pytest.mark.parametrize("name", ["collection.apkg", "legacy.apkg"])
def test_every_card_is_as_anki_has_it(anki, store, settings, home, name):
    folder, states = anki
    result, saved = do_import(store, settings, folder / name, home)
    cards = states["cards"]
    same, differ = agreement(store, saved, cards, states["exported_at"])
    assert (same, differ) == (len(cards), [])
    assert len(cards) == 89 and {c["type"] for c in cards} == {0, 1, 2, 3}
    assert {c["queue"] for c in cards} >= {-3, -1, 0, 1, 2}
    assert result.added["cards"] == 89 and result.added["notes"] == 62
    assert result.added["reviews"] == answers(folder, name) > 400
    assert not [n for n in result.notes if "differs" in n]
    # the cards whose log doesn't replay to Anki's state (two histories cut
    # short, a preset's parameters changed since) took it from the package
    [taken] = [n for n in result.notes if "took their memory state" in n]
    assert int(taken.split()[0]) >= 5
    assert cache_mismatches(store, saved) == []  # doctor: the cache is the log's replay


def test_a_colpkg_too(anki, store, settings, home):
    folder, states = anki
    do_import(store, settings, folder / "collection.colpkg", home)
    saved = load(home / "settings.toml")
    cards = states["updated"]
    assert agreement(store, saved, cards, states["updated_at"]) == (len(cards), [])


def test_the_deck_files_read_as_the_cards_did(anki, store, settings, home):
    folder, _ = anki
    do_import(store, settings, folder / "collection.apkg", home)
    decks = home / "decks"
    assert sorted(p.name for p in decks.glob("*.md")) == [
        "anki-maths-more.md", "anki-spanish-verbs.md", "anki-spanish.md"]
    spanish = (decks / "anki-spanish.md").read_text()
    verbs = (decks / "anki-spanish-verbs.md").read_text()
    maths = (decks / "anki-maths-more.md").read_text()
    assert "name: Verbs\nparent: anki-spanish\n" in verbs
    assert "Q: **hola**\nA: hello\\\nhi\nTags: lang::es\n" in spanish
    assert "Q: What is *perro*?\nA: - dog\n- hound\nTags: animals lang::es\n" in spanish
    assert "Q: gato & ratón\nA: cat & mouse ![](../media/tiny%20dot.png)" in spanish
    assert "Q: word 0 \\<es>\nA: answer 0 !" in spanish
    assert (home / "media" / "tiny dot.png").read_bytes()[:4] == b"\x89PNG"
    # Basic (and reversed card): two cards, the second asks the other way round
    assert "Q: verb 3\nA: meaning 3\n" in verbs and "Q: meaning 3\nA: verb 3\n" in verbs
    assert ("Cloze: Euler: {{c1::$e^{i\\pi}+1=0$::identity}} and "
            "{{c2::$$\\int_0^1 x\\,dx = \\tfrac12$$}}\nExtra: *famous*\nTags: maths\n") in maths
    from companion.deck_sync import sync_decks

    report = sync_decks(store, [decks])  # the files load as written, changing nothing
    assert report.errors == [] and report.added == 0 and report.retired == 0


def test_each_preset_becomes_a_preset_of_its_decks(anki, store, settings, home):
    folder, _ = anki
    _, saved = do_import(store, settings, folder / "collection.apkg", home)
    assert saved.deck_presets == {"anki-spanish": "anki-Default",
                                  "anki-maths-more": "anki-Default",
                                  "anki-spanish-verbs": "anki-Fast-loose"}
    fast = saved.preset("anki-Fast-loose")
    assert fast.desired_retention == 0.85 and fast.maximum_interval == 180
    assert fast.learning_steps == ["2m", "20m", "2h"] and fast.relearning_steps == ["5m", "30m"]
    assert (fast.new_per_day, fast.reviews_per_day) == (1, 50)
    assert (fast.leech_threshold, fast.leech_action) == (4, "tag")
    assert fast.parameters[:3] == [0.3, 1.3, 2.5] and len(fast.parameters) == 21
    default = saved.preset("anki-Default")
    assert default.parameters == [] and default.learning_steps == ["1m", "10m"]
    assert default.timezone == TZ  # the learner's own, whatever the deck


def test_a_reimport_of_an_updated_package_keeps_history_and_updates_text(
        anki, store, settings, home):
    folder, states = anki
    do_import(store, settings, folder / "collection.apkg", home)
    first = {r[0] for r in store.conn.execute("SELECT id FROM reviews")}
    (home / "decks" / "anki-spanish.md").write_text(
        (home / "decks" / "anki-spanish.md").read_text() + "\n## my-own\nQ: mine\nA: kept\n")
    result = import_file(store, load(home / "settings.toml"), folder / "updated.apkg")
    after = {r[0] for r in store.conn.execute("SELECT id FROM reviews")}
    assert first < after and result.added["reviews"] == len(after - first) > 0
    assert result.added["cards"] == 0
    spanish = (home / "decks" / "anki-spanish.md").read_text()
    assert "A: hello, edited\n" in spanish and "hello\\\nhi" not in spanish
    assert "## my-own\nQ: mine\nA: kept\n" in spanish  # what the file had stays
    saved = load(home / "settings.toml")
    cards = states["updated"]
    assert agreement(store, saved, cards, states["updated_at"]) == (len(cards), [])
    again = import_file(store, saved, folder / "updated.apkg")
    assert again.added["reviews"] == 0 and cache_mismatches(store, saved) == []


# -- out: companion's package into Anki ------------------------------------------


def test_anki_imports_companions_package_with_the_same_schedule(
        anki, store, settings, home, tmp_path):
    folder, _ = anki
    _, saved = do_import(store, settings, folder / "collection.apkg", home)
    out = tmp_path / "out.apkg"
    export(store, saved, "apkg", out)
    theirs = anki_import(out, TZ)
    assert len(theirs["cards"]) == 89
    # every answer and schedule change is a revlog row; a state taken from
    # Anki's package is the card's own (Anki has no revlog row for it)
    assert theirs["revlog"] == store.review_count() + store.conn.execute(
        "SELECT count(*) FROM card_events WHERE kind != 'set-state'").fetchone()[0]
    import genanki

    day = LearnerDay(saved)
    today = day.day_of(now_ms())
    by_key = {(c["guid"], c["ord"]): c for c in theirs["cards"]}
    same, differ = 0, []
    for (card_id, deck, note, kind, ord_, state, steps, s, d, due, interval, suspended,
         buried) in store.conn.execute(
            "SELECT id, deck_id, note_id, kind, ord, state, remaining_steps, stability, "
            "difficulty, due, interval, suspended, buried_until FROM cards"):
        key = ((genanki.guid_for("companion", deck, f"{deck}/{note}"), ord_ - 1)
               if kind == "cloze" else (genanki.guid_for("companion", deck, card_id), 0))
        a = by_key[key]
        if state == 2 or (state in (1, 3) and due == day.start_of(day.day_of(due))):
            mine_due: tuple | None = ("days", (day.day_of(due) - today).days)
        elif state in (1, 3):
            mine_due = ("secs", due // 1000)
        else:
            mine_due = None
        theirs_due = (("days", a["due_days"]) if a["due_days"] is not None
                      else ("secs", a["due"]) if a["type"] in (1, 3) else None)
        mine = (state, steps or 0 if state in (1, 3) else 0,
                None if s is None else stored(s, 4), None if d is None else stored(d, 3),
                mine_due, interval or 0 if state in (2, 3) else 0, bool(suspended),
                bool(buried and buried > now_ms()))
        anki_side = (a["type"], a["left"] % 1000 if a["type"] in (1, 3) else 0,
                     None if a["stability"] is None else stored(a["stability"], 4),
                     None if a["difficulty"] is None else stored(a["difficulty"], 3),
                     theirs_due, a["ivl"] if a["type"] in (2, 3) else 0, a["queue"] == -1,
                     a["queue"] in (-2, -3))
        if mine == anki_side:
            same += 1
        else:
            differ.append((card_id, mine, anki_side))
    assert (same, differ) == (89, [])
    fast = theirs["presets"]["Spanish::Verbs"]
    assert (fast["desired_retention"], fast["max_ivl"], fast["learn"]) == (
        0.85, 180, [2.0, 20.0, 120.0])
    assert fast["params"][:3] == [0.3, 1.3, 2.5]
    assert {c["deck"] for c in theirs["cards"]} == {"Spanish", "Spanish::Verbs", "Maths & more"}
    [dot] = [c for c in theirs["cards"] if "tiny dot.png" in c["fields"][1]]
    assert '<img src="tiny dot.png"' in dot["fields"][1]


def test_companions_package_imports_into_companion_as_it_was(anki, store, settings, home,
                                                             tmp_path, monkeypatch):
    """A package as genanki writes it (collection.anki2, no meta: Anki's oldest
    format) read back: the same cards with the same schedule, the same presets."""
    folder, _ = anki
    _, saved = do_import(store, settings, folder / "collection.apkg", home)
    out = tmp_path / "out.apkg"
    export(store, saved, "apkg", out)
    columns = "front, back, state, stability, difficulty, due, interval, suspended, buried_until"
    before = sorted(store.conn.execute(f"SELECT {columns} FROM cards"))
    other = tmp_path / "other"
    monkeypatch.setenv("COMPANION_HOME", str(other))
    from companion.store import open_store

    second = open_store()
    try:
        result = import_file(second, Settings(timezone=TZ), out)
        assert sorted(second.conn.execute(f"SELECT {columns} FROM cards")) == before
        assert result.added["reviews"] == store.review_count()
        theirs = load(other / "settings.toml")
        assert theirs.preset("anki-Fast-loose") == saved.preset("anki-Fast-loose")
        assert cache_mismatches(second, theirs) == []
    finally:
        second.close()



def test_the_states_taken_from_anki_go_on_in_a_json_export(anki, store, settings, home,
                                                          tmp_path, monkeypatch):
    """A JSON export carries the states a package gave the cards (the set-state
    events), so the copy it makes is the same, every card as Anki had it."""
    folder, states = anki
    _, saved = do_import(store, settings, folder / "collection.apkg", home)
    out = tmp_path / "out.json"
    export(store, saved, "json", out)
    doc = json.loads(out.read_text())
    taken = [e for e in doc["card_events"] if e["kind"] == "set-state"]
    assert taken and all(e["memory"]["state"] in (1, 2, 3) for e in taken)
    other = tmp_path / "other"
    monkeypatch.setenv("COMPANION_HOME", str(other))
    from companion.store import open_store

    second = open_store()
    try:
        import_file(second, saved, out)
        cards = states["cards"]
        assert agreement(second, saved, cards, states["exported_at"]) == (len(cards), [])
        assert cache_mismatches(second, saved) == []
    finally:
        second.close()


# -- bad input --------------------------------------------------------------------


def stored_state(home):
    db = sqlite3.connect(home / "companion.db")
    try:
        counts = tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                       for t in ("decks", "cards", "reviews", "card_events"))
    finally:
        db.close()
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*")
                   if p.is_file() and "backups" not in p.parts and p.suffix not in (".db-wal",
                                                                                  ".db-shm"))
    settings = (home / "settings.toml").read_bytes() if (home / "settings.toml").exists() else b""
    return counts, files, settings


def rewrite(source: Path, target: Path, change) -> Path:
    """A copy of a zip with `change(name, data)` -> data (None: left out) per member."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)
    return target


def legacy_collection(anki, tmp_path, sql, args=()):
    """legacy.apkg with its collection changed by `sql`."""
    folder, _ = anki
    work = tmp_path / "col.anki21"
    with zipfile.ZipFile(folder / "legacy.apkg") as archive:
        work.write_bytes(archive.read("collection.anki21"))
    db = sqlite3.connect(work)
    db.execute(sql, args)
    db.commit()
    db.close()
    return rewrite(folder / "legacy.apkg", tmp_path / "changed.apkg",
                   lambda name, data: work.read_bytes() if name == "collection.anki21" else data)


def zip_bomb(anki, tmp_path):
    return rewrite(anki[0] / "legacy.apkg", tmp_path / "bomb.apkg",
                   lambda name, data: b"\0" * (64 << 20) if name == "0" else data)


def legacy_config(anki, tmp_path, column, change, name):
    """legacy.apkg with one of its collection's JSON columns (models, dconf)
    passed through `change(value)`, as `name`."""
    folder, _ = anki
    work = tmp_path / "col.anki21"
    with zipfile.ZipFile(folder / "legacy.apkg") as archive:
        work.write_bytes(archive.read("collection.anki21"))
    db = sqlite3.connect(work)
    value = json.loads(db.execute(f"SELECT {column} FROM col").fetchone()[0])
    change(value)
    db.execute(f"UPDATE col SET {column} = ?", (json.dumps(value),))
    db.commit()
    db.close()
    return rewrite(folder / "legacy.apkg", tmp_path / name,
                   lambda member, data: work.read_bytes() if member == "collection.anki21"
                   else data)


def imageocclusion(anki, tmp_path):
    def change(models):
        for model in models.values():
            if model["name"] == "Basic":
                model["originalStockKind"] = 6
                model["name"] = "Image Occlusion"

    return legacy_config(anki, tmp_path, "models", change, "io.apkg")


def long_steps(anki, tmp_path):
    """legacy.apkg with a preset whose learning step is 10^30 minutes."""
    def change(confs):
        for conf in confs.values():
            conf["new"]["delays"] = [1e30]

    return legacy_config(anki, tmp_path, "dconf", change, "steps.apkg")


BAD = {
    "a creation time past any date": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE col SET crt = 99999999999999"),
        "its collection's creation time (99999999999999) is not a date"),
    "a review past any date": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE revlog SET id = 99999999999999999 WHERE id = (SELECT max(id) "
                   "FROM revlog)"),
        "its review log has a row whose time or values are not numbers it could hold"),
    "a review whose interval is text": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE revlog SET ivl = 'x' WHERE id = (SELECT max(id) FROM revlog)"),
        "its review log has a row whose time or values are not numbers it could hold"),
    # each was stored as it was: a state companion doesn't know (no count showed
    # the card), an interval of 274 million years, lapses no json export takes back
    "a card type Anki never writes": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE cards SET type = 9 WHERE id = (SELECT max(id) FROM cards)"),
        "has a state Anki never writes (type 9, queue"),
    "an interval of centuries": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE cards SET ivl = 99999999999 WHERE type = 2"),
        "interval 99999999999 days"),
    "lapses past a lifetime": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE cards SET lapses = 99999999999 WHERE type = 2"),
        "99999999999 lapses): a damaged collection"),
    "a step too long": (long_steps, "its deck options don't fit companion's settings: preset"),
    "not a zip": (lambda anki, tmp: _write(tmp / "x.apkg", b"PK\x03\x04 not really"),
                  "not an Anki package (an .apkg or .colpkg is a zip archive)"),
    "a newer package": (lambda anki, tmp: rewrite(
        anki[0] / "collection.apkg", tmp / "new.apkg",
        lambda name, data: b"\x08\x09" if name == "meta" else data),
        "written by a newer Anki than this import understands (package version 9"),
    "an empty meta": (lambda anki, tmp: rewrite(
        anki[0] / "collection.apkg", tmp / "nometa.apkg",
        lambda name, data: b"" if name == "meta" else data),
        "its meta member names no package version (a damaged package)"),
    "no card has its note": (lambda anki, tmp: legacy_collection(anki, tmp, "DELETE FROM notes"),
                             "none of its 89 card(s) has its note (a damaged collection)"),
    "a newer collection": (lambda anki, tmp: legacy_collection(
        anki, tmp, "UPDATE col SET ver = 99"),
        "written by a newer Anki than this import understands (collection schema 99"),
    "path traversal": (lambda anki, tmp: rewrite(
        anki[0] / "legacy.apkg", tmp / "evil.apkg",
        lambda name, data: b'{"0": "../../evil.png"}' if name == "media" else data),
        "media file name '../../evil.png' is not a plain file name"),
    "an unknown note type": (imageocclusion, "note type 'Image Occlusion' is image occlusion"),
    "no collection": (lambda anki, tmp: rewrite(
        anki[0] / "legacy.apkg", tmp / "empty.apkg",
        lambda name, data: None if name.startswith("collection") else data),
        "no collection.anki21 in the archive"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_package_is_one_line_exit_2_and_changes_nothing(anki, tmp_path, case):
    home = tmp_path / "home"
    make, message = BAD[case]
    path = make(anki, tmp_path)
    assert run(["due"], home).returncode == 0  # a home with its database
    before = stored_state(home)
    result = run(["import", str(path)], home)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith(f"companion: error: {path}: "), lines
    assert message in lines[0]
    assert stored_state(home) == before
    assert not (tmp_path / "evil.png").exists() and not (home.parent / "evil.png").exists()


@pytest.mark.parametrize("bound, value", [("MAX_MEMBERS", 3), ("MAX_UNPACKED_BYTES", 1 << 20),
                                          ("MAX_MEDIA_FILE_BYTES", 1 << 20)])
def test_a_zip_bomb_is_refused_at_the_bound(anki, store, settings, home, tmp_path, monkeypatch,
                                            bound, value):
    path = zip_bomb(anki, tmp_path)  # a 64 MiB media file of zeros: 64 KiB zipped
    assert path.stat().st_size < 1 << 20
    monkeypatch.setattr(f"companion.interop.anki_package.{bound}", value)
    with pytest.raises(ImportError_, match="zip bomb|refused"):
        import_file(store, settings, path)
    assert store.card_count() == 0
    assert not [p for p in home.rglob("*") if p.is_file() and p.parent.name in ("decks",
                                                                              "media")]


def test_a_zstd_collection_past_the_bound_is_refused(anki, store, settings, monkeypatch):
    monkeypatch.setattr("companion.interop.anki_package.MAX_COLLECTION_BYTES", 1 << 16)
    with pytest.raises(ImportError_, match="collection.anki21b unpacks to more than"):
        import_file(store, settings, anki[0] / "collection.apkg")
    assert store.card_count() == 0


@pytest.mark.parametrize("data", [
    '{"s": NaN, "d": Infinity, "lrt": -5}',  # Python's json reads them; Anki never writes them
    '{"s": -4.5, "d": -3, "lrt": 1e300}',
    '{"s": "\\u001b[2J", "d": [1, 2], "lrt": {}}',
])
def test_a_memory_state_fsrs_cannot_hold_is_replayed_from_the_log(anki, store, settings, home,
                                                                  tmp_path, data):
    # NaN stopped the import with a traceback (ValueError in the rounding Anki
    # stores with), a last review at 1e300 s with OverflowError from SQLite.
    path = legacy_collection(anki, tmp_path, "UPDATE cards SET data = ? WHERE type = 2",
                             (data,))
    collection = sqlite3.connect(tmp_path / "col.anki21")
    [(changed,)] = collection.execute("SELECT count(*) FROM cards WHERE type = 2").fetchall()
    collection.close()
    result, saved = do_import(store, settings, path, home)
    assert result.added["cards"] == 89
    [note] = [n for n in result.notes if "FSRS can't" in n]
    assert changed > 0 and note.startswith(
        f"{changed} card(s) hold a stability or difficulty FSRS can't")
    db = sqlite3.connect(home / "companion.db")
    rows = db.execute("SELECT stability, difficulty, last_review FROM cards").fetchall()
    db.close()
    assert all(v is None or (isinstance(v, (int, float)) and 0 <= v < 1e15)
               for row in rows for v in row)
    assert cache_mismatches(store, saved) == []


def test_a_failure_while_storing_leaves_nothing_behind(anki, store, settings, home, monkeypatch):
    folder, _ = anki
    (home / "settings.toml").write_text('timezone = "America/New_York"\n')

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("companion.store.Store.set_card_flags", broken)
    with pytest.raises(RuntimeError):
        import_file(store, settings, folder / "collection.apkg")
    assert store.card_count() == 0 and store.review_count() == 0
    assert not list((home / "decks").glob("*")) and not list((home / "media").glob("*"))
    assert (home / "settings.toml").read_text() == 'timezone = "America/New_York"\n'


def test_without_the_anki_package_an_import_says_how_to_add_it(tmp_path, monkeypatch, store,
                                                               settings):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "anki" else real(name, *a))
    path = _write(tmp_path / "x.colpkg", b"whatever")
    with pytest.raises(ImportError_) as caught:
        import_file(store, settings, path)
    assert str(caught.value) == (
        f"{path}: reading Anki packages needs the anki extra: pip install 'companion[anki]' "
        "(with pipx: pipx inject companion anki zstandard)")


def test_the_command_line_imports_and_says_what(anki, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.toml").write_text(f'timezone = "{TZ}"\n')
    result = run(["import", str(anki[0] / "collection.apkg")], home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "imported: 3 decks, 62 notes, 89 cards, " \
                       f"{answers(anki[0], 'collection.apkg')} reviews, 1 media"
    assert "presets: anki-Default, anki-Fast-loose; days counted from 4:00, " \
           f"{TZ}" in result.stdout
    listed = run(["decks", "list"], home, env_extra={"COLUMNS": "250"})
    assert listed.returncode == 0 and "anki-spanish-verbs" in listed.stdout
    assert "anki-Fast-loose" in listed.stdout
    doctor = run(["doctor"], home)
    assert "equal to a replay" in doctor.stdout
    assert "took their memory state and due date from the package" in result.stdout


def test_cards_without_their_note_are_left_out_and_said(anki, store, settings, home, tmp_path):
    path = legacy_collection(anki, tmp_path, "DELETE FROM notes WHERE id = (SELECT min(id) "
                                             "FROM notes)")
    result, _ = do_import(store, settings, path, home)
    assert result.added["notes"] == 61 and result.added["cards"] == 88
    assert "1 card(s) whose note the collection lacks were left out" in result.notes


@pytest.mark.parametrize("due", [99_999_999_999, -99_999_999_999])
def test_a_card_due_past_any_date_imports(anki, tmp_path, due):
    """A damaged due day (Anki's days since creation) is held at a date Python can
    count, not a traceback."""
    home = tmp_path / "home"
    path = legacy_collection(anki, tmp_path, "UPDATE cards SET due = ? WHERE type = 2 AND "
                                             "id = (SELECT max(id) FROM cards WHERE type = 2)",
                             (due,))
    result = run(["import", str(path)], home)
    assert result.returncode == 0, result.stderr
    assert run(["due", "--json"], home).returncode == 0


def test_type_in_the_answer_note_types_become_typed_cards(anki, store, settings, home, tmp_path):
    """Anki's {{type:Back}} (Basic, type in the answer) and {{type:cloze:Text}}
    are `Type: yes` here: the learner types what Anki would have them type."""
    def change(models):
        for model in models.values():
            if model["name"] == "Basic":
                model["tmpls"][0]["qfmt"] = "{{Front}}\n\n{{type:Back}}"
                model["tmpls"][0]["afmt"] = "{{Front}}\n\n<hr id=answer>\n\n{{type:Back}}"
            if model["name"] == "Cloze":
                model["tmpls"][0]["qfmt"] += "\n{{type:cloze:Text}}"

    path = legacy_config(anki, tmp_path, "models", change, "typed.apkg")
    do_import(store, settings, path, home)
    spanish = (home / "decks" / "anki-spanish.md").read_text()
    assert "Q: **hola**\nA: hello\\\nhi\nType: yes\nTags: lang::es\n" in spanish
    verbs = (home / "decks" / "anki-spanish-verbs.md").read_text()
    assert "Type: yes" not in verbs  # Basic (and reversed card) asks for nothing typed
    typed = dict(store.conn.execute("SELECT id, type_answer FROM cards WHERE type_answer != ''"))
    [euler] = [k for k in typed if k.endswith(".c1") and "Euler" in (
        store.card_row(k).front or "")]
    assert typed[euler] == "$e^{i\\pi}+1=0$"
    assert sum(1 for k in typed if k.startswith("anki-spanish/")) == 43


def test_a_note_moved_to_another_deck_in_anki_keeps_its_cards_and_history(
        anki, store, settings, home, tmp_path):
    folder, _ = anki
    _, saved = do_import(store, settings, folder / "collection.apkg", home)
    before = dict(store.conn.execute("SELECT id, reps FROM cards"))
    reviews = store.review_count()
    # the note "hola" moved from Spanish to Maths & more in Anki
    moved = legacy_collection(anki, tmp_path, "UPDATE cards SET did = (SELECT did FROM cards "
                              "WHERE nid = (SELECT max(id) FROM notes)) WHERE nid = (SELECT "
                              "id FROM notes WHERE flds LIKE '<b>hola</b>%')")
    result = import_file(store, saved, moved)
    assert dict(store.conn.execute("SELECT id, reps FROM cards")) == before
    assert result.added["cards"] == 0 and store.review_count() == reviews
    assert "1 note(s) in another deck in Anki than at their first import stay" in \
        " ".join(result.notes)
    maths = (home / "decks" / "anki-maths-more.md").read_text()
    assert "hola" not in maths and "hola" in (home / "decks" / "anki-spanish.md").read_text()
    assert cache_mismatches(store, load(home / "settings.toml")) == []
