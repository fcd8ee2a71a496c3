"""The shipped deck as a new learner meets it: the real review queue, default settings."""

from __future__ import annotations

from datetime import datetime, timezone

from companion.deck_sync import deck_dirs, sync_decks
from companion.scheduler import NEW, to_ms
from companion.session import ReviewSession
from companion.settings import Settings

from .conftest import TZ

T0 = to_ms(datetime(2026, 5, 5, 14, 0, tzinfo=timezone.utc))


def first_day_new_cards(store) -> list:
    """Every new card the queue introduces on a learner's first day, in order,
    answering each Easy so that none comes back the same day."""
    sync_decks(store, deck_dirs()[:1])
    settings = Settings(timezone=TZ)  # the defaults, only the time zone pinned
    now = T0
    session = ReviewSession(store, settings, clock=lambda: now)
    met = []
    while (card := session.next_card()) is not None:
        assert card.memory.state == NEW  # Easy sends each straight to review
        met.append(card)
        session.answer(card.id, 4)
        now += 30_000
    assert len(met) == settings.new_per_day  # the deck has more than a day's worth
    return met


def test_a_new_learner_meets_a_predict_card_on_the_first_day(store):
    met = first_day_new_cards(store)
    kinds = [c.kind for c in met]
    assert "predict" in kinds, [c.id for c in met]
    # A cloze note's other gaps are buried once one is answered: the first day
    # shows one gap of each note, so the day spans 20 different notes.
    assert len({c.note_id for c in met}) == len(met)
