"""Reading a stranger's deck: how long `decks check` takes on a file near the
8 MB bound whose bulk is one field (an enormous drawing, an enormous answer).

Prints, on this machine, parse_deck's time for a deck of 1,000 ordinary cards
(the anchor) and for a deck of one note whose Diagram: field runs 100,000
lines of 70 columns (7.5 MB), and their ratio. A field's lines are joined
once (companion.decks._split_notes); adding each to the text so far, as it
did, grew as the square of the lines: 4.1 s for 25,000 lines, 20.4 s for
50,000 on a 2-core machine (0.05 s and 0.08 s now), a hang to the learner.
Compare the ratio, not the absolute figures across machines.

Then the most labels a diagram may have over the most cells: 50 one-letter
labels over a 60 x 80 drawing of those letters (each label covering 96 places),
placed by a grid of the cells taken (1.05 s when each place was checked against
every place taken before it; 0.07 s now, each once in a fresh process).

Run: python benchmarks/bench_deck_parse.py [--lines 100000]
"""

from __future__ import annotations

import argparse
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from companion.decks import parse_deck  # noqa: E402

FRONT = "---\nid: bench\nname: Bench\n---\n\n"


def timed(path: Path, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        parse_deck(path)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ordinary = Path(folder) / "ordinary.md"
        ordinary.write_text(FRONT + "".join(
            f"## card-{i}\nQ: Question {i}?\nA: Answer {i}.\nTags: bench\n\n"
            for i in range(1000)), encoding="utf-8")
        enormous = Path(folder) / "enormous.md"
        enormous.write_text(FRONT + "## big\nDiagram: Too big?\n```\n"
                            + "\n".join(["│" + " " * 68 + "│"] * args.lines)
                            + "\n```\nLabels:\n- a: ─\n", encoding="utf-8")
        size = enormous.stat().st_size
        letters = (string.ascii_lowercase + string.ascii_uppercase)[:50]
        row = "".join(letters[i % 50] for i in range(80))
        crowded = Path(folder) / "crowded.md"
        crowded.write_text(FRONT + "## crowded\nDiagram: Crowded?\n```\n"
                           + "\n".join([row] * 60) + "\n```\nLabels:\n"
                           + "\n".join(f"- l{i}: {c}" for i, c in enumerate(letters)) + "\n",
                           encoding="utf-8")
        anchor, big, labels = timed(ordinary), timed(enormous), timed(crowded)
        _, errors = parse_deck(enormous)
        deck, _ = parse_deck(crowded)
    print(f"1,000 ordinary cards:          {anchor * 1000:8.1f} ms")
    print(f"one {args.lines:,}-line drawing: {big * 1000:8.1f} ms ({size:,} bytes)")
    print(f"ratio:                         {big / anchor:8.1f}x")
    print(f"50 labels over 4,800 cells:    {labels * 1000:8.1f} ms "
          f"({len(deck.cards) if deck else 0} cards; ratio {labels / anchor:.1f}x)")
    print(f"its error: {errors[0] if errors else 'none'}")


if __name__ == "__main__":
    main()
