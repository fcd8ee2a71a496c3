"""`companion optimize`: FSRS-6 fitted to the learner's own log.

The learner here is synthetic: their memory follows FSRS-6 with known
parameters (TRUE_PARAMETERS, a faster forgetter than FSRS's defaults), the app
scheduled them with the defaults, and whether they recalled a card was drawn
from their true retrievability. The fit must find someone closer to them than
the defaults are. benchmarks/bench_optimize.py reuses `synthetic_log`.
"""

from __future__ import annotations

import heapq
import random
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from companion import optimize as opt
from companion.cli.tables import print_optimize
from companion.progress import ReviewRow
from companion.scheduler import LearnerDay
from companion.settings import Settings, load

TRUE_PARAMETERS = (0.1, 0.6, 1.5, 5.0, 7.0, 0.6, 2.2, 0.01, 1.2, 0.2, 0.9, 1.7, 0.09, 0.3, 1.8,
                   0.5, 2.0, 0.5, 0.15, 0.1, 0.5)
START = datetime(2025, 1, 6, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def synthetic_log(true_parameters=TRUE_PARAMETERS, cards: int = 300, days: int = 90,
                  new_per_day: int = 10, seed: int = 7,
                  start: datetime = START, deck: str = "syn") -> list[tuple[str, int, int]]:
    """(card id "DECK/cN", time ms UTC, rating) in time order: `cards` cards introduced
    `new_per_day` a day, studied for `days` days between 15:00 and 23:00 UTC.
    The app schedules with FSRS's defaults (10-minute learning steps); the
    learner skips a due review now and then (30%: one to four days late), and
    recalls with the probability their true memory gives."""
    from fsrs import Card, Rating, Scheduler
    from fsrs.scheduler import DEFAULT_PARAMETERS

    rng = random.Random(seed)
    steps = {"learning_steps": (timedelta(minutes=10),),
             "relearning_steps": (timedelta(minutes=10),), "enable_fuzzing": False}
    app = Scheduler(parameters=DEFAULT_PARAMETERS, **steps)
    truth = Scheduler(parameters=true_parameters, **steps)
    end = start + days * DAY
    memory = {i: (Card(card_id=i), Card(card_id=i)) for i in range(cards)}
    queue = [(start + (i // new_per_day) * DAY + timedelta(hours=15, minutes=i % new_per_day), i)
             for i in range(cards)]
    heapq.heapify(queue)
    log = []
    while queue:
        due, i = heapq.heappop(queue)
        if due >= end:
            continue
        midnight = due.replace(hour=0, minute=0, second=0, microsecond=0)
        at = due
        if due.hour < 15:
            at = midnight + timedelta(hours=15, minutes=rng.randint(0, 120))
        elif due.hour >= 23:
            at = midnight + DAY + timedelta(hours=15, minutes=rng.randint(0, 120))
        seen, real = memory[i]
        if seen.last_review is not None and at - seen.last_review >= DAY and rng.random() < 0.3:
            heapq.heappush(queue, (at + rng.randint(1, 4) * DAY, i))
            continue
        if real.last_review is None:
            rating = rng.choices((1, 2, 3, 4), (0.2, 0.1, 0.6, 0.1))[0]
        elif rng.random() < truth.get_card_retrievability(real, at):
            rating = rng.choices((2, 3, 4), (0.1, 0.8, 0.1))[0]
        else:
            rating = 1
        seen, _ = app.review_card(seen, Rating(rating), at)
        real, _ = truth.review_card(real, Rating(rating), at)
        memory[i] = (seen, real)
        log.append((f"{deck}/c{i}", round(at.timestamp() * 1000), rating))
        heapq.heappush(queue, (seen.due, i))
    log.sort(key=lambda r: r[1])
    return log


def fill_store(store, log, settings: Settings) -> None:
    """The synthetic cards and their log in a store, card states replayed from
    it; a card "DECK/cN" is in deck DECK ("syn" is named Synthetic)."""
    from companion.replay import rebuild_all

    card_ids = sorted({card_id for card_id, _, _ in log})
    decks = sorted({card_id.split("/")[0] for card_id in card_ids})
    with store.transaction() as conn:
        conn.executemany("INSERT INTO decks(id, name, description, path) VALUES (?, ?, '', '')",
                         [(deck, "Synthetic" if deck == "syn" else deck.title())
                          for deck in decks])
        conn.executemany(
            "INSERT INTO cards(id, deck_id, note_id, kind, ord, front, back, position, line) "
            "VALUES (?, ?, ?, 'basic', 0, 'Q', 'A', ?, 1)",
            [(card_id, *card_id.split("/"), n) for n, card_id in enumerate(card_ids)])
        conn.executemany(
            "INSERT INTO reviews(id, card_id, reviewed_at, rating, duration_ms) "
            "VALUES (?, ?, ?, ?, 8000)",
            [(uuid.uuid4().hex, card_id, at, rating) for card_id, at, rating in log])
    rebuild_all(store, settings)


def rows(log) -> list[ReviewRow]:
    return [ReviewRow(card_id, at, rating, None) for card_id, at, rating in log]


def recall_predictions(parameters, histories) -> list[float]:
    """Each item's predicted recall: the memory before its last review, decayed
    over the days since (FSRS-6's forgetting curve)."""
    from fsrs_rs_python import FSRS, FSRSItem, FSRSReview

    before = [FSRSItem([FSRSReview(r, t) for r, t in h[:-1]]) for h in histories]
    states = FSRS(list(parameters)).memory_state_batch(before)
    decay = parameters[20]
    factor = 0.9 ** (-1 / decay) - 1
    return [(1 + factor * h[-1][1] / s.stability) ** -decay for h, s in zip(histories, states)]


@pytest.fixture(scope="module")
def learner():
    """The synthetic history as training items, and its fit."""
    train = opt.training_set(rows(synthetic_log()), LearnerDay(Settings(timezone="UTC")))
    return train, opt.fit(train, relearning_steps=1)


# -- the two FSRS packages agree -------------------------------------------


def test_fsrs_rs_and_fsrs_ship_the_same_fsrs6_defaults():
    from fsrs.scheduler import DEFAULT_PARAMETERS as PY
    from fsrs_rs_python import DEFAULT_PARAMETERS as RS

    assert len(PY) == len(RS) == 21
    assert RS == pytest.approx(list(PY), rel=1e-6)
    assert opt.default_parameters() == list(PY)


# -- training items, the way Anki builds them --------------------------------


def test_training_items_count_learner_days_and_skip_same_day_targets():
    settings = Settings(timezone="America/New_York", day_starts_at=4)
    day = LearnerDay(settings)
    t0 = day.start_of(datetime(2025, 3, 3).date()) + 6 * 3600_000  # 10:00 local, Monday
    hour = 3600_000
    winter = day.start_of(datetime(2025, 12, 1).date())  # "now": standard time, as the log
    log = [
        ("d/a", t0, 1),               # first answer
        ("d/a", t0 + 10 * 60_000, 3),  # learning step, same day: history only
        ("d/a", t0 + 13 * hour, 3),    # 23:00: still Monday -> no target
        ("d/a", t0 + 17 * hour, 3),    # 03:00 Tuesday is before the 4 am rollover: Monday
        ("d/a", t0 + 24 * hour, 3),    # Tuesday 10:00: one learner's day later
        ("d/a", t0 + 96 * hour, 1),    # Friday: three days later
        ("d/b", t0 + 48 * hour, 3),    # a card seen once: no target
    ]
    train = opt.training_set(rows(sorted(log, key=lambda r: r[1])), day, now_ms=winter)
    assert train.histories == [
        [(1, 0), (3, 0), (3, 0), (3, 0), (3, 1)],
        [(1, 0), (3, 0), (3, 0), (3, 0), (3, 1), (1, 3)],
    ]
    assert [item.long_term_review_cnt() for item in train.items] == [1, 2]
    assert train.card_ids[0] == train.card_ids[1]


def test_days_are_counted_back_from_the_end_of_today_as_anki_counts_them():
    # Anki (params.rs, RevlogEntry::days_elapsed) counts whole 86,400-second
    # days back from the end of today, not calendar days: in summer time the
    # 4 am cut falls at 3 am standard time, and an answer at exactly the cut
    # counts to the day before.
    day = LearnerDay(Settings(timezone="America/New_York", day_starts_at=4))
    monday = day.start_of(datetime(2025, 3, 3).date())  # 4:00 EST
    hour = 3600_000
    log = [("d/a", monday + 6 * hour, 3),    # Monday 10:00 EST
           ("d/a", monday + 47 * hour // 2, 3)]  # Tuesday 03:30 EST = 04:30 EDT
    summer = day.start_of(datetime(2025, 7, 1).date())
    winter = day.start_of(datetime(2025, 12, 1).date())
    assert opt.training_set(rows(log), day, now_ms=winter).histories == []
    assert opt.training_set(rows(log), day, now_ms=summer).histories == [[(3, 0), (3, 1)]]
    utc = LearnerDay(Settings(timezone="UTC", day_starts_at=4))
    cut = utc.start_of(datetime(2025, 3, 4).date())
    log = [("d/b", cut - 12 * hour, 3), ("d/b", cut, 3), ("d/b", cut + 1000, 3)]
    train = opt.training_set(rows(log), utc, now_ms=winter)
    assert train.histories == [[(3, 0), (3, 0), (3, 1)]]


def test_a_card_whose_log_does_not_start_new_is_left_out_as_anki_does():
    from companion.scheduler import LEARNING, NEW, REVIEW

    d, noon = 86_400_000, 43_200_000
    log = [ReviewRow("d/a", noon, 3, REVIEW), ReviewRow("d/a", noon + 2 * d, 3, REVIEW),
           ReviewRow("d/b", noon, 3, NEW), ReviewRow("d/b", noon + 1000, 3, LEARNING),
           ReviewRow("d/b", noon + 2 * d, 3, REVIEW)]
    day = LearnerDay(Settings(timezone="UTC", day_starts_at=0))
    train = opt.training_set(log, day, now_ms=10 * d)
    assert train.histories == [[(3, 0), (3, 0), (3, 2)]]
    # Anki's "ignore reviews before": a card whose learning began before it is left out.
    assert opt.training_set(log, day, now_ms=10 * d,
                            ignore_before_ms=noon + 1).histories == []


def test_items_are_in_the_time_order_of_their_target():
    # fsrs-rs weighs later items more, so the order must be time, not card.
    d, noon = 86_400_000, 43_200_000
    log = [("d/b", noon, 3), ("d/a", noon + 1000, 3), ("d/a", noon + 2 * d, 3),
           ("d/b", noon + 3 * d, 1), ("d/a", noon + 5 * d, 3)]
    train = opt.training_set(rows(log), LearnerDay(Settings(timezone="UTC", day_starts_at=0)))
    assert train.histories == [[(3, 0), (3, 2)], [(3, 0), (1, 3)], [(3, 0), (3, 2), (3, 3)]]


# -- the fit beats the defaults on a learner whose truth is known -------------


def test_fit_predicts_the_synthetic_learner_better_than_the_defaults(learner):
    from fsrs.scheduler import DEFAULT_PARAMETERS

    train, fitted = learner
    assert 1_500 <= len(train.items) <= 5_000
    defaults = opt.evaluate(list(DEFAULT_PARAMETERS), train.items)
    truth = opt.evaluate(list(TRUE_PARAMETERS), train.items)
    ours = opt.evaluate(fitted, train.items)
    # The learner really is not the default one: their own parameters explain
    # the history clearly better.
    assert truth.log_loss < defaults.log_loss - 0.005
    assert ours.log_loss < defaults.log_loss
    assert abs(ours.log_loss - truth.log_loss) < abs(defaults.log_loss - truth.log_loss) / 2
    assert ours.rmse_bins < defaults.rmse_bins


def test_fitted_recall_predictions_are_closer_to_the_true_ones(learner):
    from fsrs.scheduler import DEFAULT_PARAMETERS

    train, fitted = learner
    true_r = recall_predictions(TRUE_PARAMETERS, train.histories)

    def distance(parameters) -> float:
        predicted = recall_predictions(parameters, train.histories)
        return sum(abs(p - t) for p, t in zip(predicted, true_r)) / len(true_r)

    assert distance(fitted) < 0.8 * distance(DEFAULT_PARAMETERS)


def test_fitted_parameters_are_valid_scheduler_parameters(learner):
    from fsrs import Scheduler

    _, fitted = learner
    assert len(fitted) == 21
    assert all(round(p, 4) == p for p in fitted)
    Scheduler(parameters=fitted)  # raises when one is out of its bounds


# -- optimize on a store -----------------------------------------------------


def test_optimize_keeps_the_fit_saves_it_and_reschedules(store, home):
    from companion.doctor import cache_mismatches

    settings = Settings(timezone="UTC", reschedule_on_change=True)
    fill_store(store, synthetic_log(), settings)
    due_before = dict(store.conn.execute("SELECT id, due FROM cards"))
    report = opt.optimize(store, settings)
    assert report.enough and report.needed == 0
    assert report.kept == "fitted" and report.parameters == report.fitted_parameters
    assert report.fitted.log_loss < report.current.log_loss
    assert report.reviews == store.conn.execute("SELECT count(*) FROM reviews").fetchone()[0]
    path = home / "settings.toml"
    new_settings, moved = opt.apply(store, settings, report, path)
    assert load(path).parameters == report.fitted_parameters == new_settings.parameters
    due_after = dict(store.conn.execute("SELECT id, due FROM cards"))
    assert moved == sum(due_before[c] != due_after[c] for c in due_after) > 0
    # The cache is exactly a replay of the log with the new parameters.
    assert cache_mismatches(store, new_settings) == []
    # Fitted again from the fitted ones, the result is no worse than them.
    again = opt.optimize(store, new_settings)
    assert again.current.log_loss == pytest.approx(report.fitted.log_loss, abs=1e-6)


def test_better_current_parameters_are_kept(store, home, monkeypatch):
    settings = Settings(timezone="UTC", parameters=list(TRUE_PARAMETERS))
    fill_store(store, synthetic_log(), settings)
    # An optimizer that found nothing better than the defaults.
    monkeypatch.setattr(opt, "fit_raw", lambda train, steps: opt.default_parameters())
    report = opt.optimize(store, settings)
    assert report.kept == "current" and report.parameters == list(TRUE_PARAMETERS)
    assert report.fitted.log_loss > report.current.log_loss
    path = home / "settings.toml"
    assert opt.apply(store, settings, report, path) == (settings, 0)
    assert not path.exists()


def test_too_little_history_keeps_the_defaults_and_says_how_much_more(store):
    from rich.console import Console

    settings = Settings(timezone="UTC")
    fill_store(store, synthetic_log(cards=12, days=10, new_per_day=3), settings)
    report = opt.optimize(store, settings)
    assert report.usable < opt.MIN_TRAINING_ITEMS
    assert report.needed == opt.MIN_TRAINING_ITEMS - report.usable > 0
    assert report.kept == "current" and report.fitted is None
    assert report.parameters == opt.default_parameters()
    console = Console(record=True, width=200)
    print_optimize(report, console)
    text = console.export_text()
    assert f"about {report.needed} more reviews" in text and "(the defaults)" in text


def test_a_retention_suggestion_from_too_short_a_log_says_it_is_generic(store):
    from rich.console import Console

    settings = Settings(timezone="UTC")
    fill_store(store, synthetic_log(cards=12, days=10, new_per_day=3), settings)
    report = opt.optimize(store, settings, retention=True)
    assert not report.enough and report.suggested_retention is not None
    console = Console(record=True, width=200)
    print_optimize(report, console)
    text = console.export_text()
    assert "(< marks the suggestion)" in text
    assert "a typical learner's memory, not yet yours" in text


def test_an_empty_log_is_too_little_history(store):
    report = opt.optimize(store, Settings())
    assert (report.reviews, report.items, report.current) == (0, 0, None)
    assert report.needed == opt.MIN_TRAINING_ITEMS and report.kept == "current"


def test_retention_suggestion_comes_from_the_simulation(store):
    settings = Settings(timezone="UTC")
    fill_store(store, synthetic_log(cards=120, days=40, new_per_day=10), settings)
    rows_ = opt.simulate_retentions(store, settings, opt.default_parameters(), days=120)
    assert [r.retention for r in rows_] == list(opt.RETENTION_GRID)
    # Remembering more takes more study: both rise with the desired retention.
    assert rows_[-1].memorized > rows_[0].memorized
    assert rows_[-1].minutes_per_day > rows_[0].minutes_per_day
    best = min(rows_, key=lambda r: r.seconds_per_card)
    assert best.seconds_per_card < rows_[-1].seconds_per_card


# -- the command -------------------------------------------------------------


def _cli(args, capsys):
    from companion.cli import main

    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_optimize_dry_run_saves_nothing_then_the_real_run_does(store, home, capsys,
                                                                 monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    settings = Settings()
    fill_store(store, synthetic_log(), settings)
    due = dict(store.conn.execute("SELECT id, due FROM cards"))
    code, out, err = _cli(["optimize", "--dry-run"], capsys)
    assert code == 0, err
    assert "Log loss" in out and "RMSE" in out and "current" in out and "fitted" in out
    assert "Dry run: nothing saved." in out
    assert not (home / "settings.toml").exists()
    assert dict(store.conn.execute("SELECT id, due FROM cards")) == due

    code, out, err = _cli(["optimize"], capsys)
    assert code == 0, err
    out = " ".join(out.split())  # the console wraps the settings path where it fits
    assert "Kept the fitted parameters" in out and "due dates kept" in out
    saved = load(home / "settings.toml")
    assert len(saved.parameters) == 21 and saved.parameters != opt.default_parameters()
    db = sqlite3.connect(home / "companion.db")
    # As Anki without "reschedule cards on change": new memory states, same due dates
    assert dict(db.execute("SELECT id, due FROM cards")) == due
    assert db.execute("SELECT count(*) FROM cards WHERE stability IS NOT NULL").fetchone()[0]
    code, out, err = _cli(["reschedule"], capsys)
    assert code == 0, err
    moved = int(out.split()[1])
    assert moved > 0
    assert sum(a != due[c] for c, a in db.execute("SELECT id, due FROM cards")) == moved


def test_cli_optimize_with_too_little_history(store, home, capsys):
    code, out, err = _cli(["optimize"], capsys)
    assert code == 0, err
    assert "Too little history" in " ".join(out.split())
    assert not (home / "settings.toml").exists()


def test_anki_counts_the_relearning_steps_that_end_within_a_day():
    def steps(*relearning):
        return opt.relearning_steps_in_a_day(Settings(relearning_steps=list(relearning)))

    assert steps() == 0 and steps("10m") == 1 and steps("10m", "1h") == 2
    assert steps("10m", "1h", "1d") == 2 and steps("1d") == 0 and steps("23h", "59m") == 2


def test_anki_keeps_current_parameters_unless_relearning_would_lift_stability():
    defaults = opt.default_parameters()
    assert opt.keeps_fitted(defaults, 0.40, 0.39, 1)
    assert not opt.keeps_fitted(defaults, 0.39, 0.39, 1)  # a tie keeps the current
    # With several relearning steps, current parameters under which those
    # steps lift a lapsed card above its old stability give way to the fit.
    lifting = defaults[:17] + [1.5, 0.8] + defaults[19:]
    assert opt._relearning_lifts_stability(lifting, 3)
    assert opt.keeps_fitted(lifting, 0.30, 0.39, 3)
    assert not opt._relearning_lifts_stability(defaults, 2)
    assert not opt.keeps_fitted(defaults, 0.30, 0.39, 2)


def test_suspended_and_retired_cards_are_left_out_of_the_fit_as_anki_does(store):
    settings = Settings(timezone="UTC")
    fill_store(store, synthetic_log(), settings)
    everything = opt.optimize(store, settings).reviews
    counts = dict(store.conn.execute("SELECT card_id, count(*) FROM reviews GROUP BY card_id"))
    suspended, retired = sorted(counts)[:2]
    store.conn.execute("UPDATE cards SET suspended = 1 WHERE id = ?", (suspended,))
    store.conn.execute("UPDATE cards SET retired = 1 WHERE id = ?", (retired,))
    assert opt.optimize(store, settings).reviews == \
        everything - counts[suspended] - counts[retired]


# -- per preset ----------------------------------------------------------------


def two_decks_log() -> list[tuple[str, int, int]]:
    """Deck law: the synthetic learner; deck art: one whose memory is FSRS's
    defaults (tests/test_optimize_anki.py checks both fits against Anki's)."""
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return sorted(synthetic_log(deck="law")
                  + synthetic_log(DEFAULT_PARAMETERS, seed=11, deck="art"),
                  key=lambda r: r[1])


def presets_file(home, **values) -> Settings:
    """Settings with preset exam for deck law, saved where the CLI reads them."""
    from companion.settings import from_mapping, save

    settings = from_mapping({"presets": {"exam": {"relearning_steps": ["10m", "1h"]}},
                             "deck_presets": {"law": "exam"}, **values})
    save(settings, home / "settings.toml")
    return settings


def _doctor_is_clean(capsys) -> None:
    code, out, err = _cli(["doctor"], capsys)
    assert code == 0, out + err
    assert "cached states: equal to a replay of the review log" in out


def test_each_preset_is_fitted_to_its_own_decks(store, home):
    settings = presets_file(home, timezone="UTC")
    fill_store(store, two_decks_log(), settings)
    law, art = (store.reviews(deck_ids=[d]) for d in ("law", "art"))
    reports = {r.preset: r for r in opt.optimize_presets(store, settings)}
    assert list(reports) == ["default", "exam"]
    assert (reports["default"].decks, reports["exam"].decks) == (["art"], ["law"])
    assert (reports["default"].reviews, reports["exam"].reviews) == (len(art), len(law))
    # each fit is the one-deck fit, with the preset's relearning steps
    day = LearnerDay(settings)
    assert reports["exam"].fitted_parameters == opt.fit(opt.training_set(law, day), 2)
    assert reports["default"].fitted_parameters == opt.fit(opt.training_set(art, day), 1)
    assert reports["exam"].parameters != reports["default"].parameters


def test_cli_optimize_fits_every_preset_saves_each_and_the_cache_is_a_replay(
        store, home, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    settings = presets_file(home)
    fill_store(store, two_decks_log(), settings)
    before = (home / "settings.toml").read_text()
    code, out, err = _cli(["optimize", "--dry-run"], capsys)
    assert code == 0, err
    assert "Preset default (decks: Art)" in out and "Preset exam (decks: Law)" in out
    assert out.count("Log loss") == 2 and "Dry run: nothing saved." in out
    assert (home / "settings.toml").read_text() == before

    code, out, err = _cli(["optimize"], capsys)
    assert code == 0, err
    assert "(the parameters of default, exam)" in " ".join(out.split())
    saved = load(home / "settings.toml")
    expected = {r.preset: r.parameters for r in opt.optimize_presets(store, settings)}
    assert saved.parameters == expected["default"]
    assert saved.presets["exam"]["parameters"] == expected["exam"]
    assert saved.presets["exam"]["relearning_steps"] == ["10m", "1h"]
    assert saved.for_deck("law").parameters != saved.for_deck("art").parameters
    _doctor_is_clean(capsys)


def test_cli_optimize_one_preset_leaves_the_others_parameters(store, home, capsys):
    settings = presets_file(home, reschedule_on_change=True)
    fill_store(store, two_decks_log(), settings)
    due = dict(store.conn.execute("SELECT id, due FROM cards"))
    code, out, err = _cli(["optimize", "--preset", "exam"], capsys)
    assert code == 0, err
    assert "Preset exam (decks: Law)" in out and "Preset default" not in out
    saved = load(home / "settings.toml")
    assert saved.parameters == [] and saved.for_deck("art").parameters == []
    assert len(saved.for_deck("law").parameters) == 21
    # reschedule_on_change moved only the refitted preset's cards
    db = sqlite3.connect(home / "companion.db")
    moved = {card for card, at in db.execute("SELECT id, due FROM cards") if at != due[card]}
    assert moved and all(card.startswith("law/") for card in moved)
    _doctor_is_clean(capsys)

    # The default refitted alone: exam keeps its parameters.
    exam = saved.for_deck("law").parameters
    code, out, err = _cli(["optimize", "--preset", "default"], capsys)
    assert code == 0, err
    saved = load(home / "settings.toml")
    assert saved.for_deck("law").parameters == exam
    assert len(saved.parameters) == 21 and saved.parameters != exam
    _doctor_is_clean(capsys)


def test_a_preset_that_inherits_its_parameters_keeps_them_when_the_default_is_refitted(
        store, home, capsys):
    # exam sets no parameters of its own: it has the default's (FSRS's, here)
    settings = presets_file(home)
    fill_store(store, two_decks_log(), settings)
    code, _, err = _cli(["optimize", "--preset", "default"], capsys)
    assert code == 0, err
    saved = load(home / "settings.toml")
    assert len(saved.parameters) == 21
    assert saved.presets["exam"]["parameters"] == []  # FSRS's defaults, as before
    assert saved.for_deck("law").parameters == []
    _doctor_is_clean(capsys)


def test_cli_optimize_says_in_one_line_which_presets_it_skipped(store, home, capsys):
    from companion.settings import save

    settings = Settings(presets={"exam": {}, "tiny": {}, "empty": {}},
                        deck_presets={"law": "exam", "few": "tiny"})
    save(settings, home / "settings.toml")
    log = synthetic_log(deck="law") + synthetic_log(cards=30, days=20, new_per_day=3,
                                                    deck="few")
    fill_store(store, sorted(log, key=lambda r: r[1]), settings)
    tiny = opt.optimize(store, settings, preset="tiny")
    assert not tiny.enough and tiny.reviews
    code, out, err = _cli(["optimize", "--dry-run"], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith("Skipped")]
    assert lines == [f"Skipped: default (no decks use it); tiny (too little history: "
                     f"{tiny.usable} of the 64 training items a fit needs); "
                     "empty (no decks use it)."]
    assert "Preset exam (decks: Law)" in out and "Preset tiny" not in out
    # asked for by name, a skipped preset shows its report
    code, out, err = _cli(["optimize", "--preset", "tiny"], capsys)
    assert code == 0, err
    out = " ".join(out.split())
    assert "Too little history" in out
    assert "Nothing saved: no preset has enough reviews to fit." in out


def test_cli_optimize_unknown_preset_is_one_line_exit_2(store, home, capsys):
    settings = presets_file(home)
    fill_store(store, two_decks_log(), settings)
    before = (home / "settings.toml").read_text()
    code, out, err = _cli(["optimize", "--preset", "exma"], capsys)
    assert code == 2 and out == ""
    assert err == ("companion: error: unknown preset 'exma' (did you mean 'exam'? "
                   "presets: default, exam)\n")
    assert (home / "settings.toml").read_text() == before


def test_retention_is_simulated_per_preset_on_its_own_cards(store, home):
    settings = presets_file(home, timezone="UTC")
    settings = settings.with_preset_values("exam", new_per_day=5)
    fill_store(store, two_decks_log(), settings)
    calls = []

    def simulate(store_, preset, parameters, reviews, deck_ids=None, **_):
        calls.append((preset.new_per_day, preset.relearning_steps, deck_ids,
                      {r.card_id.split("/")[0] for r in reviews},
                      store_.active_card_count(deck_ids)))
        return []

    import companion.optimize as module

    original = module.simulate_retentions
    module.simulate_retentions = simulate
    try:
        opt.optimize_presets(store, settings, retention=True)
    finally:
        module.simulate_retentions = original
    assert calls == [(20, ["10m"], ["art"], {"art"}, 300),
                     (5, ["10m", "1h"], ["law"], {"law"}, 300)]


def test_cli_retention_for_one_preset_says_where_to_set_it(store, home, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    settings = presets_file(home)
    fill_store(store, two_decks_log(), settings)
    code, out, err = _cli(["optimize", "--preset", "exam", "--retention", "--dry-run"], capsys)
    assert code == 0, err
    out = " ".join(out.split())
    assert "Suggested desired retention" in out
    assert "set it with desired_retention in settings.toml under [presets.exam]." in out
