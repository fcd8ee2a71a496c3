"""How often companion schedules a review exactly as Anki does.

Runs tests/test_anki_agreement.py's configurations on more histories: Anki's
own scheduler (the `anki` package, clock moved by libfaketime) and companion's
answer the same reviews; prints, per configuration, the share of reviews whose
state, steps left, interval, due day, stability, difficulty, lapses, leech
flag and buttons are all Anki's, which fields differ, and the time each side
took. Needs `pip install anki==26.9.3` and `apt-get install faketime`.

Run: python benchmarks/bench_anki_agreement.py [--histories 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.anki_ref import AVAILABLE, MISSING, run_anki  # noqa: E402
from tests.anki_ref.compare import anki_config, compare  # noqa: E402
from tests.anki_ref.histories import generate  # noqa: E402
from tests.test_anki_agreement import CONFIGS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=2000)
    args = parser.parse_args()
    if not AVAILABLE:
        sys.exit(f"bench_anki_agreement: {MISSING}")
    total = identical = stale = 0
    for name, (settings, rollover, _) in CONFIGS.items():
        histories = generate(args.histories, seed=1, zone=settings.timezone, rollover=rollover)
        start = time.perf_counter()
        anki = run_anki(anki_config(settings), histories, settings.timezone)
        anki_s = time.perf_counter() - start
        start = time.perf_counter()
        report = compare(settings, histories, anki)
        ours_s = time.perf_counter() - start
        total += report.reviews
        identical += report.identical
        stale += report.stale_day
        print(f"{name}: {report.reviews:,} reviews, identical {report.share:.2%}; "
              f"Anki's cached day (explained) {report.stale_day}; "
              f"unexplained {len(report.unexplained)}; differing fields {report.by_field}; "
              f"Anki {anki_s:.1f} s, companion {ours_s:.2f} s")
    print(f"all: {total:,} reviews, identical {identical / total:.2%}, "
          f"explained by Anki's cached day {stale}")


if __name__ == "__main__":
    main()
