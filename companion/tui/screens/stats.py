"""Stats: true retention against the desired retention, the due forecast for
30 days, reviews per day, and retention per deck and tag. The numbers are
`companion.stats.overview` (what `companion stats` and the report show too),
computed in a worker over the whole review log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from companion.cardtext import shown
from companion.stats import PER_DAY_DAYS, percent
from companion.tui import bindings
from companion.tui.format import plural
from companion.tui.messages import StatsLoaded
from companion.tui.screens.base import CompanionScreen
from companion.tui.widgets.barchart import BarChart
from companion.tui.widgets.footer import Footer

if TYPE_CHECKING:
    from companion.stats import Overview

def meter(rate: float | None, target: float, width: int = 20) -> Text:
    """A bar for `rate` with a mark at the target."""
    if rate is None:
        return Text("·" * width, style="dim")
    filled = round(rate * width)
    mark = min(width - 1, round(target * width))
    out = Text()
    for i in range(width):
        if i == mark:
            out.append("│", style="bold")
        elif i < filled:
            out.append("█", style="green" if rate >= target else "yellow")
        else:
            out.append("░", style="dim")
    return out


class StatsScreen(CompanionScreen):
    SCREEN_TITLE = "Statistics"
    KEYS_INTRO = ("True retention counts each card's first answer of the day while it was in "
                  "review (learning steps don't count), the way Anki measures it; compare it "
                  "with your desired retention in Settings.")

    BINDINGS = [*bindings.STATS]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats"):
            yield Static("Reading the review log…", id="stats-retention")
            yield Static("", id="forecast-title", classes="section-title")
            yield BarChart(id="forecast")
            yield Static("", id="per-day-title", classes="section-title")
            yield BarChart(id="per-day")
            yield Static("", id="stats-groups")
            yield Static("", id="stats-free-recall")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats-free-recall").display = False  # until there are attempts
        self.query_one("#stats").focus()
        self.action_reload()

    @work(thread=True, exclusive=True, group="stats", exit_on_error=False)
    def load(self, request: int) -> None:
        from companion.stats import stats_data

        with self.reader() as store:
            data = stats_data(store, self.app.settings, self.app.clock())
        self.reply(StatsLoaded(request, data))

    def on_stats_loaded(self, message: StatsLoaded) -> None:
        if self.is_latest(message):
            self.show(message.data)

    def show(self, data: Overview) -> None:
        table = Table(title="True retention", title_justify="left", title_style="bold",
                      box=None, pad_edge=False, show_edge=False)
        table.add_column("")
        table.add_column("Retention", justify="right")
        table.add_column("Passed / review answers", justify="right")
        table.add_column(f"against {data.desired:.0%} desired")
        for period in data.retention:
            retention = period.all
            table.add_row(period.label, percent(retention),
                          f"{retention.passed} / {retention.total}",
                          meter(retention.rate, data.desired))
        caption = Text(f"\n{data.studied} of {data.cards} cards studied · "
                       f"{data.reviews} answers in all", style="dim")
        self.query_one("#stats-retention", Static).update(Group(table, caption))

        forecast = data.forecast
        self.query_one("#forecast-title", Static).update(Text.assemble(
            ("Due in the next 30 days", "bold"),
            f"   today {forecast[0]} · tomorrow {forecast[1]} · "
            f"7 days {sum(forecast[:7])} · 30 days {sum(forecast)}"))
        labels = {0: "today"}
        for i in range(7, 30, 7):
            labels[i] = f"+{i}d"
        self.query_one("#forecast", BarChart).set_data(forecast, labels)

        per_day = data.last_days(PER_DAY_DAYS)
        counts = [c for _, c in per_day]
        days_studied = sum(1 for c in counts if c)
        self.query_one("#per-day-title", Static).update(Text.assemble(
            ("Reviews per day, last 30 days", "bold"),
            f"   {plural(sum(counts), 'answer')} · {plural(days_studied, 'day')} studied · "
            f"{(sum(counts) / days_studied if days_studied else 0):.0f} a study day"))
        day_labels = {}
        for i, (day, _) in enumerate(per_day):
            if i in (0, 29) or (i % 7 == 0 and i < 26):
                day_labels[i] = day.strftime("%b %d") if i != 29 else "today"
        self.query_one("#per-day", BarChart).set_data(counts, day_labels)

        groups = Table(title="By deck and tag", title_justify="left", title_style="bold",
                       box=None, pad_edge=False, show_edge=False)
        groups.add_column("")
        groups.add_column("Cards", justify="right")
        groups.add_column("Answers", justify="right")
        groups.add_column("Retention", justify="right")
        groups.add_column("Review answers", justify="right")
        for row in data.decks:
            groups.add_row(shown(row.name, "bold"), str(row.cards), str(row.answers),
                           percent(row.retention), str(row.retention.total))
        if data.tags:
            groups.add_section()
        for row in data.tags:
            groups.add_row(shown(f"#{row.name}"), str(row.cards), str(row.answers),
                           percent(row.retention), str(row.retention.total))
        self.query_one("#stats-groups", Static).update(groups)
        free_recall = self.query_one("#stats-free-recall", Static)
        free_recall.display = bool(data.free_recall)
        if data.free_recall:
            from companion.cli.tables import free_recall_table

            free_recall.update(Group(Text(""), free_recall_table(
                data, title_style="bold", box=None, pad_edge=False, show_edge=False)))

    def action_reload(self) -> None:
        self.load(self.new_request(StatsLoaded))
