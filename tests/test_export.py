"""Export and import: lossless round trips, merges as a union, refusals that change nothing."""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
from datetime import datetime, timezone

import pytest

from companion.deck_sync import sync_decks
from companion.interop import ImportError_, export, import_file
from companion.interop.csv_log import import_csv
from companion.interop.json_export import import_json
from companion.scheduler import to_ms
from companion.session import ReviewSession
from companion.settings import Settings
from companion.store import Store

from .conftest import SMALL_DECK, TZ, write_deck

T0 = to_ms(datetime(2026, 5, 5, 14, 0, tzinfo=timezone.utc))


def make_home(tmp_path, name, deck_dir, answers):
    store = Store(tmp_path / name / "companion.db")
    sync_decks(store, [deck_dir])
    clock = [T0]
    s = ReviewSession(store, Settings(timezone=TZ), clock=lambda: clock[0])
    for card_id, rating, minutes_later in answers:
        s.answer(card_id, rating, 4000)
        clock[0] += minutes_later * 60_000
    s.set_suspended("test/delta", True)
    with store.transaction() as conn:
        conn.execute("INSERT INTO lab_runs(lab, params, device, seed, card_id, started_at, "
                     "ended_at, status, summary) VALUES ('transformer-trace', '{}', 'cpu', 0, "
                     "'test/alpha', 1, 2, 'ok', '{\"steps\": 14}')")
        conn.execute("INSERT INTO lab_metrics(run_id, chart, series, x, y) "
                     "VALUES (1, 'loss', 'B=4', 0, 1.5)")
    from companion.store import RecallAttemptRow

    with store.transaction():  # a free-recall attempt (companion.recall)
        store.insert_recall_attempt(RecallAttemptRow(
            f"attempt-{name}", T0, "letters", 2, 1, ["test/gamma.c1", "test/gamma.c2"],
            "alpha comes first"))
    return store


def snapshot(store):
    q = {
        "decks": "SELECT id, name, description, retired FROM decks ORDER BY id",
        "cards": "SELECT * FROM cards ORDER BY id",
        "reviews": "SELECT * FROM reviews ORDER BY id",
        "runs": "SELECT lab, params, device, seed, card_id, started_at, ended_at, status, error, "
                "summary, prediction FROM lab_runs ORDER BY started_at",
        "metrics": "SELECT chart, series, x, y FROM lab_metrics",
        "recall": "SELECT * FROM recall_attempts ORDER BY id",
    }
    return {k: store.conn.execute(sql).fetchall() for k, sql in q.items()}


def test_json_round_trip_into_an_empty_home_is_identical(tmp_path, deck_dir):
    a = make_home(tmp_path, "a", deck_dir, [("test/alpha", 3, 11), ("test/alpha", 3, 3000),
                                            ("test/beta", 1, 2), ("test/gamma.c1", 4, 1)])
    path = tmp_path / "export.json"
    export(a, Settings(timezone=TZ), "json", path)
    b = Store(tmp_path / "b" / "companion.db")
    sync_decks(b, [deck_dir])  # a new machine has the same deck files
    result = import_json(b, Settings(), path, adopt_settings=True)
    assert result.settings == Settings(timezone=TZ)
    assert result.added == {"cards": 0, "reviews": 4, "lab_runs": 1, "recall_attempts": 1,
                            "card_events": 0}
    assert snapshot(b) == snapshot(a)
    # a second import of the same file changes nothing
    assert import_json(b, Settings(timezone=TZ), path).added == {
        "cards": 0, "reviews": 0, "lab_runs": 0, "recall_attempts": 0, "card_events": 0}
    assert snapshot(b) == snapshot(a)


def test_an_export_carries_decks_whose_files_stay_behind(tmp_path, deck_dir):
    a = make_home(tmp_path, "a", deck_dir, [("test/alpha", 3, 11)])
    path = tmp_path / "export.json"
    export(a, Settings(timezone=TZ), "json", path)
    b = Store(tmp_path / "b" / "companion.db")
    result = import_json(b, Settings(timezone=TZ), path)
    assert result.added["cards"] == 5
    sync_decks(b, [tmp_path / "no-decks-here"])  # the deck file is not on this machine
    assert b.conn.execute("SELECT count(*) FROM cards WHERE retired = 0").fetchone()[0] == 5
    assert snapshot(b)["reviews"] == snapshot(a)["reviews"]


