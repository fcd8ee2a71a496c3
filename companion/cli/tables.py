"""What the commands print: the read model's numbers laid out as rich tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from companion.cardtext import neutralise, shown

if TYPE_CHECKING:
    from companion.doctor import DoctorReport
    from companion.optimize import OptimizeReport
    from companion.stats import Overview


def print_stats(data: Overview, console: Any) -> None:
    """`companion stats`: the read model's overview as tables and bars."""
    from rich.table import Table

    from companion.stats import percent

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
        groups.add_row(shown(f"deck {name}"), percent(value))
    for name, value in sorted(recall.tag.items()):
        groups.add_row(shown(f"tag {name}"), percent(value))
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
    if data.free_recall:
        console.print(free_recall_table(data))
    if data.runs:
        from labs.events import format_value

        runs = Table(title="Recent lab runs", title_justify="left")
        for column in ("lab", "card", "status", "result"):
            runs.add_column(column)
        for run in data.runs:
            items = list((run.summary or {}).items())[:3]
            text = ", ".join(f"{k}: {format_value(v)}" for k, v in items)
            runs.add_row(shown(run.lab), shown(run.card_id), shown(run.status), shown(text[:60]))
        console.print(runs)


def free_recall_table(data: Overview, **style: Any) -> Any:
    """Free recall per section: attempts, the first and latest rate, and the
    rate of each attempt as a bar (the Stats screen shows the same table)."""
    from rich.table import Table

    from companion.stats import percent

    table = Table(title="Free recall (companion recall)", title_justify="left", **style)
    for column in ("section", "attempts", "first", "latest", "each attempt, oldest first"):
        table.add_column(column, justify="right" if column in ("attempts", "first",
                                                                "latest") else "left")
    blocks = " ▁▂▃▄▅▆▇█"
    for trend in data.free_recall:
        bars = "".join(blocks[round(8 * point.rate)] if point.recalled else "·"
                       for point in trend.attempts[-30:])
        table.add_row(shown(trend.section), str(len(trend.attempts)), percent(trend.first),
                      percent(trend.latest), f"{bars}  {trend.attempts[-1].day.isoformat()}")
    return table


def _bars(values: list[int]) -> str:
    """One line of block characters, scaled to the largest value, with it named."""
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    if not top:
        return "  (none)"
    line = "".join(blocks[min(8, round(8 * v / top))] if v else "·" for v in values)
    return f"  {line}  max {top}"


MAX_HEADING_DECKS = 8


def print_preset_heading(report: OptimizeReport, deck_names: dict[str, str],
                         live: set[str], console: Any) -> None:
    """The line above a preset's report: its name and the decks fitted (the
    live ones by name, up to MAX_HEADING_DECKS; a deck the settings name but
    the store lacks by its id)."""
    from rich.text import Text

    decks = [deck_names.get(d, d) for d in report.decks or []
             if d in live or d not in deck_names]
    listed = ", ".join(decks[:MAX_HEADING_DECKS])
    if len(decks) > MAX_HEADING_DECKS:
        listed += f" and {len(decks) - MAX_HEADING_DECKS} more"
    console.print(Text(f"Preset {report.preset}", style="bold")
                  + shown(f" (decks: {listed or 'none'})"))


def print_optimize(report: OptimizeReport, console: Any) -> None:
    """`companion optimize`'s report as the learner reads it (a rich Console)."""
    from rich.table import Table

    from companion.optimize import MIN_TRAINING_ITEMS, default_parameters
    from companion.settings import DEFAULT_PRESET

    console.print(f"Review log: {report.reviews} reviews, {report.items} training items "
                  f"(a card's review on a later day), {report.usable} after the outlier filter.")
    if not report.enough:
        console.print(
            f"Too little history to fit: fsrs needs {MIN_TRAINING_ITEMS} training items and "
            f"this log has {report.usable}; about {report.needed} more reviews on days after "
            "a card's previous review are needed. Kept the current parameters"
            f"{' (the defaults)' if report.current_parameters == default_parameters() else ''}.")
    if report.current is not None:
        console.print("On this same review history (lower is better):")
        table = Table()
        table.add_column("Parameters")
        for name in ("Log loss", "RMSE (bins)"):
            table.add_column(name, justify="right")
        table.add_row("current", f"{report.current.log_loss:.4f}",
                      f"{report.current.rmse_bins:.2%}")
        if report.fitted is not None:
            table.add_row("fitted", f"{report.fitted.log_loss:.4f}",
                          f"{report.fitted.rmse_bins:.2%}")
        console.print(table)
    if report.fitted is not None:
        if report.kept == "fitted":
            console.print("Kept the fitted parameters: they predict your answers better.")
        else:
            console.print("Kept the current parameters: the fitted ones predict your answers "
                          "no better.")
        console.print("Fitted: " + ", ".join(f"{p:g}" for p in report.fitted_parameters or []))
    console.print(f"({report.seconds:.2f} s)")
    if report.retention and report.suggested_retention is not None:
        console.print("Desired retention: a simulated year of study (< marks the suggestion)")
        if not report.enough and report.current_parameters == default_parameters():
            console.print("Simulated with FSRS's default parameters, since your log is too "
                          "short to fit: a typical learner's memory, not yet yours.")
        table = Table()
        for name in ("Retention", "Minutes a day", "Cards remembered", "Seconds per card"):
            table.add_column(name, justify="right")
        for row in report.retention:
            if round(row.retention * 100) % 5 and row.retention != report.suggested_retention:
                continue
            mark = " <" if row.retention == report.suggested_retention else ""
            table.add_row(f"{row.retention:.2f}{mark}", f"{row.minutes_per_day:.1f}",
                          f"{row.memorized:.0f}", f"{row.seconds_per_card:.1f}")
        console.print(table)
        console.print(
            f"Suggested desired retention: {report.suggested_retention:.2f} (the least study "
            "time per card remembered). A higher one remembers more at a higher cost per card; "
            "set it with desired_retention in settings.toml"
            + (f" under [presets.{report.preset}]." if report.preset != DEFAULT_PRESET else "."),
            markup=False)


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
    if report.log_problem:
        out.write(neutralise(f"review log: {report.log_problem}: no replay can read it, so "
                             "the cached states are neither compared nor rebuilt (a backup "
                             "from before it: companion doctor --restore FILE)\n"))
    elif bad:
        out.write(f"cached states that differ from a replay: {len(bad)} "
                  f"(e.g. {', '.join(bad[:3])}); run `companion doctor --rebuild`\n")
    else:
        out.write("cached states: equal to a replay of the review log\n")
    if report.unreadable:
        first, problem = report.unreadable[0]
        out.write(neutralise(f"cards whose stored fields don't read: {len(report.unreadable)} "
                             f"(e.g. {first}: {problem}); they show without them\n"))
    backups = report.backups
    out.write(f"backups: {len(backups)}" + (f", newest {backups[-1]}" if backups else "") + "\n")
