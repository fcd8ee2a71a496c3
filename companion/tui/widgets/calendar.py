"""A calendar heatmap of reviews per day, weeks as columns, as GitHub draws it.

Intensity is carried by the glyph as well as the colour (· ░ ▒ ▓ █), so the
calendar still reads in a monochrome terminal or with NO_COLOR.
"""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual.widget import Widget

GLYPHS = ("·", "░", "▒", "▓", "█")
DAY_LABELS = ("Mon", "", "Wed", "", "Fri", "", "Sun")
LABEL_WIDTH = 4


def level(count: int, top: int) -> int:
    """0 for no reviews, then 1-4 by quarters of the busiest day."""
    if count <= 0 or top <= 0:
        return 0
    return min(4, 1 + (4 * (count - 1)) // max(1, top))


class CalendarHeatmap(Widget):
    COMPONENT_CLASSES = {f"calendar--level-{i}" for i in range(5)} | {"calendar--label"}

    DEFAULT_CSS = """
    CalendarHeatmap { height: 9; width: 1fr; }
    CalendarHeatmap > .calendar--label { color: $text-muted; }
    CalendarHeatmap > .calendar--level-0 { color: $text-disabled; }
    CalendarHeatmap > .calendar--level-1 { color: $success 40%; }
    CalendarHeatmap > .calendar--level-2 { color: $success 60%; }
    CalendarHeatmap > .calendar--level-3 { color: $success 80%; }
    CalendarHeatmap > .calendar--level-4 { color: $success; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.counts: dict[date, int] = {}
        self.today: date | None = None

    def set_data(self, counts: dict[date, int], today: date) -> None:
        self.counts = counts
        self.today = today
        self.refresh()

    def weeks_shown(self, width: int) -> int:
        return max(1, min(53, (width - LABEL_WIDTH) // 2))

    def render(self) -> Text:
        if self.today is None:
            return Text("")
        weeks = self.weeks_shown(self.size.width or 80)
        today = self.today
        last_monday = today - timedelta(days=today.weekday())
        first_monday = last_monday - timedelta(weeks=weeks - 1)
        shown = [c for d, c in self.counts.items() if first_monday <= d <= today]
        top = max(shown, default=0)
        label_style = self.get_component_rich_style("calendar--label")
        styles = [self.get_component_rich_style(f"calendar--level-{i}") for i in range(5)]

        out = Text(no_wrap=True, overflow="crop")
        # Month names over the week in which each month starts.
        header = [" "] * (LABEL_WIDTH + 2 * weeks)
        free_from = 0
        for week in range(weeks):
            monday = first_monday + timedelta(weeks=week)
            previous = monday - timedelta(weeks=1)
            col = LABEL_WIDTH + 2 * week
            if (week == 0 or monday.month != previous.month) and col >= free_from:
                name = monday.strftime("%b")
                if col + len(name) <= len(header):
                    header[col:col + len(name)] = list(name)
                    free_from = col + len(name) + 1
        out.append("".join(header).rstrip() + "\n", style=label_style)
        for weekday in range(7):
            out.append(f"{DAY_LABELS[weekday]:<{LABEL_WIDTH}}", style=label_style)
            for week in range(weeks):
                on = first_monday + timedelta(weeks=week, days=weekday)
                if on > today:
                    out.append("  ")
                    continue
                lvl = level(self.counts.get(on, 0), top)
                out.append(GLYPHS[lvl], style=styles[lvl])
                out.append(" ")
            out.append("\n")
        out.append(" " * LABEL_WIDTH + "less ", style=label_style)
        for lvl in range(5):
            out.append(GLYPHS[lvl], style=styles[lvl])
            out.append(" ")
        out.append("more", style=label_style)
        return out