def test_two_homes_merge_as_the_union_of_their_reviews(tmp_path, deck_dir):
    a = make_home(tmp_path, "a", deck_dir, [("test/alpha", 3, 11), ("test/beta", 4, 1)])
    b = make_home(tmp_path, "b", deck_dir, [("test/gamma.c1", 3, 5), ("test/alpha", 1, 1)])
    ids_a = {r[0] for r in a.conn.execute("SELECT id FROM reviews")}
    ids_b = {r[0] for r in b.conn.execute("SELECT id FROM reviews")}
    path = tmp_path / "a.json"
    export(a, Settings(timezone=TZ), "json", path)
    import_json(b, Settings(timezone=TZ), path)
    assert {r[0] for r in b.conn.execute("SELECT id FROM reviews")} == ids_a | ids_b
    from companion.doctor import cache_mismatches

    assert cache_mismatches(b, Settings(timezone=TZ)) == []
    alpha = b.conn.execute("SELECT reps FROM cards WHERE id = 'test/alpha'").fetchone()[0]
    assert alpha == 2  # one answer from each machine, replayed in time order


def write_csv(path, rows, header=("card_id", "review_time", "review_rating",
                                  "review_duration")):
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_of_an_import_is_the_input(tmp_path, store):
    rows = [[1001, 1_700_000_000_000, 3, 5000], [1001, 1_700_000_600_000, 3, 4000],
            [1001, 1_700_500_000_000, 1, 9000], [2002, 1_700_100_000_000, 4, 3000]]
    source = write_csv(tmp_path / "revlog.csv", rows)
    result = import_csv(store, Settings(timezone=TZ), source)
    assert result.added == {"cards": 2, "reviews": 4}
    out = tmp_path / "out.csv"
    export(store, Settings(), "csv", out)
    exported = list(csv.DictReader(out.open()))
    assert [[int(r["card_id"]), int(r["review_time"]), int(r["review_rating"]),
             int(r["review_duration"])] for r in exported] == sorted(rows, key=lambda r: r[1])
    assert [r["review_state"] for r in exported] == ["0", "1", "0", "2"]
    card = store.conn.execute("SELECT deck_id, reps, state FROM cards WHERE id = 'imported/1001'"
                              ).fetchone()
    assert card == ("imported", 3, 3)  # a lapse in review: relearning


def test_importing_your_own_csv_export_changes_nothing(tmp_path, deck_dir):
    store = make_home(tmp_path, "home", deck_dir,
                      [("test/alpha", 3, 1), ("test/beta", 1, 2), ("test/alpha", 3, 30)])
    before = store.conn.execute("SELECT id, card_id, reviewed_at FROM reviews "
                                "ORDER BY 1").fetchall()
    states = store.conn.execute("SELECT id, state, due, stability FROM cards ORDER BY id"
                                ).fetchall()
    out = tmp_path / "mine.csv"
    export(store, Settings(), "csv", out)
    result = import_csv(store, Settings(timezone=TZ), out)
    assert result.added == {"cards": 0, "reviews": 0}
    assert store.conn.execute("SELECT id, card_id, reviewed_at FROM reviews "
                              "ORDER BY 1").fetchall() == before
    assert store.conn.execute("SELECT count(*) FROM decks WHERE id = 'imported'"
                              ).fetchone()[0] == 0
    assert store.conn.execute("SELECT id, state, due, stability FROM cards ORDER BY id"
                              ).fetchall() == states
    # A later review of one of these cards (from another machine's log) joins its history.
    rows = list(csv.reader(out.open()))
    alpha = rows[1][0]
    write_csv(tmp_path / "later.csv", [[alpha, T0 + 3 * 86_400_000, 3, 2000]])
    assert import_csv(store, Settings(timezone=TZ), tmp_path / "later.csv").added == {
        "cards": 0, "reviews": 1}
    assert store.conn.execute("SELECT reps FROM cards WHERE id = 'test/alpha'"
                              ).fetchone()[0] == 3


