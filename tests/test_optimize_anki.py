"""`companion optimize` gives Anki's parameters for the same log (issue #13).

The log is tests/test_optimize.py's synthetic learner (learning steps on the
day a card is introduced, lapses, relearning, late reviews), put both into a
companion store and, row for row, into an Anki collection's revlog (the `anki`
package: Anki's own Rust backend and its bundled fsrs-rs). Anki's optimizer is
then run as its deck options screen runs it (`compute_fsrs_params` over the
deck's cards), and the parameters must be ours. With presets, two decks'
logs go into two decks that use two presets (deck options), and each
preset's parameters must be what Anki's "Optimize" of that preset and its
"Optimize all presets" give. Skipped without `anki`.
benchmarks/bench_optimize_anki.py reuses `anki_collection`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from companion import optimize as opt
from companion.scheduler import LEARNING, NEW, RELEARNING, REVIEW, LearnerDay
from companion.settings import Settings
from tests.test_optimize import START, fill_store, synthetic_log

DAY_MS = 86_400_000
# Anki's revlog `type` for the state a card was in when answered.
REVLOG_TYPE = {NEW: 0, LEARNING: 0, REVIEW: 1, RELEARNING: 2}


def unique_times(log: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The log with no two answers in the same millisecond (a revlog id is the
    answer's time in ms, and unique), later ones moved on by a millisecond."""
    taken: set[int] = set()
    out = []
    for card_id, at, rating in sorted(log, key=lambda r: r[1]):
        while at in taken:
            at += 1
        taken.add(at)
        out.append((card_id, at, rating))
    return out


