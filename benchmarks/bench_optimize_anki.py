"""Companion's optimizer against Anki's own on the same log (issue #13).

tests/test_optimize.py's synthetic learner, put into a companion store and into
an Anki collection (the `anki` package) as revlog rows. Prints, side by side:
- Anki's parameters (compute_fsrs_params, as the deck options screen runs it)
  and companion's (`optimize`), and the largest difference;
- the log loss and RMSE (bins) of each, as Anki evaluates its own
  (evaluate_params_legacy) and as companion does;
- for scale, what companion's fit gave before it followed Anki's settings
  (fsrs-rs's default 5 epochs), and what a different card-id order alone does
  (fsrs-rs batches by card id, so Anki's ids are part of its input).

Run: python benchmarks/bench_optimize_anki.py [--cards 1200] [--days 182]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from companion.settings import Settings  # noqa: E402
from companion.store import Store  # noqa: E402
from tests.test_optimize import fill_store, synthetic_log  # noqa: E402
from tests.test_optimize_anki import anki_collection, anki_fit, unique_times  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1200)
    parser.add_argument("--days", type=int, default=182)
    parser.add_argument("--new-per-day", type=int, default=20)
    args = parser.parse_args()
    try:
        import anki  # noqa: F401
    except ImportError:
        print("skipped: the anki package is not installed")
        return
    from fsrs_rs_python import FSRS

    from companion import optimize as opt
    from companion.scheduler import LearnerDay

    log = unique_times(synthetic_log(cards=args.cards, days=args.days,
                                     new_per_day=args.new_per_day, seed=1))
    settings = Settings(timezone="")  # the machine's zone, as Anki's backend uses
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COMPANION_HOME"] = tmp
        store = Store(Path(tmp) / "companion.db")
        fill_store(store, log, settings)
        reviews = store.reviews()
        print(f"history: {len(reviews)} reviews of {len({r.card_id for r in reviews})} cards "
              f"over {args.days} days")
        col = anki_collection(Path(tmp) / "collection.anki2", reviews)
        started = time.perf_counter()
        theirs = anki_fit(col, [], 1)
        anki_seconds = time.perf_counter() - started
        anki_eval = col._backend.evaluate_params_legacy(
            params=list(theirs.params), search='"deck:Synthetic"', ignore_revlogs_before_ms=0)
        col.close()
        started = time.perf_counter()
        report = opt.optimize(store, settings)
        ours_seconds = time.perf_counter() - started
        train = opt.training_set(reviews, LearnerDay(settings))
        raw = opt.fit_raw(train, 1)
        store.close()

    old = FSRS(opt.default_parameters()).compute_parameters(
        train.items, card_ids=train.card_ids, enable_short_term=True, num_relearning_steps=1)
    reordered = FSRS(opt.default_parameters()).compute_parameters(
        train.items, card_ids=[-i for i in train.card_ids], enable_short_term=True,
        num_relearning_steps=1, training_config=_anki_config())
    anki_params = list(theirs.params)
    assert report.fitted_parameters is not None and report.fitted is not None

    print(f"training items: Anki {theirs.fsrs_items}, companion {report.items}")
    print(f"{'':>4} {'Anki':>8} {'companion':>10} {'5 epochs':>9} {'ids reordered':>14}")
    for i, (a, c, o, r) in enumerate(zip(anki_params, report.fitted_parameters, old, reordered)):
        print(f"w{i:<3} {a:8.4f} {c:10.4f} {o:9.4f} {r:14.4f}")
    print(f"largest difference, unrounded: companion {_gap(raw, anki_params):.2e}, "
          f"5 epochs {_gap(old, anki_params):.4f}, "
          f"ids reordered {_gap(reordered, anki_params):.4f}")
    ours_raw = opt.evaluate(raw, train.items)
    print(f"log loss: Anki {anki_eval.log_loss:.6f} (Anki's evaluation), "
          f"companion {ours_raw.log_loss:.6f} unrounded / {report.fitted.log_loss:.6f} as saved, "
          f"5 epochs {opt.evaluate(old, train.items).log_loss:.6f}")
    print(f"RMSE (bins): Anki {anki_eval.rmse_bins:.6f}, companion {ours_raw.rmse_bins:.6f}")
    print(f"time: Anki's compute_fsrs_params {anki_seconds:.2f} s, "
          f"companion's optimize {ours_seconds:.2f} s")


def _anki_config():
    from fsrs_rs_python import TrainingConfig

    from companion.optimize import ANKI_EPOCHS

    return TrainingConfig(num_epochs=ANKI_EPOCHS)


def _gap(a, b) -> float:
    return max(abs(x - y) for x, y in zip(a, b))


if __name__ == "__main__":
    main()
