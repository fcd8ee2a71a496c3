"""Random review histories that reach the corners of Anki's scheduler: learning
and relearning steps, lapses, several answers a day, late and early reviews,
answers either side of the rollover, daylight-saving changes, long gaps that
reach a small maximum interval, and enough lapses for odd leech thresholds."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def _gap(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.25:
        return rng.randint(1, 20) * MIN + rng.randint(0, 59_999)  # the next learning step
    if kind < 0.35:
        return rng.randint(1, 12) * HOUR + rng.randint(0, MIN)  # later the same day, or not
    if kind < 0.55:
        return rng.randint(20, 30) * HOUR + rng.randint(0, HOUR)  # about a day
    if kind < 0.8:
        return rng.randint(2, 12) * DAY + rng.randint(0, DAY)  # early, on time or late
    if kind < 0.95:
        return rng.randint(12, 90) * DAY + rng.randint(0, DAY)
    return rng.randint(90, 800) * DAY  # long gaps: the maximum interval


def _start(rng: random.Random, zone: str, rollover: int) -> int:
    """A first answer: often a few minutes either side of the rollover, often in
    the week of a daylight-saving change."""
    tz = ZoneInfo(zone)
    year = rng.choice([2023, 2024, 2025])
    pick = rng.random()
    if pick < 0.3:
        day = datetime(year, 3, rng.randint(24, 31), tzinfo=tz)  # Europe's spring change
    elif pick < 0.5:
        day = datetime(year, 10, rng.randint(20, 31), tzinfo=tz)  # and its autumn one
    elif pick < 0.6:
        day = datetime(year, 11, rng.randint(1, 7), tzinfo=tz)  # the US autumn change
    else:
        day = datetime(year, rng.randint(1, 12), rng.randint(1, 28), tzinfo=tz)
    if rng.random() < 0.4:
        moment = day.replace(hour=rollover) + timedelta(minutes=rng.randint(-20, 20))
    else:
        moment = day + timedelta(minutes=rng.randint(0, 24 * 60 - 1))
    return int(moment.timestamp() * 1000) + rng.randint(0, 999)


def outside_anki_test_window(t: int, zone: str) -> int:
    """Anki's test mode (which turns its fuzz off) sets its clock back two hours
    between 02:00 and 04:00 local time (rslib/src/timestamp.rs, `elapsed`), so
    answers there would be seen at another time: move them to 04:00 onwards."""
    while 2 <= datetime.fromtimestamp(t / 1000, ZoneInfo(zone)).hour < 4:
        t += HOUR  # (an autumn night has one of those hours twice)
    return t


def generate(n: int, seed: int, zone: str, rollover: int,
             max_reviews: int = 14) -> list[list[tuple[int, int]]]:
    rng = random.Random(seed)
    histories = []
    for _ in range(n):
        t = _start(rng, zone, rollover)
        lapsy = rng.random() < 0.15  # a hard card: many Agains, for the leech rules
        history = []
        for _ in range(rng.randint(1, max_reviews)):
            weights = (45, 10, 40, 5) if lapsy else (12, 10, 66, 12)
            t = outside_anki_test_window(t, zone)
            if history and t <= history[-1][0]:
                t = history[-1][0] + MIN
            history.append((t, rng.choices((1, 2, 3, 4), weights)[0]))
            t += _gap(rng)
            if rng.random() < 0.1:  # straight to a time near the rollover
                day = datetime.fromtimestamp(t / 1000, ZoneInfo(zone))
                near = day.replace(hour=rollover, minute=0, second=0, microsecond=0)
                t = max(t, int(near.timestamp() * 1000) + rng.randint(-5, 5) * MIN)
        histories.append(history)
    return histories
