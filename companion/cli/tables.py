"""What the commands print: the read model's numbers laid out as rich tables."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from companion.settings import Settings

if TYPE_CHECKING:
    from companion.doctor import DoctorReport


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


def print_doctor(report: DoctorReport, out: TextIO) -> None:
    """`companion doctor`'s lines, in the order the checks run."""
    out.write(f"database: {report.database}\n")
    out.write(f"integrity: {report.integrity}\n")
    out.write(f"schema version: {report.schema_version} "
              f"(this companion: {report.known_schema_version})\n")
    out.write(f"cards: {report.cards} ({report.retired_cards} retired), "
              f"reviews: {report.reviews}\n")
    if report.orphan_reviews:
        out.write(f"reviews of unknown cards: {report.orphan_reviews} "
                  "(kept; their deck may come back)\n")
    if report.rebuilt_reviews is not None:
        out.write(f"rebuilt card states from {report.rebuilt_reviews} reviews in "
                  f"{report.rebuild_seconds:.1f} s\n")
    bad = report.mismatches
    if bad:
        out.write(f"cached states that differ from a replay: {len(bad)} "
                  f"(e.g. {', '.join(bad[:3])}); run `companion doctor --rebuild`\n")
    else:
        out.write("cached states: equal to a replay of the review log\n")
    backups = report.backups
    out.write(f"backups: {len(backups)}" + (f", newest {backups[-1]}" if backups else "") + "\n")
