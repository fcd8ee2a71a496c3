"""`companion optimize`: FSRS-6 parameters fitted to the learner's own review log.

The fit is fsrs-rs's (package `fsrs-rs-python`), the optimizer Anki itself
runs, called as Anki calls it (rslib/src/scheduler/fsrs/params.rs,
`compute_params`), so the same log gives Anki's parameters:
- items as Anki's `fsrs_items_for_training` builds them: a card's history from
  its (last run of) learning answers on, one item per answer that falls on a
  later day than the card's previous one, holding every answer up to it; days
  counted as Anki counts them, whole 86,400-second days back from the end of
  today (`next_day_at`); items in the time order of their last answer, with
  one id per card;
- fsrs-rs's fit with short-term memory on, 8 epochs (fsrs-rs's default is 5),
  and the relearning steps that fit in a day;
- Anki's keep-the-current rule: the fitted parameters replace the current ones
  only when they predict the same items strictly better (log loss), or when
  the current ones let relearning steps lift a lapsed card's stability above
  its stability before the lapse.
tests/test_optimize_anki.py checks that a log put into an Anki collection
gives Anki's optimizer the same parameters as ours.

Per preset, as Anki's deck options fit one ("Optimize") or each ("Optimize
all presets", rslib/src/deckconfig/update.rs): a preset is fitted to the
reviews of the cards in the decks that use it (Anki's search
`preset:"NAME" -is:suspended`; a deck no preset names uses the default), with
its relearning steps, and kept or not against its own current parameters.

With the `--retention` flag a workload simulation (fsrs-rs's simulator, run
over the learner's own rating habits and daily limits) suggests a desired
retention, per preset too: its cards, its limits and steps.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from companion.progress import ReviewRow
from companion.scheduler import LEARNING, NEW, RELEARNING, REVIEW, LearnerDay
from companion.settings import DEFAULT_PRESET, Settings, parse_step, save
from companion.store import Store

# fsrs-rs trains the whole model only from this many training items, counted
# after its outlier filter; below it returns its defaults (under 8) or fits the
# four initial stabilities alone. Anki's optimizer calls the same number
# MIN_ITEMS_FOR_TRAINING.
MIN_TRAINING_ITEMS = 64
DECIMALS = 4  # parameters are saved rounded, as Anki shows them
# Anki's TrainingConfig: fsrs-rs's defaults (batch 512, learning rate 0.04,
# seed 2023) but 8 epochs, not fsrs-rs's 5.
ANKI_EPOCHS = 8
DAY_SECONDS = 86_400

# Desired retentions the workload simulation tries (settings allow 0.70-0.99).
RETENTION_GRID = tuple(round(0.70 + 0.01 * i, 2) for i in range(28))  # 0.70 .. 0.97
SIMULATION_SEEDS = (1, 2, 3)


class OptimizeError(RuntimeError):
    """The optimizer failed on this history; the message says why."""


def default_parameters() -> list[float]:
    """FSRS-6's defaults as the scheduler uses them (package `fsrs`). fsrs-rs
    ships the same 21 numbers as float32; tests/test_optimize.py checks they agree."""
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return list(DEFAULT_PARAMETERS)


@dataclass
class Score:
    log_loss: float
    rmse_bins: float


@dataclass
class RetentionRow:
    retention: float
    minutes_per_day: float  # average study time a day over the simulated year
    memorized: float  # cards remembered (sum of retrievabilities) at its end
    seconds_per_card: float  # study time per card remembered: lower is better


@dataclass
class OptimizeReport:
    reviews: int  # reviews in the log
    items: int  # training items built from them (a card's review on a later day)
    usable: int  # items left after fsrs-rs's outlier filter
    current_parameters: list[float]
    current: Score | None  # the current parameters on this history
    fitted_parameters: list[float] | None = None
    fitted: Score | None = None  # the fitted parameters on the same history
    kept: str = "current"  # "fitted" or "current"
    needed: int = 0  # more training items needed before a fit (0: enough)
    seconds: float = 0.0  # building the items, fitting and evaluating
    retention: list[RetentionRow] = field(default_factory=list)
    suggested_retention: float | None = None
    preset: str = DEFAULT_PRESET  # the preset fitted
    # the ids of the decks whose cards it was fitted to; None: every deck
    # (no presets besides the default)
    decks: list[str] | None = None

    @property
    def parameters(self) -> list[float]:
        """The parameters kept: the fitted ones when they predict this history better."""
        if self.kept == "fitted" and self.fitted_parameters is not None:
            return self.fitted_parameters
        return self.current_parameters

    @property
    def enough(self) -> bool:
        return self.needed == 0

    @property
    def skipped_because(self) -> str:
        """Why no fit was made, in a few words ("" when one was)."""
        if self.enough:
            return ""
        if self.decks == []:
            return "no decks use it"
        if not self.reviews:
            return "no reviews"
        return (f"too little history: {self.usable} of the {MIN_TRAINING_ITEMS} training "
                "items a fit needs")


# -- the log as training items ---------------------------------------------


@dataclass
class TrainingSet:
    items: list[Any]  # fsrs_rs_python.FSRSItem, in the time order of their last review
    card_ids: list[int]  # one per item: the card's index
    histories: list[list[tuple[int, int]]]  # per item: (rating, delta_t days)


def next_day_at(day: LearnerDay, now_ms: int | None = None) -> int:
    """The end of the learner's day holding `now_ms` (default: now), in ms:
    the moment Anki's day counts are taken back from (`next_day_at`)."""
    now = round(time.time() * 1000) if now_ms is None else now_ms
    return day.start_of(day.day_of(now) + timedelta(days=1))


