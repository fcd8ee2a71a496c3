"""`companion sync DIR`: machines that studied offline converge through a shared
folder, in any order, with nothing doubled or lost; whatever else lies in the
folder (a half-written file, a conflict copy, a stranger's file) is named in a
warning and changes nothing stored."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from companion.deck_sync import sync_decks
from companion.doctor import run_doctor
from companion.interop.sync_folder import FORMAT_VERSION, SyncError, sync_folder
from companion.replay import forget
from companion.scheduler import to_ms
from companion.session import ReviewSession
from companion.settings import Settings, load, save
from companion.store import Store

from .conftest import SMALL_DECK, TZ, database_at, write_deck

T0 = to_ms(datetime(2026, 5, 5, 14, 0, tzinfo=timezone.utc))
MIN, DAY = 60_000, 86_400_000


class Home:
    """One machine: its own store and settings file, a clock of its own."""

    def __init__(self, root: Path, name: str, deck_dir: Path, settings: Settings | None = None):
        self.name = name
        self.path = root / name
        self.store = Store(self.path / "companion.db")
        sync_decks(self.store, [deck_dir])
        self.settings_path = self.path / "settings.toml"
        self.settings = settings or Settings(timezone=TZ)
        self.now = T0
        self.session = ReviewSession(self.store, self.settings, clock=lambda: self.now)

    def answer(self, card_id: str, rating: int, minutes_later: int = 10) -> None:
        self.session.answer(card_id, rating, 3000)
        self.now += minutes_later * MIN

    def sync(self, folder: Path, **kwargs):
        report = sync_folder(self.store, self.settings, folder, self.settings_path,
                             hostname=self.name, **kwargs)
        if report.settings is not self.settings:
            self.settings = report.settings
            self.session = ReviewSession(self.store, self.settings, clock=lambda: self.now)
        return report

    def state(self) -> dict[str, list[tuple]]:
        """What a learner would see differ: every card's state and flags, the
        review log with each review's decision, the schedule events."""
        conn = self.store.conn
        return {
            "cards": conn.execute(
                "SELECT id, state, remaining_steps, stability, difficulty, due, last_review, "
                "reps, lapses, interval, suspended, buried_until, tags FROM cards "
                "ORDER BY id").fetchall(),
            "reviews": conn.execute(
                "SELECT id, card_id, reviewed_at, rating, duration_ms, state_before, "
                "state_after, remaining_steps, interval, due, elapsed_days FROM reviews "
                "ORDER BY id").fetchall(),
            "events": conn.execute("SELECT * FROM card_events ORDER BY id").fetchall(),
            "flags": conn.execute("SELECT * FROM flag_events ORDER BY id").fetchall(),
        }

    def doctor_clean(self) -> bool:
        report = run_doctor(self.store, self.settings)
        return report.status == 0 and not report.mismatches and report.orphan_reviews == 0


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "shared"
    path.mkdir()
    return path


@pytest.fixture
def homes(tmp_path, deck_dir):
    made = {name: Home(tmp_path, name, deck_dir) for name in "abc"}
    yield made
    for home in made.values():
        home.store.close()


def study_offline(a: Home, b: Home, c: Home | None = None) -> None:
    """Each machine studies on its own, the same cards too, interleaved in
    time; suspends, buries, forgets and reschedules between."""
    a.answer("test/alpha", 3)
    b.now += 3 * MIN
    b.answer("test/alpha", 1)  # the same card, answered on both machines
    b.answer("test/beta", 3)
    a.answer("test/gamma.c1", 4)  # buries its sibling gamma.c2 for the day
    a.session.suspend("test/delta")
    b.answer("test/alpha", 3, minutes_later=60)
    a.now += DAY
    a.answer("test/alpha", 3)
    forget(b.store, b.settings, ["test/beta"], b.now)
    b.session.bury("test/delta")
    if c is not None:
        c.now += 30 * MIN
        c.answer("test/delta", 2)
        c.answer("test/beta", 4)
        c.session.suspend("test/gamma.c1")


