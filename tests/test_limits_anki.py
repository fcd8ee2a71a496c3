"""companion's daily limits over the deck tree against Anki's own.

Random deck trees (up to three levels) with random presets (new and review
limits of 0-10, now and then a roomy one, some shared by several decks), new
cards, reviews due from answered history, and "new cards ignore review
limit" both ways, are built and studied in Anki (the `anki` package, its v3
scheduler, clock moved by libfaketime: tests/anki_ref driver, "limits" mode)
and replayed in companion. At every step, after every answer, in a deck with
subdecks, in one of its subdecks alone, across the next day's rollover, and
after custom study raised a limit: each deck's counts in the deck list and
the total, the study's counts, and the next card (a new or review card: the
very card; a learning card: one Anki has due) must be Anki's.
tests/anki_ref/trees.py says what is compared and what the generator leaves
out (Anki's mix of new cards among reviews, its random order of reviews due
the same day, interday learning), and why.

`pytest -s` prints the agreement figure; benchmarks/bench_limits_anki.py
prints it over more trees.
"""

from __future__ import annotations

import pytest

from companion.limits import DayLimits
from tests.anki_ref import AVAILABLE, MISSING
from tests.anki_ref.trees import anki_rows, compare, generate

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=MISSING)

TREES = 30  # half with new cards spending the review limit, half ignoring it


@pytest.fixture(scope="module")
def studied():
    scenarios = [generate(seed=100 + number, number=number,
                          ignore_review_limit=bool(number % 2)) for number in range(TREES)]
    return scenarios, anki_rows(scenarios)


def test_counts_and_next_cards_are_ankis_over_random_deck_trees(studied):
    scenarios, rows = studied
    report = compare(scenarios, rows)
    print(f"\nlimits against Anki: {report.summary()}")
    assert report.differences == [], report.differences
    assert report.share == 1.0
    # the trees reach what the limits decide: parents' limits holding their
    # subdecks back, every kind of next card, studies running dry
    assert report.steps > 400 and report.parent_capped > 100, report.summary()
    assert min(report.kinds[kind] for kind in ("new", "review", "learning", "none")) > 50
    for flag in (False, True):
        assert any(s["ignore_review_limit"] is flag for s in scenarios)
    assert sum("extend" in study for s in scenarios for study in s["studies"]) >= 5
    assert sum(len(s["studies"]) for s in scenarios) >= 2 * TREES


def test_the_comparison_tells_a_broken_limit(studied, monkeypatch):
    """The same Anki steps (of a third of the trees) against a companion
    that gets a rule wrong."""
    scenarios, rows = (part[:TREES // 3] for part in studied)
    flipped = [{**s, "ignore_review_limit": not s["ignore_review_limit"]} for s in scenarios]
    assert compare(flipped, rows).share < 0.99
    # a subdeck drawn from while its parent's limit is spent
    monkeypatch.setattr(DayLimits, "open_for_new", lambda self: [
        deck for deck in self.scope if self.remaining[deck].new > 0])
    assert compare(scenarios, rows).differences
