"""companion's scheduler against Anki's own, review by review.

Anki (the `anki` package, its v3 scheduler with FSRS on) answers the same
generated histories in a child process whose clock libfaketime sets to each
answer's time (tests/anki_ref). After every answer the card's state, steps
left, interval, due day (or due second for a learning step), stability and
difficulty (to Anki's stored precision), lapses, leech tag and the four
buttons' outcomes must be Anki's.

Fuzz is off on both sides (Anki's ANKI_TEST_MODE). The one kind of difference
left: Anki caches its day until the cached rollover passes, so for answers in
the hours after a daylight-saving change, when the previous answer came
before it, Anki still counts the old day (its day cutoff differs from a fresh
computation, which companion does, as Anki does after a restart). Those
reviews, and the rest of their history, are counted apart, and every other
difference fails the test.
"""

from __future__ import annotations

import pytest

from companion.settings import Settings
from tests.anki_ref import AVAILABLE, MISSING, run_anki
from tests.anki_ref.compare import anki_config, compare, fuzz_check
from tests.anki_ref.histories import generate

pytestmark = pytest.mark.skipif(not AVAILABLE, reason=MISSING)

# Non-default FSRS-6 parameters (a fitted set), for the third configuration.
FITTED = [0.3128, 1.1811, 3.0543, 15.2651, 7.1434, 0.5855, 1.8571, 0.0152, 1.5234, 0.1438,
          1.0021, 1.9148, 0.1082, 0.3011, 2.2698, 0.2215, 3.1152, 0.6532, 0.2461, 0.1312,
          0.2121]

CONFIGS = {
    # Anki's defaults; Berlin's daylight-saving changes; an odd leech threshold
    "berlin-defaults": (Settings(timezone="Europe/Berlin", fuzz=False, leech_threshold=5,
                                 leech_action="tag"), 4, 1000),
    # learning steps past a day, midnight rollover. (A small maximum interval is
    # checked with fuzz on, below: in its test mode Anki panics once Good reaches
    # the maximum, clamping Easy's interval to [maximum + 1, maximum].)
    "new-york-long-steps": (Settings(timezone="America/New_York", day_starts_at=0, fuzz=False,
                                     learning_steps=["1m", "10m", "1h", "1d"],
                                     relearning_steps=["10m", "1d"],
                                     desired_retention=0.85, leech_threshold=3,
                                     leech_action="suspend"), 0, 500),
    # no steps at all (FSRS's short-term stability decides), a half-hour offset
    "kolkata-no-steps": (Settings(timezone="Asia/Kolkata", day_starts_at=6, fuzz=False,
                                  learning_steps=[], relearning_steps=[],
                                  desired_retention=0.95, parameters=FITTED), 6, 500),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_review_is_scheduled_as_anki_schedules_it(name):
    settings, rollover, count = CONFIGS[name]
    histories = generate(count, seed=len(name), zone=settings.timezone, rollover=rollover)
    anki = run_anki(anki_config(settings), histories, settings.timezone)
    report = compare(settings, histories, anki)
    assert report.reviews > 5 * count
    assert report.unexplained == [], report.examples
    assert report.identical + report.stale_day == report.reviews
    assert report.share >= 0.99, (report.share, report.by_field)


FUZZED = {
    "berlin": Settings(timezone="Europe/Berlin"),
    "new-york-maximum-30": Settings(timezone="America/New_York", day_starts_at=0,
                                    learning_steps=["1m", "10m", "1h", "1d"],
                                    maximum_interval=30, leech_threshold=3),
}


@pytest.mark.parametrize("name", list(FUZZED))
def test_fuzz_ranges_are_ankis(name):
    settings = FUZZED[name]
    histories = generate(600, seed=7, zone=settings.timezone, rollover=settings.day_starts_at)
    anki = run_anki(anki_config(settings), histories, settings.timezone, fuzz=True)
    check = fuzz_check(settings, histories, anki)
    assert check.checked > 2000
    assert check.outside == [], check.outside[:10]
    # Anki's draws reach both ends of each range companion computes, for every
    # range seen often enough to tell (a uniform draw over at most 9 days)
    often = {r: days for r, days in check.draws.items()
             if r[0] < r[1] and len(days) >= 12 * (r[1] - r[0] + 1)}
    assert len(often) >= 3
    for (lower, upper), days in often.items():
        assert min(days) == lower and max(days) == upper, ((lower, upper), sorted(set(days)))
