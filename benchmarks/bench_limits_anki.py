"""How often companion's daily limits over the deck tree decide as Anki's do.

Runs tests/test_limits_anki.py's comparison on more random deck trees with
presets (tests/anki_ref/trees.py): Anki (the `anki` package, clock moved by
libfaketime) and companion study the same trees, and at every step the deck
list's counts, the study's counts and the next card must be Anki's. Prints
the agreement per check, the differences found (the first ones), how often a
parent's limit held a subdeck back, and the time each side took. Needs
`pip install anki==26.9.3` and `apt-get install faketime`.

Run: python benchmarks/bench_limits_anki.py [--trees 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.anki_ref import AVAILABLE, MISSING  # noqa: E402
from tests.anki_ref.trees import Report, anki_rows, compare, generate  # noqa: E402

BATCH = 20  # trees per Anki process (each tree's days follow the last one's)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not AVAILABLE:
        sys.exit(f"bench_limits_anki: {MISSING}")
    total, anki_s, ours_s = Report(), 0.0, 0.0
    for first in range(0, args.trees, BATCH):
        seeds = range(args.seed * 1_000_000 + first,
                      args.seed * 1_000_000 + min(first + BATCH, args.trees))
        scenarios = [generate(seed, number=number) for number, seed in enumerate(seeds)]
        start = time.perf_counter()
        rows = anki_rows(scenarios)
        anki_s += time.perf_counter() - start
        start = time.perf_counter()
        report = compare(scenarios, rows, keep=10)
        ours_s += time.perf_counter() - start
        # differences named by seed, so one can be rerun alone
        report.differences = [(seeds[d[0]], *d[1:]) for d in report.differences]
        total.add(report)
    print(f"limits against Anki: {total.summary()}")
    print(f"Anki {anki_s:.1f} s, companion {ours_s:.1f} s")
    for seed, study, step, check, ours, theirs in total.differences[:20]:
        print(f"  seed {seed} study {study} step {step} {check}: companion {ours}, "
              f"Anki {theirs}")


if __name__ == "__main__":
    main()
