"""The database: WAL, versions, private files, and refusing what it can't use."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from companion.store import SCHEMA_VERSION, Store, StoreError, open_store

from .conftest import database_at


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_is_wal_versioned_and_private(home):
    store = open_store()
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.version == SCHEMA_VERSION
    assert (home / "companion.db").stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    store.close()


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "c.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(path)
    with pytest.raises(StoreError, match="newer companion"):
        Store(path)
    assert digest(path) == before


@pytest.mark.parametrize("content", [b"this is not sqlite at all" * 100,
                                     b"SQLite format 3\x00" + b"\x00" * 50])
def test_a_corrupt_file_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "c.db"
    path.write_bytes(content)
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == content


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes(x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a companion database"):
        Store(path)


@pytest.mark.parametrize("schema", [
    "CREATE TABLE notes(x)",  # another program's tables under companion's version
    "CREATE TABLE meta(key, value); CREATE TABLE decks(id)",
])
def test_a_foreign_database_with_companions_version_is_refused_untouched(tmp_path, schema):
    from companion.store import SCHEMA_VERSION

    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a companion database") as info:
        Store(path)
    assert str(path) in str(info.value) and "untouched" in str(info.value)
    assert path.read_bytes() == before
    assert not (tmp_path / "other.db-wal").exists()


def test_doctor_refuses_a_foreign_database_in_one_line(tmp_path):
    from companion.store import SCHEMA_VERSION

    from .test_cli import run

    home = tmp_path / "home"
    home.mkdir()
    conn = sqlite3.connect(home / "companion.db")
    conn.execute("CREATE TABLE notes(x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    conn.commit()
    conn.close()
    before = (home / "companion.db").read_bytes()
    result = run(["doctor"], home)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert "not a companion database" in result.stdout
    due = run(["due"], home)
    assert due.returncode == 2 and due.stderr.count("\n") == 1
    assert "not a companion database" in due.stderr
    assert (home / "companion.db").read_bytes() == before


def test_backups_are_consistent_copies_and_only_the_newest_are_kept(tmp_path, monkeypatch):
    store = Store(tmp_path / "c.db")
    store.set_meta("hello", "world")
    stamps = iter(range(100))
    monkeypatch.setattr("companion.store.time.strftime", lambda *a: f"2026{next(stamps):04d}")
    made = [store.backup() for _ in range(7)]
    kept = sorted(store.backups_dir().glob("companion-*.db"))
    assert kept == made[-5:]
    copy = sqlite3.connect(kept[-1])
    assert copy.execute("SELECT value FROM meta WHERE key='hello'").fetchone()[0] == "world"


def test_a_failed_transaction_leaves_nothing(tmp_path):
    store = Store(tmp_path / "c.db")
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.set_meta("half", "done")
            raise RuntimeError("crash in the middle")
    assert store.meta("half") is None


def test_migrating_an_older_database_keeps_its_data_and_backs_it_up(tmp_path):
    path = tmp_path / "c.db"
    conn = database_at(path, 1)
    conn.execute("INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
                 "VALUES ('r1', 'd/c', 1, 3, 1000)")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION == 12
    assert store.conn.execute("SELECT id, rating FROM reviews").fetchall() == [("r1", 3)]
    assert "prediction" in {r[1] for r in store.conn.execute("PRAGMA table_info(lab_runs)")}
    [backup] = store.backups_dir().glob("companion-*-before-migration-1-to-12.db")
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("SELECT id FROM reviews").fetchall() == [("r1",)]


def test_a_full_disk_stops_the_write_and_keeps_what_was_saved(tmp_path):
    from companion.deck_sync import sync_decks
    from companion.session import ReviewSession
    from companion.settings import Settings

    from .conftest import write_deck

    folder = tmp_path / "decks"
    write_deck(folder, "d.md", "".join(f"## c{i}\nQ: {'q' * 500}{i}\nA: a\n\n" for i in range(200)))
    store = Store(tmp_path / "c.db")
    sync_decks(store, [folder])
    session = ReviewSession(store, Settings(new_per_day=1000))
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk is nearly full
    answered = []
    with pytest.raises(StoreError, match="could not save: database or disk is full"):
        for _ in range(10_000):
            card = session.next_card()
            session.answer(card.id, 3, 1000)
            answered.append(card.id)
    assert answered  # some answers fitted before the disk filled up
    assert [r[0] for r in store.conn.execute("SELECT card_id FROM reviews ORDER BY rowid")
            ] == answered
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_truncated_database_is_refused_and_left_untouched(tmp_path):
    from companion.deck_sync import sync_decks

    from .conftest import SMALL_DECK, write_deck

    path = tmp_path / "c.db"
    store = Store(path)
    write_deck(tmp_path / "decks", "d.md", SMALL_DECK * 1)
    sync_decks(store, [tmp_path / "decks"])
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    truncated = path.read_bytes()
    with pytest.raises(StoreError) as info:
        s = Store(path)
        s.conn.execute("SELECT count(*) FROM cards").fetchone()
        raise AssertionError("a truncated file opened as if whole")
    assert str(path) in str(info.value)
    assert path.read_bytes() == truncated


def test_a_card_whose_stored_fields_dont_read_never_stops_a_review_and_doctor_names_it(tmp_path):
    """An old import could store lab_params that are not JSON: every review of
    that card crashed, and doctor said all was well."""
    from .conftest import SMALL_DECK, write_deck
    from .test_cli import run

    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    assert run(["due"], home).returncode == 0
    conn = sqlite3.connect(home / "companion.db")
    conn.execute("UPDATE cards SET lab_params = '{broken', choices = '{\"a\": 1}' "
                 "WHERE id = 'mine/alpha'")
    conn.commit()
    conn.close()
    review = run(["review", "--plain", "--deck", "mine"], home, stdin="\n3\nq\n")
    assert review.returncode == 0 and "saved: mine/alpha Good" in review.stdout
    assert "Traceback" not in review.stderr
    doctor = run(["doctor"], home)
    assert doctor.returncode == 1
    assert ("cards whose stored fields don't read: 1 (e.g. mine/alpha: lab_params is not valid "
            "JSON; choices is not a JSON list of text)") in doctor.stdout


def test_answers_taken_back_keep_through_the_migration_to_their_two_part_key(tmp_path):
    path = tmp_path / "c.db"
    conn = database_at(path, 10)
    conn.execute("INSERT INTO undone_reviews(id, card_id, at) VALUES ('r1', 'd/a', 5)")
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    assert store.conn.execute("SELECT id, card_id, at FROM undone_reviews").fetchall() == [
        ("r1", "d/a", 5)]
    # the same review id with another card is another record now, not a clash
    with store.transaction():
        store.undo_reviews([("r1", "d/b", 6), ("r1", "d/a", 7)])
    assert store.conn.execute("SELECT id, card_id, at FROM undone_reviews ORDER BY at"
                              ).fetchall() == [("r1", "d/a", 5), ("r1", "d/b", 6)]
    assert [r[5] for r in store.conn.execute("PRAGMA table_info(undone_reviews)")] == [1, 2, 0]


def test_the_new_card_order_index_holds_only_new_cards_and_the_new_queue_reads_it(tmp_path):
    """Migration 12: an answer that moves a card between learning and review
    no longer rewrites the new-card index; the next new card still comes from
    it, in deck order, without reading the table first."""
    path = tmp_path / "c.db"
    conn = database_at(path, 11)
    conn.executemany("INSERT INTO decks(id, name, path) VALUES (?, ?, '')",
                     [("a", "A"), ("b", "B")])
    conn.executemany(
        "INSERT INTO cards(id, deck_id, front, back, position, state, due) "
        "VALUES (?, ?, 'q', 'a', ?, ?, ?)",
        [("b/1", "b", 1, 0, None), ("a/2", "a", 2, 0, None), ("a/1", "a", 1, 2, 5),
         ("a/3", "a", 3, 0, None)])
    conn.commit()
    conn.close()
    store = Store(path)
    assert store.version == SCHEMA_VERSION
    sql = store.conn.execute("SELECT sql FROM sqlite_master WHERE name = 'cards_new_order'"
                             ).fetchone()[0]
    assert sql.endswith("WHERE state = 0")
    indexed = store.conn.execute("SELECT count(*) FROM cards INDEXED BY cards_new_order "
                                 "WHERE state = 0 AND retired = 0").fetchone()[0]
    assert indexed == 3  # the review card is not in it
    row = store.first_new_card_in(10, None, None)
    assert row is not None and row.id == "a/2"
    assert store.first_new_card_in(10, ["b"], None).id == "b/1"
    traced: list[str] = []
    store.conn.set_trace_callback(traced.append)
    store.first_new_card_in(10, None, None)
    store.conn.set_trace_callback(None)
    [query] = traced
    plan = " ".join(r[-1] for r in store.conn.execute(
        "EXPLAIN QUERY PLAN " + query.replace("?", "10")))
    assert "cards_new_order" in plan


@pytest.mark.parametrize("damage, named", [
    # with the decision the log kept (IndexError deep in the replay), and without
    ("rating = 7", "rating 7 is not 1-4"),
    ("rating = 7, state_after = NULL", "rating 7 is not 1-4"),
    ("rating = 'x'", "rating 'x' is not 1-4"),
    ("reviewed_at = 1e300", "reviewed_at 1e+300 is not a time"),
    ("reviewed_at = 9000000000000000000", "reviewed_at 9000000000000000000 is not a time"),
    ("due = 'soon\x1b[2J'", "due 'soon\\x1b[2J' is not a time"),
])
def test_a_review_row_no_companion_writes_is_named_by_doctor_and_every_replay(tmp_path, damage,
                                                                              named):
    """A review log edited by another program: doctor and doctor --rebuild
    stopped with a traceback (IndexError, ValueError, TypeError), and so did
    every command once a replay was due. Now doctor names the row (status 1),
    a replay fails with one line naming it, and nothing is changed."""
    from .conftest import SMALL_DECK, write_deck
    from .test_cli import run

    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    assert run(["review", "--plain", "--deck", "mine"], home, stdin="\n3\n\n4\nq\n"
               ).returncode == 0
    conn = sqlite3.connect(home / "companion.db")
    review_id = conn.execute("SELECT id FROM reviews ORDER BY rowid LIMIT 1").fetchone()[0]
    conn.execute(f"UPDATE reviews SET {damage} WHERE id = ?", (review_id,))
    conn.commit()
    before = conn.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    for args in (["doctor"], ["doctor", "--rebuild"]):
        doctor = run(args, home)
        assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
        assert f"review log: review {review_id!r}: {named}" in doctor.stdout
        assert "\x1b" not in doctor.stdout
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'replay_needed'")  # an upgrade's
    conn.commit()
    out = tmp_path / "out"
    for args in (["due"], ["doctor", "--rebuild"], ["forget", "mine/alpha"], ["stats"],
                 ["export", "--format", "html", "-o", str(out)],
                 ["export", "--format", "apkg", "-o", str(out)],
                 ["optimize", "--dry-run"], ["reschedule"]):
        result = run(args, home)
        assert "Traceback" not in result.stderr, args
        lines = result.stderr.strip().splitlines()
        if result.returncode == 2:  # else the command could do without the row
            assert len(lines) == 1 and f"review {review_id!r}: {named}" in lines[0]
            assert lines[0].startswith("companion: error:") and "\x1b" not in lines[0]
    assert conn.execute("SELECT * FROM reviews ORDER BY id").fetchall() == before
    conn.close()


def test_only_an_error_a_bad_row_makes_is_put_down_to_the_log(tmp_path, monkeypatch, capsys):
    """With a rating of 7 in the log, a command's IndexError is that row's doing and
    said in one line; a RuntimeError (companion's own bug) is not blamed on it."""
    from companion.cli.commands import handle_error

    from .conftest import SMALL_DECK, write_deck
    from .test_cli import run

    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    assert run(["review", "--plain", "--deck", "mine"], home, stdin="\n3\nq\n").returncode == 0
    conn = sqlite3.connect(home / "companion.db")
    conn.execute("UPDATE reviews SET rating = 7")
    conn.commit()
    conn.close()
    monkeypatch.setenv("COMPANION_HOME", str(home))
    assert handle_error(IndexError("list index out of range")) == 2
    assert "rating 7 is not 1-4" in capsys.readouterr().err
    assert handle_error(RuntimeError("a bug of companion's")) is None
    assert capsys.readouterr().err == ""
