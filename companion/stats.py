"""`companion stats`: how well the learner remembers, printed with rich.

The numbers come from companion.progress (the same functions the TUI's Stats
screen and the HTML report use); this module only gathers and lays them out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from typing import Any

from companion import progress
from companion.scheduler import LearnerDay, Memory, MemoryModel
from companion.settings import Settings
from companion.store import Store, now_ms

PERIODS = (("today", 0), ("7 days", 7), ("30 days", 30), ("365 days", 365))


def recall_now(store: Store, settings: Settings, now: int) -> dict[str, Any]:
    """FSRS retrievability of every studied, active card now: averaged per deck
    and per tag, and summed (the number of cards the learner would recall)."""
    model = MemoryModel(settings)
    per_deck: dict[str, list[float]] = defaultdict(list)
    per_tag: dict[str, list[float]] = defaultdict(list)
    for deck_id, tags, state, stability, last_review in store.conn.execute(
            "SELECT deck_id, tags, state, stability, last_review FROM cards "
            "WHERE retired = 0 AND suspended = 0 AND state != 0"):
        r = model.retrievability(Memory(state=state, stability=stability,
                                        last_review=last_review), now)
        per_deck[deck_id].append(r)
        for tag in (tags or "").split():
            per_tag[tag].append(r)
    everything = [r for rs in per_deck.values() for r in rs]
    return {
        "cards": len(everything),
        "would_recall": sum(everything),
        "mean": sum(everything) / len(everything) if everything else None,
        "deck": {k: sum(v) / len(v) for k, v in per_deck.items()},
        "tag": {k: sum(v) / len(v) for k, v in per_tag.items()},
    }


def gather(store: Store, settings: Settings, now: int | None = None) -> dict[str, Any]:
    now = now_ms() if now is None else now
    day = LearnerDay(settings)
    today = day.day_of(now)
    reviews = progress.load_reviews(store.conn)
    retention = {}
    for label, days in PERIODS:
        start = day.start_of(today - timedelta(days=days))
        young, mature = progress.retention_young_mature(reviews, day, start_ms=start)
        retention[label] = (young, mature, young + mature)
    per_day = progress.reviews_per_day(reviews, day)
    seconds: dict[Any, float] = defaultdict(float)
    # the same order as load_reviews, so the durations line up with its rows
    durations = [r[0] or 0 for r in store.conn.execute(
        "SELECT duration_ms FROM reviews ORDER BY reviewed_at, id")]
    for ms, on in zip(durations, progress.learner_days((r.reviewed_at for r in reviews), day)):
        seconds[on] += ms / 1000
    runs = store.conn.execute(
        "SELECT lab, card_id, status, started_at, summary FROM lab_runs "
        "ORDER BY started_at DESC LIMIT 10").fetchall()
    return {
        "now": now, "today": today, "retention": retention,
        "recall": recall_now(store, settings, now),
        "forecast": progress.forecast(progress.load_due_times(store.conn), day, now),
        "per_day": per_day, "seconds": seconds,
        "streak": progress.streak(per_day, today), "runs": runs,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def render(data: dict[str, Any], settings: Settings, console) -> None:
    from rich.table import Table

    target = settings.desired_retention
    table = Table(title=f"True retention (desired {_pct(target)})", title_justify="left")
    for column in ("", "young (< 21 d)", "mature", "all", "answers counted"):
        table.add_column(column, justify="right" if column else "left")
    for label, (young, mature, both) in data["retention"].items():
        table.add_row(label, _pct(young.rate), _pct(mature.rate), _pct(both.rate),
                      str(both.total))
    console.print(table)

    recall = data["recall"]
    console.print(f"Recall now: {recall['would_recall']:.0f} of {recall['cards']} studied cards "
                  f"(mean probability {_pct(recall['mean'])}); streak: {data['streak']} day(s).")
    groups = Table(title="Recall probability now", title_justify="left")
    groups.add_column("deck or tag")
    groups.add_column("mean", justify="right")
    for name, value in sorted(recall["deck"].items()):
        groups.add_row(f"deck {name}", _pct(value))
    for name, value in sorted(recall["tag"].items()):
        groups.add_row(f"tag {name}", _pct(value))
    if recall["deck"]:
        console.print(groups)

    console.print("Due in the next 30 days (today first):")
    console.print(_bars(data["forecast"]))
    today = data["today"]
    days = [today - timedelta(days=i) for i in range(13, -1, -1)]
    console.print("Reviews per day, last 14 days:")
    console.print(_bars([data["per_day"].get(d, 0) for d in days]))
    minutes = sum(data["seconds"].get(d, 0.0) for d in days) / 60
    console.print(f"  {sum(data['per_day'].get(d, 0) for d in days)} answers, "
                  f"{minutes:.0f} min in the last 14 days")
    if data["runs"]:
        runs = Table(title="Recent lab runs", title_justify="left")
        for column in ("lab", "card", "status", "result"):
            runs.add_column(column)
        for lab, card_id, status, _, summary in data["runs"]:
            text = ""
            if summary:
                from labs.events import format_value

                items = list(json.loads(summary).items())[:3]
                text = ", ".join(f"{k}: {format_value(v)}" for k, v in items)
            runs.add_row(lab, card_id or "", status, text[:60])
        console.print(runs)


def _bars(values: list[int]) -> str:
    """One line of block characters, scaled to the largest value, with it named."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    if not top:
        return "  (none)"
    line = "".join(blocks[min(8, round(8 * v / top))] if v else "·" for v in values)
    return f"  {line}  max {top}"