def assert_converged(*homes: Home) -> None:
    first = homes[0].state()
    for home in homes[1:]:
        assert home.state() == first, f"{home.name} differs from {homes[0].name}"
    for home in homes:
        assert home.doctor_clean(), home.name


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("order", ["abab", "abba", "baab", "baba"])
def test_two_machines_that_studied_offline_converge_in_any_order(homes, folder, order):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    reviews = {r for home in (a, b) for r in home.state()["reviews"]}
    for name in order:
        homes[name].sync(folder)
    assert_converged(a, b)
    # nothing doubled or lost: the review log is the union, each review once
    assert {r[0] for r in a.state()["reviews"]} == {r[0] for r in reviews}
    assert len(a.state()["reviews"]) == 6
    # the later flag change won on both: delta suspended on a, buried later on b
    delta = {row[0]: row for row in a.state()["cards"]}["test/delta"]
    assert delta[10] == 1 and delta[11] is not None
    # the forget b made counts on a too: beta is new again after b's forget
    assert {row[0]: row for row in a.state()["cards"]}["test/beta"][1] == 0


@pytest.mark.parametrize("order", ["abcabc", "cbaabc", "acbbca"])
def test_three_machines_converge_once_each_synced_after_the_others(homes, folder, order):
    a, b, c = homes["a"], homes["b"], homes["c"]
    study_offline(a, b, c)
    for name in order:
        homes[name].sync(folder)
    assert_converged(a, b, c)
    assert len(a.state()["reviews"]) == 8
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"companion-{h.store.meta('sync_machine')}.jsonl" for h in (a, b, c))


