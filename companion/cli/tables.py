"""What the commands print: the read model's numbers laid out as rich tables."""

from __future__ import annotations

from typing import Any

from companion.cardtext import neutralise
from companion.stats import Overview, percent


def plain(value: object) -> Any:
    """A table cell of outside text (a deck's name, a tag, a path): shown as it
    is, neutralised, never read as rich markup."""
    from rich.text import Text

    return Text(neutralise(value))


def print_stats(data: Overview, console: Any) -> None:
    """`companion stats`: the read model's overview as tables and bars."""
    from rich.table import Table

    table = Table(title=f"True retention (desired {percent(data.desired)})",
                  title_justify="left")
    for column in ("", "young (< 21 d)", "mature", "all", "answers counted"):
        table.add_column(column, justify="right" if column else "left")
    for period in data.retention:
        table.add_row(period.label, percent(period.young), percent(period.mature),
                      percent(period.all), str(period.all.total))
    console.print(table)

    recall = data.recall
    console.print(f"Recall now: {recall.would_recall:.0f} of {recall.cards} studied cards "
                  f"(mean probability {percent(recall.mean)}); streak: {data.streak} day(s).")
    groups = Table(title="Recall probability now", title_justify="left")
    groups.add_column("deck or tag")
    groups.add_column("mean", justify="right")
    for name, value in sorted(recall.deck.items()):
        groups.add_row(plain(f"deck {name}"), percent(value))
    for name, value in sorted(recall.tag.items()):
        groups.add_row(plain(f"tag {name}"), percent(value))
    if recall.deck:
        console.print(groups)

    console.print(f"Due in the next {len(data.forecast)} days (today first):")
    console.print(_bars(list(data.forecast)))
    days = [on for on, _ in data.last_days(14)]
    console.print("Reviews per day, last 14 days:")
    console.print(_bars([data.per_day.get(d, 0) for d in days]))
    minutes = sum(data.seconds.get(d, 0.0) for d in days) / 60
    console.print(f"  {sum(data.per_day.get(d, 0) for d in days)} answers, "
                  f"{minutes:.0f} min in the last 14 days")
    if data.runs:
        from labs.events import format_value

        runs = Table(title="Recent lab runs", title_justify="left")
        for column in ("lab", "card", "status", "result"):
            runs.add_column(column)
        for run in data.runs:
            items = list((run.summary or {}).items())[:3]
            text = ", ".join(f"{k}: {format_value(v)}" for k, v in items)
            runs.add_row(plain(run.lab), plain(run.card_id), plain(run.status), plain(text[:60]))
        console.print(runs)


def _bars(values: list[int]) -> str:
    """One line of block characters, scaled to the largest value, with it named."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    if not top:
        return "  (none)"
    line = "".join(blocks[min(8, round(8 * v / top))] if v else "·" for v in values)
    return f"  {line}  max {top}"
