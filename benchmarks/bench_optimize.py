"""`companion optimize` on a six-month history: ~12,000 reviews of 1,200 cards.

The history is tests/test_optimize.py's synthetic learner (known FSRS-6
parameters, scheduled by the defaults, recall drawn from their true memory),
stored in a fresh companion home. Prints, on this machine:
- our fit: `optimize(store, settings)` end to end (reading the log, building
  the training items, fsrs-rs's fit, scoring current and fitted parameters),
  median and worst of the repeats, and the fit alone. Target: <= 1 s.
- with --fsrs-py, and when pandas, tqdm and torch import: the `fsrs`
  package's own Optimizer on the same log, once, and the ratio.

Run: python benchmarks/bench_optimize.py [--cards 1200] [--days 182] [--repeats 5] [--fsrs-py]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from companion.settings import Settings  # noqa: E402
from companion.store import Store  # noqa: E402
from tests.test_optimize import fill_store, synthetic_log  # noqa: E402


def time_fsrs_py(log) -> float | None:
    try:
        import pandas  # noqa: F401
        import torch  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError as exc:
        print(f"fsrs package optimizer: skipped ({exc.name} is not installed)")
        return None
    from datetime import datetime, timezone

    from fsrs import Optimizer, Rating, ReviewLog

    numbers: dict[str, int] = {}
    logs = [ReviewLog(card_id=numbers.setdefault(card_id, len(numbers) + 1), rating=Rating(rating),
                      review_datetime=datetime.fromtimestamp(at / 1000, tz=timezone.utc),
                      review_duration=8000)
            for card_id, at, rating in log]
    started = time.perf_counter()
    Optimizer(logs).compute_optimal_parameters()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1200)
    parser.add_argument("--days", type=int, default=182)
    parser.add_argument("--new-per-day", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fsrs-py", action="store_true",
                        help="also time the fsrs package's Optimizer (slow: tens of seconds)")
    args = parser.parse_args()

    from companion import optimize as opt
    from companion.scheduler import LearnerDay

    started = time.perf_counter()
    log = synthetic_log(cards=args.cards, days=args.days, new_per_day=args.new_per_day, seed=1)
    print(f"history: {len(log)} reviews of {len({c for c, _, _ in log})} cards over "
          f"{args.days} days (simulated in {time.perf_counter() - started:.1f} s)")
    settings = Settings(timezone="UTC")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["COMPANION_HOME"] = tmp
        store = Store(Path(tmp) / "companion.db")
        fill_store(store, log, settings)

        opt.optimize(store, settings)  # warm: imports and the first allocation
        totals = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            report = opt.optimize(store, settings)
            totals.append(time.perf_counter() - started)
        train = opt.training_set(store.reviews(), LearnerDay(settings))
        fits = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            opt.fit(train, relearning_steps=1)
            fits.append(time.perf_counter() - started)
        store.close()

    print(f"training items: {report.items} ({report.usable} after fsrs-rs's outlier filter)")
    print(f"log loss: current {report.current.log_loss:.4f}, fitted {report.fitted.log_loss:.4f}"
          f"; RMSE (bins): current {report.current.rmse_bins:.4f}, "
          f"fitted {report.fitted.rmse_bins:.4f}; kept {report.kept}")
    ours = statistics.median(totals)
    print(f"optimize end to end: median {ours:.3f} s, worst {max(totals):.3f} s "
          f"(target <= 1 s: {'met' if max(totals) <= 1.0 else 'MISSED'})")
    print(f"  of which fsrs-rs's fit: median {statistics.median(fits):.3f} s")
    if args.fsrs_py:
        theirs = time_fsrs_py(log)
        if theirs is not None:
            print(f"fsrs package optimizer: {theirs:.1f} s ({theirs / ours:.0f}x ours)")


if __name__ == "__main__":
    main()
