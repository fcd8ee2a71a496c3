"""`companion stats` and the young/mature split of true retention, on hand-made logs."""

from __future__ import annotations

from datetime import datetime, timezone

from companion.progress import ReviewRow, retention_young_mature
from companion.scheduler import REVIEW, LearnerDay, to_ms
from companion.settings import Settings
from companion.stats import overview, recall_now

from .conftest import TZ

DAY = 86_400_000
T0 = to_ms(datetime(2026, 5, 5, 14, 0, tzinfo=timezone.utc))


def test_young_and_mature_follow_the_interval_before_the_review():
    day = LearnerDay(Settings(timezone=TZ))
    log = [
        ReviewRow("a", T0, 3, 0),                 # new: never counted
        ReviewRow("a", T0 + 5 * DAY, 3, REVIEW),   # 5-day interval: young, passed
        ReviewRow("a", T0 + 35 * DAY, 1, REVIEW),  # 30-day interval: mature, failed
        ReviewRow("a", T0 + 35 * DAY + 600_000, 3, 3),  # relearning step: not counted
        ReviewRow("b", T0, 3, 0),
        ReviewRow("b", T0 + 25 * DAY, 4, REVIEW),  # 25 days: mature, passed
        ReviewRow("b", T0 + 25 * DAY + 60_000, 1, REVIEW),  # same day again: not counted
    ]
    young, mature = retention_young_mature(log, day)
    assert (young.passed, young.total) == (1, 1)
    assert (mature.passed, mature.total) == (1, 2) and mature.rate == 0.5
    young, mature = retention_young_mature(log, day, start_ms=T0 + 30 * DAY)
    assert (young.total, mature.total) == (0, 1)


def test_gather_counts_what_the_learner_did(store, deck_dir):
    from companion.deck_sync import sync_decks
    from companion.session import ReviewSession

    sync_decks(store, [deck_dir])
    clock = [T0]
    s = ReviewSession(store, Settings(timezone=TZ), clock=lambda: clock[0])
    s.answer("test/alpha", 4, 3000)
    s.answer("test/beta", 4, 5000)
    clock[0] = s.card("test/alpha").memory.due + 60_000
    s.answer("test/alpha", 3, 4000)
    data = overview(store, Settings(timezone=TZ), now=clock[0])
    today = data.retention[0]
    assert today.label == "Today"
    assert (today.all.passed, today.all.total) == (1, 1)
    assert today.young.total == 1 and today.mature.total == 0
    recall = recall_now(store, Settings(timezone=TZ), clock[0])
    assert recall == data.recall
    assert recall.cards == 2 and 0 < recall.would_recall <= 2
    assert set(recall.deck) == {"test"} and "letters" in recall.tag
    assert sum(data.per_day.values()) == 3
    assert sum(data.seconds.values()) == 12.0


def test_stats_command_prints_the_tables(tmp_path):
    from .conftest import SMALL_DECK, write_deck
    from .test_cli import run

    home = tmp_path / "home"
    write_deck(home / "decks", "mine.md", SMALL_DECK, deck_id="mine")
    run(["review", "--plain", "--deck", "mine"], home, stdin="\n3\n\n4\nq\n")
    result = run(["stats"], home)
    assert result.returncode == 0, result.stderr
    for text in ("True retention (desired 90.0%)", "young (< 21 d)", "Recall now:",
                 "Due in the next 30 days", "Reviews per day", "2 answers"):
        assert text in result.stdout, text