def anki_collection(path: Path, reviews: list[Any], deck: str = "Synthetic",
                    decks: dict[str, str] | None = None) -> Any:
    """An Anki collection holding `reviews` (companion's log, `Store.reviews()`:
    time order, states known) as its revlog, in deck `deck` (with `decks`, a
    card "D/cN" in the deck `decks[D]` names): one Basic note a card, in the order
    of the cards' first answers, each card's id a time before its first answer
    (Anki's card id is its creation time), every answer a revlog row with its
    time as id, the rating as ease, the kind of answer the state gives (learning,
    review, relearning), and intervals as Anki logs them (days, or negative
    seconds within a day). Cards are left in review, due tomorrow."""
    from anki.collection import AddNoteRequest, Collection

    col = Collection(str(path))
    col.set_config("rollover", 4)
    by_card: dict[str, list[Any]] = {}
    for review in reviews:
        by_card.setdefault(review.card_id, []).append(review)
    model = col.models.by_name("Basic")
    notes = []
    requests = []
    for card_id in by_card:
        note = col.new_note(model)
        note["Front"], note["Back"] = card_id, "A"
        notes.append(note)
        deck_id = col.decks.id((decks or {}).get(card_id.split("/")[0], deck))
        assert deck_id is not None
        requests.append(AddNoteRequest(note=note, deck_id=deck_id))
    col.add_notes(requests)
    created = round(START.timestamp() * 1000) - DAY_MS
    rows = []
    today = col.sched.today
    for n, (note, log) in enumerate(zip(notes, by_card.values())):
        cid = created + n
        col.db.execute("UPDATE cards SET id = ? WHERE nid = ?", cid, note.id)
        last = 0
        for k, review in enumerate(log):
            gap = (log[k + 1].reviewed_at - review.reviewed_at) if k + 1 < len(log) else DAY_MS
            interval = gap // DAY_MS if gap >= DAY_MS else -max(60, gap // 1000)
            rows.append((review.reviewed_at, cid, -1, review.rating, interval, last, 2500,
                         review.duration_ms or 8000, REVLOG_TYPE[review.state_before]))
            last = interval
        col.db.execute("UPDATE cards SET type = 2, queue = 2, ivl = ?, due = ?, factor = 2500, "
                       "reps = ? WHERE id = ?", max(1, last), today + 1, len(log), cid)
    col.db.executemany("INSERT INTO revlog (id, cid, usn, ease, ivl, lastIvl, factor, time, type)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return col


def anki_fit(col: Any, current: list[float], relearning_steps: int,
             deck: str = "Synthetic", search: str | None = None) -> Any:
    """Anki's optimizer on the deck (or on a search), as the deck options
    screen calls it."""
    return col._backend.compute_fsrs_params(
        search=search or f'"deck:{deck}"', current_params=current, ignore_revlogs_before_ms=0,
        num_of_relearning_steps=relearning_steps, health_check=False)


def anki_preset(col: Any, name: str, decks: list[str], relearning_minutes: list[float],
                parameters: list[float] | None = None) -> None:
    """A deck options preset `name` (Anki's "Default" when that is the name)
    with these relearning steps and FSRS parameters, given to `decks`."""
    conf = (col.decks.get_config(1) if name == "Default" else col.decks.add_config(name))
    conf["lapse"]["delays"] = list(relearning_minutes)
    conf["fsrsParams6"] = list(parameters or [])
    col.decks.update_config(conf)
    for deck in decks:
        deck_dict = col.decks.by_name(deck)
        col.decks.set_config_id_for_deck_dict(deck_dict, conf["id"])


def anki_preset_search(name: str) -> str:
    """The search the deck options' "Optimize" runs for a preset."""
    return f'preset:"{name}" -is:suspended'


def anki_optimize_all(col: Any, deck: str) -> dict[str, list[float]]:
    """Anki's "Optimize all presets" (the deck options of `deck`, saved in
    the COMPUTE_ALL_PARAMS mode): every preset name -> its parameters after."""
    from anki.deck_config_pb2 import UpdateDeckConfigsMode
    from anki.decks import UpdateDeckConfigs

    deck_id = col.decks.id(deck)
    current = col.decks.get_deck_configs_for_update(deck_id)
    selected = next(c.config for c in current.all_config
                    if c.config.id == current.current_deck.config_id)
    col.decks.update_deck_configs(UpdateDeckConfigs(
        target_deck_id=deck_id, configs=[selected], limits=current.current_deck.limits,
        mode=UpdateDeckConfigsMode.UPDATE_DECK_CONFIGS_MODE_COMPUTE_ALL_PARAMS, fsrs=True))
    return {conf["name"]: list(conf["fsrsParams6"]) for conf in col.decks.all_config()}


def near_the_cut(log: list[tuple[str, int, int]], hours: int) -> list[tuple[str, int, int]]:
    """The log `hours` later: +17 puts its study hours (15:00-23:00 UTC) round
    New York's 4 am cut, on both sides of a DST change."""
    return [(card_id, at + hours * 3_600_000, rating) for card_id, at, rating in log]


def _agreement_in_a_subprocess(hours: int) -> None:
    """For the DST test: the agreement with the machine's zone as TZ says (set
    by the caller, since Anki's backend reads the zone once, at start)."""
    import tempfile

    from companion.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COMPANION_HOME"] = tmp
        store = Store(Path(tmp) / "companion.db")
        settings = Settings(timezone="")
        fill_store(store, near_the_cut(unique_times(synthetic_log(cards=400, days=120)), hours),
                   settings)
        reviews = store.reviews()
        col = anki_collection(Path(tmp) / "collection.anki2", reviews)
        theirs = anki_fit(col, [], 1)
        col.close()
        train = opt.training_set(reviews, LearnerDay(settings))
        print(json.dumps({"items": [len(train.items), theirs.fsrs_items],
                          "params": [opt.fit_raw(train, 1), list(theirs.params)]}))
        store.close()


@pytest.fixture
def anki():
    return pytest.importorskip("anki")


@pytest.mark.parametrize("relearning_steps", [["10m"], ["10m", "1h", "1d"]])
def test_optimize_gives_ankis_parameters_for_the_same_log(anki, store, tmp_path,
                                                         relearning_steps):
    # Local time, as Anki's backend counts days in the machine's zone.
    settings = Settings(timezone="", relearning_steps=relearning_steps)
    fill_store(store, unique_times(synthetic_log(cards=400, days=120)), settings)
    reviews = store.reviews()
    assert len(reviews) > 3_000
    col = anki_collection(tmp_path / "collection.anki2", reviews)
    try:
        # The same day cut: Anki's next_day_at is the end of the learner's day.
        assert col.sched.day_cutoff * 1000 == opt.next_day_at(LearnerDay(settings))
        report = opt.optimize(store, settings)
        steps = opt.relearning_steps_in_a_day(settings)
        assert steps == len(relearning_steps[:2])
        theirs = anki_fit(col, [], steps)
    finally:
        col.close()
    # The same training items ...
    assert theirs.fsrs_items == report.items
    # ... the same fit, to the last bit fsrs-rs gives (both bundle fsrs-rs
    # 6.6.2; Anki stores it unrounded, we round to the 4 decimals it shows) ...
    assert report.kept == "fitted" and len(theirs.params) == 21
    raw = opt.fit_raw(opt.training_set(reviews, LearnerDay(settings)), steps)
    assert raw == pytest.approx(list(theirs.params), abs=1e-6)
    assert report.fitted_parameters == [round(p, opt.DECIMALS) for p in theirs.params]


def test_keeping_the_current_parameters_agrees_with_anki(anki, store, tmp_path):
    settings = Settings(timezone="")
    fill_store(store, unique_times(synthetic_log()), settings)
    reviews = store.reviews()
    col = anki_collection(tmp_path / "collection.anki2", reviews)
    try:
        fitted = list(anki_fit(col, [], 1).params)
        for current in ([round(p, opt.DECIMALS) for p in fitted],
                        opt.default_parameters()):
            ours = opt.optimize(store, Settings(timezone="", parameters=current))
            theirs = list(anki_fit(col, current, 1).params)
            anki_kept = theirs == pytest.approx(current, abs=1e-6)
            assert (ours.kept == "current") == anki_kept
            assert ours.parameters == [round(p, opt.DECIMALS) for p in theirs]
    finally:
        col.close()


def two_learners() -> list[tuple[str, int, int]]:
    """Two decks' logs: deck "law" the synthetic learner, deck "art" one whose
    memory is FSRS's defaults, studied on the same days."""
    from fsrs.scheduler import DEFAULT_PARAMETERS

    law = synthetic_log(cards=400, days=120, deck="law")
    art = synthetic_log(DEFAULT_PARAMETERS, cards=400, days=120, seed=11, deck="art")
    return unique_times(law + art)


def test_each_preset_gets_ankis_parameters_for_its_own_decks(anki, store, tmp_path):
    # Deck law uses preset exam (two relearning steps), deck art the default
    # (one): in companion's settings and in Anki's deck options alike.
    settings = Settings(timezone="", presets={"exam": {"relearning_steps": ["10m", "1h"]}},
                        deck_presets={"law": "exam"})
    fill_store(store, two_learners(), settings)
    col = anki_collection(tmp_path / "collection.anki2", store.reviews(),
                          decks={"law": "Law", "art": "Art"})
    try:
        anki_preset(col, "exam", ["Law"], [10, 60])
        ours = {r.preset: r for r in opt.optimize_presets(store, settings)}
        assert [r.decks for r in ours.values()] == [["art"], ["law"]]
        # The deck options' "Optimize" of each preset ...
        each = {name: anki_fit(col, [], opt.relearning_steps_in_a_day(settings.preset(name)),
                               search=anki_preset_search(anki_name))
                for name, anki_name in (("default", "Default"), ("exam", "exam"))}
        # ... and its "Optimize all presets".
        every = anki_optimize_all(col, "Law")
    finally:
        col.close()
    for name, report in ours.items():
        theirs = each[name]
        assert theirs.fsrs_items == report.items and report.kept == "fitted"
        # the whole log of both decks is more than either preset's
        assert report.reviews < len(store.reviews())
        train = opt.training_set(store.reviews(studied_only=True, deck_ids=report.decks),
                                 LearnerDay(settings))
        steps = opt.relearning_steps_in_a_day(settings.preset(name))
        assert opt.fit_raw(train, steps) == pytest.approx(list(theirs.params), abs=1e-6)
        assert report.fitted_parameters == [round(p, opt.DECIMALS) for p in theirs.params]
        assert report.fitted_parameters == [
            round(p, opt.DECIMALS) for p in every["Default" if name == "default" else name]]
    # Two learners, two memories: the presets' parameters differ.
    assert ours["default"].parameters != ours["exam"].parameters
    assert ours["exam"].parameters[0] < ours["default"].parameters[0]  # law's forgets faster


def test_a_preset_keeps_its_current_parameters_when_anki_keeps_them(anki, store, tmp_path):
    settings = Settings(timezone="", presets={"exam": {}}, deck_presets={"law": "exam"})
    fill_store(store, two_learners(), settings)
    col = anki_collection(tmp_path / "collection.anki2", store.reviews(),
                          decks={"law": "Law", "art": "Art"})
    try:
        # exam's current parameters: Anki's own fit of its decks; the default's: FSRS's
        anki_preset(col, "exam", ["Law"], [10])
        search = anki_preset_search("exam")
        fitted = [round(p, opt.DECIMALS) for p in anki_fit(col, [], 1, search=search).params]
        settings = settings.with_preset_values("exam", parameters=fitted)
        ours = {r.preset: r for r in opt.optimize_presets(store, settings)}
        theirs = {"exam": list(anki_fit(col, fitted, 1, search=search).params),
                  "default": list(anki_fit(col, [], 1,
                                           search=anki_preset_search("Default")).params)}
    finally:
        col.close()
    assert ours["exam"].kept == "current" and theirs["exam"] == pytest.approx(fitted, abs=1e-6)
    assert ours["default"].kept == "fitted"
    for name, report in ours.items():
        assert report.parameters == [round(p, opt.DECIMALS) for p in theirs[name]]


def test_days_agree_with_anki_across_dst_round_the_cut(anki):
    # Anki's backend counts days in the machine's zone, read once: a child
    # process in New York, the log's answers round the 4 am cut from winter
    # into summer time, where learner's days and Anki's day counts differ.
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "TZ": "America/New_York", "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-m", "tests.test_optimize_anki", "17"], env=env,
                         cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ours, theirs = result["items"]
    assert ours == theirs
    assert result["params"][0] == pytest.approx(result["params"][1], abs=1e-6)


if __name__ == "__main__":
    _agreement_in_a_subprocess(int(sys.argv[1]))