def test_csv_times_may_be_iso_8601(tmp_path, store):
    source = write_csv(tmp_path / "r.csv", [["a1", "2026-01-02T03:04:05Z", 3, 100],
                                            ["a1", "2026-01-05T03:04:05+01:00", 3, 100]])
    import_csv(store, Settings(timezone=TZ), source)
    times = [r[0] for r in store.conn.execute("SELECT reviewed_at FROM reviews ORDER BY 1")]
    assert times == [to_ms(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
                     to_ms(datetime(2026, 1, 5, 2, 4, 5, tzinfo=timezone.utc))]


@pytest.mark.parametrize("rows, header, message", [
    ([[1, 1000, 3, 5]], ("card", "time", "rating"), ":1: missing columns card_id, review_rating"),
    ([[1, 1000, 3, 5], [1, 2000, 5, 5]], None, ":3: review_rating '5' is not 1-4"),
    ([[1, "yesterday", 3, 5]], None, ":2: review_time 'yesterday'"),
    ([[1, 1000, 3, 5], [2, 1000, 3, 5], [1, 1000, 4, 5]], None, ":4: duplicate of line 2"),
    ([[1, 1000, 3, "fast"]], None, ":2: review_duration 'fast'"),
    ([["a b", 1000, 3, 5]], None, ":2: card_id 'a b'"),
    ([], None, ":2: no reviews"),
    ([[1, 1000, 3, "²"]], None, ":2: review_duration '²' must be whole"),
    ([["²", 1000, 3, 5]], None, ":2: card_id '²'"),
    ([[1, "9" * 40, 3, 5]], None, ":2: review_time"),
    ([[1, 4_102_444_800_000, 3, 5]], None, "is in the future"),
    ([[1, 1000, 3, 10**12]], None, ":2: review_duration"),
    ([[1, 1000, 3, "x" * 140_000]], None, ":2: field larger than field limit"),
])
def test_bad_csv_is_refused_with_file_line_and_nothing_imported(tmp_path, store, rows, header,
                                                                 message):
    write_csv(tmp_path / "ok.csv", [[9, 5000, 3, 1]])
    import_csv(store, Settings(), tmp_path / "ok.csv")
    before = snapshot(store)
    bad = write_csv(tmp_path / "bad.csv", rows, *(() if header is None else (header,)))
    with pytest.raises(ImportError_) as info:
        import_csv(store, Settings(), bad)
    assert str(info.value).startswith(str(bad)) and message in str(info.value)
    assert snapshot(store) == before


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="something-else"), "not a companion export"),
    (lambda d: d.update(version=99), "written by a newer companion"),
    (lambda d: d["reviews"][0].update(rating=7), "reviews[0]: rating 7 is not 1-4"),
    (lambda d: d["reviews"][0].update(card_id="test/nope"), "card 'test/nope' is not among"),
    (lambda d: d["cards"][0].update(evil="x"), "cards[0]: object contains unknown field `evil`"),
    # What a stranger's export can hold that once gave a traceback or broke the store:
    (lambda d: d["cards"][0].update(front=["a list"]), "cards[0].front: expected `str`"),
    (lambda d: d["cards"][0].update(lab_params={"an": "object"}), "cards[0].lab_params: expected"),
    (lambda d: d["cards"][0].update(lab_params="{not json"), "lab_params is not valid JSON"),
    (lambda d: d["cards"][0].update(lab_params='{"n": 1}'),
     "lab_params is not a JSON object of text"),
    (lambda d: d["cards"][0].update(choices='[1, 2]'), "choices is not a JSON list of text"),
    (lambda d: d["cards"][0].update(position="3"), "cards[0].position: expected `int | null`"),
    (lambda d: d["cards"][0].update(position=2**70), "cards[0].position: expected `int` <="),
    (lambda d: d["cards"][0].update(ord=10**30), "cards[0].ord: expected `int` <= 999"),
    (lambda d: d["reviews"][0].update(rating=True), "reviews[0].rating: expected `int`, got"),
    (lambda d: d["reviews"][0].update(reviewed_at=10**20), "reviews[0].reviewed_at: expected"),
    (lambda d: d["reviews"][0].update(reviewed_at=4_102_444_800_000), "is in the future"),
    (lambda d: d["reviews"].append(dict(d["reviews"][0])), "reviews[1]: id"),
    (lambda d: d["cards"].append(dict(d["cards"][0])), "is already cards[0]"),
    (lambda d: d["decks"].append(dict(d["decks"][0])), "is already decks[0]"),
    (lambda d: d["decks"][0].update(name={"x": 1}), "decks[0].name: expected `str`"),
    (lambda d: d.update(settings={"parameters": ["a"] * 21}), "not a number"),
    (lambda d: d.update(reviews={"not": "a list"}), "reviews: expected `array`"),
    (lambda d: d["settings"].update(desired_retention=3), "desired_retention"),
    (lambda d: d["recall_attempts"][0].update(recalled=5),
     "recall_attempts[0]: 5 ideas recalled of 2"),
    (lambda d: d["recall_attempts"][0].update(missed="test/alpha"),
     "recall_attempts[0].missed: expected `array`"),
])
def test_bad_json_is_refused_before_anything_is_written(tmp_path, deck_dir, mutate, message):
    a = make_home(tmp_path, "a", deck_dir, [("test/alpha", 3, 11)])
    path = tmp_path / "e.json"
    export(a, Settings(timezone=TZ), "json", path)
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    b = Store(tmp_path / "b" / "companion.db")
    before = snapshot(b)
    with pytest.raises(ImportError_, match=re.escape(message)):
        import_json(b, Settings(), path)
    assert snapshot(b) == before


