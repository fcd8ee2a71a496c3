"""What the commands print: the read model's numbers laid out as rich tables."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from companion.settings import Settings


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def print_stats(data: dict[str, Any], settings: Settings, console: Any) -> None:
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