def _days_elapsed(at_ms: int, next_day_ms: int) -> int:
    """Anki's `RevlogEntry::days_elapsed`: whole days of 86,400 seconds from the
    answer (its time in whole seconds) to `next_day_at`. It can differ by one
    from the count of learner's days, as it does in Anki: across a DST change
    (the cut moves by the hour), and for an answer at the cut's very second
    (counted to the day before)."""
    return max(0, (next_day_ms // 1000 - at_ms // 1000) // DAY_SECONDS)


def _learning(state_before: int | None, index: int) -> bool:
    """An answer Anki logs as learning: the card was new or in its learning
    steps. A log whose states are not yet known (state_before NULL) started
    new, as every card's log does."""
    return state_before in (NEW, LEARNING) or (state_before is None and index == 0)


def training_set(reviews: Iterable[ReviewRow], day: LearnerDay, now_ms: int | None = None,
                 ignore_before_ms: int = 0) -> TrainingSet:
    """Anki's training items from the review log (which must be in time order, as
    `Store.reviews` returns it), as of `now_ms` (default: now), the way Anki's
    `fsrs_items_for_training` builds them from its revlog:
    - a card's history starts at the first answer of its last run of learning
      answers (a card that never was new or learning is left out), and a card
      whose history starts before `ignore_before_ms` is left out (Anki's
      "ignore reviews before");
    - delta_t is the difference of the answers' `_days_elapsed`;
    - an answer on the same day as the card's previous one stays in the history
      (short-term memory) but is no target."""
    from fsrs_rs_python import FSRSItem, FSRSReview

    next_day = next_day_at(day, now_ms)
    by_card: dict[str, list[ReviewRow]] = {}
    for review in reviews:
        by_card.setdefault(review.card_id, []).append(review)
    targets: list[tuple[int, int, list[Any], list[tuple[int, int]]]] = []
    for index, log in enumerate(by_card.values()):
        first = None
        for k in range(len(log) - 1, -1, -1):
            if _learning(log[k].state_before, k):
                first = k
            elif first is not None:
                break
        if first is None or log[first].reviewed_at < ignore_before_ms:
            continue
        history: list[tuple[int, int]] = []
        fsrs_reviews: list[Any] = []
        previous: int | None = None
        for review in log[first:]:
            elapsed = _days_elapsed(review.reviewed_at, next_day)
            delta_t = previous - elapsed if previous is not None else 0
            previous = elapsed
            history.append((review.rating, delta_t))
            fsrs_reviews.append(FSRSReview(review.rating, delta_t))
            if len(history) > 1 and delta_t > 0:
                targets.append((review.reviewed_at, index, fsrs_reviews[:], history[:]))
    # fsrs-rs weighs recent items more, by their position: time order matters
    # (Anki sorts by revlog id, the answer's time in ms).
    targets.sort(key=lambda t: (t[0], t[1]))
    return TrainingSet(items=[FSRSItem(t[2]) for t in targets], card_ids=[t[1] for t in targets],
                       histories=[t[3] for t in targets])


def usable_items(items: list[Any]) -> int:
    """How many items fsrs-rs keeps after its outlier filter (the count its
    minimum-history rule looks at)."""
    from fsrs_rs_python import filter_outlier

    first = [item for item in items if item.long_term_review_cnt() == 1]
    _, kept = filter_outlier(first, items)
    return len(kept)


def evaluate(parameters: list[float], items: list[Any]) -> Score:
    """Log loss and RMSE (bins) of `parameters` on `items`, by fsrs-rs."""
    from fsrs_rs_python import FSRS

    result = FSRS(list(parameters)).evaluate(items)
    return Score(log_loss=float(result.log_loss), rmse_bins=float(result.rmse_bins))


def _tidy(parameters: list[float]) -> list[float]:
    """Rounded for the settings file, and inside the bounds the scheduler
    (package `fsrs`) accepts, so the saved numbers are the ones scored."""
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    return [min(max(round(float(p), DECIMALS), low), high)
            for p, low, high in zip(parameters, LOWER_BOUNDS_PARAMETERS,
                                    UPPER_BOUNDS_PARAMETERS)]


def relearning_steps_in_a_day(settings: Settings) -> int:
    """How many relearning steps Anki tells fsrs-rs about: the steps, from the
    first, that end within a day (1,440 minutes) of the lapse (the deck
    options' "Optimize"; its "Optimize all presets" passes every step, the
    same count unless a step ends a day or more after the lapse)."""
    count = 0
    elapsed = 0.0
    for step in settings.relearning_steps:
        elapsed += parse_step(step).total_seconds() / 60
        if elapsed >= 1440:
            break
        count += 1
    return count


def fit_raw(train: TrainingSet, relearning_steps: int) -> list[float]:
    """fsrs-rs's fit, with Anki's settings, unrounded (as Anki stores it)."""
    from fsrs_rs_python import FSRS, TrainingConfig

    try:
        fitted = FSRS(default_parameters()).compute_parameters(
            train.items, card_ids=train.card_ids, enable_short_term=True,
            num_relearning_steps=relearning_steps,
            training_config=TrainingConfig(num_epochs=ANKI_EPOCHS))
    except (ValueError, RuntimeError) as exc:
        raise OptimizeError(f"the FSRS optimizer failed on this history: {exc}") from None
    if len(fitted) != len(default_parameters()):
        raise OptimizeError(f"the FSRS optimizer returned {len(fitted)} parameters, "
                            f"expected {len(default_parameters())}")
    return [float(p) for p in fitted]


def fit(train: TrainingSet, relearning_steps: int) -> list[float]:
    """The fit as saved: `fit_raw` rounded to DECIMALS."""
    return _tidy(fit_raw(train, relearning_steps))


def _relearning_lifts_stability(parameters: list[float], relearning_steps: int) -> bool:
    """Anki's second test of the current parameters: from stability 1, a lapse
    and then `relearning_steps` same-day Good answers end at a stability of
    at least 1 (fsrs-rs's fit rules such parameters out)."""
    from fsrs_rs_python import FSRS, MemoryState

    fsrs = FSRS(list(parameters))
    state = fsrs.next_states(MemoryState(1.0, 1.0), 0.9, 2).again.memory
    for _ in range(relearning_steps):
        state = fsrs.next_states(state, 0.9, 0).good.memory
    return bool(state.stability >= 1.0)


def keeps_fitted(current: list[float], current_loss: float, fitted_loss: float,
                 relearning_steps: int) -> bool:
    """Anki's rule (`compute_params`): the current parameters stay when they
    predict the history at least as well, unless there is more than one
    relearning step in a day and they let those steps lift a lapsed card's
    stability back above where it was."""
    if fitted_loss < current_loss:
        return True
    if relearning_steps <= 1:
        return False
    return _relearning_lifts_stability(current, relearning_steps)


# -- the whole command -----------------------------------------------------


def preset_decks(store: Store, settings: Settings, preset: str) -> list[str] | None:
    """The ids of the decks whose cards `preset` schedules (Anki's
    `preset:"NAME"`: the decks whose options are that preset); None when it
    is every deck (no presets besides the default)."""
    if not settings.presets:
        return None
    if preset == DEFAULT_PRESET:
        return sorted(deck for deck in store.every_deck_id()
                      if settings.preset_of(deck) == DEFAULT_PRESET)
    return settings.decks_using(preset)


def optimize(store: Store, settings: Settings, retention: bool = False,
             preset: str = DEFAULT_PRESET) -> OptimizeReport:
    """Fit FSRS-6 to the review log of a preset's cards (every card while
    there are no other presets) and score its current and the fitted
    parameters on it. Saves nothing: `apply` does, when the report keeps the
    fitted ones."""
    started = time.perf_counter()
    own = settings.preset(preset)
    decks = preset_decks(store, settings, preset)
    reviews = store.reviews(studied_only=True, deck_ids=decks) if decks != [] else []
    train = training_set(reviews, LearnerDay(own))
    current = list(own.parameters) or default_parameters()
    usable = usable_items(train.items) if train.items else 0
    report = OptimizeReport(
        reviews=len(reviews), items=len(train.items), usable=usable,
        current_parameters=current,
        current=evaluate(current, train.items) if train.items else None,
        needed=max(0, MIN_TRAINING_ITEMS - usable), preset=preset, decks=decks)
    if report.enough:
        steps = relearning_steps_in_a_day(own)
        raw = fit_raw(train, steps)
        fitted = _tidy(raw)
        report.fitted_parameters = fitted
        report.fitted = evaluate(fitted, train.items)
        assert report.current is not None
        # As Anki, the decision compares the fit as fsrs-rs returned it.
        if keeps_fitted(current, report.current.log_loss, evaluate(raw, train.items).log_loss,
                        steps):
            report.kept = "fitted"
    report.seconds = time.perf_counter() - started
    if retention:
        suggest_retention(store, settings, report, reviews)
    return report


def optimize_presets(store: Store, settings: Settings, retention: bool = False,
                     presets: list[str] | None = None) -> list[OptimizeReport]:
    """`optimize` for each of `presets` (default: every preset, the default
    first), as Anki's "Optimize all presets": each on its own decks' log. A
    preset with too little history to fit gets no retention simulation when
    more than one is fitted (alone, it gets one with its current parameters)."""
    names = settings.preset_names() if presets is None else presets
    reports = []
    for name in names:
        report = optimize(store, settings, preset=name)
        if retention and (report.enough or len(names) == 1):
            suggest_retention(store, settings, report)
        reports.append(report)
    return reports


def suggest_retention(store: Store, settings: Settings, report: OptimizeReport,
                      reviews: list[ReviewRow] | None = None) -> None:
    """The report's workload simulation over its preset's cards, with the
    parameters it keeps and the preset's limits and steps."""
    decks = report.decks
    if reviews is None:
        reviews = store.reviews(studied_only=True, deck_ids=decks) if decks != [] else []
    report.retention = simulate_retentions(store, settings.preset(report.preset),
                                           report.parameters, reviews, deck_ids=decks)
    finite = [row for row in report.retention if row.seconds_per_card != float("inf")]
    if finite:
        report.suggested_retention = min(finite, key=lambda r: r.seconds_per_card).retention


def with_fitted_parameters(settings: Settings, fitted: dict[str, list[float]]) -> Settings:
    """The settings with each preset's fitted parameters (preset name ->
    parameters). A preset that leaves its parameters to the default's keeps
    the ones it has when only the default's change, as each Anki preset has
    parameters of its own: they are written to it."""
    new = settings
    if DEFAULT_PRESET in fitted:
        new = new.with_preset_values(DEFAULT_PRESET, parameters=list(fitted[DEFAULT_PRESET]))
        for name, values in settings.presets.items():
            if name not in fitted and "parameters" not in values:
                new = new.with_preset_values(
                    name, parameters=list(settings.preset(name).parameters))
    for name, parameters in fitted.items():
        if name != DEFAULT_PRESET:
            new = new.with_preset_values(name, parameters=list(parameters))
    return new


def apply(store: Store, settings: Settings, report: OptimizeReport,
          settings_path: Path) -> tuple[Settings, int]:
    """`apply_all` for one report."""
    return apply_all(store, settings, [report], settings_path)


def apply_all(store: Store, settings: Settings, reports: list[OptimizeReport],
              settings_path: Path) -> tuple[Settings, int]:
    """Save the parameters of each report that keeps its fit (to its preset)
    and recompute every card's memory state with them, once, as Anki does;
    with `reschedule_on_change` also move the due dates of the review cards
    whose preset's parameters changed to what the new ones give. Returns the
    new settings and how many cards' due dates moved. Nothing changes when
    every report keeps its current parameters."""
    from companion.replay import (
        changed_decks,
        note_schedule_settings,
        rebuild_all,
        schedule_settings,
    )
    from companion.store import now_ms

    fitted = {r.preset: list(r.parameters) for r in reports if r.kept == "fitted"}
    if not fitted:
        return settings, 0
    new_settings = with_fitted_parameters(settings, fitted)
    before = store.studied_card_dues()
    save(new_settings, settings_path)
    at = decks = None
    if new_settings.reschedule_on_change:
        at = now_ms()
        decks = None if not settings.presets else changed_decks(
            store, schedule_settings(settings), schedule_settings(new_settings))
    rebuild_all(store, new_settings, reschedule_at=at, reschedule_decks=decks)
    note_schedule_settings(store, new_settings)
    after = store.studied_card_dues()
    moved = sum(1 for card_id, due in after.items() if before.get(card_id) != due)
    return new_settings, moved


# -- desired retention: a workload simulation --------------------------------


def _rating_habits(reviews: list[ReviewRow]) -> tuple[list[float] | None, list[float] | None]:
    """The learner's first ratings (4 shares) and passing ratings in review
    (Hard, Good, Easy shares), when the log has enough of each to say."""
    first = [0, 0, 0, 0]
    passing = [0, 0, 0]
    for review in reviews:
        if review.state_before == NEW:
            first[review.rating - 1] += 1
        elif review.state_before == REVIEW and review.rating > 1:
            passing[review.rating - 2] += 1

    def shares(counts: list[int]) -> list[float] | None:
        total = sum(counts)
        if total < 50:
            return None
        # No share at exactly 0: the simulator needs every button possible.
        smoothed = [c + 1 for c in counts]
        return [c / sum(smoothed) for c in smoothed]

    return shares(first), shares(passing)


def _review_costs(store: Store, config: Any,
                  deck_ids: list[str] | None = None) -> list[list[float]]:
    """Seconds per answer by state (learning, review, relearning) and rating, from
    the log's durations (of these decks' cards, if given) where there are
    enough, else the simulator's defaults."""
    costs = [list(row) for row in config.state_rating_costs]
    row_of = {NEW: 0, LEARNING: 0, REVIEW: 1, RELEARNING: 2}
    for cost in store.review_costs(deck_ids):
        if cost.state_before in row_of and 1 <= cost.rating <= 4 and cost.answers >= 20:
            costs[row_of[cost.state_before]][cost.rating - 1] = cost.avg_ms / 1000
    return costs


def simulate_retentions(store: Store, settings: Settings, parameters: list[float],
                        reviews: list[ReviewRow] | None = None,
                        days: int = 365,
                        deck_ids: list[str] | None = None) -> list[RetentionRow]:
    """A year of study simulated by fsrs-rs at each retention of RETENTION_GRID,
    for the learner's active cards (of these decks, if given: a preset's),
    daily limits and rating habits (`settings`: the preset's). The best
    retention gives the most remembered cards per minute of study; a higher one
    costs more time per card remembered."""
    from fsrs_rs_python import default_simulator_config, simulate

    reviews = store.reviews(deck_ids=deck_ids) if reviews is None else reviews
    config = default_simulator_config()
    cards = store.active_card_count(deck_ids)
    if cards == 0:
        return []
    config.deck_size = cards
    config.learn_span = days
    config.learn_limit = max(1, settings.new_per_day)  # 0 would simulate learning nothing
    config.review_limit = settings.reviews_per_day
    config.max_ivl = float(settings.maximum_interval)
    config.learning_step_count = len(settings.learning_steps)
    config.relearning_step_count = len(settings.relearning_steps)
    first, passing = _rating_habits(reviews)
    if first:
        config.first_rating_prob = first
    if passing:
        config.review_rating_prob = passing
    config.state_rating_costs = _review_costs(store, config, deck_ids)
    rows = []
    for retention in RETENTION_GRID:
        cost = memorized = 0.0
        for seed in SIMULATION_SEEDS:
            result = simulate(list(parameters), retention, config, seed)
            cost += sum(result.cost_per_day)
            memorized += result.memorized_cnt_per_day[-1]
        cost /= len(SIMULATION_SEEDS)
        memorized /= len(SIMULATION_SEEDS)
        rows.append(RetentionRow(retention=retention, minutes_per_day=cost / 60 / days,
                                 memorized=memorized,
                                 seconds_per_card=cost / memorized if memorized else float("inf")))
    return rows