def test_deeply_nested_json_is_one_line_not_a_recursion_error(tmp_path, store):
    path = tmp_path / "deep.json"
    path.write_text('{"format": "companion-export", "version": 1, "decks": ' + "[" * 100_000
                    + "]" * 100_000 + "}")
    with pytest.raises(ImportError_, match=r"deep\.json(:\d+)?: not valid JSON"):
        import_file(store, Settings(), path)


def test_broken_json_names_the_line(tmp_path, store):
    path = tmp_path / "e.json"
    path.write_text('{\n "format": "companion-export",\n "version": 1,\n oops\n}')
    with pytest.raises(ImportError_, match=r"e\.json:4: not valid JSON"):
        import_file(store, Settings(), path)
    with pytest.raises(ImportError_, match="expected a .json export, a .csv review log or an Anki"):
        (tmp_path / "x.txt").write_text("hi")
        import_file(store, Settings(), tmp_path / "x.txt")


@pytest.mark.parametrize("fmt", ["json", "csv", "html", "apkg"])
def test_every_export_is_readable_by_you_only(tmp_path, deck_dir, fmt):
    store = make_home(tmp_path, "home", deck_dir, [("test/alpha", 3, 1)])
    out = tmp_path / f"out.{fmt}"
    out.write_text("an older export, world-readable")
    out.chmod(0o644)
    export(store, Settings(), fmt, out)
    assert out.stat().st_mode & 0o777 == 0o600
    assert out.read_bytes() != b"an older export, world-readable"


def test_cli_export_import_round_trip(tmp_path):
    from .test_cli import run

    a, b = tmp_path / "a", tmp_path / "b"
    write_deck(a / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    run(["review", "--deck", "mine"], a, stdin="\n3\n\n4\nq\n")
    assert run(["export", "--format", "json", "-o", str(tmp_path / "x.json")], a).returncode == 0
    result = run(["import", str(tmp_path / "x.json")], b)
    assert result.returncode == 0 and "imported: 5 cards, 2 reviews" in result.stdout
    again = run(["import", str(tmp_path / "x.json")], b)
    assert "(everything in it was already here)" in again.stdout
    # in words, not the tables' names
    assert again.stdout.strip() == ("imported: 0 cards, 0 reviews, 0 lab runs, 0 recall "
                                    "attempts, 0 card events (everything in it was already "
                                    "here)")
    # Piped answers can share a millisecond, so the card breaks a tie in time.
    rows = sqlite3.connect(b / "companion.db").execute(
        "SELECT card_id, rating FROM reviews ORDER BY reviewed_at, card_id").fetchall()
    assert rows == [("mine/alpha", 3), ("mine/beta", 4)]
    bad = run(["import", str(tmp_path / "missing.csv")], b)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    nodir = run(["export", "--format", "csv", "-o", str(tmp_path / "no" / "x.csv")], a)
    assert nodir.returncode == 2 and "does not exist" in nodir.stderr


@pytest.mark.parametrize("suffix", [".json", ".csv", ".apkg"])
def test_importing_a_device_or_a_pipe_is_refused_not_read_forever(tmp_path, suffix):
    from .test_cli import run

    home = tmp_path / "home"
    zero = tmp_path / f"zero{suffix}"
    zero.symlink_to("/dev/zero")
    pipe = tmp_path / f"pipe{suffix}"
    os.mkfifo(pipe)
    for path in (zero, pipe):
        result = run(["import", str(path)], home)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"companion: error: {path}: not a regular file"