def test_syncing_again_changes_nothing_and_writes_nothing(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    for home in (a, b, a, b):
        home.sync(folder)
    files, state = folder_bytes(folder), a.state()
    for home in (a, b, b, a, a):
        report = home.sync(folder)
        assert report.written == 0 and report.replayed == 0
        assert all(m.nothing for m in report.merged) and not report.warnings
    assert folder_bytes(folder) == files
    assert a.state() == state == b.state()


def test_each_sync_prints_a_line_per_machine_and_a_summary(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    first = a.sync(folder)
    assert first.merged == () and first.written > 0
    report = b.sync(folder)
    lines = report.lines()
    machine = a.store.meta("sync_machine")
    assert lines[0].startswith(f"a ({machine[:8]}): 3 reviews added")
    assert "flag change" in lines[0]
    assert lines[1].startswith(f"synced with 1 other machine in {folder}: 3 reviews added, ")
    assert f"written to companion-{b.store.meta('sync_machine')}.jsonl" in lines[1]


def test_study_after_a_sync_reaches_the_other_machine_on_the_next(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    for home in (a, b, a):
        home.sync(folder)
    b.now += 2 * DAY
    b.answer("test/alpha", 2)
    b.session.set_suspended("test/delta", False)  # browse's toggle: delta back
    a.now += 2 * DAY
    a.answer("test/gamma.c2", 3)
    for home in (b, a, b):
        home.sync(folder)
    assert_converged(a, b)
    cards = {row[0]: row for row in a.state()["cards"]}
    assert cards["test/delta"][10] == 0  # the later unsuspend won over the suspend


def test_undoing_a_suspend_syncs_as_an_unsuspend(homes, folder):
    a, b = homes["a"], homes["b"]
    a.session.suspend("test/alpha")
    a.sync(folder)
    b.sync(folder)
    assert b.store.card_row("test/alpha").suspended == 1
    a.session.undo()
    a.sync(folder)
    b.sync(folder)
    assert b.store.card_row("test/alpha").suspended == 0
    assert_converged(a, b)


def test_a_leech_suspended_on_one_machine_is_a_leech_on_the_other(tmp_path, deck_dir, folder):
    a = Home(tmp_path, "a", deck_dir, Settings(timezone=TZ, leech_threshold=1))
    b = Home(tmp_path, "b", deck_dir, Settings(timezone=TZ, leech_threshold=1))
    a.answer("test/alpha", 3, minutes_later=60 * 24 * 3)
    a.answer("test/alpha", 3, minutes_later=60 * 24 * 10)
    a.answer("test/alpha", 1)  # a lapse: a leech at threshold 1, suspended
    assert "leech" in a.store.card_row("test/alpha").tags.split()
    for home in (a, b):
        home.sync(folder)
    row = b.store.card_row("test/alpha")
    assert row.suspended == 1 and "leech" in row.tags.split()
    assert_converged(a, b)


def test_cards_only_one_machine_has_come_with_their_deck(tmp_path, deck_dir, folder):
    a = Home(tmp_path, "a", deck_dir)
    own = tmp_path / "own-decks"
    write_deck(own, "mine.md", "## one\nQ: one?\nA: 1\n\n## two\nQ: two?\nA: 2\n",
               deck_id="mine", deck_name="Mine")
    sync_decks(a.store, [deck_dir, own])
    a.answer("mine/one", 3)
    b = Home(tmp_path, "b", deck_dir)
    a.sync(folder)
    report = b.sync(folder)
    assert report.merged[0].cards == 2
    assert b.store.deck_exists("mine") and b.store.card_row("mine/one").reps == 1
    # b's own deck sync (without the file) leaves the deck as it is
    sync_decks(b.store, [deck_dir])
    assert b.store.deck_exists("mine")
    b.sync(folder)
    a.sync(folder)
    assert_converged(a, b)


# -- settings ----------------------------------------------------------------


def test_a_settings_change_reaches_the_other_machine_and_the_later_wins(homes, folder):
    a, b = homes["a"], homes["b"]
    save(a.settings, a.settings_path)
    b.settings = Settings(timezone="Europe/Berlin", theme="textual-light")
    save(b.settings, b.settings_path)
    a.sync(folder)
    report = b.sync(folder)  # b's first sync joins a's settings, its own kept
    assert report.settings.timezone == "Europe/Berlin" and b.settings.theme == "textual-light"
    a.answer("test/alpha", 3)
    a.settings = replace(a.settings, desired_retention=0.85)
    save(a.settings, a.settings_path)
    a.sync(folder)
    report = b.sync(folder)
    assert report.settings_note.startswith("settings: took the latest change")
    assert load(b.settings_path).desired_retention == 0.85
    assert load(b.settings_path).timezone == "Europe/Berlin"  # the machine's own
    # then b changes a preset's limit, later: a takes it
    time.sleep(0.01)
    b.settings = replace(b.settings, new_per_day=7)
    save(b.settings, b.settings_path)
    b.sync(folder)
    a.sync(folder)
    assert load(a.settings_path).new_per_day == 7
    assert load(a.settings_path).desired_retention == 0.85
    assert load(a.settings_path).timezone == TZ
    for home in (a, b, a, b):
        home.sync(folder)
    assert load(a.settings_path).new_per_day == load(b.settings_path).new_per_day == 7


def test_new_fsrs_parameters_from_another_machine_replay_every_card(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    for home in (a, b):
        home.sync(folder)
    from fsrs.scheduler import DEFAULT_PARAMETERS

    fitted = [round(w * 1.05, 4) if i == 0 else w for i, w in enumerate(DEFAULT_PARAMETERS)]
    a.settings = replace(a.settings, parameters=fitted)
    save(a.settings, a.settings_path)
    from companion.replay import catch_up

    catch_up(a.store, a.settings)  # as every start of companion on a does
    for home in (a, b, a):
        home.sync(folder)
    assert b.settings.parameters == fitted
    assert_converged(a, b)


# -- what else lies in the folder ----------------------------------------------


def own_file(home: Home, folder: Path) -> Path:
    return folder / f"companion-{home.store.meta('sync_machine')}.jsonl"


def test_a_killed_sync_leaves_the_old_file_and_nothing_merged(homes, folder, monkeypatch):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    a.sync(folder)
    b.sync(folder)
    a.answer("test/beta", 2)
    before_file, before_a, before_b = own_file(a, folder).read_bytes(), a.state(), b.state()

    def killed(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("companion.interop.sync_folder.os.fsync", killed)
    with pytest.raises(SyncError, match="cannot write.*No space left"):
        a.sync(folder)
    monkeypatch.undo()
    assert own_file(a, folder).read_bytes() == before_file
    assert a.state() == before_a and b.state() == before_b
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    for home in (a, b, a):
        home.sync(folder)
    assert_converged(a, b)


def test_a_half_written_temporary_file_is_never_read(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    a.sync(folder)
    text = own_file(a, folder).read_text()
    # a's sync killed mid-write, its temporary file copied to b by the sync tool
    part = folder / f".{own_file(a, folder).name}.0123456789ab.part"
    part.write_text(text + text[:len(text) // 3])
    b.sync(folder)
    assert part.exists()  # not b's to remove; a's next sync removes it once stale
    old = time.time() - 7200
    os.utime(part, (old, old))
    a.sync(folder)
    assert not part.exists()
    a.sync(folder)
    assert_converged(a, b)


def test_a_last_record_cut_short_is_left_out_and_the_rest_read(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    a.sync(folder)
    b.sync(folder)
    a.answer("test/beta", 3)
    a.answer("test/delta", 3)
    a.sync(folder)
    path = own_file(a, folder)
    whole = path.read_bytes()
    assert b'"type": "review"' in whole.splitlines()[-1]
    path.write_bytes(whole[:-40])  # a sync tool still copying it
    report = b.sync(folder)
    [warning] = report.warnings
    assert str(path) in warning and "cut short" in warning and warning.count("\n") == 0
    assert report.merged[0].reviews == 1  # the other is in the cut record
    path.write_bytes(whole)
    report = b.sync(folder)
    assert report.merged[0].reviews == 1 and not report.warnings
    a.sync(folder)
    assert_converged(a, b)


def test_ones_own_file_cut_short_is_mended_on_the_next_sync(homes, folder):
    a, b = homes["a"], homes["b"]
    study_offline(a, b)
    a.sync(folder)
    path = own_file(a, folder)
    whole = path.read_bytes()
    path.write_bytes(whole[:-25])
    report = a.sync(folder)
    assert any("cut short" in w for w in report.warnings) and report.written == 1
    mended = path.read_bytes()
    assert mended.endswith(b"\n") and len(mended.splitlines()) == len(whole.splitlines())
    for home in (b, a, b):
        home.sync(folder)
    assert_converged(a, b)


def test_ones_own_file_restores_a_store_restored_from_a_backup(homes, folder):
    a, b = homes["a"], homes["b"]
    backup = a.store.backup()
    study_offline(a, b)
    for home in (a, b, a):
        home.sync(folder)
    state = a.state()
    a.store.close()
    from companion.store import restore_backup

    restore_backup(a.store.path, backup)
    a.store = Store(a.path / "companion.db")
    assert a.store.review_count() == 0 and a.store.meta("sync_machine") is None
    a.sync(folder)  # a new machine id; both old files are merged
    assert a.state()["reviews"] == state["reviews"]
    for home in (b, a, b):
        home.sync(folder)
    assert_converged(a, b)


@pytest.mark.parametrize("copy_name", [
    "{stem}.sync-conflict-20260505-101112-ABCDEFG.jsonl",  # Syncthing
    "{stem} (Laptop's conflicted copy 2026-05-05).jsonl",  # Dropbox
    "{stem} (1).jsonl",  # Google Drive, macOS, many more
])
def test_a_conflict_copy_is_named_and_left_alone(homes, folder, copy_name):
    a, b = homes["a"], homes["b"]
    a.answer("test/alpha", 3)
    a.sync(folder)
    path = own_file(a, folder)
    # the copy holds a review the original doesn't
    lines = path.read_text().splitlines()
    review = json.loads(lines[-2] if '"review"' in lines[-2] else
                        next(line for line in lines if '"review"' in line))
    review = {**review, "id": "f" * 32, "rating": 1}
    copy = folder / copy_name.format(stem=path.stem)
    copy.write_text("\n".join(lines + [json.dumps(review)]) + "\n")
    report = b.sync(folder)
    [warning] = report.warnings
    assert warning.startswith(f"{copy}: a conflict copy") and "left alone" in warning
    assert [r[0] for r in b.state()["reviews"]] == [r[0] for r in a.state()["reviews"]]
    assert "f" * 32 not in {r[0] for r in b.state()["reviews"]}


def stranger(folder: Path, text: str | bytes) -> Path:
    path = folder / f"companion-{'e' * 32}.jsonl"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def header(collection: str = "d" * 32, machine: str = "e" * 32, **extra) -> str:
    return json.dumps({"type": "header", "format": "companion-sync", "version": 1,
                       "machine": machine, "collection": collection, "name": "x", **extra})


def review_line(card_id="test/alpha", rating=3, at=T0) -> str:
    return json.dumps({"type": "review", "id": "9" * 32, "card_id": card_id,
                       "reviewed_at": at, "rating": rating, "duration_ms": 1000})


@pytest.mark.parametrize("content, why", [
    ("just some notes\nnot json at all\n", "not a companion sync file"),
    (b"\x00\x01\xff" * 50, "not a companion sync file"),
    ('{"type": "header", "format": "something-else"}\n', "not a companion sync file"),
    ("", "not a companion sync file (empty)"),
    ('{"type": "header", "format": "compan', "no whole header yet"),
    ("HEADER\n" + review_line() + "\n", "not a companion sync file"),
    (None, "another collection's file"),  # another learner's, with real card ids
    ("{H}\n" + review_line(rating=7) + "\n", "line 2: review: rating 7 is not 1-4"),
    ("{H}\n" + review_line(at=T0 + 400 * DAY) + "\n", "in the future"),
    ("{H}\n" + review_line()[:-1] + ', "extra": 1}\n', "line 2: object contains unknown "
                                                       "field `extra`"),
    ("{H}\n<<<<<<< HEAD\n" + review_line() + "\n", "line 2: not valid JSON"),
    ("{H}\n" + json.dumps({"type": "event", "id": "8" * 32, "card_id": "test/alpha",
                           "at": T0, "kind": "set-state", "interval": 3, "due": T0}) + "\n",
     "line 2: event: a set-state event needs its memory"),
    ("{H}\n" + json.dumps({"type": "event", "id": "8" * 32, "card_id": "test/alpha",
                           "at": T0, "kind": "set-state", "interval": 3, "due": T0,
                           "memory": {"state": 2, "difficulty": 50.0}}) + "\n",
     "line 2: memory.difficulty: expected `float` <= 10.0"),
    ("{N}\n" + review_line() + "\n", "written by a newer companion"),
])
def test_a_strangers_file_is_named_and_changes_nothing(homes, folder, content, why):
    a, b = homes["a"], homes["b"]
    a.answer("test/beta", 3)
    a.sync(folder)
    b.sync(folder)
    collection = a.store.meta("sync_collection")
    if content is None:
        content = header() + "\n" + review_line() + "\n"
    elif isinstance(content, str):
        content = content.replace("{H}", header(collection)).replace(
            "{N}", header(collection).replace('"version": 1', f'"version": {FORMAT_VERSION + 1}'))
    before = b.state()
    path = stranger(folder, content)
    report = b.sync(folder)
    [warning] = report.warnings
    assert warning.startswith(f"{path}: ") and why in warning, warning
    assert warning.count("\n") == 0
    assert b.state() == before and path.read_bytes() == (
        content if isinstance(content, bytes) else content.encode())
    assert b.doctor_clean()


def test_other_files_in_the_folder_are_not_companions_and_stay_quiet(homes, folder):
    a, b = homes["a"], homes["b"]
    (folder / "README.md").write_text("our sync repo\n")
    (folder / ".git").mkdir()
    (folder / "notes.jsonl").write_text("{}\n")
    a.answer("test/alpha", 3)
    assert a.sync(folder).warnings == ()
    report = b.sync(folder)
    assert report.warnings == () and report.merged[0].reviews == 1
    (folder / "companion-notes.txt").write_text("mine\n")
    [warning] = b.sync(folder).warnings
    assert "companion-notes.txt: not a name companion writes" in warning


def test_a_pipe_with_a_sync_files_name_never_hangs_a_sync(homes, folder):
    a = homes["a"]
    os.mkfifo(folder / f"companion-{'e' * 32}.jsonl")
    [warning] = a.sync(folder).warnings
    assert "not a regular file" in warning


def test_a_fresh_machine_joins_the_folders_collection(homes, folder):
    a, b = homes["a"], homes["b"]
    a.sync(folder)
    b.sync(folder)
    assert b.store.meta("sync_collection") == a.store.meta("sync_collection")


def test_a_machine_of_another_collection_can_join_on_request(homes, folder, tmp_path):
    a, b = homes["a"], homes["b"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    b.answer("test/beta", 3)
    b.sync(elsewhere)  # b's collection was made there
    a.answer("test/alpha", 3)
    a.sync(folder)
    report = b.sync(folder)
    [warning] = report.warnings
    assert "another collection's file" in warning and "--join" in warning
    assert b.store.review_count() == 1
    report = b.sync(folder, join=True)
    assert report.merged[0].reviews == 1
    [warning] = report.warnings  # b's file there was of its old collection
    assert "was written for another collection; moved aside" in warning
    a.sync(folder)
    assert_converged(a, b)


def test_a_folder_of_two_learners_is_refused_to_a_fresh_machine(homes, folder, tmp_path):
    a, b, c = homes["a"], homes["b"], homes["c"]
    a.sync(folder)
    other = tmp_path / "other"
    other.mkdir()
    b.sync(other)
    shutil.copy(own_file(b, other), folder)
    before = c.state()
    with pytest.raises(SyncError, match="2 collections"):
        c.sync(folder)
    assert c.state() == before


def test_a_missing_folder_is_an_error_and_nothing_changes(homes, tmp_path):
    a = homes["a"]
    with pytest.raises(SyncError, match="no such folder"):
        a.sync(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(SyncError, match="not a folder"):
        a.sync(tmp_path / "file")


# -- schema 6 ------------------------------------------------------------------


def test_migration_6_starts_each_cards_flag_log_with_what_it_has(tmp_path):
    path = tmp_path / "c.db"
    conn = database_at(path, 5)
    future = int(time.time() * 1000) + DAY
    conn.executemany("INSERT INTO cards(id, deck_id, front, back, suspended, buried_until, "
                     "tags) VALUES (?, 'd', 'f', 'b', ?, ?, ?)",
                     [("d/s", 1, None, ""), ("d/b", 0, future, "x"), ("d/l", 1, None, "leech"),
                      ("d/plain", 0, 1, "")])
    conn.commit()
    conn.close()
    store = Store(path)
    events = {(e.card_id, e.kind, e.until) for e in store.export_flag_events()}
    assert events == {("d/s", "suspend", None), ("d/b", "bury", future),
                      ("d/l", "suspend", None), ("d/l", "leech", None)}
    store.close()


# -- the command line ------------------------------------------------------------


def test_cli_sync_between_two_homes(tmp_path):
    from .test_cli import run

    folder = tmp_path / "shared"
    folder.mkdir()
    homes = [tmp_path / "one", tmp_path / "two"]
    for home in homes:
        write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine", deck_name="My deck")
    for i, home in enumerate(homes):
        result = run(["review", "--plain", "--deck", "mine"], home,
                     stdin="\n3\n" if i == 0 else "\n1\n\n3\n")
        assert result.returncode == 0, result.stderr
    results = [run(["sync", str(folder)], home) for home in homes + homes]
    for result in results:
        assert result.returncode == 0 and result.stderr == "", result.stderr
    assert results[0].stdout.splitlines()[-1].startswith(
        f"synced with 0 other machines in {folder}: 0 reviews added")
    two = results[1].stdout.splitlines()
    assert len(two) == 2 and ": 1 review added" in two[0]
    assert two[1].startswith(f"synced with 1 other machine in {folder}: 1 review added")
    assert ": 2 reviews added" in results[2].stdout.splitlines()[0]
    assert "nothing new" in results[3].stdout
    logs = [sqlite3.connect(home / "companion.db").execute(
        "SELECT id, card_id, rating, state_after, due FROM reviews ORDER BY id").fetchall()
        for home in homes]
    assert logs[0] == logs[1] and len(logs[0]) == 3
    states = [sqlite3.connect(home / "companion.db").execute(
        "SELECT id, state, due, stability, suspended FROM cards ORDER BY id").fetchall()
        for home in homes]
    assert states[0] == states[1]
    for home in homes:
        doctor = run(["doctor"], home)
        assert doctor.returncode == 0, doctor.stdout


def test_cli_sync_errors_are_one_line_and_exit_2(tmp_path):
    from .test_cli import run

    home = tmp_path / "home"
    result = run(["sync", str(tmp_path / "nowhere")], home)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"companion: error: {tmp_path / 'nowhere'}: no such folder\n"
    result = run(["sync"], home)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "name the folder to sync with" in result.stderr and "sync_dir" in result.stderr


def test_cli_warnings_name_the_file_and_the_sync_goes_on(tmp_path):
    from .test_cli import run

    folder = tmp_path / "shared"
    folder.mkdir()
    junk = stranger(folder, "hello\n")
    result = run(["sync", str(folder)], tmp_path / "home")
    assert result.returncode == 0
    assert result.stderr == (f"companion: warning: {junk}: not a companion sync file (its "
                             "first line is not JSON); left alone\n")


def test_sync_dir_syncs_around_a_line_mode_review(tmp_path):
    from .test_cli import run

    folder = tmp_path / "shared"
    folder.mkdir()
    homes = [tmp_path / "one", tmp_path / "two"]
    for home in homes:
        write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine", deck_name="My deck")
        home.mkdir(exist_ok=True)
        (home / "settings.toml").write_text(f'sync_dir = "{folder}"\n')
    first = run(["review", "--plain", "--deck", "mine"], homes[0], stdin="\n3\nq\n")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count("companion: note: synced with 0 other machines") == 2
    second = run(["review", "--plain", "--deck", "mine"], homes[1], stdin="q\n")
    assert "companion: note: synced with 1 other machine" in second.stderr
    assert "1 review added" in second.stderr
    db = sqlite3.connect(homes[1] / "companion.db")
    assert db.execute("SELECT card_id, rating FROM reviews").fetchall() == [("mine/alpha", 3)]
    result = run(["sync"], homes[1])  # the folder from the settings
    assert result.returncode == 0 and "nothing new" in result.stdout


@pytest.mark.parametrize("line", [
    review_line(card_id="nope/nope"),
    json.dumps({"type": "flag", "id": "8" * 32, "card_id": "nope/nope", "at": T0,
                "kind": "suspend"}),
])
def test_a_file_naming_a_card_no_machine_has_is_left_alone(homes, folder, line):
    a, b = homes["a"], homes["b"]
    a.sync(folder)
    path = own_file(a, folder)
    path.write_text(path.read_text() + line + "\n")
    before = b.state()
    report = b.sync(folder)
    [warning] = report.warnings
    assert warning == (f"{path}: its records name a card no machine has ('nope/nope'); "
                       "left alone")
    assert b.state() == before
    assert b.doctor_clean()


def set_state(home: Home, card_id: str, stability: float, difficulty: float) -> None:
    """A state taken from an Anki package (what the import writes), on one machine."""
    from companion.replay import rebuild_card, state_set_json
    from companion.scheduler import PresetModels, StateSet

    sets = StateSet(state=2, stability=stability, difficulty=difficulty, reps=9, lapses=1)
    with home.store.transaction():
        home.store.insert_new_card_events([("7" * 32, card_id, home.now, "set-state", 12,
                                            home.now + 12 * DAY, state_set_json(sets))])
        rebuild_card(home.store, PresetModels(home.settings).for_deck("test"), card_id)
    home.now += MIN


def test_a_state_taken_from_anki_reaches_the_other_machine_and_later_reviews_build_on_it(
        homes, folder):
    a, b = homes["a"], homes["b"]
    a.answer("test/alpha", 3)
    set_state(a, "test/alpha", 42.0, 6.5)
    row = a.store.card_row("test/alpha")
    assert (row.stability, row.difficulty, row.interval, row.reps) == (42.0, 6.5, 12, 9)
    a.sync(folder)
    b.sync(folder)
    assert_converged(a, b)
    b.now = a.now + 12 * DAY
    b.answer("test/alpha", 3)  # from Anki's state: a long interval, not a first review's
    after = b.store.card_row("test/alpha")
    assert after.stability > 42.0 and after.reps == 10 and after.interval > 12
    b.sync(folder)
    a.sync(folder)
    assert_converged(a, b)


def test_an_older_file_is_marked_with_the_format_its_records_need(homes, folder):
    a = homes["a"]
    a.answer("test/alpha", 3)
    a.sync(folder)
    path = own_file(a, folder)
    head, _, rest = path.read_text().partition("\n")
    path.write_text(json.dumps({**json.loads(head), "version": 1}) + "\n" + rest)
    set_state(a, "test/alpha", 42.0, 6.5)
    a.sync(folder)
    lines = path.read_text().splitlines()
    assert {**json.loads(lines[0]), "version": 1} == {**json.loads(head), "version": 1}
    assert json.loads(lines[0])["version"] == FORMAT_VERSION
    assert lines[1:-1] == rest.splitlines() and '"set-state"' in lines[-1]


def test_an_answer_taken_back_after_a_sync_stays_taken_back_on_every_machine(homes, folder):
    a, b = homes["a"], homes["b"]
    a.answer("test/alpha", 3)
    a.answer("test/beta", 1)
    a.sync(folder)
    b.sync(folder)
    assert len(b.state()["reviews"]) == 2
    a.session.undo()  # beta's Again, already in a's file and in b's store
    assert len(a.state()["reviews"]) == 1
    report = a.sync(folder)  # a's own file still holds the review: it stays out
    assert len(a.state()["reviews"]) == 1 and a.store.card_row("test/beta").reps == 0
    assert report.written == 1
    [line] = [x for x in b.sync(folder).lines() if x.startswith("a (")]
    assert "1 answer taken back" in line
    assert len(b.state()["reviews"]) == 1 and b.store.card_row("test/beta").state == 0
    for home in (a, b, a, b):
        home.sync(folder)
    assert_converged(a, b)
    assert len(a.state()["reviews"]) == 1


def forged_file(a, folder, *records) -> None:
    """A third machine's file in the folder holding `records`, under a's header."""
    [own] = folder.glob("companion-*.jsonl")
    header = {**json.loads(own.read_text().splitlines()[0]), "machine": "f" * 32}
    (folder / f"companion-{'f' * 32}.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in (header, *records)))


def forge_an_undo_of_alpha_naming_beta(a, folder) -> None:
    """a answers alpha and beta and syncs; a forged file then takes alpha's
    review back under beta's name."""
    a.answer("test/alpha", 3)
    a.answer("test/beta", 1)
    a.sync(folder)
    [own] = folder.glob("companion-*.jsonl")
    [alpha] = [r for r in map(json.loads, own.read_text().splitlines()[1:])
               if r["type"] == "review" and r["card_id"] == "test/alpha"]
    forged_file(a, folder, {"type": "undo", "id": alpha["id"], "card_id": "test/beta",
                            "at": a.now})


def test_an_undo_record_naming_another_card_than_its_review_takes_nothing_back(homes, folder):
    # Such a record took the review off its own card while replaying only the
    # card it named: the first card's cached state no longer matched its log.
    a, b = homes["a"], homes["b"]
    forge_an_undo_of_alpha_naming_beta(a, folder)
    b.sync(folder)
    assert sorted(r[1] for r in b.state()["reviews"]) == ["test/alpha", "test/beta"]
    assert b.doctor_clean()
    a.sync(folder)
    assert len(a.state()["reviews"]) == 2 and a.doctor_clean()


def test_a_forged_undo_never_keeps_the_true_one_from_holding(homes, folder):
    # Keyed on the review id alone, the forged record (the id with another
    # card) took the id's place: the true undo was ignored, and the answer,
    # still in its machine's own file, came back on the next merge.
    a, b = homes["a"], homes["b"]
    forge_an_undo_of_alpha_naming_beta(a, folder)
    b.sync(folder)
    a.session.undo()  # beta's Again
    a.session.undo()  # alpha's Good: the review the forged record named
    assert a.state()["reviews"] == []
    for name, home in (("a", a), ("b", b), ("a", a), ("b", b)):
        home.sync(folder)
        assert home.state()["reviews"] == [], name
    assert_converged(a, b)
    assert b.doctor_clean()


def test_a_set_state_due_at_the_epoch_is_refused(homes, folder):
    # A card in review due in 1970: overdue by half a century, every day first.
    a, b = homes["a"], homes["b"]
    a.answer("test/alpha", 3)
    a.sync(folder)
    forged_file(a, folder, {"type": "event", "id": "e" * 32, "card_id": "test/alpha",
                            "at": a.now, "kind": "set-state", "interval": 3, "due": 0,
                            "memory": {"state": 2, "stability": 3.0, "difficulty": 5.0}})
    report = b.sync(folder)
    assert [w for w in report.warnings if "line 2: event: a set-state event for a card not "
            "new needs its due date (ms since the epoch)" in w], report.warnings
    assert b.store.card_row("test/alpha").due != 0
